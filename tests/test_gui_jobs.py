"""The review app's library work without a window (gui.jobs): the render chain's memory, drafts, the
full-resolution preset. The chain must give exactly the pixels and measures pipeline.retouch gives."""
import numpy as np
import pytest
from PIL import Image

from retouch import presets
from retouch.pipeline import StepReport, as_applied, retouch

from gui import jobs
from gui.settings import build_preset, initial

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def astronaut_file(tmp_path_factory, astronaut_rgb):
    path = tmp_path_factory.mktemp("gui_jobs") / "astronaut.jpg"
    Image.fromarray(astronaut_rgb).save(path, quality=95)
    return path


@pytest.fixture
def prepared(astronaut_file):
    (stage, ready), = list(jobs.prepare(astronaut_file))
    return ready


def _natural(**settings) -> presets.Preset:
    base = presets.load("natural")
    return presets.with_changes(base, settings=settings) if settings else base


def _rendered(prepared, preset) -> dict[str, jobs.Rendered]:
    return dict(jobs.render(prepared, preset, preset))


def _assert_same_as_retouch(prepared, preset, stages):
    """The chain's preview and guarded result are exactly what pipeline.retouch makes from scratch."""
    unguarded = retouch(prepared.proxy, preset, faces=prepared.faces, guard=False)
    guarded = retouch(prepared.proxy, preset, faces=prepared.faces)
    assert np.array_equal(stages["preview"].result.pixels, unguarded.pixels)
    assert np.array_equal(stages["guarded"].result.pixels, guarded.pixels)
    assert stages["guarded"].result.metrics == guarded.metrics
    assert [s.applied for s in stages["guarded"].result.steps] == [s.applied for s in guarded.steps]


def test_a_strength_only_change_blends_again_without_running_the_edit(prepared, calls):
    _rendered(prepared, _natural())
    calls.clear()
    last = _natural().steps[-1].edit
    changed = _natural(**{f"{last}.strength": 0.1})
    stages = _rendered(prepared, changed)
    assert calls == {}, f"a strength-only change ran {calls}"
    assert stages["preview"].reused == len(changed.steps) - 1
    _assert_same_as_retouch(prepared, changed, stages)


def test_a_parameter_change_runs_its_edit_once_for_both_stages(prepared, calls):
    _rendered(prepared, _natural())
    calls.clear()
    changed = _natural(**{"light.exposure": 0.3})
    stages = _rendered(prepared, changed)
    order = [step.edit for step in changed.steps]
    rerun = order[order.index("light"):]          # light, and the steps after it (they meet new pixels)
    assert calls == {edit: 1 for edit in rerun}, "the guarded stage reuses the preview's edit output on the same pixels"
    _assert_same_as_retouch(prepared, changed, stages)


def test_an_earlier_strength_change_runs_only_the_later_edits(prepared, calls):
    _rendered(prepared, _natural())
    calls.clear()
    first, *later = [step.edit for step in _natural().steps]
    changed = _natural(**{f"{first}.strength": 0.5})
    stages = _rendered(prepared, changed)
    assert first not in calls and set(calls) == set(later)
    _assert_same_as_retouch(prepared, changed, stages)


def test_a_slow_preview_is_drafted_first_at_half_size(prepared):
    preset = _natural()
    _rendered(prepared, preset)
    changed = _natural(**{"light.exposure": 0.3})
    prepared.seconds["light"] = 1.0                       # as if light took a second here last time
    assert jobs.slow(prepared, changed)
    assert not jobs.slow(prepared, _natural(**{"light.strength": 0.1}))   # only a blend: no draft
    stages = list(jobs.render(prepared, changed, changed))
    assert [stage for stage, _ in stages] == ["draft", "preview", "guarded"]
    draft = stages[0][1]
    height, width = prepared.proxy.pixels.shape[:2]
    assert draft.rgb.shape == (round(height * jobs.DRAFT_SCALE), round(width * jobs.DRAFT_SCALE), 3)
    assert np.abs(draft.rgb.astype(float) - prepared.draft.rgb).max() > 2, "the draft shows the edits"


def test_scaled_faces_follow_the_frame(prepared):
    faces, draft = prepared.faces, prepared.draft.faces
    factor = prepared.draft.proxy.size[0] / prepared.proxy.size[0]
    assert draft.size == prepared.draft.proxy.size
    assert np.allclose(draft.items[0].landmarks, faces.items[0].landmarks * factor)
    assert draft.person.shape == prepared.draft.proxy.pixels.shape[:2]
    for name, region in draft.items[0].regions.items():
        x0, y0, x1, y1 = region.box
        assert region.mask.shape == (y1 - y0, x1 - x0), name
        assert 0 <= x0 <= x1 <= draft.size[0] and 0 <= y0 <= y1 <= draft.size[1], name
    skin, scaled_skin = faces.items[0].regions["skin"], draft.items[0].regions["skin"]
    assert scaled_skin.mask.sum() == pytest.approx(skin.mask.sum() * factor ** 2, rel=0.05)


def test_full_resolution_uses_the_strengths_the_guard_applied():
    base = presets.load("natural")
    states, spots = initial(base)
    spots.toggle("heal", 200.0, 100.0, 4.0)
    full = build_preset(base, states, spots)
    assert [step.edit for step in full.steps] == [step.edit for step in base.steps]
    assert [step.edit for step in full.steps][:3] == ["blemish", "skin", "light"]   # reported below
    reports = [StepReport(step.edit, step.strength, applied, "applied" if applied else "dropped")
               for step, applied in zip(full.steps, [0.6, 0.0, 0.25])]
    applied = as_applied(full, reports)
    assert [(s.edit, s.strength) for s in applied.steps] == [("blemish", 0.6), ("light", 0.25)]
    assert applied.step("blemish").params.spots == ((200.0, 100.0, 4.0),)     # full-resolution spots
    assert applied.digest == presets.digest(applied) != full.digest
