"""The contract every registered edit keeps (DESIGN.md): strength 0 = no change, strength above the hard
maximum = ParamError, an empty mask / no face = no change, and the edit stays inside its box."""
import dataclasses

import numpy as np
import pytest

from retouch import edits
from retouch.params import ParamError
from retouch.photo import Faces
from retouch.pipeline import blend

from portraits import faces, photo

REGISTRY = edits.load_all()
NAMES = sorted(REGISTRY)


def test_every_planned_edit_is_registered():
    assert set(NAMES) == set(edits.edit_modules())


@pytest.fixture(scope="module")
def astronaut():
    return photo("astronaut"), faces("astronaut")


@pytest.mark.parametrize("name", NAMES)
def test_strength_zero_changes_nothing(name, astronaut):
    picture, found = astronaut
    edit = REGISTRY[name]
    change = edit.apply(picture, found, edit.params())
    assert np.array_equal(blend(picture.pixels, change, 0.0), picture.pixels)


@pytest.mark.parametrize("name", NAMES)
def test_strength_above_hard_max_is_an_error(name):
    edit = REGISTRY[name]
    with pytest.raises(ParamError, match=rf"{name}\.strength.*{edit.strength.limit:g}"):
        edit.check_strength(edit.strength.limit + 0.01)
    assert edit.check_strength(edit.strength.limit) == edit.strength.limit


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_parameter_rejects_values_above_its_limit(name):
    edit = REGISTRY[name]
    for pname, declared in edit.declarations.items():
        too_big = declared.limit + max(1, abs(declared.limit)) * 0.5
        with pytest.raises(ParamError, match=rf"{name}\.{pname}"):
            edit.params({pname: too_big})


@pytest.mark.parametrize("name", NAMES)
def test_nothing_to_work_on_means_no_change(name, astronaut):
    picture, _ = astronaut
    edit = REGISTRY[name]
    empty = Faces([], person=None, size=picture.size)
    change = edit.apply(picture, empty, edit.params())
    assert change.empty
    assert np.array_equal(blend(picture.pixels, change, edit.strength.limit), picture.pixels)


@pytest.mark.parametrize("name", NAMES)
def test_change_is_well_formed_and_inside_the_frame(name, astronaut):
    picture, found = astronaut
    edit = REGISTRY[name]
    change = edit.apply(picture, found, edit.params())
    x0, y0, x1, y1 = change.box
    assert 0 <= x0 <= x1 <= picture.size[0] and 0 <= y0 <= y1 <= picture.size[1]
    assert change.pixels.shape == (y1 - y0, x1 - x0, 3) and change.mask.shape == (y1 - y0, x1 - x0)
    assert change.pixels.dtype == np.float32 and change.mask.dtype == np.float32
    assert change.mask.min() >= 0 and change.mask.max() <= 1
    assert np.isfinite(change.pixels).all()


@pytest.mark.parametrize("name", NAMES)
def test_params_are_frozen_and_documented(name):
    edit = REGISTRY[name]
    assert dataclasses.is_dataclass(edit.params_type)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(edit.params(), next(iter(edit.declarations), "x"), 0)
    assert edit.doc and edit.strength.doc
    assert all(d.doc for d in edit.declarations.values())


@pytest.mark.parametrize("name", NAMES)
def test_the_tight_change_blends_exactly_like_the_whole_one(name, astronaut):
    """The pipeline blends each change over its mask's own bounding box (Change.tight)."""
    picture, found = astronaut
    edit = REGISTRY[name]
    change = edit.apply(picture, found, edit.params())
    assert not change.empty
    tight = change.tight()
    x0, y0, x1, y1 = tight.box
    assert change.box[0] <= x0 < x1 <= change.box[2] and change.box[1] <= y0 < y1 <= change.box[3]
    assert tight.mask[0].any() and tight.mask[-1].any() and tight.mask[:, 0].any() and tight.mask[:, -1].any()
    assert np.array_equal(blend(picture.pixels, tight, 0.6), blend(picture.pixels, change, 0.6))
