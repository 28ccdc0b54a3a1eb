"""The guard's `marks` measure: its own detector finds the original's distinctive marks (never the
blemish edit's list), and a mark that loses its contrast breaks the budget unless the user chose it.

Obama's real mole is found; planted moles (tests/_planted.py) are found and planted inflamed spots are
not (healing those is the edit's job, not a loss), on light and dark skin; healing a mole costs the
measure that mole and names it; a released point frees it; the measure sits in the table with a 1.0
default limit that every built-in preset keeps.
"""
from __future__ import annotations

import numpy as np
import pytest

from retouch import marks, presets
from retouch.edits import blemish
from retouch.measure import MEASURES, measure, reference
from retouch.pipeline import blend
import _planted
import portraits

pytestmark = pytest.mark.timeout(300)


def found_on(name: str, pixels: np.ndarray) -> list[marks.Mark]:
    face = portraits.faces(name).items[0]
    return marks.find(pixels, face.box, face.regions["skin"].crop(face.box) > 0.5, face.interocular)


def near(found: list[marks.Mark], x: float, y: float, reach: float) -> bool:
    return any(np.hypot(m.x - x, m.y - y) <= reach for m in found)


def test_obamas_real_mole_is_a_distinctive_mark():
    found = found_on("obama", portraits.photo("obama").pixels)
    x, y = portraits.OBAMA_MOLE
    print(f"obama: {len(found)} marks; strongest {max(found, key=lambda m: m.contrast).describe()}")
    assert near(found, x, y, 4)


@pytest.mark.parametrize("name", ["obama", "biden", "astronaut"])
def test_planted_moles_are_found_and_inflamed_spots_are_not(name):
    scene = _planted.scene(name)
    found, real = found_on(name, scene.planted), found_on(name, scene.clean)
    moles = [m for m in scene.marks if not m.temporary]
    spots = [m for m in scene.marks if m.temporary]
    hit = sum(near(found, m.x, m.y, m.radius + 2) for m in moles)
    false = sum(near(found, m.x, m.y, m.radius + 2) and not near(real, m.x, m.y, m.radius + 2) for m in spots)
    print(f"{name}: moles found {hit}/{len(moles)}, inflamed spots taken for marks {false}/{len(spots)} "
          "(a real mark beside a spot does not count)")
    assert hit >= 0.85 * len(moles)
    assert false == 0


def test_a_healed_mole_is_lost_and_named_unless_released():
    scene = _planted.scene("obama")
    found = found_on("obama", scene.planted)
    mole = max((m for m in scene.marks if not m.temporary), key=lambda m: m.radius)
    change = blemish.apply(scene.photo(), scene.faces, blemish.Params(heal_marks=((mole.x, mole.y),)))
    result = blend(scene.planted, change, 1.0)
    lost = marks.lost(found, result)
    print("lost:", [m.describe() for m in lost])
    assert len(lost) >= 1 and all(np.hypot(m.x - mole.x, m.y - mole.y) <= mole.radius + 4 for m in lost)
    assert marks.kept_share(found, result) < 1.0
    assert marks.kept_share(marks.released(found, [(mole.x, mole.y)]), result) == 1.0


def test_the_default_judgement_keeps_every_mark_through_the_measure_table():
    """The blemish edit at its defaults on the planted obama scene: the guard, through the measure
    table (prepared once per face), sees every distinctive mark kept; with the mole chosen for healing
    it sees one lost, unless the reference releases that point."""
    scene = _planted.scene("obama")
    ref = reference(scene.planted, scene.faces, identity=False)
    change = blemish.apply(scene.photo(), scene.faces, blemish.Params())
    assert measure(ref, blend(scene.planted, change, 1.0), names=("marks",))["faces"][0]["marks"] == 1.0
    mole = max((m for m in scene.marks if not m.temporary), key=lambda m: m.radius)
    chosen = blemish.apply(scene.photo(), scene.faces, blemish.Params(heal_marks=((mole.x, mole.y),)))
    healed = blend(scene.planted, chosen, 1.0)
    assert measure(ref, healed, names=("marks",))["faces"][0]["marks"] < 1.0
    freed = reference(scene.planted, scene.faces, identity=False, released=((mole.x, mole.y),))
    assert measure(freed, healed, names=("marks",))["faces"][0]["marks"] == 1.0


def test_contrast_is_read_relative_to_the_skin():
    """The same marks, and the same contrasts, on the photo at a third of its light (a ratio of light)."""
    from retouch.color import to_linear, to_srgb
    photo = portraits.photo("obama").pixels
    bright, dark = found_on("obama", photo), found_on("obama", to_srgb(0.3 * to_linear(photo)))
    x, y = portraits.OBAMA_MOLE
    assert near(dark, x, y, 4)
    mole = min(bright, key=lambda m: np.hypot(m.x - x, m.y - y))
    assert marks.contrast(to_srgb(0.3 * to_linear(photo)), mole) == pytest.approx(mole.contrast, rel=0.1)


def test_the_measure_is_in_the_table_and_every_builtin_budget_keeps_every_mark():
    entry = MEASURES["marks"]
    assert entry.scope == "face" and entry.better == "higher" and entry.prepare is marks.prepare
    for name in presets.builtin_names():
        assert presets.load(name).budget.limits["marks"] == 1.0


@pytest.mark.parametrize("name, pockets", [
    ("grace_hopper", [(189, 271), (197, 296), (289, 330), (189, 194)]),   # beside her hair, chin, frame tip
    ("biden", [(627, 478), (515, 462)]),                                  # the mouth corners
])
def test_dark_pockets_where_skin_meets_something_darker_are_not_marks(name, pockets):
    """The skin region reaches the hairline, the face's sides and the chin; where skin meets hair, a
    frame's tip, a mouth corner or the chin's shadow, the dark pocket beside it is no mark (its ring is
    not skin), so an edit that touches the region's edge is not backed off for 'losing' it."""
    found = found_on(name, portraits.photo(name).pixels)
    print(name, [m.describe() for m in found])
    assert not [p for p in pockets if near(found, *p, 6)]
    assert found                                        # the real marks inside the face are still there


def test_a_mole_deep_in_the_skin_beside_a_feature_is_still_a_mark():
    """Obama's mole beside the nostril: its ring is all skin, however close the nostril's hole."""
    found = found_on("obama", portraits.photo("obama").pixels)
    mole = min(found, key=lambda m: np.hypot(m.x - portraits.OBAMA_MOLE[0], m.y - portraits.OBAMA_MOLE[1]))
    face = portraits.faces("obama").items[0]
    skin = face.regions["skin"].crop(face.box) > 0.5
    assert marks._ring_on_skin(skin, face.box, mole) >= marks.RING_SKIN
