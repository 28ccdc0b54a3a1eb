"""tone: known answers on the four portraits (issue 16): a planted red blotch evens out in colour, the
face's own skin colour and every lightness stay.

The blotch is blood under the skin, planted in linear light as an absorber (Beer-Lambert, haemoglobin's
relative densities, as tests/_planted.py plants inflamed spots) with a Gaussian falloff the size of a
cheek's redness, so it reads right on light and darker skin alike.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from retouch.color import delta_e, to_lab, to_linear, to_srgb
from retouch.edits import tone
from retouch.edits._skin_layers import masked_blur
from retouch.face import analyse
from retouch.photo import Faces
from retouch.pipeline import blend

import portraits

pytestmark = pytest.mark.timeout(300)

NAMES = ("astronaut", "grace_hopper", "obama", "biden")
CHEEK = 205              # FaceMesh point on the subject's right cheek
BLOTCH = 0.2             # the blotch's Gaussian sigma, inter-ocular distances
HAEMOGLOBIN = np.array([0.22, 1.0, 0.62], np.float32)   # relative optical densities (red, green, blue)
DEPTH = 0.35             # green density at the blotch's centre
SCALES = (0.1, 0.3)      # "large scales": the chroma between Gaussians of these sigmas (eye distances)


def blotch_share(name: str) -> np.ndarray:
    face = portraits.faces(name).items[0]
    height, width = portraits.photo(name).pixels.shape[:2]
    ys, xs = np.mgrid[:height, :width]
    x, y = face.landmarks[CHEEK]
    return np.exp(-0.5 * ((xs - x) ** 2 + (ys - y) ** 2) / (BLOTCH * face.interocular) ** 2).astype(np.float32)


@functools.lru_cache(maxsize=None)
def planted(name: str) -> tuple[np.ndarray, Faces]:
    """Portrait `name` with a red blotch on the cheek, and the planted photo's own analysis."""
    photo = portraits.photo(name)
    density = DEPTH * blotch_share(name)[..., None] * HAEMOGLOBIN
    pixels = to_srgb(to_linear(photo.pixels) * np.exp(-density))
    return pixels, analyse(photo.with_pixels(pixels), identity=False, person=False)


def evened(name: str, pixels: np.ndarray, faces: Faces, strength: float | None = None) -> np.ndarray:
    change = tone.apply(portraits.photo(name).with_pixels(pixels), faces, tone.Params())
    return blend(pixels, change, tone.STRENGTH.default if strength is None else strength)


def large_scale_chroma_variance(rgb: np.ndarray, skin: np.ndarray, where: np.ndarray, interocular: float) -> float:
    """Variance of a* and b* between the SCALES (normalised Gaussians over skin, in eye distances),
    summed over the two, over the skin of `where`."""
    chroma = to_lab(rgb)[..., 1:]
    band = masked_blur(chroma, skin, SCALES[0] * interocular) - masked_blur(chroma, skin, SCALES[1] * interocular)
    inside = where & (skin > 0.5)
    return float(band[inside].var(axis=0).sum())


@pytest.mark.parametrize("name", NAMES)
def test_a_planted_red_blotch_evens_out(name):
    pixels, faces = planted(name)
    face = faces.items[0]
    result = evened(name, pixels, faces)
    skin = face.regions["skin"].full(pixels.shape[:2])
    share = blotch_share(name)
    window = share >= np.exp(-0.5 * 2.0 ** 2)                          # within two of the blotch's sigmas
    before = large_scale_chroma_variance(pixels, skin, window, face.interocular)
    after = large_scale_chroma_variance(result, skin, window, face.interocular)
    clean = large_scale_chroma_variance(portraits.photo(name).pixels, skin, window, face.interocular)
    x0, y0, x1, y1 = face.box
    portraits.side_by_side(pixels[y0:y1, x0:x1], result[y0:y1, x0:x1], f"tone_{name}_before_after.png")
    # Where a channel is at its limit (grace's red), colour cannot move without lightness.
    unclipped = (skin > 0.5) & (np.maximum(pixels, result).max(axis=-1) < 254 / 255)
    lightness = np.abs(to_lab(result)[..., 0] - to_lab(pixels)[..., 0])[unclipped]
    print(f"{name}: large-scale chroma variance {before:.1f} -> {after:.1f} (clean photo {clean:.1f}), "
          f"reduced {1 - after / before:.0%}; |dL*| on skin mean {lightness.mean():.2f} p99 "
          f"{np.percentile(lightness, 99):.2f}")
    assert after <= 0.6 * before
    assert lightness.mean() <= 0.1 and np.percentile(lightness, 99) <= 0.75     # only colour moves


@pytest.mark.parametrize("name", NAMES)
def test_the_face_keeps_its_own_skin_colour(name):
    photo, faces = portraits.photo(name), portraits.faces(name)
    result = evened(name, photo.pixels, faces)
    skin = faces.items[0].regions["skin"].full(photo.pixels.shape[:2]) > 0.5
    before, after = to_lab(photo.pixels[skin]), to_lab(result[skin])
    shift = after.mean(axis=0) - before.mean(axis=0)
    differences = delta_e(before, after)
    print(f"{name}: skin dE mean {differences.mean():.2f}, p95 {np.percentile(differences, 95):.2f}; "
          f"mean L* a* b* moved {shift.round(2)}")
    assert differences.mean() <= 1.0
    assert np.all(np.abs(shift) <= 1.0)             # never greyer, lighter or darker (issue: obama)


def test_darker_skin_is_never_made_greyer_even_at_the_hard_maximum():
    photo, faces = portraits.photo("obama"), portraits.faces("obama")
    limit = tone.Params.__dataclass_fields__["amount"].metadata["param"].limit
    change = tone.apply(photo, faces, tone.Params(amount=limit))
    result = blend(photo.pixels, change, tone.STRENGTH.limit)
    skin = faces.items[0].regions["skin"].full(photo.pixels.shape[:2]) > 0.5
    before, after = to_lab(photo.pixels[skin]), to_lab(result[skin])
    chroma = [float(np.hypot(lab[:, 1], lab[:, 2]).mean()) for lab in (before, after)]
    print(f"obama at the hard maximum: mean L* a* b* moved {(after.mean(0) - before.mean(0)).round(2)}, "
          f"mean chroma {chroma[0]:.2f} -> {chroma[1]:.2f}")
    assert np.all(np.abs(after.mean(0) - before.mean(0)) <= 1.0)
    assert chroma[1] >= chroma[0] - 0.5


@pytest.mark.parametrize("name", ["grace_hopper", "obama"])
def test_features_are_never_touched(name):
    photo, faces = portraits.photo(name), portraits.faces(name)
    change = tone.apply(photo, faces, tone.Params())
    x0, y0, x1, y1 = change.box
    for feature in ("eyes", "brows", "lips", "inner_mouth"):
        region = faces.items[0].regions[feature].crop(change.box)
        assert change.mask[region >= 0.5].max(initial=0.0) == 0.0, feature
    still = change.mask == 0
    assert np.array_equal(change.pixels[still], photo.pixels[y0:y1, x0:x1][still])


def test_no_face_changes_nothing():
    photo = portraits.photo("astronaut")
    assert tone.apply(photo, Faces([], None, photo.size), tone.Params()).empty
