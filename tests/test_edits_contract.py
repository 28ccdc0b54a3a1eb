"""The contract every registered edit keeps (DESIGN.md), one shared class run for each edit (kornia's
per-operation test set): smoke, bad params raise, strength 0 = identical pixels through the pipeline,
blank regions and no face = no change, the change stays well formed and inside the frame, and the edit
never opens a file. Each edit's own known answers live in its test_edit_NAME.py."""
import dataclasses

import numpy as np
import pytest

from retouch import edits, io, presets
from retouch.measure import reference
from retouch.params import ParamError
from retouch.photo import Faces, Region
from retouch.pipeline import Canvas, blend, run_step
from retouch.presets import Step

from portraits import faces, photo

REGISTRY = edits.load_all()
NAMES = sorted(REGISTRY)


def test_every_edit_module_is_registered():
    assert set(NAMES) == set(edits.edit_modules())


@pytest.fixture(scope="module")
def astronaut():
    """astronaut with one inflamed spot planted (tests/_planted.py): her own skin has no temporary mark,
    and blemish heals only those (issue 13); and one dust speck on her backdrop (DUST), which has none
    the backdrop edit would heal (issue 16)."""
    import _planted
    picture = photo("astronaut")
    spot = next(mark for mark in _planted.marks_for("astronaut") if mark.temporary)
    pixels = _planted.plant(picture.pixels, [spot])
    ys, xs = np.mgrid[:pixels.shape[0], :pixels.shape[1]]
    pixels[np.hypot(xs - DUST[0], ys - DUST[1]) <= 1.5] *= 0.6
    return picture.with_pixels(pixels), faces("astronaut")


DUST = (480, 40)   # a speck on astronaut's backdrop, top right (x, y)


def _blank_regions(found: Faces) -> Faces:
    """The same faces and landmarks with nothing to work on: every face region empty, and the person
    matte covering the whole frame (no backdrop)."""
    blank = [dataclasses.replace(face, regions={name: Region(region.box, np.zeros_like(region.mask))
                                                for name, region in face.regions.items()})
             for face in found]
    person = None if found.person is None else np.ones_like(found.person)
    return Faces(blank, person, found.size)


@pytest.mark.parametrize("name", NAMES)
class TestEditContract:
    def test_smoke_full_effect_changes_the_portrait(self, name, astronaut):
        picture, found = astronaut
        edit = REGISTRY[name]
        change = edit.apply(picture, found, edit.params())
        assert not change.empty

    def test_strength_above_hard_max_is_an_error(self, name):
        edit = REGISTRY[name]
        with pytest.raises(ParamError, match=rf"{name}\.strength.*{edit.strength.limit:g}"):
            edit.check_strength(edit.strength.limit + 0.01)
        assert edit.check_strength(edit.strength.limit) == edit.strength.limit

    def test_every_declared_parameter_rejects_values_above_its_limit(self, name):
        edit = REGISTRY[name]
        for pname, declared in edit.declarations.items():
            too_big = declared.limit + max(1, abs(declared.limit)) * 0.5
            with pytest.raises(ParamError, match=rf"{name}\.{pname}"):
                edit.params({pname: too_big})

    def test_unknown_parameters_are_errors(self, name):
        with pytest.raises(ParamError, match=rf"{name}: unknown parameter 'nonsense'"):
            REGISTRY[name].params({"nonsense": 1})

    def test_strength_zero_through_the_pipeline_changes_nothing(self, name, astronaut):
        """Through pipeline.run_step (not blend, which returns early): the step is skipped, no pixel
        moves and nothing is added to the touched mask."""
        picture, found = astronaut
        edit = REGISTRY[name]
        canvas = Canvas.of(picture.pixels)
        ref = reference(picture.pixels, found)
        report = run_step(Step(name, 0.0, edit.params(), edit.strength), picture, canvas, found, ref,
                          presets.load("natural"))
        assert report.status == "skipped" and report.applied == 0.0
        assert np.array_equal(canvas.pixels, picture.pixels)
        assert not canvas.touched.any() and canvas.dirty is None

    def test_blank_regions_mean_no_change(self, name, astronaut):
        picture, found = astronaut
        edit = REGISTRY[name]
        change = edit.apply(picture, _blank_regions(found), edit.params())
        assert np.array_equal(blend(picture.pixels, change, edit.strength.limit), picture.pixels)

    def test_no_face_means_no_change(self, name, astronaut):
        picture, _ = astronaut
        edit = REGISTRY[name]
        change = edit.apply(picture, Faces([], person=None, size=picture.size), edit.params())
        assert change.empty
        assert np.array_equal(blend(picture.pixels, change, edit.strength.limit), picture.pixels)

    def test_the_edit_never_opens_a_file(self, name, astronaut, monkeypatch):
        """Edits never read files (a backdrop image is loaded before the edit runs)."""
        def refuse(*args, **kwargs):
            raise AssertionError(f"{name} read a file during the edit")
        monkeypatch.setattr(io, "read", refuse)
        monkeypatch.setattr("builtins.open", refuse)
        picture, found = astronaut
        REGISTRY[name].apply(picture, found, REGISTRY[name].params())

    def test_change_is_well_formed_and_inside_the_frame(self, name, astronaut):
        picture, found = astronaut
        edit = REGISTRY[name]
        change = edit.apply(picture, found, edit.params())
        x0, y0, x1, y1 = change.box
        assert 0 <= x0 <= x1 <= picture.size[0] and 0 <= y0 <= y1 <= picture.size[1]
        assert change.pixels.shape == (y1 - y0, x1 - x0, 3) and change.mask.shape == (y1 - y0, x1 - x0)
        assert change.pixels.dtype == np.float32 and change.mask.dtype == np.float32
        assert change.mask.min() >= 0 and change.mask.max() <= 1
        assert np.isfinite(change.pixels).all()

    def test_params_are_frozen_and_documented(self, name):
        edit = REGISTRY[name]
        assert dataclasses.is_dataclass(edit.params_type)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(edit.params(), next(iter(edit.declarations), "x"), 0)
        assert edit.doc and edit.strength.doc and edit.words
        assert all(d.doc for d in edit.declarations.values())

    def test_the_tight_change_blends_exactly_like_the_whole_one(self, name, astronaut):
        """The pipeline blends each change over its mask's own bounding box (Change.tight)."""
        picture, found = astronaut
        edit = REGISTRY[name]
        change = edit.apply(picture, found, edit.params())
        tight = change.tight()
        x0, y0, x1, y1 = tight.box
        assert change.box[0] <= x0 < x1 <= change.box[2] and change.box[1] <= y0 < y1 <= change.box[3]
        assert tight.mask[0].any() and tight.mask[-1].any() and tight.mask[:, 0].any() and tight.mask[:, -1].any()
        assert np.array_equal(blend(picture.pixels, tight, 0.6), blend(picture.pixels, change, 0.6))
