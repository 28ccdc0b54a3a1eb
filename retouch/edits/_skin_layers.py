"""Helpers shared by the skin edits (blemish, skin): per-face crops in CIELAB and frequency separation.

Both edits split a face's skin (in CIELAB) into a low-frequency layer (tone) and a high-frequency layer
(texture: pores, fine hair) and change only one of them, so the texture a viewer reads as skin survives. Blurs that
must not mix skin with eyes, brows, lips or a spot being healed are normalised convolutions: each pixel
is the weighted mean of its neighbours, the weights saying which neighbours may be used.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from ..resample import shrink, upsample
from ..photo import Box, Face, Faces, Photo
from . import Change
from ._changes import combine, crop, grow_box

# Skin mask values above this count as skin (for noise estimates, and where spots may be healed).
SKIN_CORE = 0.5
# Weight of non-skin pixels in normalised blurs over skin: they count only where no skin is within reach.
OUTSIDE_WEIGHT = 1e-3
# Regions that are never skin, whatever the skin mask's soft edge says.
FEATURES = ("eyes", "brows", "lips", "inner_mouth")
# Blurs wider than this many sigmas (px) are computed on a shrunk copy.
DIRECT_SIGMA = 4.0
# Where a weight sum is below this share of its maximum the normalised blur has no neighbour to use.
_EMPTY_WEIGHT = 1e-4


def blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an HxW or HxWxC float32 array (edges reflected).

    Wide blurs run on a copy shrunk so the kernel spans about DIRECT_SIGMA pixels and are enlarged back:
    the result is smooth, so nothing visible is lost, and a 24-megapixel face costs what a small one does."""
    values = values.astype(np.float32, copy=False)
    sigma = max(float(sigma), 1e-3)
    factor = int(sigma // DIRECT_SIGMA)
    if factor < 2:
        return cv2.GaussianBlur(values, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    height, width = values.shape[:2]
    small = cv2.resize(values, (-(-width // factor), -(-height // factor)), interpolation=cv2.INTER_AREA)
    # Shrinking (a box of `factor`) and enlarging (linear) blur too, by about factor**2 / 4 in variance.
    small = cv2.GaussianBlur(small, (0, 0), np.sqrt(sigma ** 2 - factor ** 2 / 4) / factor,
                             borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def masked_blur(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian mean of `values` (HxW or HxWxC) over the neighbours with `weights` > 0 only.

    Pixels with no usable neighbour within reach get the plain blur (a fallback, never NaN)."""
    weights = weights.astype(np.float32, copy=False)
    spread = weights[..., None] if values.ndim == 3 else weights
    total = blur(weights, sigma)
    total_b = total[..., None] if values.ndim == 3 else total
    mean = blur(values * spread, sigma)
    mean /= np.maximum(total_b, np.float32(1e-12))
    empty = total_b < _EMPTY_WEIGHT * max(float(weights.max(initial=0.0)), 1e-12)
    if not empty.any():
        return mean
    return np.where(empty, blur(values, sigma), mean).astype(np.float32, copy=False)


def split(values: np.ndarray, sigma: float, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) with low + high == values: `low` a (masked, if `weights`) Gaussian of `sigma`."""
    low = blur(values, sigma) if weights is None else masked_blur(values, weights, sigma)
    return low, (values - low).astype(np.float32)


def robust_spread(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per-channel standard deviation estimated from the median absolute deviation over `where`.

    Robust to the very spots and blotches the edits look for, and relative to each face's own skin,
    so the same rule works on dark and light skin without absolute thresholds."""
    sample = values[where]
    if sample.size == 0:
        return np.ones(values.shape[2:] or (), np.float32)
    centre = np.median(sample, axis=0)
    return np.maximum(1.4826 * np.median(np.abs(sample - centre), axis=0), 1e-3).astype(np.float32)


def skin_only(face: Face, box: Box) -> np.ndarray:
    """The face's soft skin mask over `box`, forced to 0 wherever a feature region (FEATURES) reaches
    0.5 and faded beside it: the features' own soft edges can never be treated as skin. Each feature is
    applied over its own small box only (it is 0 elsewhere)."""
    skin = face.regions["skin"].crop(box)
    for name in FEATURES:
        if name not in face.regions:
            continue
        region = face.regions[name]
        x0, y0 = max(box[0], region.box[0]), max(box[1], region.box[1])
        x1, y1 = min(box[2], region.box[2]), min(box[3], region.box[3])
        if x1 > x0 and y1 > y0:
            feature = region.mask[y0 - region.box[1]:y1 - region.box[1], x0 - region.box[0]:x1 - region.box[0]]
            skin[y0 - box[1]:y1 - box[1], x0 - box[0]:x1 - box[0]] *= np.clip(1.0 - 2.0 * feature, 0.0, 1.0)
    return skin


FaceWork = Callable[[np.ndarray, np.ndarray, Face, Box], tuple[np.ndarray, np.ndarray] | None]


def each_face(photo: Photo, faces: Faces, margin: float, work: FaceWork) -> Change:
    """Run `work(rgb, skin, face, box)` on every face's box grown by `margin` inter-ocular distances.

    `rgb` is the crop (a view: never written), `skin` the face's soft skin mask over it (skin_only);
    `work` returns the edited RGB crop and the soft mask where it acted (or None). Each edit converts to
    CIELAB only what it needs, where it needs it: on a 24-megapixel face, whole-crop conversions are
    what costs. The per-face results become one Change."""
    parts = []
    for face in faces:
        if "skin" not in face.regions:
            continue
        box = grow_box(face.box, margin * face.interocular, photo.size)
        skin = skin_only(face, box)
        if not np.any(skin > 0):
            continue
        done = work(crop(photo.pixels, box), skin, face, box)
        if done is None:
            continue
        pixels, mask = done
        parts.append(Change(box, pixels.astype(np.float32, copy=False), mask.astype(np.float32, copy=False)))
    return combine(photo, parts)


SmallWork = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray | None]]


def at_working_scale(rgb: np.ndarray, skin: np.ndarray, interocular: float, largest: float,
                     work: SmallWork) -> tuple[np.ndarray, np.ndarray | None]:
    """A smooth change worked out on a small copy of a face's crop and applied at full resolution.

    `work(rgb, skin, interocular)` returns the edited RGB and the 0..1 weight of where it acted. It runs
    on the crop shrunk (by whole blocks first, resample.shrink) until the inter-ocular distance is at most
    `largest` px; the change it makes there (edited - rgb, which must be smooth at that scale) and its
    weight are enlarged over exactly the part of the crop the small copy covers, and the change is added
    to the full-resolution crop. The fine detail is never resampled, so skin keeps its texture, and a
    24-megapixel face costs what a small one does. Returns (edited crop, weight) at full resolution; a
    `work` whose weight is None (the caller keeps its own mask) gets None back, and no enlarging for it."""
    scale = min(1.0, largest / max(interocular, 1.0))
    if scale == 1.0:
        return work(rgb, skin, interocular)
    height, width = skin.shape
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    (rgb_small, extent), (skin_small, _) = shrink(rgb, small), shrink(skin, small)
    edited, weight = work(rgb_small, skin_small, interocular * small[0] / extent[0])
    factor = (extent[0] / small[0], extent[1] / small[1])
    change = upsample(edited - rgb_small, factor, (0, 0), (width, height))
    return (np.clip(rgb + change, 0.0, 1.0),
            None if weight is None else upsample(weight, factor, (0, 0), (width, height)))
