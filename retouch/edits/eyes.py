"""eyes: clearer eyes without changing their colour: whiter scleras and a little more iris detail.

- Scleras: redness (positive a*) is reduced toward neutral, keeping the hue (chroma shrinks in proportion to
  how red it is, so a warm sclera never turns yellow-green), and lightness lifted by a few L*, only on the
  sclera-bright pixels of the sclera mask (lashes and lid lines in the mask are darker and are skipped),
  never above a lightness cap (a sclera that glows paper-white is the classic over-retouched eye), and
  less the deeper the sclera lies in shadow below the nearby skin (a lifted shadowed eye looks lit from
  within).
- Irises: local contrast of L* inside the iris mask (unsharp masking whose blur uses iris pixels only, so
  the bright sclera cannot leak in as a halo), soft-limited to a few L*. Only L* changes, so the iris's hue
  is kept; the detail boost is monotonic, so catchlights stay the brightest iris pixels.
Everything works at native resolution (small eyes are only ~20 px wide) on a crop around the eyes.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import moved_in_lab, to_lab
from ..params import Param, param
from ..photo import Face, Faces, Photo
from . import Change, Edit, register
from ._changes import combine, crop, masked_change, region_extent, smoothstep

STRENGTH = Param(0.7, 0.0, 1.0, 1.0,
                 "how much of the eye clean-up to apply; its effects are capped (lift, lightness cap, "
                 "detail limit) so even 1 keeps the eyes natural")

RIGHT_IRIS_RING, LEFT_IRIS_RING = (469, 470, 471, 472), (474, 475, 476, 477)
RIGHT_IRIS, LEFT_IRIS = 468, 473
NEUTRAL_A = 1.0            # a* of a clean sclera in white light: redness is reduced toward it, never below
SKIN_RED_SHARE = 0.5       # ...or toward this share of the nearby skin's a* (a white eye under warm light
                           # is warm too: a neutral grey sclera in a warm face looks cold and false)
SCLERA_BRIGHT = (40.0, 20.0)  # sclera pixels darker than (reference - first) get no weight, fully at - second
SHADOWED = (30.0, 10.0)    # a sclera this far (L*) below the nearby skin gets no lift / the full lift
MIN_SKIN = 12              # skin pixels needed near the eyes to judge whether they are in shadow
IRIS_DETAIL = 0.25         # detail scale: Gaussian sigma as a share of the iris radius
DETAIL_LIMIT = 10.0        # soft limit (L*) of the iris detail boost
MIN_SIGMA = 0.6            # px: below this a Gaussian no longer separates detail from noise


@dataclass(frozen=True)
class Params:
    sclera_redness: float = param(0.8, 0.0, 1.0, 0.9,
                                  "share of the sclera's redness (a* above neutral) that is removed, hue kept")
    sclera_lift: float = param(4.0, 0.0, 15.0, 8.0, "L* added to the sclera (before the cap)")
    sclera_max_lightness: float = param(88.0, 60.0, 100.0, 92.0,
                                        "the sclera is never lifted above this L* (whiter looks unreal)")
    iris_clarity: float = param(0.5, 0.0, 1.5, 1.0,
                                "extra iris local contrast: 0.5 = half again the iris's own detail")


def sclera_reference(lightness: np.ndarray, mask: np.ndarray) -> float | None:
    """L* of the sclera's bright pixels (90th percentile inside the mask), None for an empty mask."""
    inside = lightness[mask > 0.5] if np.count_nonzero(mask > 0.5) >= 4 else lightness[mask > 0]
    return float(np.percentile(inside, 90)) if inside.size else None


def sclera_weight(lightness: np.ndarray, mask: np.ndarray, reference: float) -> np.ndarray:
    """Where the sclera edit acts: the sclera mask, fading out on pixels much darker than the sclera's
    bright pixels (lashes, lid lines and shadowed corners caught by the landmark polygon)."""
    return mask * smoothstep(lightness, reference - SCLERA_BRIGHT[0], reference - SCLERA_BRIGHT[1])


def lift_share(reference: float, skin_lightness: float | None) -> float:
    """How much of the sclera lift suits this eye: none for a sclera in shadow well below the nearby
    skin (lifting it makes the eye look lit from within), all of it for a sclera as light as the skin."""
    if skin_lightness is None:
        return 1.0
    return float(smoothstep(reference - skin_lightness, -SHADOWED[0], -SHADOWED[1]))


def sclera_delta(lab: np.ndarray, params: Params, *, lift: float,
                 neutral: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL, da, db) of the full sclera edit per pixel, lifting by `lift` L* at most, with `neutral` the a*
    that counts as no redness.

    Redness is taken out by shrinking the pixel's chroma (a*, b* together, so its hue is kept: lowering
    a* alone turns a warm sclera yellow-green) by `sclera_redness` times the red share of that chroma,
    (a* - neutral) / C*: a red vessel loses most, a yellowish or neutral pixel little, and a* never
    crosses `neutral`. Lightness is lifted toward the cap; a pixel already above it is left as it is."""
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.maximum(np.hypot(a, b), 1e-6)
    shrink = params.sclera_redness * np.maximum(a - neutral, 0.0) / chroma
    d_lightness = np.minimum(lift, np.maximum(params.sclera_max_lightness - lightness, 0.0))
    return d_lightness, -shrink * a, -shrink * b


def iris_detail_delta(lightness: np.ndarray, mask: np.ndarray, sigma: float, clarity: float) -> np.ndarray:
    """dL of the iris clarity: the iris's own detail (L* minus its iris-only local mean), amplified by
    `clarity` and soft-limited to DETAIL_LIMIT."""
    weights = cv2.GaussianBlur(mask, (0, 0), sigma)
    local_mean = cv2.GaussianBlur(lightness * mask, (0, 0), sigma) / np.maximum(weights, 1e-6)
    detail = lightness - local_mean
    return (DETAIL_LIMIT * np.tanh(clarity * detail / DETAIL_LIMIT)).astype(np.float32)


def _iris_radius(face: Face) -> float:
    points = face.landmarks
    radii = [np.linalg.norm(points[list(ring)] - points[centre], axis=1).mean()
             for ring, centre in ((RIGHT_IRIS_RING, RIGHT_IRIS), (LEFT_IRIS_RING, LEFT_IRIS))]
    return float(np.mean(radii))


def _face_change(photo: Photo, face: Face, params: Params) -> Change | None:
    if not {"scleras", "irises"} <= face.regions.keys():
        return None
    box = region_extent(face, ("scleras", "irises", "under_eye"), photo.size)
    if box is None:
        return None
    rgb = crop(photo.pixels, box)
    lab = to_lab(rgb)
    skin = face.regions["skin"].crop(box) > 0.5 if "skin" in face.regions else np.zeros(lab.shape[:2], bool)
    skin_lab = np.median(lab[skin], axis=0) if np.count_nonzero(skin) >= MIN_SKIN else None
    scleras = face.regions["scleras"].crop(box)
    reference = sclera_reference(lab[..., 0], scleras)
    sclera = np.zeros_like(scleras) if reference is None else sclera_weight(lab[..., 0], scleras, reference)
    lift = 0.0 if reference is None else \
        params.sclera_lift * lift_share(reference, None if skin_lab is None else float(skin_lab[0]))
    neutral = NEUTRAL_A if skin_lab is None else max(NEUTRAL_A, SKIN_RED_SHARE * float(skin_lab[1]))
    d_lightness, d_a, d_b = sclera_delta(lab, params, lift=lift, neutral=neutral)
    iris = face.regions["irises"].crop(box)
    sigma = max(MIN_SIGMA, IRIS_DETAIL * _iris_radius(face))
    edited = lab.copy()
    edited[..., 0] += sclera * d_lightness + iris * iris_detail_delta(lab[..., 0], iris, sigma, params.iris_clarity)
    edited[..., 1] += sclera * d_a
    edited[..., 2] += sclera * d_b
    edited[..., 0] = np.clip(edited[..., 0], 0.0, 100.0)
    return masked_change(box, rgb, moved_in_lab(rgb, lab, edited), np.maximum(sclera, iris))


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Whiter, less red scleras and clearer irises on every face (full effect; see module doc)."""
    return combine(photo, [_face_change(photo, face, params) for face in faces])


register(Edit("eyes", Params, apply, STRENGTH, True,
              "brighten and de-redden the scleras, add iris clarity (hue kept, catchlights kept)",
              words="eyes brightened", order=40))
