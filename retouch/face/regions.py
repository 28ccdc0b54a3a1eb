"""Soft region masks of one face from its FaceMesh landmarks, computed inside the face's box only.

Index sets (mediapipe 0.10.14 `face_mesh_connections`, chained from their edges into ordered polygons;
"right" is the subject's right, on the image's left):

- face oval: FACEMESH_FACE_OVAL (36 points, 10 = top of the forehead, 152 = chin);
- eye openings: FACEMESH_RIGHT_EYE / FACEMESH_LEFT_EYE (16 points each), corners 33, 133 / 263, 362;
- irises: centres 468 / 473, radius = mean distance to the ring FACEMESH_RIGHT_IRIS / FACEMESH_LEFT_IRIS
  (469-472 / 474-477), clipped to the eye opening (the lids cover the rest);
- brows: FACEMESH_RIGHT_EYEBROW / FACEMESH_LEFT_EYEBROW, each an upper and a lower line joined into a band;
- lips: FACEMESH_LIPS, two loops: the outer contour (through the corners 61, 291) and the inner one
  (through 78, 308), whose inside is the mouth opening;
- nostrils: hulls of NOSTRILS (picked by eye on grace_hopper; mediapipe has no nostril set);
- skin colour sample: the middle of the face, from the lower lids (145, 374) to the nose base (2), kept
  SAMPLE_INSET inside the oval and away from the features: cheeks and nose, seldom under hair or a beard.

How each region is made:
- skin: all of the face's skin, forehead to the hairline, the nose, cheeks, chin and jaw. The face oval
  with its forehead raised to the highest a hairline sits (FOREHEAD_HEIGHT nose lengths above the brows:
  a bald scalp above that is not face skin), minus the eyes, brows, lips and nostrils (each grown a
  little), times a likeness to the face's own skin colour in shading-invariant terms (hue, chroma over
  lightness, lightness; robust centre and spread, so the same on dark and light skin, no absolute
  thresholds). Below the brows the likeness forgives shade (darker, redder, richer: jaw, chin, nose
  sides); it never forgives greyer or yellower, which is how hair (white, grey, black, fair), stubble and
  dark frames stay out. Small enclosed gaps (moles, highlights) are filled; gaps that reach the oval's
  edge (hair, a beard, glasses' temples) stay out, as does anything not connected to the sample.
  Translucent frames whose colour passes for skin's (grace_hopper's amber rims) are not told apart;
- eyes, irises, scleras: the eye openings; the iris discs times the eyes; the eyes minus the irises;
- lips: the outer lip contour minus the mouth opening;
- inner_mouth: the inner lip contour, widened over the teeth when the mouth is open (see _mouth_opening);
- under_eye: a crescent hanging below each lower lid, deepest in the middle, eyes excluded.

Every size is a fraction of the inter-ocular distance, so masks look the same at any resolution. Masks
are built at a working scale (inter-ocular distance at most WORK_INTEROCULAR px) and resized to the box:
they are soft, so nothing is lost, and a 24-megapixel face costs the same as a 2-megapixel one. Growing,
feathering and resizing work only around each mask's non-zero pixels (eyes, lips and brows are small
parts of the box), the skin only over the face's own extent, and the box is shrunk by whole blocks first.
"""
from __future__ import annotations

import math
from collections import defaultdict

import cv2
import numpy as np
from mediapipe.python.solutions import face_mesh_connections as mesh

from ..resample import shrink, upsample
from ..photo import Face, Region

REGION_NAMES = ("skin", "eyes", "irises", "scleras", "brows", "lips", "inner_mouth", "under_eye")

WORK_INTEROCULAR = 160.0
SUBPIXEL_BITS = 4             # polygons are drawn with 1/16 px precision
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (263, 362)
RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE = 468, 473
NOSTRILS = ((79, 166, 59, 75, 60, 20, 238, 239), (309, 392, 289, 305, 290, 250, 458, 459))
BROW_LINE = (105, 334)        # upper brow points: the forehead is what lies above them
NOSE_BASE = 2                 # below the nose tip, between the nostrils
LOWER_LIDS = (145, 374)       # the middle of each lower lid
MOUTH_CENTRE = (13, 14)
LOWER_LIP_INNER = 14          # the middle of the lower lip's inner edge

# All in inter-ocular distances.
UNDER_EYE_DEPTH = 0.40        # crescent depth below the lower lid at its middle, in eye widths
FEATHER = {"skin": 0.03, "eyes": 0.012, "irises": 0.01, "brows": 0.03, "lips": 0.015,
           "inner_mouth": 0.012, "under_eye": 0.04}
SKIN_EXCLUSION_GROW = {"eyes": 0.07, "brows": 0.05, "lips": 0.03, "nostrils": 0.03}
OPEN_MOUTH = 0.15             # inner over outer lip contour area from which the mouth counts as open
EDGE_CLEAR = 0.02             # skin keeps this far from dark things unlike it (the colour blur's reach)
HOLE_FILL = 0.2               # enclosed skin-colour gaps up to this radius (blemishes, highlights) are skin
SAMPLE_INSET = 0.12           # the skin colour sample keeps this far inside the oval and from the features
BOX_KEEP_CLEAR = 0.15         # the forehead reaches no closer than this to the top of the face box

FOREHEAD_HEIGHT = 1.1         # brow line to hairline at most, in nose lengths (brow line to nose base): a
                              # receding hairline or a bald scalp above that is scalp, not face skin

# Colour models. Lips (for the mouth opening): robust centre and spread per Lab channel, a distance in
# units of that spread (floored, so evenly lit faces are not judged by noise).
SPREAD_FLOOR = np.array([3.0, 1.5, 1.5], np.float32)   # Lab units: L, a, b
COLOUR_BLUR = 0.03            # Lab is blurred this much first, so pores and fine wrinkles read as skin
SKIN_DISTANCE = (3.0, 5.0)    # fully like the sample below the first, unlike above the second
# Skin: the face's own skin in shading-invariant terms (see skin_features): a robust centre and spread of
# hue, chroma over lightness and log lightness, a distance in units of that spread.
SKIN_SPREAD_FLOOR = np.array([4.0, 0.12, 0.06], np.float32)   # degrees of hue, log units, log units
SHADE_STRETCH = 2.5           # below the brows, redder and richer count this much less (light in shade)
SHADOW_DEPTH = 0.5            # below the brows, this much darker (in log of L + 16) is free: a fifth the light
LIT_DEPTH = 0.15              # this much lighter is free everywhere (1.6 times the light): the lit side
SHADE_RAMP = 0.3              # the allowances grow from none at the brow line to full this far below
MODEL_DISTANCE = (3.5, 5.0)   # skin below the first distance, not skin above the second

def _paths(connections) -> list[list[int]]:
    """Chain a mediapipe connection set into ordered index paths (closed loops repeat no index)."""
    neighbours = defaultdict(set)
    for a, b in connections:
        neighbours[a].add(b)
        neighbours[b].add(a)
    remaining, paths = set(neighbours), []
    while remaining:
        ends = sorted(i for i in remaining if len(neighbours[i]) == 1)
        path = [ends[0] if ends else min(remaining)]
        remaining.discard(path[0])
        while True:
            following = sorted(n for n in neighbours[path[-1]] if n in remaining)
            if not following:
                break
            path.append(following[0])
            remaining.discard(following[0])
        paths.append(path)
    return paths


def _loop_through(connections, index: int) -> list[int]:
    return next(p for p in _paths(connections) if index in p)


OVAL = _loop_through(mesh.FACEMESH_FACE_OVAL, 10)
EYES = (_loop_through(mesh.FACEMESH_RIGHT_EYE, 33), _loop_through(mesh.FACEMESH_LEFT_EYE, 263))
IRIS_RINGS = (sorted({i for e in mesh.FACEMESH_RIGHT_IRIS for i in e}),
              sorted({i for e in mesh.FACEMESH_LEFT_IRIS for i in e}))
BROWS = (_paths(mesh.FACEMESH_RIGHT_EYEBROW), _paths(mesh.FACEMESH_LEFT_EYEBROW))
LIPS_OUTER = _loop_through(mesh.FACEMESH_LIPS, 61)
LIPS_INNER = _loop_through(mesh.FACEMESH_LIPS, 78)


def _fill(shape: tuple[int, int], *polygons: np.ndarray) -> np.ndarray:
    """Binary float32 mask of polygons given in pixel-centre coordinates (sub-pixel precise)."""
    mask = np.zeros(shape, np.uint8)
    scale = 1 << SUBPIXEL_BITS
    cv2.fillPoly(mask, [np.round(p * scale).astype(np.int32) for p in polygons], 255, cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255.0


def _band(points: np.ndarray, lines: list[list[int]]) -> np.ndarray:
    """Two open lines (a brow's upper and lower edge) joined end to end into one polygon."""
    first, second = points[lines[0]], points[lines[1]]
    if np.linalg.norm(first[-1] - second[0]) > np.linalg.norm(first[-1] - second[-1]):
        second = second[::-1]
    return np.concatenate([first, second])


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    scale = 1 << SUBPIXEL_BITS
    cv2.circle(mask, tuple(np.round(centre * scale).astype(int)), int(round(radius * scale)),
               255, -1, cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255.0


def _support(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The bounding box of `mask`'s non-zero pixels grown by `margin`, within the mask; None if all zero."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def _on_support(mask: np.ndarray, margin: int, operation) -> np.ndarray:
    """`operation` (a local filter reaching `margin` pixels, 0 where its input is 0 within that reach)
    applied only around `mask`'s non-zero pixels: the same result, at a fraction of the cost for the
    small features (eyes, lips, brows) of a big face box."""
    out = np.zeros_like(mask)
    window = _support(mask, margin)
    if window is not None:
        out[window] = operation(mask[window])
    return out


def _grow(mask: np.ndarray, radius: float) -> np.ndarray:
    size = 2 * max(1, int(round(radius))) + 1
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return _on_support(mask, size // 2 + 1, lambda part: cv2.dilate(part, element))


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    sigma = max(sigma, 0.5)
    reach = int(round(sigma * 4)) + 2                  # OpenCV's float kernel reaches 4 sigma
    return _on_support(mask, reach, lambda part: cv2.GaussianBlur(part, (0, 0), sigma))


def _down(points: np.ndarray) -> np.ndarray:
    """Unit vector pointing from the eyes towards the mouth (the face's own 'down', whatever its roll)."""
    across = points[LEFT_IRIS_CENTRE] - points[RIGHT_IRIS_CENTRE]
    down = np.array([-across[1], across[0]])
    towards_mouth = points[list(MOUTH_CENTRE)].mean(0) - points[[RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE]].mean(0)
    down = down if down @ towards_mouth >= 0 else -down
    return down / max(np.linalg.norm(down), 1e-6)


def _forehead_to_hairline(points: np.ndarray, down: np.ndarray, shape: tuple[int, int],
                          interocular: float) -> np.ndarray:
    """The face oval with its forehead raised (or lowered) so that its top lies FOREHEAD_HEIGHT nose
    lengths above the brow line, where a hairline is at the most; the colour model stops it at the hair.

    FaceMesh's oval top sits at a varying height on the forehead, often below the hairline. The stretch
    scales each oval point's height above the brow line alike, so the temples hardly move; it stays
    BOX_KEEP_CLEAR inter-ocular distances inside the box (whose top margin is the room left for it)."""
    oval = points[OVAL].astype(np.float64)
    brow_level = points[list(BROW_LINE)].mean(0) @ down
    above = np.maximum(brow_level - oval @ down, 0.0)
    ceiling = FOREHEAD_HEIGHT * (points[NOSE_BASE] @ down - brow_level)
    step = np.outer(above, -down)                        # the move per unit of extra stretch
    margin = BOX_KEEP_CLEAR * interocular
    room = [np.inf]
    for axis, limit in ((0, shape[1] - 1 - margin), (1, shape[0] - 1 - margin)):
        moving = np.abs(step[:, axis]) > 1e-6
        towards_start = np.where(step[:, axis] < 0, oval[:, axis] - margin, limit - oval[:, axis])
        room.append(float(np.min(towards_start[moving] / np.abs(step[moving, axis]), initial=np.inf)))
    stretch = min(ceiling / max(above.max(), 1e-6) - 1.0, *room)
    return (oval + step * stretch).astype(np.float32)


def _iris(shape: tuple[int, int], points: np.ndarray, centre: int, ring: list[int]) -> np.ndarray:
    radius = float(np.linalg.norm(points[ring] - points[centre], axis=1).mean())
    return _disc(shape, points[centre], radius)


def _lower_lid(points: np.ndarray, loop: list[int], corners: tuple[int, int], down: np.ndarray) -> np.ndarray:
    """The half of an eye's loop between its corners that lies lower on the face, corner to corner."""
    a, b = loop.index(corners[0]), loop.index(corners[1])
    lo, hi = min(a, b), max(a, b)
    halves = (loop[lo:hi + 1], loop[hi:] + loop[:lo + 1])
    return points[max(halves, key=lambda half: float((points[half] @ down).mean()))]


def _under_eye(points: np.ndarray, loop: list[int], corners: tuple[int, int], down: np.ndarray) -> np.ndarray:
    """A crescent hanging from the lower lid: deepest in the middle, tapering to the eye corners."""
    lid = _lower_lid(points, loop, corners, down)
    steps = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(lid, axis=0), axis=1))]
    profile = np.clip(np.sin(np.pi * steps / max(steps[-1], 1e-6)), 0.0, 1.0) ** 0.8
    depth = UNDER_EYE_DEPTH * np.linalg.norm(points[corners[0]] - points[corners[1]])
    return np.concatenate([lid, (lid + np.outer(profile * depth, down))[::-1]])


def skin_features(lab: np.ndarray) -> np.ndarray:
    """Per pixel: hue (degrees), log of chroma over L + 16, and log of L + 16.

    Shading multiplies a colour's linear light; Lab's L + 16, a and b all scale by the cube root of that
    factor, so the first two do not change with shading and the third moves by a constant."""
    lightness = lab[..., 0] + 16.0
    return np.stack([np.degrees(np.arctan2(lab[..., 2], lab[..., 1])),
                     np.log(np.maximum(np.hypot(lab[..., 1], lab[..., 2]), 0.1) / lightness),
                     np.log(lightness)], axis=-1).astype(np.float32)


def skin_colour_model(features: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Robust centre (median) and spread (MAD, floored) of skin_features under `sample`; None if too few.

    The face's own skin, so the same test serves dark and light skin; the median and MAD ignore a stray
    hair or a mole, and the floor keeps an evenly lit face from being judged by its noise."""
    pixels = features[sample > 0.5]
    if len(pixels) < 20:
        return None
    centre = np.median(pixels, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(pixels - centre), axis=0), SKIN_SPREAD_FLOOR)
    return centre, spread


def skin_likeness(features: np.ndarray, model, shade: np.ndarray | float) -> np.ndarray:
    """0..1 per pixel: how close its skin_features are to the `model`, in units of the model's spread.

    Where `shade` (0..1) is 1, colour as skin takes it in shadow is forgiven: darker by up to SHADOW_DEPTH
    (less the greyer it is: shade keeps skin's chroma, a black frame or stubble has none), and redder and
    richer (light that has travelled through skin) counted SHADE_STRETCH times less.
    Everywhere, lighter by up to LIT_DEPTH is free (the side towards the light), and light added to skin (a
    sheen, a rim light) is greyer only in chroma over lightness, so a lighter pixel is called greyer only
    for the chroma it lost. Greyer (white, grey or black hair, stubble, frames) and yellower (fair hair)
    are never forgiven."""
    if model is None:
        return np.ones(features.shape[:2], np.float32)
    centre, spread = model
    offset = features - centre
    offset[..., 0] = (offset[..., 0] + 180.0) % 360.0 - 180.0
    stretch = 1.0 + (SHADE_STRETCH - 1.0) * shade
    hue = np.where(offset[..., 0] < 0, offset[..., 0] / stretch, offset[..., 0]) / spread[0]
    greyer = np.minimum(offset[..., 1] + np.maximum(offset[..., 2], 0.0), 0.0)   # chroma kept is not greyer
    richness = np.where(offset[..., 1] > 0, offset[..., 1] / stretch, greyer) / spread[1]
    kept = np.clip(1.0 + greyer / spread[1], 0.0, 1.0)            # shade keeps chroma; a dark thing has none
    darker = np.maximum(-offset[..., 2] - SHADOW_DEPTH * shade * kept, 0.0)
    lighter = np.maximum(offset[..., 2] - LIT_DEPTH, 0.0)
    lightness = np.where(offset[..., 2] < 0, darker, lighter) / spread[2]
    distance = np.sqrt(hue * hue + richness * richness + lightness * lightness)
    near, far = MODEL_DISTANCE
    return np.clip((far - distance) / (far - near), 0.0, 1.0).astype(np.float32)


def _reaching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """`mask` (> 0.5) where it is connected to `seeds` (> 0.5), as 0/1 float32."""
    count, labels = cv2.connectedComponents((mask > 0.5).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[(seeds > 0.5) & (mask > 0.5)])] = True
    keep[0] = False
    return keep[labels].astype(np.float32)


def colour_likeness(lab: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """0..1 per pixel: how close its Lab colour is to the sampled pixels, in units of the sample's own spread.

    Centre and spread are the median and the MAD of the sample (robust to a stray hair or blemish),
    so the tolerance adapts to the face's tone and lighting instead of using absolute thresholds."""
    pixels = lab[sample > 0.5]
    if len(pixels) < 10:
        return np.ones(lab.shape[:2], np.float32)
    centre = np.median(pixels, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(pixels - centre), axis=0), SPREAD_FLOOR)
    scaled = (lab - centre) * (1.0 / spread)
    distance = np.sqrt(np.einsum("hwc,hwc->hw", scaled, scaled))
    near, far = SKIN_DISTANCE
    return np.clip((far - distance) / (far - near), 0.0, 1.0).astype(np.float32)


def fill_enclosed_gaps(likeness: np.ndarray, oval: np.ndarray, max_radius: float,
                       features: np.ndarray | None = None) -> np.ndarray:
    """`likeness` with small, compact non-skin islands inside the oval set to 1 (moles, highlights).

    A gap that reaches the oval's edge (hair, a beard, glasses' temples), also by way of `features`
    (eyes, brows, ..., excluded anyway: a frame's tip beside a brow belongs to the frame), is a real
    exclusion and stays; so does a long thin one (part of a frame). Only the gap's own pixels, not the
    features it touches, count towards its size: a highlight beside a brow is still small."""
    features = np.zeros(likeness.shape, bool) if features is None else features > 0.5
    not_skin = ((likeness < 0.5) | (oval < 0.5)) & ~features
    _, reach = cv2.connectedComponents((not_skin | features).astype(np.uint8), connectivity=8)
    outside = np.unique(reach[oval < 0.5])
    count, labels, stats, _ = cv2.connectedComponentsWithStats(not_skin.astype(np.uint8), connectivity=8)
    small = ((stats[:, cv2.CC_STAT_AREA] <= np.pi * max_radius ** 2)
             & (np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) <= 2 * max_radius))
    small[np.unique(labels[np.isin(reach, outside)])] = False
    small[0] = False
    gaps = cv2.dilate(small[labels].astype(np.uint8), np.ones((5, 5), np.uint8))   # and their soft rims
    return np.where(gaps > 0, 1.0, likeness).astype(np.float32)


def _mouth_opening(lab: np.ndarray, points: np.ndarray, lips_outer: np.ndarray, inner: np.ndarray,
                   down: np.ndarray) -> np.ndarray:
    """The inner lip contour, widened over teeth that FaceMesh's inner lip line cuts off.

    On a smile the mesh's upper inner lip line often runs across the upper teeth. When the mouth is open
    (the inner contour holds at least OPEN_MOUTH of the outer one), pixels inside the outer contour whose
    colour is unlike the lower lip's and that touch the opening join it (all within the lips' box)."""
    if inner.sum() < OPEN_MOUTH * lips_outer.sum():
        return inner
    window = _support(lips_outer, 1)
    ys, xs = np.mgrid[window].astype(np.float32)
    below_mouth = xs * down[0] + ys * down[1] > points[LOWER_LIP_INNER] @ down
    outer, opening = lips_outer[window], inner[window]
    unlike_lip = colour_likeness(lab[window], outer * (1.0 - opening) * below_mouth) < 0.5
    candidates = ((outer > 0.5) & unlike_lip) | (opening > 0.5)
    _, labels = cv2.connectedComponents(candidates.astype(np.uint8))
    touching = np.setdiff1d(np.unique(labels[opening > 0.5]), [0])
    widened = inner.copy()
    widened[window] = np.maximum(opening, np.isin(labels, touching).astype(np.float32))
    return widened


def _along(shape: tuple[int, int], down: np.ndarray) -> np.ndarray:
    """Per pixel, its position along `down` (the face's own vertical), comparable with `points @ down`."""
    ys, xs = np.indices(shape, dtype=np.float32)
    return xs * down[0] + ys * down[1]


def _clear_of_dark(likeness: np.ndarray, features: np.ndarray, model, radius: float) -> np.ndarray:
    """`likeness` set to 0 within `radius` of anything darker than the skin and unlike it (a frame, dark
    hair, a nostril): the colour blur mixes such an edge with the skin beside it into a colour that passes
    for skin in shade."""
    if model is None:
        return likeness
    dark = ((likeness < 0.5) & (features[..., 2] < model[0][2])).astype(np.uint8)
    size = 2 * max(1, int(round(radius))) + 1
    near = cv2.dilate(dark, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return np.where(near > 0, 0.0, likeness).astype(np.float32)


def _distance_to(where: np.ndarray) -> np.ndarray:
    """Per pixel, the distance (in pixels) to the nearest pixel where `where` is true."""
    return cv2.distanceTransform((~where).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)


def _skin(lab: np.ndarray, points: np.ndarray, down: np.ndarray, face: np.ndarray, excluded: np.ndarray,
          interocular: float) -> np.ndarray:
    """The skin of `face` (the oval up to the hairline's highest place) outside the `excluded` features.

    The colour model is fitted to the middle of the face (lower lids to nose base, inset from the oval and
    the features): cheeks and nose, where a fringe, a beard or a moustache seldom reach. Below the brows
    shade is forgiven (skin_likeness); the forehead, where a fringe may hang, gets no such allowance.
    Small enclosed gaps (moles, highlights) are skin; what the colour test keeps must be connected to the
    sample, so hair-coloured pockets and skin-coloured background beside the face stay out. All of it is
    worked out over `face`'s extent only (the box's margins hold none of it)."""
    skin = np.zeros_like(face)
    window = _support(face, 2)
    if window is None:
        return skin
    lab, face, excluded = lab[window], face[window], excluded[window]
    points = points - np.float32([window[1].start, window[0].start])
    position = _along(face.shape, down)
    lids, nose = float(np.mean(points[list(LOWER_LIDS)] @ down)), float(points[NOSE_BASE] @ down)
    inset = SAMPLE_INSET * interocular
    sample = ((position > lids) & (position < nose) & (_distance_to(face < 0.5) > inset)
              & (_distance_to(excluded > 0.5) > inset)).astype(np.float32)
    below_brows = position - float(points[list(BROW_LINE)].mean(0) @ down)
    shade = np.clip(below_brows / (SHADE_RAMP * interocular), 0.0, 1.0)
    features = skin_features(lab)
    model = skin_colour_model(features, sample)
    likeness = skin_likeness(features, model, shade)
    likeness = _clear_of_dark(likeness, features, model, EDGE_CLEAR * interocular)
    likeness = fill_enclosed_gaps(likeness, face, HOLE_FILL * interocular, excluded)
    connected = cv2.dilate(_reaching(likeness * face, sample), np.ones((3, 3), np.uint8))
    skin[window] = face * (1.0 - excluded) * likeness * connected
    return skin


def region_masks(rgb: np.ndarray, points: np.ndarray, interocular: float) -> dict[str, np.ndarray]:
    """The soft masks (float32 0..1, shape of `rgb`) of one face whose landmarks `points` are in `rgb`'s
    pixel-centre coordinates. `rgb` is float RGB 0..1 covering the face's box."""
    shape = rgb.shape[:2]
    points = np.asarray(points, np.float32)
    down = _down(points)
    eyes = np.maximum(*(_fill(shape, points[loop]) for loop in EYES))
    iris_discs = np.maximum(_iris(shape, points, RIGHT_IRIS_CENTRE, IRIS_RINGS[0]),
                            _iris(shape, points, LEFT_IRIS_CENTRE, IRIS_RINGS[1]))
    brows = _fill(shape, *(_band(points, lines) for lines in BROWS))
    lips_outer = _fill(shape, points[LIPS_OUTER])
    nostrils = _fill(shape, *(cv2.convexHull(points[list(n)]).reshape(-1, 2) for n in NOSTRILS))
    face = _fill(shape, _forehead_to_hairline(points, down, shape, interocular))

    lab = cv2.GaussianBlur(cv2.cvtColor(np.clip(rgb, 0, 1).astype(np.float32), cv2.COLOR_RGB2Lab), (0, 0),
                           COLOUR_BLUR * interocular)
    excluded = np.maximum.reduce([_grow(m, SKIN_EXCLUSION_GROW[name] * interocular) for name, m in
                                  (("eyes", eyes), ("brows", brows), ("lips", lips_outer), ("nostrils", nostrils))])
    skin = _skin(lab, points, down, face, excluded, interocular)
    inner_mouth = _mouth_opening(lab, points, lips_outer, _fill(shape, points[LIPS_INNER]), down)

    crescents = _fill(shape, *(_under_eye(points, loop, corners, down)
                               for loop, corners in zip(EYES, (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS))))
    under_eye = crescents * face * (1.0 - _grow(eyes, SKIN_EXCLUSION_GROW["eyes"] * interocular))

    hard = {"skin": skin, "eyes": eyes, "irises": iris_discs, "brows": brows,
            "lips": lips_outer * (1.0 - inner_mouth), "inner_mouth": inner_mouth, "under_eye": under_eye}
    soft = {name: np.clip(_feather(mask, FEATHER[name] * interocular), 0.0, 1.0) for name, mask in hard.items()}
    soft["irises"] = soft["eyes"] * soft["irises"]         # the lids cover the rest of the disc
    soft["scleras"] = soft["eyes"] - soft["irises"]
    return {name: soft[name] for name in REGION_NAMES}


def _to_box(mask: np.ndarray, factor: tuple[float, float], size: tuple[int, int]) -> np.ndarray:
    """A working-scale `mask` resampled (bilinear) to the face box of `size` (w, h), whose pixels are
    `factor` (x, y) box pixels per working pixel; computed only around its non-zero pixels."""
    box = np.zeros(size[::-1], np.float32)
    window = _support(mask, 1)
    if window is None:
        return box
    (x0, x1), (y0, y1) = ((max(0, math.floor(part.start * f)), min(length, math.ceil(part.stop * f)))
                          for part, f, length in zip(window[::-1], factor, size))
    box[y0:y1, x0:x1] = upsample(mask, factor, (x0, y0), (x1 - x0, y1 - y0))
    return box


def face_regions(pixels: np.ndarray, face: Face) -> dict[str, Region]:
    """Every region of `face` as full-resolution soft masks over the face's box of `pixels`."""
    x0, y0, x1, y1 = face.box
    width, height = x1 - x0, y1 - y0
    scale = min(1.0, WORK_INTEROCULAR / max(face.interocular, 1.0))
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    crop, extent = shrink(pixels[y0:y1, x0:x1], work)
    factor = np.array(work, np.float32) / np.array(extent, np.float32)      # working pixels per box pixel
    points = (face.landmarks - np.array([x0, y0], np.float32)) * factor - 0.5
    masks = region_masks(crop, points, face.interocular * float(factor.mean()))
    if work != (width, height):
        to_box = (extent[0] / work[0], extent[1] / work[1])
        masks = {name: _to_box(mask, to_box, (width, height)) for name, mask in masks.items()}
    return {name: Region(face.box, mask) for name, mask in masks.items()}
