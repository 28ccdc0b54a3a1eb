"""Blemish healing decides by kind: temporary marks are healed, the person's own marks are kept.

Known answers of issue 13, on the real test portraits: Obama's real mole (beside his left nostril) is
kept by every built-in preset; inflamed spots and moles planted at the same sizes (tests/_planted.py:
absorbers in linear light, blood soft-edged, melanin sharp-edged) on astronaut, grace_hopper, obama
and biden are judged apart (spots healed, moles kept within 20% of their contrast) about equally on
the lightest and the darkest face; freckle clusters and a scar line are kept; a mole chosen for
healing is healed. Also: the search on a large face runs shrunk and heals as at full resolution, a
manual spot heals clean skin invisibly, lightening is bounded, and version 1 params migrate.
"""
from __future__ import annotations

import collections
import dataclasses

import cv2
import numpy as np
import pytest

from retouch import presets
from retouch.color import delta_e, to_lab, to_linear, to_srgb
from retouch.edits import _healing, blemish, get
from retouch.params import ParamError
from retouch.photo import Face, Faces, Photo, Region
from retouch.pipeline import blend
import _planted
import portraits

pytestmark = pytest.mark.timeout(300)

LIGHT_SKIN, DARK_SKIN = ("astronaut", "biden"), "obama"
ENLARGE = 5              # the enlarged scene's scale: astronaut's inter-ocular distance becomes ~216 px


def result_of(scene: _planted.Scene, params: blemish.Params, pixels: np.ndarray | None = None):
    """The scene's planted photo (or `pixels`) after blemish at full strength, and the edit's details."""
    source = scene.planted if pixels is None else pixels
    change = blemish.apply(scene.photo(source), scene.faces, params)
    return blend(source, change, blemish.STRENGTH.default), change.details


def entry_at(details: dict, x: float, y: float, reach: float) -> dict | None:
    """The recorded mark nearest (x, y) within `reach` px."""
    near = [e for e in details["marks"] if np.hypot(e["x"] - x, e["y"] - y) <= reach]
    return min(near, key=lambda e: np.hypot(e["x"] - x, e["y"] - y)) if near else None


# --- Obama's real mole -------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", presets.builtin_names())
def test_obamas_real_mole_is_kept_by_every_builtin_preset(preset):
    step = presets.load(preset).step("blemish")
    photo, faces = portraits.photo("obama"), portraits.faces("obama")
    change = blemish.apply(photo, faces, step.params)
    x, y = portraits.OBAMA_MOLE
    entry = entry_at(change.details, x, y, 6)
    print(f"{preset}: obama's mole recorded as {entry}")
    assert entry is not None and entry["class"] == "permanent" and entry["action"] == "kept"
    assert entry["confidence"] >= 0.7                      # judged pigment with margin, not by luck
    result = blend(photo.pixels, change, step.strength)
    mole = np.hypot(*np.ogrid[-y:photo.pixels.shape[0] - y, -x:photo.pixels.shape[1] - x]) <= 4
    assert _planted.mean_de(result, photo.pixels, mole) <= 0.5
    if preset == "natural":
        crops = [cv2.resize(image[y - 25:y + 26, x - 25:x + 26], None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
                 for image in (photo.pixels, result)]
        portraits.side_by_side(*crops, "blemish_obama_mole_natural_before_after.png")


# --- planted marks: judged by kind, on every skin tone -------------------------------------------------

@pytest.fixture(scope="module")
def judged():
    """Per portrait: the scene, the result at the default params, the record and the outcomes."""
    found = {}
    for name in portraits.NAMES:
        scene = _planted.scene(name)
        result, details = result_of(scene, blemish.Params())
        found[name] = (scene, result, details, _planted.outcomes(scene, result))
    return found


def confusion(scene, details) -> collections.Counter:
    """(planted kind, recorded class and action) counts: how each planted mark was judged."""
    table = collections.Counter()
    for mark in scene.marks:
        entry = entry_at(details, mark.x, mark.y, mark.radius + 2)
        table[(mark.kind, "not found" if entry is None else f"{entry['class']} {entry['kind']}: {entry['action']}")] += 1
    return table


def rates(judged) -> dict[str, tuple[float, float]]:
    """Per portrait: share of the planted spots judged temporary and healed (from the record), share of
    the planted moles kept (their dE to the clean photo within 20% of the planted one)."""
    found = {}
    for name, (scene, _, details, outcomes) in judged.items():
        spots = [o for o in outcomes if o.mark.temporary]
        moles = [o for o in outcomes if not o.mark.temporary]
        healed = [o for o in spots if (entry_at(details, o.mark.x, o.mark.y, o.mark.radius + 2) or {}).get("action")
                  == "healed"]
        found[name] = (len(healed) / len(spots), sum(o.kept for o in moles) / len(moles))
    return found


def test_planted_spots_are_healed_and_moles_kept_on_every_skin_tone(judged):
    """Issue 13, known answer 2 (the rates: next test). Every planted mole is kept; the spots judged
    temporary are healed (their dE to the clean photo at least halved on average); the confusion table
    of each portrait is printed, and the pictures written, for a person to look at."""
    for name, (scene, result, details, outcomes) in judged.items():
        spots = [o for o in outcomes if o.mark.temporary]
        moles = [o for o in outcomes if not o.mark.temporary]
        healed = [o for o in spots if (entry_at(details, o.mark.x, o.mark.y, o.mark.radius + 2) or {}).get("action")
                  == "healed"]
        print(f"\n{name}: spots healed {len(healed)}/{len(spots)}, moles kept {sum(o.kept for o in moles)}/"
              f"{len(moles)}; dE to clean inside healed spots {np.mean([o.planted_de for o in healed]):.1f} -> "
              f"{np.mean([o.result_de for o in healed]):.1f} (<= 3: {sum(o.healed for o in healed)}/{len(healed)})")
        for (kind, judged_as), count in sorted(confusion(scene, details).items()):
            print(f"  planted {kind:8s} -> {judged_as}: {count}")
        assert all(o.kept for o in moles), f"{name}: a planted mole was not kept"
        assert healed and np.mean([o.result_de for o in healed]) <= 0.5 * np.mean([o.planted_de for o in healed])
        x0, y0, x1, y1 = scene.faces.items[0].box
        factor = 4 if name == "astronaut" else 2
        crops = [cv2.resize(image[y0:y1, x0:x1], None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
                 for image in (scene.clean, scene.planted, result)]
        portraits.save_png(np.concatenate(crops, axis=1), f"blemish_{name}_clean_planted_judged.png")


@pytest.mark.xfail(strict=False, reason="issue 13 known answer 2 is not met yet: about 80% of the planted spots "
                   "judged and healed over the four portraits (grace_hopper's grainy print about 57%: spots too "
                   "faint for the detector at the default sensitivity); see benchmarks/bench_judgement.py")
def test_known_answer_2_rates(judged):
    """>= 90% of the spots healed and >= 97% of the moles kept over the four portraits, and the light
    and dark skinned faces within 10 points of each other."""
    found = rates(judged)
    print(found)
    counts = {name: sum(m.temporary for m in judged[name][0].marks) for name in found}
    assert sum(found[n][0] * counts[n] for n in found) / sum(counts.values()) >= 0.9
    assert sum(r[1] for r in found.values()) / len(found) >= 0.97
    for light in LIGHT_SKIN:                 # obama's skin is the darkest, though his photo is brightly lit
        assert abs(found[light][0] - found[DARK_SKIN][0]) <= 0.10
        assert abs(found[light][1] - found[DARK_SKIN][1]) <= 0.10


def test_the_same_judgement_on_the_photo_darkened(judged):
    """The rules are relative to the skin around each mark: the obama scene at a third of its light
    (skin L* about 40) is judged as at full light."""
    scene = judged["obama"][0]
    dark = dataclasses.replace(scene, clean=to_srgb(0.3 * to_linear(scene.clean)),
                               planted=to_srgb(0.3 * to_linear(scene.planted)))
    result, details = result_of(dark, blemish.Params())
    outcomes = _planted.outcomes(dark, result)
    spots = [m for m in dark.marks if m.temporary]
    healed = sum((entry_at(details, m.x, m.y, m.radius + 2) or {}).get("action") == "healed" for m in spots)
    print(f"obama at 0.3x light: spots healed {healed}/{len(spots)}, moles kept "
          f"{sum(o.kept for o in outcomes if not o.mark.temporary)}")
    assert healed >= 0.85 * len(spots)
    assert all(o.kept for o in outcomes if not o.mark.temporary)


@pytest.mark.parametrize("name", ["obama", "biden"])
def test_freckle_clusters_and_a_scar_line_are_kept(name):
    """Known answer 3: six small brown marks closer together than freckle grouping's reach, and a thin
    pale scar line, planted on clean skin; both stay within 20% of their contrast."""
    scene = _planted.scene(name, count=_planted.FEWEST)
    iod = scene.interocular
    anchor = next(m for m in scene.marks if not m.temporary)
    radius = max(_planted.SMALLEST_PX, 0.012 * iod)
    freckles = [_planted.Planted(anchor.x + 0.06 * iod * np.cos(a), anchor.y + 0.06 * iod * np.sin(a), radius, "mole",
                                 tuple(0.5 * d for d in _planted.MELANIN[0]))
                for a in np.linspace(0, 2 * np.pi, 6, endpoint=False)]
    spot = next(m for m in scene.marks if m.temporary)
    planted = _planted.plant(scene.clean, freckles)
    length, ys, xs = 0.25 * iod, *np.mgrid[:scene.clean.shape[0], :scene.clean.shape[1]]
    along, across = xs - spot.x, ys - spot.y
    line = np.exp(-0.5 * (across / 0.7) ** 2) * (np.abs(along) <= length / 2)
    planted = to_srgb(to_linear(planted) * (1 + 0.25 * line)[..., None])        # a pale, slightly raised scar
    result, _ = result_of(scene, blemish.Params(), planted)
    shape = scene.clean.shape[:2]
    for mark in freckles:
        before = _planted.mean_de(planted, scene.clean, mark.disc(shape))
        after = _planted.mean_de(result, scene.clean, mark.disc(shape))
        assert abs(after - before) <= 0.2 * before, f"freckle at ({mark.x:.0f}, {mark.y:.0f}) changed"
    scar = line > 0.5
    before, after = _planted.mean_de(planted, scene.clean, scar), _planted.mean_de(result, scene.clean, scar)
    print(f"{name}: scar dE {before:.1f} -> {after:.1f}")
    assert abs(after - before) <= 0.2 * before


def test_a_mole_chosen_for_healing_is_healed_and_a_spot_chosen_to_keep_is_kept(judged):
    """Known answer 4: heal_marks names a planted mole (its centre, full-resolution px), keep_marks an
    inflamed spot; those two flip, the record says so, and nothing else changes its judgement."""
    scene, _, details, _ = judged["obama"]
    mole = max((m for m in scene.marks if not m.temporary), key=lambda m: m.radius)
    spot = next(m for m in scene.marks if m.temporary
                and (entry_at(details, m.x, m.y, m.radius + 2) or {}).get("action") == "healed")
    params = blemish.Params(heal_marks=f"{mole.x:.0f},{mole.y:.0f}", keep_marks=((spot.x, spot.y),))
    result, chosen = result_of(scene, params)
    assert entry_at(chosen, mole.x, mole.y, mole.radius + 2)["action"] == "healed by choice"
    assert entry_at(chosen, spot.x, spot.y, spot.radius + 2)["action"] == "kept by choice"
    shape = scene.clean.shape[:2]
    print(f"chosen mole: dE to clean {_planted.mean_de(scene.planted, scene.clean, mole.disc(shape)):.1f} -> "
          f"{_planted.mean_de(result, scene.clean, mole.disc(shape)):.1f}")
    assert _planted.mean_de(result, scene.clean, mole.disc(shape)) <= 0.3 * _planted.mean_de(
        scene.planted, scene.clean, mole.disc(shape))
    assert _planted.mean_de(result, scene.planted, spot.disc(shape)) <= 0.5
    others = [m for m in scene.marks if m not in (mole, spot)]
    assert [entry_at(chosen, m.x, m.y, m.radius + 2) for m in others] == \
        [entry_at(details, m.x, m.y, m.radius + 2) for m in others]


def test_lightening_removes_a_bounded_share_of_a_moles_contrast(judged):
    scene = judged["biden"][0]
    result, details = result_of(scene, blemish.Params(lighten_marks=0.3))
    shape = scene.clean.shape[:2]
    moles = [m for m in scene.marks if not m.temporary]
    removed = [1 - _planted.mean_de(result, scene.clean, m.disc(shape)) / _planted.mean_de(scene.planted, scene.clean,
                                                                                          m.disc(shape))
               for m in moles if (entry_at(details, m.x, m.y, m.radius + 2) or {}).get("action") == "lightened"]
    print(f"lightened {len(removed)}/{len(moles)} moles, contrast removed {np.round(removed, 2)}")
    assert len(removed) >= 0.9 * len(moles)
    assert all(0.1 <= share <= 0.4 for share in removed)
    with pytest.raises(ParamError, match=r"blemish\.lighten_marks.*hard maximum 0\.3"):
        get("blemish").params({"lighten_marks": 0.31})


@pytest.mark.parametrize("name", ["biden", "obama"])
@pytest.mark.parametrize("share", [0.1, 0.3])
def test_lightening_removes_the_declared_share_of_each_moles_contrast(name, share):
    """Lightening keeps (1 - share) of each mark's difference from the skin around it, so what a mole
    loses against the clean photo is the declared share on light and dark skin alike (within the fill's
    guess of the skin beneath: 0.22-0.33 at 0.3 on biden), never more than the hard maximum allows
    (before: a full heal taken in at the share removed up to 0.46 on biden)."""
    scene = _planted.scene(name)
    result, details = result_of(scene, blemish.Params(lighten_marks=share))
    shape = scene.clean.shape[:2]
    removed = [1 - _planted.mean_de(result, scene.clean, m.disc(shape)) / _planted.mean_de(scene.planted, scene.clean,
                                                                                          m.disc(shape))
               for m in scene.marks if not m.temporary
               and (entry_at(details, m.x, m.y, m.radius + 2) or {}).get("action") == "lightened"]
    print(f"{name} at {share}: contrast removed {np.round(removed, 2)}, mean {np.mean(removed):.3f}")
    assert len(removed) >= 10
    assert abs(np.mean(removed) - share) <= 0.05
    assert all(share - 0.1 <= r <= share + 0.05 for r in removed)


def test_every_mark_is_recorded_with_what_was_done(judged):
    _, _, details, _ = judged["grace_hopper"]
    assert details["marks"]
    for entry in details["marks"]:
        assert set(entry) == {"face", "x", "y", "radius", "class", "kind", "confidence", "action"}
        assert entry["class"] in ("temporary", "permanent")
        assert entry["action"] in ("healed", "kept", "lightened", "healed by choice", "kept by choice")
        assert 0.5 <= entry["confidence"] <= 1.0
        assert entry["action"] != "healed" or entry["class"] == "temporary"


def test_version_1_params_migrate():
    edit = get("blemish")
    assert edit.version == 2
    params = edit.params({"exclude": "10,20;30,40", "max_size": 0.04}, version=1)
    assert params.keep_marks == ((10.0, 20.0), (30.0, 40.0)) and params.max_size == 0.04
    with pytest.raises(ParamError, match="exclude"):
        edit.params({"exclude": "10,20"})


# --- the working scale, manual spots, the fill -------------------------------------------------------

def enlarged(scene: _planted.Scene, factor: int):
    """The scene's face, cropped with half an inter-ocular distance around it and enlarged `factor`
    times (bicubic), with its analysis (landmarks, regions) moved along and the marks planted anew at
    the new scale (so they are as sharp as before): a Scene."""
    face = scene.faces.items[0]
    pad = int(face.interocular / 2)
    height, width = scene.clean.shape[:2]
    x0, y0 = max(0, face.box[0] - pad), max(0, face.box[1] - pad)
    x1, y1 = min(width, face.box[2] + pad), min(height, face.box[3] + pad)
    size = ((x1 - x0) * factor, (y1 - y0) * factor)

    def moved(x: float, y: float) -> tuple[float, float]:
        return (x - x0 + 0.5) * factor - 0.5, (y - y0 + 0.5) * factor - 0.5

    def bigger(image: np.ndarray) -> np.ndarray:
        return np.clip(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)

    regions = {name: Region((0, 0) + size, bigger(region.crop((x0, y0, x1, y1))))
               for name, region in face.regions.items()}
    landmarks = np.array([moved(x, y) for x, y in face.landmarks], np.float32)
    big_face = Face((0, 0) + size, face.confidence, landmarks, regions, face.embedding)
    marks = [dataclasses.replace(m, x=moved(m.x, m.y)[0], y=moved(m.x, m.y)[1], radius=m.radius * factor)
             for m in scene.marks]
    clean = bigger(scene.clean[y0:y1, x0:x1])
    return _planted.Scene(scene.name, clean, _planted.plant(clean, marks), Faces([big_face], None, size),
                          regions["skin"].mask, marks)


def test_a_large_face_is_searched_shrunk_and_judged_as_at_full_resolution(judged, monkeypatch):
    """The planted astronaut scene enlarged (inter-ocular distance above WORK_INTEROCULAR): the search
    runs on the face shrunk and maps the marks back. It must heal the planted spots and keep the moles
    as a search at full resolution does (the cost the working scale avoids)."""
    scene = enlarged(judged["astronaut"][0], ENLARGE)
    assert scene.interocular > 1.2 * blemish.WORK_INTEROCULAR
    found = {}
    for label, cap in (("shrunk", blemish.WORK_INTEROCULAR), ("full", np.inf)):
        monkeypatch.setattr(blemish, "WORK_INTEROCULAR", cap)
        change = blemish.apply(Photo(scene.planted, 8, source=None, format="PNG"), scene.faces, blemish.Params())
        result = blend(scene.planted, change, blemish.STRENGTH.default)
        outcomes = _planted.outcomes(scene, result)
        found[label] = (sum(o.result_de <= 0.6 * o.planted_de for o in outcomes if o.mark.temporary),
                        sum(o.kept for o in outcomes if not o.mark.temporary), result)
        print(f"enlarged x{ENLARGE}, {label} search: spots healed {found[label][0]}, moles kept {found[label][1]}")
    spots = sum(m.temporary for m in scene.marks)
    assert found["shrunk"][0] >= min(found["full"][0], 0.9 * spots) - 1
    assert found["shrunk"][1] == len(scene.marks) - spots
    portraits.save_png(np.concatenate([scene.planted, found["shrunk"][2]], axis=1),
                       f"blemish_astronaut_enlarged_x{ENLARGE}_planted_healed.png")


def test_a_manual_spot_on_clean_skin_heals_without_visible_change(judged):
    """Healing clean skin (the five planted sites deepest in the skin mask, on the clean photo) leaves no
    blotch (the patch's mean colour stays) and no smooth hole (its fine texture stays); pixel by pixel it
    differs like any other patch of the same skin."""
    scene = judged["astronaut"][0]
    photo, faces = portraits.photo("astronaut"), scene.faces
    inside = cv2.distanceTransform((scene.skin > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    deepest = sorted(scene.marks, key=lambda m: -inside[round(m.y), round(m.x)])[:5]     # clean skin
    before = to_lab(photo.pixels)
    found = []
    for spot in deepest:
        manual = (round(spot.x), round(spot.y), 2.0)
        change = blemish.apply(photo, faces, blemish.Params(spots=(manual,), sensitivity=0.0))
        assert not change.empty
        x0, y0 = change.box[:2]
        assert change.mask[manual[1] - y0, manual[0] - x0] > 0.99
        assert {"x": manual[0], "y": manual[1], "radius": 2.0, "class": "chosen", "kind": "spot drawn by hand",
                "confidence": 1.0, "action": "healed by choice", "face": 0} in change.details["marks"]
        result = blend(photo.pixels, change, 1.0)
        where = _planted.Planted(*manual[:2], 2.0, "mole", (0.0, 0.0, 0.0)).disc(photo.pixels.shape[:2], grow=1.0)
        after = to_lab(result)
        texture = [float(np.std(lab[..., 0][where] - cv2.GaussianBlur(lab[..., 0], (0, 0), 1.0)[where]))
                   for lab in (before, after)]
        found.append((float(delta_e(before[where].mean(0), after[where].mean(0))), texture[1] / texture[0],
                      _planted.mean_de(result, photo.pixels, where)))
    X, Y = round(deepest[0].x), round(deepest[0].y)
    crops = [cv2.resize(image[Y - 12:Y + 13, X - 12:X + 13], None, fx=10, fy=10, interpolation=cv2.INTER_NEAREST)
             for image in (photo.pixels, blend(photo.pixels, blemish.apply(photo, faces, blemish.Params(
                 spots=((X, Y, 2.0),), sensitivity=0.0)), 1.0))]
    portraits.side_by_side(*crops, "blemish_astronaut_manual_spot_before_after.png")
    blotch, texture, error = np.array(found).T
    print(f"manual spots on clean skin: mean colour dE {np.round(blotch, 2)}, fine texture {np.round(texture, 2)} "
          f"of the original, per-pixel dE {np.round(error, 2)}")
    assert blotch.mean() <= 1.0 and blotch.max() <= 1.5
    assert texture.min() >= 0.5
    assert error.max() <= 3.0


def test_no_face_changes_nothing():
    photo = portraits.photo("astronaut")
    assert blemish.apply(photo, Faces([], None, photo.size), blemish.Params()).empty


@pytest.mark.parametrize("text, expected", [
    ("120,200,6;300,310,4", ((120.0, 200.0, 6.0), (300.0, 310.0, 4.0))),
    ("", ()),
    ([(1, 2, 3)], ((1.0, 2.0, 3.0),)),
])
def test_spots_parse_from_text_and_sequences(text, expected):
    assert blemish.Params(spots=text).spots == expected


def test_chosen_marks_parse_from_the_cli_form():
    assert blemish.Params(heal_marks="529,255;10,20").heal_marks == ((529.0, 255.0), (10.0, 20.0))


@pytest.mark.parametrize("field, value", [
    ("spots", "120,200"), ("spots", "1,2,0"), ("spots", "a,b,c"), ("keep_marks", "1,2,3"), ("keep_marks", "-1,4"),
    ("heal_marks", "1"), ("heal_marks", "x,y"),
])
def test_bad_points_name_the_parameter(field, value):
    with pytest.raises(ParamError, match=f"blemish.{field}"):
        blemish.Params(**{field: value})


def test_size_limit_cannot_pass_its_hard_maximum():
    with pytest.raises(ParamError, match=r"blemish\.max_size.*hard maximum 0\.08"):
        get("blemish").params({"max_size": 0.1})


def test_tone_fill_of_one_spot_equals_filling_the_whole_window():
    """tone_fill solves only the holes that reach the spot, on a crop around them: inside the spot it must
    give what one biharmonic fill of every hole over the whole window gives (same clipping range too).
    Holes: two that touch (one system), one apart, one cut by the window's edge; on a real face's Lab
    with a bright highlight and a dark mark far off (they set the clip range)."""
    from skimage.restoration import inpaint_biharmonic
    photo, faces = portraits.photo("astronaut"), portraits.faces("astronaut")
    x0, y0, x1, y1 = faces.items[0].box
    lab = to_lab(photo.pixels[y0:y0 + 120, x0:x0 + 150]).astype(np.float64)
    lab[5, 140], lab[110, 3] = (100.0, 0.0, 0.0), (2.0, 30.0, -30.0)
    holes = np.zeros(lab.shape[:2], bool)
    for cy, cx, radius in ((40, 40, 9), (40, 60, 10), (90, 100, 8), (60, 146, 7)):
        holes[cy - radius:cy + radius + 1, max(0, cx - radius):cx + radius + 1] = True
    whole = inpaint_biharmonic(lab, holes, channel_axis=-1)
    count, parts = cv2.connectedComponents(holes.astype(np.uint8))
    assert count - 1 == 3                                   # the two touching holes are one part
    for part in range(1, count):
        inside = parts == part
        assert np.abs(_healing.tone_fill(lab, holes, inside) - whole)[inside].max() < 1e-9


def test_the_record_and_gallery_words_say_what_became_of_the_marks(judged):
    from retouch import record
    _, _, details, _ = judged["obama"]
    step = {"edit": "blemish", "requested": 1.0, "applied": 1.0, "status": "applied", "bound_by": [],
            "details": details}
    counts = record.mark_counts(step)
    words = record.mark_words(step)
    print(counts, "|", words)
    assert counts["healed"] >= 10 and counts["kept"] >= 10 and counts["lightened"] == 0
    assert words.startswith(f"{counts['healed']} spots healed, ") and "moles kept" in words
    assert f"Blemishes removed ({words})" in record.describe([step], {"identity": 0.99}, {"identity": 0.9})
    packet = record.xmp_packet({"steps": [step], "summary": {}, "digital_source_type": "x", "version": "0",
                                "created": "now", "preset": {"name": "natural", "digest": "d"},
                                "input": {"sha256": "s"}, "description": "d"}).decode()
    assert f"<retouch:MarksHealed>{counts['healed']}</retouch:MarksHealed>" in packet
