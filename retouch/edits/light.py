"""light: even out the light on the face with a smooth gain field, the way a reflector or a dodge would.

Three corrections are measured on the face and summed as a field of gains in stops (EV):
- exposure: the face's median skin lightness is moved toward a target band (nothing happens inside it);
- balance: a left-right ramp across the face's own horizontal axis, fitted from the two cheeks' luminance;
- under-eye: a dodge of each under-eye crescent toward the luminance of the cheek below it.
The field is built from large Gaussians scaled to the face and fades to zero gain outside the face, so it
can make no edge. It multiplies R, G and B in linear light by the same number, so chromaticity (hue and
saturation) is kept: only light changes. Every gain is capped at `max_ev` stops, and gains never push a
pixel past white (which would shift its hue); the target band is wide so well-exposed faces of any skin
tone are left alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import channel_reduce, power, to_linear, to_srgb
from ..io import shrink
from ..params import Param, param
from ..photo import Face, Faces, Photo
from . import Change, Edit, register
from ._tone import combine, crop, grow_box, masked_change, smoothstep

STRENGTH = Param(0.8, 0.0, 1.0, 1.0,
                 "how much of the light correction to apply; its gains are already capped at max_ev, "
                 "so even 1 only re-lights by a fraction of a stop")

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
CHEEKS = ((50, 187, 205), (280, 411, 425))   # image-left cheek, image-right cheek
RIGHT_IRIS, LEFT_IRIS = 468, 473
# Sizes, in face widths or inter-ocular distances.
FEATHER = 0.12           # Gaussian sigma of the face weight, in face widths
CHEEK_RADIUS = 0.2       # cheek sample disc, in inter-ocular distances
UNDER_EYE_SOFTNESS = 0.04  # extra Gaussian sigma of the under-eye dodge, in inter-ocular distances
FIELD_SIZE = 128         # the gain field is built with the face this many pixels wide, then resized
STATS_SIZE = 512         # luminance statistics (medians) are read with the face at most this many pixels wide
MIN_SAMPLE = 12          # pixels a cheek or under-eye sample needs to be trusted
HIGHLIGHT = 0.98         # a lifted pixel's brightest channel stops here (past white its hue would shift)
BAND_ROWS = 64           # relighting runs over bands of this many rows, so its temporaries stay in cache
_SRGB_OFFSET = 0.055     # the sRGB curve's power segment: linear = ((x + 0.055) / 1.055) ** 2.4 ...
_TOE = 0.04045           # ... above this encoded value; below it the curve is linear


@dataclass(frozen=True)
class Params:
    """The light edit's settings (target_low's hard max lies below target_high's range: the band is never empty)."""

    exposure: float = param(0.5, 0.0, 1.0, 1.0,
                            "share of the way the face's median skin lightness moves into the target band")
    target_low: float = param(40.0, 20.0, 70.0, 50.0,
                              "skin L* below which the face counts as under-exposed (keep it low: dark "
                              "skin is not under-exposure)")
    target_high: float = param(80.0, 60.0, 95.0, None, "skin L* above which the face counts as over-exposed")
    balance: float = param(0.8, 0.0, 1.0, 1.0, "share of the left/right cheek luminance difference removed")
    under_eye: float = param(0.5, 0.0, 1.0, 0.8,
                             "share of the under-eye shadow (against the cheek below) that is lifted")
    max_ev: float = param(0.5, 0.0, 1.5, 1.0, "largest gain or cut anywhere on the face, in stops (EV)")


def lightness_to_luminance(lightness: float) -> float:
    """CIE L* (0..100) -> relative luminance Y (0..1)."""
    f = (lightness + 16.0) / 116.0
    return f ** 3 if f > 6 / 29 else 3 * (6 / 29) ** 2 * (f - 4 / 29)


def luminance_to_lightness(luminance: float) -> float:
    """Relative luminance Y (0..1) -> CIE L* (0..100)."""
    return 116.0 * np.cbrt(luminance) - 16.0 if luminance > (6 / 29) ** 3 else luminance * (29 / 3) ** 3


def exposure_ev(skin_luminance: np.ndarray, params: Params) -> float:
    """Stops that move the median skin lightness `params.exposure` of the way into the target band."""
    if skin_luminance.size < MIN_SAMPLE:
        return 0.0
    median = max(float(np.median(skin_luminance)), 1e-4)
    lightness = luminance_to_lightness(median)
    target = np.clip(lightness, params.target_low, params.target_high)
    return params.exposure * float(np.log2(lightness_to_luminance(target) / median))


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, tuple(int(v) for v in np.round(centre * 16)), int(round(radius * 16)), 1, -1, cv2.LINE_8, 4)
    return mask.astype(bool)


def _median(values: np.ndarray, where: np.ndarray) -> float | None:
    return float(np.median(values[where])) if np.count_nonzero(where) >= MIN_SAMPLE else None


def cheek_levels(luminance: np.ndarray, skin: np.ndarray, points: np.ndarray,
                 interocular: float) -> list[float | None]:
    """Median luminance of each cheek (image left, image right): the skin in a disc around the cheek's
    landmarks (the whole disc if the skin mask misses it); None where too little is visible."""
    levels = []
    for indices in CHEEKS:
        disc = _disc(luminance.shape, points[list(indices)].mean(0), CHEEK_RADIUS * interocular)
        levels.append(_median(luminance, disc & skin if np.count_nonzero(disc & skin) >= MIN_SAMPLE else disc))
    return levels


def balance_slope(levels: list[float | None], params: Params) -> float:
    """Stops per unit of `across_map` that remove `params.balance` of the cheeks' difference, half on
    each side (the lit cheek comes down as much as the shaded one goes up: mean exposure is kept)."""
    if None in levels:
        return 0.0
    left, right = (max(level, 1e-4) for level in levels)
    return -params.balance * float(np.log2(right / left)) / 2


def across_map(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Position along the face's own horizontal axis (eye to eye, whatever the roll): -1 at the image-left
    cheek, +1 at the image-right cheek, linear in between and beyond."""
    axis = points[LEFT_IRIS] - points[RIGHT_IRIS]
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    left, right = (points[list(indices)].mean(0) for indices in CHEEKS)
    middle, half = (left + right) / 2, max(float((right - left) @ axis) / 2, 1.0)
    xs = (np.arange(shape[1], dtype=np.float32) - middle[0]) * axis[0] / half
    ys = (np.arange(shape[0], dtype=np.float32) - middle[1]) * axis[1] / half
    return (ys[:, None] + xs[None, :]).astype(np.float32)


def face_weight(hull: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """0..1: 1 over the face (the landmarks' hull), fading smoothly to 0 within ~2 sigma outside it."""
    filled = np.zeros(shape, np.uint8)
    cv2.fillPoly(filled, [np.round(hull * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return smoothstep(cv2.GaussianBlur(filled.astype(np.float32) / 255.0, (0, 0), sigma), 0.02, 0.6)


def dodge_shape(crescent: np.ndarray, sigma: float) -> np.ndarray:
    """0..1: an under-eye crescent softened by a Gaussian and reaching 1 over its core (where its shadow
    was measured), so the measured shadow gets the full lift and the rim fades smoothly."""
    soft = cv2.GaussianBlur(crescent, (0, 0), sigma)
    core = crescent >= 0.5 * float(crescent.max())
    level = float(np.median(soft[core])) if core.any() else float(soft.max())
    return smoothstep(soft, 0.0, max(level, 1e-6))


def under_eye_lifts(luminance: np.ndarray, under: np.ndarray, across: np.ndarray,
                    levels: list[float | None], params: Params) -> list[tuple[np.ndarray, float]]:
    """(crescent mask, stops) for each under-eye crescent darker than the cheek on its side: the lift is
    `params.under_eye` of the shadow's depth below that cheek."""
    lifts = []
    for side, cheek in zip((across < 0, across >= 0), levels):
        crescent = under * side
        level = _median(luminance, crescent >= 0.5 * max(float(crescent.max()), 1e-6))
        if level is None or cheek is None:
            continue
        stops = params.under_eye * float(np.log2(cheek / max(level, 1e-4)))
        if stops > 0:
            lifts.append((crescent, stops))
    return lifts


def relight(rgb: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """sRGB pixels `rgb` with their linear light times 2**stops (R, G, B alike: chromaticity kept). A lift
    stops where a pixel's brightest channel reaches HIGHLIGHT: clipping one channel would shift its hue.

    On the sRGB curve's power segment, multiplying linear light by g is exactly the affine map
    (x + 0.055) * g**(1/2.4) - 0.055 of the encoded value, so no pixel is decoded to linear light;
    the few pixels with a channel on the curve's linear toe (near black) take the exact route. Bands of
    BAND_ROWS rows are relit one at a time: on a 24-megapixel face the work is memory traffic, and a band's
    temporaries stay in the CPU's cache (about a third faster than whole-crop passes)."""
    lit = np.empty(rgb.shape, np.float32)
    for top in range(0, rgb.shape[0], BAND_ROWS):
        rows = slice(top, top + BAND_ROWS)
        lit[rows] = _relight_band(rgb[rows], stops[rows])
    return lit


def _relight_band(rgb: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """relight() of a few rows, in the encoded values' own terms: the gain's factor on the power segment
    is g**(1/2.4), and the highlight cap HIGHLIGHT / linear(brightest) becomes
    HIGHLIGHT**(1/2.4) * 1.055 / (brightest + 0.055) there, so no channel is raised to a power. A cut
    (g < 1) can never meet the cap, so the cap needs no mask."""
    offset = np.float32(_SRGB_OFFSET)
    factor = np.exp2(stops.astype(np.float32) * np.float32(1 / 2.4))
    cap = channel_reduce(rgb, cv2.REDUCE_MAX)
    cap += offset
    np.divide(np.float32(HIGHLIGHT ** (1 / 2.4) * (1 + _SRGB_OFFSET)), cap, out=cap)
    np.minimum(factor, np.maximum(cap, 1.0, out=cap), out=factor)
    lift = (factor - 1.0) * offset                      # (x + 0.055) * f - 0.055 = x * f + lift
    lit = rgb * factor[..., None]
    lit += lift[..., None]
    darkest = channel_reduce(rgb, cv2.REDUCE_MIN)
    toe = np.minimum(darkest, darkest * factor + lift) <= _TOE
    if toe.any():
        lit[toe] = to_srgb(to_linear(rgb[toe]) * power(factor[toe], 2.4)[:, None])
    return np.clip(lit, 0.0, 1.0, out=lit)


def _resized(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`values` at `shape` (h, w): area-averaged by whole blocks first when it shrinks (io.shrink: a
    24-megapixel crop read for statistics, where a fraction of a pixel's shift at the far edges does not
    matter), bilinear when it grows (the smooth field, which must stay in register)."""
    if shape[0] < values.shape[0]:
        return shrink(values, (shape[1], shape[0]))[0]
    return cv2.resize(values.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _face_change(photo: Photo, face: Face, params: Params) -> Change | None:
    """The light correction of one face, on a crop around it. The luminance statistics are read on a copy
    with the face at most STATS_SIZE px wide and the smooth field is built with it FIELD_SIZE px wide and
    resized: only the relighting itself runs at full resolution, so a 24-megapixel face costs little
    more than a small one."""
    points = face.landmarks - 0.5                         # pixel-centre coordinates
    face_width = float(np.ptp(points[:, 0]))
    sigma = FEATHER * face_width
    extent = (int(points[:, 0].min()), int(points[:, 1].min()),
              int(points[:, 0].max()) + 1, int(points[:, 1].max()) + 1)
    box = grow_box(extent, 3 * sigma, photo.size)
    rgb = crop(photo.pixels, box)
    shape = rgb.shape[:2]
    stats_scale = min(1.0, STATS_SIZE / max(face_width, 1.0))
    stats_shape = (max(2, round(shape[0] * stats_scale)), max(2, round(shape[1] * stats_scale)))
    luminance = to_linear(_resized(rgb, stats_shape)) @ LUMA
    local = (points - np.array(box[:2], np.float32) + 0.5) * stats_scale - 0.5
    hull = cv2.convexHull(local).reshape(-1, 2)
    region = face.regions.get("skin")
    skin = (_resized(region.crop(box), stats_shape) > 0.5 if region is not None
            else face_weight(hull, stats_shape, 0.5) > 0.5)
    levels = cheek_levels(luminance, skin, local, face.interocular * stats_scale)
    across = across_map(stats_shape, local)

    scale = min(1.0, FIELD_SIZE / max(face_width, 1.0))
    small = (max(2, round(shape[0] * scale)), max(2, round(shape[1] * scale)))
    to_small = scale / stats_scale
    weight = face_weight((hull + 0.5) * to_small - 0.5, small, sigma * scale)
    field = weight * (exposure_ev(luminance[skin], params) + balance_slope(levels, params) * _resized(across, small))
    reach = weight
    under = face.regions.get("under_eye")
    if under is not None and params.under_eye > 0:
        crescents = _resized(under.crop(box), stats_shape)
        for crescent, stops in under_eye_lifts(luminance, crescents, across, levels, params):
            dodge = dodge_shape(_resized(crescent, small), UNDER_EYE_SOFTNESS * face.interocular * scale)
            field, reach = field + stops * dodge, np.maximum(reach, dodge)

    field = np.clip(field, -params.max_ev, params.max_ev)
    if not np.any(np.abs(field) > 1e-3):
        return None
    return masked_change(box, rgb, relight(rgb, _resized(field, shape)), _resized(reach, shape))


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Re-light every face with its own smooth, chroma-keeping gain field (full effect; see module doc)."""
    return combine(photo, [_face_change(photo, face, params) for face in faces])


register(Edit("light", Params, apply, STRENGTH, True,
              "even out face lighting: exposure toward a band, left/right balance, under-eye lift (linear light)",
              words="lighting balanced", order=30))
