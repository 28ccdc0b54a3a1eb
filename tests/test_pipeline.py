"""The guarded pipeline: strength is applied only here, each step is measured against the original and
a step that breaks the budget is backed off, and the result says so."""
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from retouch import edits, presets
from retouch.edits import Change, Edit
from retouch.params import Param, param
from retouch.measure import reference
from retouch.pipeline import Canvas, retouch, run_step, step_change
from retouch.presets import Step

from portraits import faces, photo, side_by_side


@dataclass(frozen=True)
class BlurParams:
    sigma: float = param(6.0, 0.5, 20.0, doc="blur radius")


def _blur_faces(picture, found, params):
    """Test-only dangerous edit: blurs each face far too much."""
    if not len(found):
        return Change.nothing(picture)
    x0 = min(f.box[0] for f in found); y0 = min(f.box[1] for f in found)
    x1 = max(f.box[2] for f in found); y1 = max(f.box[3] for f in found)
    crop = picture.pixels[y0:y1, x0:x1]
    return Change((x0, y0, x1, y1), cv2.GaussianBlur(crop, (0, 0), params.sigma),
                  np.ones(crop.shape[:2], np.float32))


DANGEROUS = Edit("test_blur", BlurParams, _blur_faces, Param(1.0, 0.0, 1.0, doc="test"), True, "test only")


@pytest.fixture(autouse=True)
def dangerous_edit():
    edits.REGISTRY[DANGEROUS.name] = DANGEROUS
    yield
    edits.REGISTRY.pop(DANGEROUS.name, None)


def _preset_with(*steps):
    base = presets.load("natural")
    return presets.dataclasses.replace(base, steps=tuple(steps))


def test_guard_backs_off_a_dangerous_edit_until_identity_is_within_budget():
    picture = photo("astronaut")
    preset = _preset_with(Step("test_blur", 1.0, BlurParams(), DANGEROUS.strength))
    result = retouch(picture, preset, faces=faces("astronaut"))
    step = result.steps[0]
    assert step.status in ("backed off", "dropped")
    assert "identity" in step.bound_by or "texture" in step.bound_by
    assert step.applied < 0.5
    summary = result.as_dict()["summary"]
    assert summary["identity"] >= preset.budget["identity"]
    assert summary["texture"] >= preset.budget["texture"]
    assert "lowered from 1.00" in step.note or "dropped" in step.note
    side_by_side(picture.pixels, result.pixels, "pipeline_dangerous_blur.png")


def test_unguarded_run_applies_the_full_requested_strength():
    picture = photo("astronaut")
    preset = _preset_with(Step("test_blur", 1.0, BlurParams(), DANGEROUS.strength))
    result = retouch(picture, preset, faces=faces("astronaut"), guard=False)
    assert result.steps[0].applied == 1.0 and result.metrics == {}


def test_original_pixels_are_never_modified():
    picture = photo("astronaut")
    before = picture.pixels.copy()
    retouch(picture, presets.load("natural"), faces=faces("astronaut"))
    assert np.array_equal(picture.pixels, before)


def test_natural_preset_keeps_the_person_and_reports_every_measure():
    picture = photo("grace_hopper")
    result = retouch(picture, presets.load("natural"), faces=faces("grace_hopper"))
    summary = result.as_dict()["summary"]
    assert set(summary) >= {"identity", "drift", "skin_de_mean", "skin_de_p95", "texture", "spill",
                            "changed_area"}
    assert not presets.load("natural").budget.breaches(summary)
    assert all(s.status in ("applied", "backed off", "skipped") for s in result.steps)
    side_by_side(picture.pixels, result.pixels, "pipeline_natural_grace_hopper.png")


def test_background_replacement_does_not_move_identity():
    picture = photo("astronaut")
    preset = presets.with_changes(presets.load("natural"), only=("background",),
                                  settings={"background.mode": "color", "background.color": "#808080"})
    result = retouch(picture, preset, faces=faces("astronaut"))
    summary = result.as_dict()["summary"]
    assert result.steps[0].status == "applied"
    assert summary["identity"] > 0.97
    assert summary["changed_area"] > 0.3


def test_no_face_skips_face_edits_with_a_warning():
    from skimage import data
    from retouch.photo import Photo
    picture = Photo(data.coffee().astype(np.float32) / 255)
    result = retouch(picture, presets.load("natural"))
    assert any("no face" in w for w in result.warnings)
    assert all(s.status == "skipped" for s in result.steps)
    assert np.array_equal(result.pixels, picture.pixels)


def test_outside_the_canvas_dirty_box_every_pixel_is_the_original():
    """The frame measures read only the dirty box: that is only sound if nothing outside it moved."""
    picture = photo("grace_hopper")
    preset = presets.load("natural")
    canvas = Canvas.of(picture.pixels)
    for step in preset.steps:
        run_step(step, picture, canvas, faces("grace_hopper"), None, preset)
    x0, y0, x1, y1 = canvas.dirty
    outside = np.ones(picture.pixels.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert outside.any() and not np.array_equal(canvas.pixels, picture.pixels)
    assert np.array_equal(canvas.pixels[outside], picture.pixels[outside])


def test_a_change_computed_beforehand_gives_the_same_step():
    """What the GUI does on a strength-only slider move: reuse the step's change, only blend again."""
    picture = photo("astronaut")
    preset = presets.load("natural")
    step = preset.steps[1]
    ref = reference(picture.pixels, faces("astronaut"))
    fresh, reused = Canvas.of(picture.pixels), Canvas.of(picture.pixels)
    first = run_step(step, picture, fresh, faces("astronaut"), ref, preset)
    change = step_change(step, picture, reused, faces("astronaut"))
    second = run_step(step, picture, reused, faces("astronaut"), ref, preset, change=change)
    assert first.as_dict() == second.as_dict()
    assert np.array_equal(fresh.pixels, reused.pixels)


def test_retouching_in_place_gives_what_a_copy_gives():
    """job.retouch_file hands its photo's pixels over (in_place): same pixels, steps and measures."""
    preset = presets.load("natural")
    copied = retouch(photo("grace_hopper"), preset, faces=faces("grace_hopper"))
    handed_over = photo("grace_hopper")
    buffer = handed_over.pixels
    in_place = retouch(handed_over, preset, faces=faces("grace_hopper"), in_place=True)
    assert in_place.pixels is buffer
    assert np.array_equal(in_place.pixels, copied.pixels)
    assert in_place.as_dict() == copied.as_dict()


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "obama", "biden"])
def test_measuring_once_gives_the_step_by_step_result_when_nothing_breaks(name):
    """The guard runs every step as asked and measures once; the pixels, the steps and the final
    measures are those of measuring after every step."""
    preset = presets.load("natural")
    once = retouch(photo(name), preset, faces=faces(name))
    stepwise = retouch(photo(name), preset, faces=faces(name), measure_once=False)
    assert np.array_equal(once.pixels, stepwise.pixels)
    keep = ("edit", "requested", "applied", "status", "bound_by", "note", "details")
    assert [{k: s.as_dict()[k] for k in keep if k in s.as_dict()} for s in once.steps] == \
        [{k: s.as_dict()[k] for k in keep if k in s.as_dict()} for s in stepwise.steps]
    assert once.metrics == stepwise.metrics and once.warnings == stepwise.warnings


def test_measuring_once_falls_back_to_the_step_by_step_search_when_the_budget_breaks():
    picture = photo("astronaut")
    preset = _preset_with(presets.load("natural").steps[1], Step("test_blur", 1.0, BlurParams(), DANGEROUS.strength))
    once = retouch(picture, preset, faces=faces("astronaut"))
    stepwise = retouch(photo("astronaut"), preset, faces=faces("astronaut"), measure_once=False)
    assert once.steps[1].status in ("backed off", "dropped")
    assert [s.as_dict() for s in once.steps] == [s.as_dict() for s in stepwise.steps]
    assert np.array_equal(once.pixels, stepwise.pixels)
    assert np.array_equal(picture.pixels, photo("astronaut").pixels)     # the original was never touched


def test_a_mole_chosen_for_healing_passes_the_guard_and_an_unchosen_loss_is_named():
    """Issue 13 through the pipeline: the user's heal_marks choice releases that mark in the guard's own
    measure, so the step is applied in full and the record says it was healed by choice."""
    from portraits import OBAMA_MOLE
    natural = presets.load("natural")
    chosen = presets.with_changes(natural, only=("blemish",),
                                  settings={"blemish.heal_marks": f"{OBAMA_MOLE[0]},{OBAMA_MOLE[1]}"})
    healed = retouch(photo("obama"), chosen, faces=faces("obama"))
    step = healed.steps[0]
    assert step.status == "applied" and step.applied == 1.0, step.note
    actions = {mark["action"] for mark in step.details["marks"]
               if abs(mark["x"] - OBAMA_MOLE[0]) < 8 and abs(mark["y"] - OBAMA_MOLE[1]) < 8}
    assert actions == {"healed by choice"}
    assert healed.as_dict()["summary"]["marks"] == 1.0


def test_the_guard_names_the_mark_a_step_would_lose():
    from portraits import OBAMA_MOLE
    from retouch.pipeline import Canvas, run_step
    found = faces("obama")
    picture = photo("obama")
    preset = presets.with_changes(presets.load("natural"), only=("blemish",),
                                  settings={"blemish.heal_marks": f"{OBAMA_MOLE[0]},{OBAMA_MOLE[1]}"})
    step = preset.steps[0]
    ref = reference(picture.pixels, found)            # not released: the guard protects the mole
    report = run_step(step, picture, Canvas.of(picture.pixels), found, ref, preset)
    assert report.status in ("backed off", "dropped") and "marks" in report.bound_by
    assert "mark at (52" in report.note and "lost" in report.note, report.note
