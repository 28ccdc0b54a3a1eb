"""A soft person matte for background work: mediapipe SelfieSegmentation refined along its edge.

SelfieSegmentation's general model (model_selection=0, 256x256 input) is used. Its landscape model (1,
256x144 input, meant for 16:9 video calls) is cheaper but was worse on stills even where it should fit:
on a whole 5:3 composite of five portraits it merged two people and dropped one, where the general model
outlined all five; on a reflected 2:1 astronaut it also bled between figures.

The model is made for one person near the camera and also answers for things that are not people
(matte maximum 1.0 on skimage's coffee, chelsea and hubble_deep_field). So it runs once per detected
face, on a crop around that face and the body below it, and only the parts of its matte that hold a
face are kept: no face, no person (None). A group shot is then several single portraits.

The model's matte is blocky (it comes from a 256 px input), so its edge is refined by a colour guided
filter (He, Sun and Tang) with the photo as guide: hair and shoulders get a soft, image-aligned edge while
the inside and the far background stay exactly 1 and 0. Three grids, each an integer factor of the next:

- full resolution, where the matte is returned;
- the working grid (full resolution over the largest integer that leaves at least WORK_PIXELS: 2000x1333
  for 6000x4000), where the refined edge is computed: at least as fine as the 2.5 MP on which the filter
  used to run over the whole frame, so hair edges are not coarser;
- the coefficient grid (up to COEFFICIENT_STEP times coarser still, as long as the filter's radius keeps
  MIN_COEFFICIENT_RADIUS pixels there), where the model's matte is cleaned up and the filter's linear
  coefficients are fitted: the "fast guided filter" (He and Sun 2015): the coefficients are smooth, so
  they are upsampled and applied to the finer guide. A 512 px photo gets the exact filter on one grid.

The filter can change the matte only within two of its windows of the edge; only tiles near that band
read the photo, only tiles that hold it are computed on the finer grids and upsampled, the others are
exactly 0 or 1 (0 is left as allocated). Against the guided filter run on the whole working frame the
edge differs by ~0.01 on average (astronaut at 16 MP, tests/test_face_matte.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..resample import area_down, upsample
from ..photo import Box, Face
from .landmarks import run_graph, to_uint8
from .matting import alpha_matte

PERSON_THRESHOLD = 0.5       # the model's probability from which a pixel belongs to a person
PERSON_REACH = 3.0           # a person's crop spans this many face-box widths either side of the face centre
WORK_PIXELS = 2.5e6          # the working grid has at least this many pixels (see Grids.for_frame)
RADIUS = 0.008               # guided filter window radius, as a share of the working long side
GUIDED_EPS = 1e-4            # guided filter regularisation in (0..1 guide units)^2: smaller follows colour more
COEFFICIENT_STEP = 4         # coefficient grid: at most this many working pixels per side (He and Sun's 4) ...
MIN_COEFFICIENT_RADIUS = 4   # ... and the filter's radius at least this many coefficient pixels
TILE_PIXELS = 192            # full-resolution pixels per tile side (the unit of "edge here or not")


@dataclass(frozen=True)
class Grids:
    """How the three grids relate: `work` full-resolution pixels per working pixel, `coefficient` working
    pixels per coefficient pixel; each grid covers the whole blocks of the finer one from the top left."""
    work: int
    coefficient: int
    radius: int              # guided filter radius, in working pixels

    @classmethod
    def for_frame(cls, width: int, height: int) -> "Grids":
        work = max(1, math.floor(math.sqrt(width * height / WORK_PIXELS)))
        radius = max(2, round(RADIUS * max(width, height) / work))
        return cls(work, max(1, min(COEFFICIENT_STEP, radius // MIN_COEFFICIENT_RADIUS)), radius)

    @property
    def full(self) -> int:
        """Full-resolution pixels per coefficient pixel."""
        return self.work * self.coefficient

    @property
    def tile(self) -> int:
        """Coefficient pixels per tile side."""
        return max(1, round(TILE_PIXELS / self.full))


def segment(proxy: np.ndarray) -> np.ndarray:
    """SelfieSegmentation's person probability (float32, proxy size) of a uint8-able RGB proxy."""
    return np.asarray(run_graph("selfie", to_uint8(proxy)).segmentation_mask, np.float32)


def segment_people(proxy: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Person probability (float32, proxy size) from one model run per face box (proxy pixels).

    Each crop reaches PERSON_REACH face widths either side of the face and from one face height above it
    down to the frame's bottom: one person near the camera, which is what the model is made for."""
    height, width = proxy.shape[:2]
    matte = np.zeros((height, width), np.float32)
    for x0, y0, x1, y1 in boxes:
        centre, reach = (x0 + x1) / 2, PERSON_REACH * (x1 - x0)
        cx0, cx1 = max(0, math.floor(centre - reach)), min(width, math.ceil(centre + reach))
        cy0 = max(0, y0 - (y1 - y0))
        window = matte[cy0:, cx0:cx1]
        np.maximum(window, segment(proxy[cy0:, cx0:cx1]), out=window)
    return matte


def keep_people(matte: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """`matte` with every connected part that overlaps none of the face `boxes` (matte pixels) removed."""
    parts = (matte > PERSON_THRESHOLD).astype(np.uint8)
    _, labels = cv2.connectedComponents(parts)
    kept = set()
    for x0, y0, x1, y1 in boxes:
        kept.update(np.unique(labels[y0:y1, x0:x1]).tolist())
    kept.discard(0)
    keep = np.isin(labels, sorted(kept)).astype(np.uint8)
    edge = max(1, round(0.01 * max(matte.shape)))         # keep the soft fringe around each kept part
    keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1, 2 * edge + 1)))
    return matte * keep


def linear(coefficients: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """a . guide + b per pixel, for coefficients (HxWx4: a for R, G, B, then b) and an RGB guide."""
    a, b = coefficients[..., :3], coefficients[..., 3]
    return a[..., 0] * guide[..., 0] + a[..., 1] * guide[..., 1] + a[..., 2] * guide[..., 2] + b


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The colour guided filter of `source` (float32 HxW) by `guide` (float32 HxWx3), as its window-averaged
    linear coefficients (HxWx4: a for R, G, B, then b): the filtered source is a . guide + b (see linear),
    and upsampled a and b applied to a finer copy of the guide give the fast guided filter. `eps` is in
    guide units squared. Every term is a contiguous plane (interleaved channels are slower)."""
    def mean(image: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(image, -1, (2 * radius + 1, 2 * radius + 1))

    r, g, b = (np.ascontiguousarray(guide[..., channel]) for channel in range(3))
    mr, mg, mb, mp = mean(r), mean(g), mean(b), mean(source)
    cr, cg, cb = (mean(plane * source) - plane_mean * mp for plane, plane_mean in ((r, mr), (g, mg), (b, mb)))
    rr, rg, rb = mean(r * r) - mr * mr + eps, mean(r * g) - mr * mg, mean(r * b) - mr * mb
    gg, gb, bb = mean(g * g) - mg * mg + eps, mean(g * b) - mg * mb, mean(b * b) - mb * mb + eps
    i00, i01, i02 = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb      # the covariance's adjugate
    i11, i12, i22 = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg      # (symmetric)
    scale = 1.0 / (rr * i00 + rg * i01 + rb * i02)
    ar = (i00 * cr + i01 * cg + i02 * cb) * scale
    ag = (i01 * cr + i11 * cg + i12 * cb) * scale
    ab = (i02 * cr + i12 * cg + i22 * cb) * scale
    return mean(cv2.merge([ar, ag, ab, mp - ar * mr - ag * mg - ab * mb]))


def edge_reach(person: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """`inside` (uint8: `person` thresholded) and `near` (bool): the pixels the guided filter can change.

    With a constant source over both of its windows (2 radii) the filter returns the source itself, so
    beyond 2 radii of the edge (plus the pixels that straddle it) the matte is exactly `inside`."""
    inside = (person > PERSON_THRESHOLD).astype(np.uint8)
    # each distance transform is 0 on the other side, so the larger one is the distance to the edge
    to_edge = np.maximum(cv2.distanceTransform(inside, cv2.DIST_L2, 3),
                         cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3))
    return inside, to_edge <= 2 * radius + 2


@dataclass(frozen=True)
class Tile:
    """Tile `index` (row, column) of the coefficient grid as spans (y0, y1, x0, x1) of the finer grids."""
    index: tuple[int, int]
    work: tuple[int, int, int, int]
    full: tuple[int, int, int, int]

    def of(self, grid: np.ndarray, on: str) -> np.ndarray:
        """The tile's part of `grid`, an array on the "work" or the "full" grid."""
        y0, y1, x0, x1 = getattr(self, on)
        return grid[y0:y1, x0:x1]


def tiles(shape: tuple[int, int], work_shape: tuple[int, int], full_shape: tuple[int, int], grids: Grids):
    """Tiles of grids.tile pixels over a coefficient grid of `shape`; the last row and column of tiles also
    take the finer grids' pixels beyond the coarser grid (fewer than one coarse pixel)."""
    side = grids.tile

    def span(start: int, axis: int, grid_shape: tuple[int, int], factor: int) -> tuple[int, int]:
        stop = min(start + side, shape[axis])
        return start * factor, (grid_shape[axis] if stop == shape[axis] else stop * factor)

    for y0 in range(0, shape[0], side):
        for x0 in range(0, shape[1], side):
            yield Tile((y0 // side, x0 // side),
                       span(y0, 0, work_shape, grids.coefficient) + span(x0, 1, work_shape, grids.coefficient),
                       span(y0, 0, full_shape, grids.full) + span(x0, 1, full_shape, grids.full))


def per_tile(mask: np.ndarray, side: int, everywhere: bool = False) -> np.ndarray:
    """Per tile (`side` pixels) of a coefficient-grid `mask`: whether any of its pixels is set (or all)."""
    height, width = mask.shape
    rows, cols = -(-height // side), -(-width // side)
    padded = np.pad(mask.astype(bool), ((0, rows * side - height), (0, cols * side - width)),
                    constant_values=everywhere)
    blocks = padded.reshape(rows, side, cols, side)
    return blocks.all(axis=(1, 3)) if everywhere else blocks.any(axis=(1, 3))


def with_margin(span: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """`span` (y0, y1, x0, x1) grown by one pixel each way, within a grid of `shape`."""
    y0, y1, x0, x1 = span
    return max(y0 - 1, 0), min(y1 + 1, shape[0]), max(x0 - 1, 0), min(x1 + 1, shape[1])


def refined_matte(pixels: np.ndarray, person: np.ndarray, grids: Grids) -> np.ndarray:
    """The full-resolution matte (float32) of float RGB `pixels` from `person`, the cleaned model matte on
    the coefficient grid. Only tiles within the filter's reach of the edge read the photo; only tiles
    that hold the edge are computed on the working grid and upsampled; inside tiles are set to 1."""
    height, width = pixels.shape[:2]
    radius = max(1, round(grids.radius / grids.coefficient))
    inside, near = edge_reach(person, radius)
    grow = lambda size: cv2.dilate(near.astype(np.uint8), np.ones((size, size), np.uint8))   # noqa: E731
    reach = per_tile(grow(4 * radius + 1), grids.tile)        # + both of the filter's windows
    band = per_tile(grow(3), grids.tile)                      # + what interpolation reads
    filled = per_tile(inside, grids.tile, everywhere=True)
    work_shape = (height // grids.work, width // grids.work)
    all_tiles = list(tiles(person.shape, work_shape, (height, width), grids))

    guide = np.zeros(work_shape + (3,), np.float32)          # the photo on the working grid, where needed
    for tile in (tile for tile in all_tiles if reach[tile.index]):
        tile.of(guide, "work")[...] = area_down(tile.of(pixels, "full"), grids.work)
    coefficients = guided_coefficients(area_down(guide, grids.coefficient), person, radius, GUIDED_EPS)
    coefficients[~near] = 0.0                                 # beyond the filter's reach: exactly inside
    coefficients[..., 3][~near] = inside[~near]

    matte = np.zeros((height, width), np.float32)
    for tile in all_tiles:
        if band[tile.index]:
            y0, y1, x0, x1 = with_margin(tile.work, work_shape)
            ab = upsample(coefficients, grids.coefficient, (x0, y0), (x1 - x0, y1 - y0))
            work = np.clip(linear(ab, guide[y0:y1, x0:x1]), 0.0, 1.0)
            fy0, fy1, fx0, fx1 = tile.full
            upsample(work, grids.work, (fx0 - x0 * grids.work, fy0 - y0 * grids.work), (fx1 - fx0, fy1 - fy0),
                     out=tile.of(matte, "full"))
        elif filled[tile.index]:
            tile.of(matte, "full")[...] = 1.0
    return matte


def model_matte(proxy: np.ndarray, faces: list[Face], frame: tuple[int, int], grids: Grids) -> np.ndarray:
    """The model's matte of the people with `faces` on the coefficient grid of a `frame` (w, h) photo
    (float32 0..1): thresholded on the proxy, then area-averaged onto the grid, so the edge keeps its
    place between grid pixels; parts that hold no face are removed."""
    width, height = frame
    to_proxy = proxy.shape[1] / width, proxy.shape[0] / height
    boxes = [(math.floor(f.box[0] * to_proxy[0]), math.floor(f.box[1] * to_proxy[1]),
              math.ceil(f.box[2] * to_proxy[0]), math.ceil(f.box[3] * to_proxy[1])) for f in faces]
    inside = (segment_people(proxy, boxes) > PERSON_THRESHOLD).astype(np.float32)
    matte = cv2.resize(inside, (width // grids.full, height // grids.full), interpolation=cv2.INTER_AREA)
    return keep_people(matte, [tuple(round(v / grids.full) for v in f.box) for f in faces])


def person_matte(pixels: np.ndarray, proxy: np.ndarray, faces: list[Face], *, hair: bool = True) -> np.ndarray | None:
    """Alpha matte (float32 HxW 0..1, full resolution) of the people whose `faces` were found in float RGB
    `pixels`, or None if there are none: the refined segmentation, then, with `hair`, matted where hair
    meets the backdrop (matting.alpha_matte). `proxy` is the same frame downscaled; the model runs on it."""
    height, width = pixels.shape[:2]
    grids = Grids.for_frame(width, height)
    person = model_matte(proxy, faces, (width, height), grids)
    if person.max() <= PERSON_THRESHOLD:
        return None
    refined = refined_matte(pixels, person, grids)
    return alpha_matte(pixels, refined, faces) if hair else refined
