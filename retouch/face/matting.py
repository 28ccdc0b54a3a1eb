"""A real alpha matte where hair meets the backdrop: a trimap from the person segmentation, closed-form
matting in its unknown band (Levin, Lischinski and Weiss 2008, as pymatting implements it, MIT licence).

The segmentation (person.py) finds the person but not the hair's true extent: voluminous, curly or sparse
hair (coils, curls, afros, locs, flyaways) reaches well beyond its edge, and the gaps between curls are
backdrop. So the trimap is built per region:

- around each head (an ellipse of HEAD_ZONE face widths and heights around the face) the unknown band is
  wide: from HAIR_CORE face widths inside the segmentation's edge to HAIR_REACH face widths beyond it,
  where the backdrop there is plain (a studio wall: most of it looks like its own fill at the scale of the
  head, so the backdrop the band is matted against is known there; a mottled backdrop is not). Before a
  busy backdrop (curtains, a room) a wide band would have nothing to tell hair from backdrop by, and its
  colours would leak into alpha, so there it is BUSY_REACH face widths either side;
- elsewhere (clothes, arms) it is narrow: EDGE_REACH of the frame's long side either side of the edge;
- the face itself (the hull of its landmarks) is always person;
- pixels that look exactly like the local backdrop (within WALL_DE of it in Lab, it and its neighbours;
  the backdrop filled in from the known background) are backdrop, so gaps between curls come out clear.
  Inside the segmentation this applies only around the head above the chin: a white collar against a
  white wall stays person;
- before a plain backdrop, the purest strands (far from the backdrop's colour and about the farthest of
  their neighbourhood) are person: hair the segmentation missed entirely still has its own colour to
  be matted from, not only the face's.

Alpha is solved in the unknown band only (known windows are skipped), on a matting grid coarse enough
that at most MAX_UNKNOWN pixels are unknown; a coarser grid's alpha is brought to full resolution by a
guided filter's coefficients (fast guided upsampling: the strands' detail comes from the full-resolution
photo). pymatting is imported on first use: its numba functions are compiled once per installation
(tens of seconds; cached in its package folder), then load in about half a second, and photos that need
no person matte never pay for them.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..color import to_lab
from ..resample import area_down, upsample
from ..photo import Face

MAX_UNKNOWN = 50_000      # unknown pixels solved at once; more make the matting grid coarser
HAIR_REACH = 0.6          # around a head the band reaches this many face widths beyond the segmentation ...
HAIR_CORE = 0.12          # ... and starts this many face widths inside it
EDGE_REACH = 0.006        # elsewhere: this share of the frame's long side either side of the edge
HEAD_ZONE = (1.6, 1.9)    # a head's zone: ellipse semi-axes in face widths and heights around the face centre
PLAIN_RING = 0.25         # the backdrop is judged in rings this many face widths wide beyond the wide reach ...
PLAIN_SIGMA = 0.2         # ... against its own blur over this many face widths (a mottled or painted
                          # backdrop, smooth only at a small scale, is busy: astronaut's is) ...
PLAIN_BLUR_PX = 4.0       # (that blur runs on a grid where its sigma is about this many pixels)
PLAIN_SHARE = 0.6         # ... where at least this share of it must be plain (backdrop-like) for the wide search
BUSY_REACH = 0.06         # else (a busy backdrop) the band reaches this many face widths either side
WALL_DE = 4.0             # Lab distance within which a pixel (and its 8 neighbours) is the backdrop itself
STRAND_DE = 20.0          # before a plain backdrop, pixels at least this far from it (Lab) ...
STRAND_SHARE = 0.9        # ... and this close to the farthest in their 5x5 neighbourhood are pure hair
EPSILON = 1e-5            # closed-form matting's regularisation (larger: smoother alpha)
CG_TOLERANCE = 1e-4       # relative residual at which the alpha solve stops
UPSAMPLE_EPS = 1e-5       # guided upsampling's regularisation (guide units squared): small follows strands
TILE = 64                 # matting-grid pixels per tile side when upsampling


def fill_from_known(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """`values` (h x w x 3) estimated everywhere from the `known` pixels only, by push-pull.

    Normalised convolution over a Gaussian pyramid: each unknown pixel takes the known colours at the
    finest scale at which any are near it, so the estimate stays local where background is close."""
    weight = known.astype(np.float32)
    levels = [(values * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 4:
        numerator, denominator = levels[-1]
        levels.append((cv2.pyrDown(numerator), cv2.pyrDown(denominator)))
    numerator, denominator = levels[-1]
    estimate = numerator.sum((0, 1)) / max(float(denominator.sum()), 1e-12) * np.ones_like(numerator)
    for numerator, denominator in reversed(levels):
        height, width = denominator.shape
        estimate = cv2.resize(estimate, (width, height), interpolation=cv2.INTER_LINEAR)
        confidence = np.minimum(denominator * 4.0, 1.0)[..., None]
        local = numerator / np.maximum(denominator, 1e-6)[..., None]
        estimate = confidence * local + (1.0 - confidence) * estimate
    return estimate.astype(np.float32)


def from_backdrop(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Lab distance of each pixel of float RGB `image` from the backdrop filled in from the known
    `background` pixels."""
    return np.linalg.norm(to_lab(image) - to_lab(fill_from_known(image, background)), axis=-1)


def plain_share(image: np.ndarray, known: np.ndarray, sigma: float) -> float:
    """The share of float RGB `image`'s `known` pixels within WALL_DE (Lab) of those pixels blurred by
    `sigma`: a plain backdrop there, as opposed to a busy one (curtains, furniture, a room). The blurred
    backdrop is smooth at its own scale, so it is made on a grid coarse enough that `sigma` is about
    PLAIN_BLUR_PX pixels there and brought back by interpolation."""
    factor = max(1, int(sigma // PLAIN_BLUR_PX))
    height, width = known.shape
    weight = cv2.GaussianBlur(area_down(known.astype(np.float32), factor), (0, 0), sigma / factor)
    smooth = cv2.GaussianBlur(area_down(image * known[..., None], factor), (0, 0), sigma / factor)
    smooth = cv2.resize(smooth / np.maximum(weight, 1e-6)[..., None], (width, height),
                        interpolation=cv2.INTER_LINEAR)
    distance = np.linalg.norm(to_lab(image[known]) - to_lab(np.clip(smooth[known], 0, 1)), axis=-1)
    return float((distance < WALL_DE).mean())


def plain_around(image: np.ndarray, zone: np.ndarray, to_inside: np.ndarray, face_width: float) -> bool:
    """Whether the backdrop around a head is plain: in either of two rings of PLAIN_RING face widths just
    beyond the wide reach (hair may still cross the nearer one), at least PLAIN_SHARE of the pixels are."""
    for ring_start in (HAIR_REACH, HAIR_REACH + PLAIN_RING):
        ring = zone & (to_inside > ring_start * face_width) & (to_inside <= (ring_start + PLAIN_RING) * face_width)
        if ring.any() and plain_share(image, ring, PLAIN_SIGMA * face_width) >= PLAIN_SHARE:
            return True
    return False


def heads(shape: tuple[int, int], faces: list[Face], scale: float):
    """Per face, on a grid of `shape` (`scale` grid pixels per full-resolution pixel): its zone (bool), the
    part of it above the chin, its hull (bool) and its width in grid pixels."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for face in faces:
        x0, y0, x1, y1 = (v * scale for v in face.box)
        cx, cy, fw, fh = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        zone = ((xs - cx) / (HEAD_ZONE[0] * fw)) ** 2 + ((ys - cy) / (HEAD_ZONE[1] * fh)) ** 2 < 1
        outline = cv2.convexHull((face.landmarks * scale).astype(np.float32)).astype(np.int32)
        hull = np.zeros(shape, np.uint8)
        cv2.fillConvexPoly(hull, outline, 1)
        yield zone, zone & (ys < y1), cv2.erode(hull, np.ones((3, 3), np.uint8)).astype(bool), fw


def trimap(image: np.ndarray, inside: np.ndarray, faces: list[Face], scale: float) -> np.ndarray:
    """float32 trimap (1 person, 0 backdrop, 0.5 unknown) of float RGB `image` on a grid `scale` times
    full resolution, from the segmentation `inside` (bool) and the faces (see the module's rules)."""
    edge = EDGE_REACH * max(inside.shape)
    to_inside = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3)
    to_outside = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
    zones = list(heads(inside.shape, faces, scale))
    reach, core = np.full(inside.shape, edge, np.float32), np.full(inside.shape, edge, np.float32)
    upper, hull = np.zeros(inside.shape, bool), np.zeros(inside.shape, bool)
    for zone, above, face_hull, face_width in zones:
        reach[zone] = np.maximum(reach[zone], HAIR_REACH * face_width)
        core[zone] = np.maximum(core[zone], HAIR_CORE * face_width)
        upper |= above
        hull |= face_hull
    wide = np.zeros(inside.shape, bool)
    for zone, _, _, face_width in zones:
        if plain_around(image, zone, to_inside, face_width):
            wide |= zone
        else:                                                                     # a busy backdrop
            reach[zone] = np.maximum(edge, BUSY_REACH * face_width)
            core[zone] = np.maximum(edge, BUSY_REACH * face_width)
    backdrop = to_inside > reach
    distance = from_backdrop(image, backdrop)
    wall = cv2.erode((distance < WALL_DE).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    wall &= ~hull & (~inside | upper)
    # the purest strands: far from the backdrop and (nearly) the farthest of their neighbourhood
    strands = (distance > STRAND_DE) & (distance >= STRAND_SHARE * cv2.dilate(distance, np.ones((5, 5))))
    person = ((to_outside > core) | hull | (strands & wide)) & ~wall
    result = np.full(inside.shape, 0.5, np.float32)
    result[person] = 1.0
    result[backdrop | wall] = 0.0
    return result


def solve(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Closed-form alpha of float RGB `image` given trimap `known`, solved over the unknown pixels' box."""
    from pymatting.laplacian.cf_laplacian import cf_laplacian
    from pymatting.preconditioner.ichol import ichol
    from pymatting.solver.cg import cg

    alpha = known.copy()
    unknown = known == 0.5
    if not unknown.any():
        return alpha
    ys, xs = np.nonzero(unknown)
    y0, y1 = max(ys.min() - 2, 0), min(ys.max() + 3, known.shape[0])
    x0, x1 = max(xs.min() - 2, 0), min(xs.max() + 3, known.shape[1])
    part = known[y0:y1, x0:x1]
    is_unknown = (part == 0.5).ravel()
    laplacian = cf_laplacian(image[y0:y1, x0:x1].astype(np.float64), epsilon=EPSILON, is_known=~is_unknown)
    inner = laplacian[is_unknown][:, is_unknown]
    rhs = -laplacian[is_unknown][:, ~is_unknown].dot(part.ravel()[~is_unknown].astype(np.float64))
    values = part.ravel().astype(np.float64)
    values[is_unknown] = cg(inner, rhs, M=ichol(inner), rtol=CG_TOLERANCE)
    alpha[y0:y1, x0:x1] = np.clip(values, 0.0, 1.0).reshape(part.shape)
    return alpha


def upsampled(pixels: np.ndarray, image: np.ndarray, alpha: np.ndarray, factor: int) -> np.ndarray:
    """Full-resolution alpha (float32) from `alpha` on a grid `factor` times coarser (image: the photo
    there): tiles that hold an edge by the guided filter's coefficients applied to `pixels`, the others
    exactly 0 or 1."""
    from .person import guided_coefficients, linear

    height, width = pixels.shape[:2]
    coefficients = guided_coefficients(image.astype(np.float64), alpha.astype(np.float64), 1, UPSAMPLE_EPS)
    coefficients = coefficients.astype(np.float32)        # float64 above: at this eps float32 cancels to 0
    out = np.zeros((height, width), np.float32)
    rows, cols = alpha.shape
    for ty in range(0, rows, TILE):
        for tx in range(0, cols, TILE):
            block = alpha[ty:ty + TILE, tx:tx + TILE]
            fy0, fx0 = ty * factor, tx * factor
            fy1 = height if ty + TILE >= rows else (ty + TILE) * factor
            fx1 = width if tx + TILE >= cols else (tx + TILE) * factor
            if block.min() >= 1.0:
                out[fy0:fy1, fx0:fx1] = 1.0
            elif block.max() > 0.0:
                ab = upsample(coefficients, factor, (fx0, fy0), (fx1 - fx0, fy1 - fy0))
                out[fy0:fy1, fx0:fx1] = np.clip(linear(ab, pixels[fy0:fy1, fx0:fx1]), 0.0, 1.0)
    return out


def matting_factor(inside: np.ndarray, faces: list[Face], step: int, pixels: np.ndarray) -> int:
    """Full-resolution pixels per matting-grid pixel: the finest whole factor at which the trimap of a
    `step`-times coarser look (`inside` there) leaves at most MAX_UNKNOWN unknown pixels."""
    image = area_down(pixels, step)
    unknown = int((trimap(image, inside, faces, 1.0 / step) == 0.5).sum())
    return max(1, math.ceil(step * math.sqrt(unknown / MAX_UNKNOWN)))


def alpha_matte(pixels: np.ndarray, person: np.ndarray, faces: list[Face]) -> np.ndarray:
    """The person's alpha (float32 HxW, full resolution) in float RGB `pixels`, from the segmentation's
    soft matte `person` (full resolution) and the faces."""
    height, width = pixels.shape[:2]
    survey = max(1, round(math.sqrt(height * width / 1e6)))          # a ~1 MP look to size the grid
    factor = matting_factor(area_down(person, survey) > 0.5, faces, survey, pixels)
    image = area_down(pixels, factor)
    known = trimap(image, area_down(person, factor) > 0.5, faces, 1.0 / factor)
    alpha = solve(image, known)
    if factor == 1:
        return alpha
    return upsampled(pixels, image, alpha, factor)
