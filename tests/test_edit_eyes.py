"""eyes: red-tinted scleras are cleaned within bounds, iris hue and catchlights are kept, nothing outside
the eyes moves. Both portraits: astronaut's eyes are only ~20 px wide."""
import dataclasses

import cv2
import numpy as np
import pytest

from retouch.color import from_lab, to_lab
from retouch.edits import eyes
from retouch.pipeline import blend

from portraits import faces, photo, save_png

PORTRAITS = ("astronaut", "grace_hopper")
TINT = 12.0                # a* added to the scleras (a bloodshot look)


def zoom(pixels: np.ndarray, box, factor: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.resize(pixels[y0:y1, x0:x1], None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


@pytest.fixture(scope="module", params=PORTRAITS)
def red_eyes(request):
    """(name, face, masks, untinted, tinted, retouched at the default strength)."""
    name = request.param
    original = photo(name).pixels
    face = faces(name).items[0]
    shape = original.shape[:2]
    masks = {region: face.regions[region].full(shape) for region in ("scleras", "irises", "eyes")}
    lab = to_lab(original)
    lab[..., 1] += TINT * masks["scleras"]
    tinted = np.where(masks["scleras"][..., None] > 0, from_lab(lab), original).astype(np.float32)
    change = eyes.apply(photo(name).with_pixels(tinted), faces(name), eyes.Params())
    after = blend(tinted, change, eyes.STRENGTH.default)
    ys, xs = np.nonzero(masks["eyes"] > 0.01)
    view = (xs.min() - 4, ys.min() - 4, xs.max() + 5, ys.max() + 5)
    factor = 10 if name == "astronaut" else 5
    save_png(np.concatenate([zoom(original, view, factor), zoom(tinted, view, factor), zoom(after, view, factor)]),
             f"eyes_red_{name}.png")
    return name, face, masks, original, tinted, after


def test_red_scleras_move_back_toward_their_own_colour(red_eyes):
    name, _, masks, original, tinted, after = red_eyes
    core = masks["scleras"] > 0.5
    untinted_a, tinted_a, after_a = (to_lab(p[core])[:, 1].mean() for p in (original, tinted, after))
    removed = (tinted_a - after_a) / (tinted_a - untinted_a)
    print(f"{name}: sclera mean a* {untinted_a:.2f} untinted, {tinted_a:.2f} tinted, {after_a:.2f} after "
          f"({removed:.0%} of the tint removed)")
    assert removed >= 0.35


def test_sclera_changes_stay_within_their_bounds(red_eyes):
    name, _, masks, _, tinted, after = red_eyes
    params = eyes.Params()
    sclera_only = (masks["scleras"] > 0) & (masks["irises"] < 0.01)
    before, now = to_lab(tinted[sclera_only]), to_lab(after[sclera_only])
    lift = now[:, 0] - before[:, 0]
    coloured = np.hypot(before[:, 1], before[:, 2]) > 5
    hue_turn = np.degrees(np.abs(np.angle(np.exp(1j * (np.arctan2(now[:, 2], now[:, 1])
                                                        - np.arctan2(before[:, 2], before[:, 1]))))))[coloured]
    print(f"{name}: sclera lift up to {lift.max():.2f} L* (bound {params.sclera_lift * eyes.STRENGTH.default:.2f}), "
          f"lightest {now[:, 0].max():.1f} L* (cap {params.sclera_max_lightness}), "
          f"a* down by up to {(before[:, 1] - now[:, 1]).max():.2f}, hue turned by {np.median(hue_turn):.2f} deg "
          f"median, {np.percentile(hue_turn, 95):.2f} p95")
    assert np.percentile(hue_turn, 95) <= 3.0           # redness goes, the sclera's own hue stays
    assert lift.max() <= params.sclera_lift * eyes.STRENGTH.default + 0.5
    assert np.all(now[:, 0] <= np.maximum(before[:, 0], params.sclera_max_lightness) + 0.5)
    assert np.all(now[:, 1] >= np.minimum(before[:, 1], eyes.NEUTRAL_A) - 0.5)     # never past neutral


def test_nothing_outside_the_eyes_changes(red_eyes):
    name, _, masks, _, tinted, after = red_eyes
    near_eyes = cv2.dilate((masks["eyes"] > 0.01).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    moved = np.abs(after - tinted).max(-1) > 0.5 / 65535    # would alter even a 16-bit file
    print(f"{name}: {moved.sum()} pixels changed, {(moved & ~near_eyes).sum()} of them outside the eyes (+2 px)")
    assert moved.any()
    assert not (moved & ~near_eyes).any()


def test_iris_gains_clarity_but_keeps_its_hue_and_catchlights(red_eyes):
    name, _, masks, _, tinted, after = red_eyes
    iris = masks["irises"] > 0.5
    before, now = to_lab(tinted[iris]), to_lab(after[iris])
    hue_shift = float(np.linalg.norm(before[:, 1:].mean(0) - now[:, 1:].mean(0)))
    count = max(3, int(0.05 * iris.sum()))
    brightest = np.argsort(before[:, 0])[-count:]
    rank_after = np.argsort(np.argsort(now[:, 0]))[brightest]
    print(f"{name}: iris mean a*b* shift {hue_shift:.3f}, L* spread {before[:, 0].std():.2f} -> "
          f"{now[:, 0].std():.2f}, {count} brightest pixels now ranked >= {rank_after.min()} of {iris.sum()}")
    assert hue_shift <= 2.0
    assert now[:, 0].std() >= 1.05 * before[:, 0].std()
    assert rank_after.min() >= 0.9 * iris.sum()


def test_a_face_without_eye_masks_is_left_alone():
    name = "astronaut"
    face = faces(name).items[0]
    blind = dataclasses.replace(face, regions={k: dataclasses.replace(r, mask=np.zeros_like(r.mask))
                                               for k, r in face.regions.items()})
    change = eyes.apply(photo(name), dataclasses.replace(faces(name), items=[blind]), eyes.Params())
    assert change.empty
