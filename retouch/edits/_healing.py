"""Texture-keeping healing, shared by every edit that removes a small mark (blemish, backdrop).

A mark is a Footprint (its pixels on a crop, and the margin its hole adds for its soft edge). Healing
separates tone from texture: the hole is filled by biharmonic interpolation from the clean pixels around
it (the tone, continuing their gradients), and the high frequencies of the neighbouring clean patch whose
texture matches best are added where the interpolation no longer reaches, so the patch has pores (or the
backdrop's grain). It all happens on a window around each mark, so healing costs what the marks do.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from ..color import from_lab, to_lab
from ._skin_layers import OUTSIDE_WEIGHT, SKIN_CORE, split

TEXTURE_DEPTH = 1.0        # texture is added from this many texture sigmas deep into a hole
OFFSET_DIRECTIONS = 12     # candidate directions for the texture source patch
_STENCIL_STEP = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))   # biharmonic holes this close interact
_STENCIL_REACH = np.uint8([[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]])


class Footprint(NamedTuple):
    """A spot: its pixels, a boolean `mask` whose top-left corner is at (`y`, `x`) of the crop, and the
    `margin` (px, rounded, at least 1) its hole adds around them for the spot's soft edge."""

    y: int
    x: int
    mask: np.ndarray
    margin: float = 1.0

    def paint(self, canvas: np.ndarray, origin: tuple[int, int] = (0, 0)) -> None:
        """Set the footprint's pixels of `canvas` to True; the canvas's top-left is at `origin` (y, x)
        of the crop, and whatever falls outside it is clipped."""
        top, left = self.y - origin[0], self.x - origin[1]
        height, width = canvas.shape
        y0, x0 = max(0, top), max(0, left)
        y1, x1 = min(height, top + self.mask.shape[0]), min(width, left + self.mask.shape[1])
        if y1 > y0 and x1 > x0:
            canvas[y0:y1, x0:x1] |= self.mask[y0 - top:y1 - top, x0 - left:x1 - left]

    def hole(self) -> "Footprint":
        """The pixels healing replaces: the footprint grown by its margin."""
        return self.grown(max(1, int(round(self.margin))))

    def within(self, allowed: np.ndarray) -> bool:
        """Whether every pixel of the footprint lies inside the crop and on `allowed` (crop-sized bool)."""
        height, width = self.mask.shape
        if self.y < 0 or self.x < 0 or self.y + height > allowed.shape[0] or self.x + width > allowed.shape[1]:
            return False
        return bool(allowed[self.y:self.y + height, self.x:self.x + width][self.mask].all())

    def grown(self, pixels: int) -> "Footprint":
        """The footprint dilated by a disc of radius `pixels`."""
        padded = np.pad(self.mask, pixels).astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
        return Footprint(self.y - pixels, self.x - pixels, cv2.dilate(padded, kernel) > 0, self.margin)

    def scaled(self, fy: float, fx: float) -> "Footprint":
        """The footprint on a grid `fy` x `fx` times as fine (pixel centres at (i + 0.5) / f - 0.5 of this
        grid, as cv2.resize maps them): the pixels where the bilinearly resampled mask is at least half."""
        height, width = self.mask.shape
        top, left = int(np.floor(self.y * fy)), int(np.floor(self.x * fx))
        rows = (np.arange(top, int(np.ceil((self.y + height) * fy))) + 0.5) / fy - 0.5 - self.y
        columns = (np.arange(left, int(np.ceil((self.x + width) * fx))) + 0.5) / fx - 0.5 - self.x
        map_x, map_y = (grid.astype(np.float32) for grid in np.meshgrid(columns, rows))
        sampled = cv2.remap(self.mask.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return Footprint(top, left, sampled >= 0.5, self.margin * np.sqrt(fy * fx))


def semi_major(region: np.ndarray) -> float:
    """Semi-major radius in pixels of a binary region (a disc of radius r gives r; a line, 0.58 x length)."""
    ys, xs = np.nonzero(region)
    if len(xs) < 2:
        return 0.5
    covariance = np.cov(np.stack([xs, ys]).astype(np.float64)) + np.eye(2) / 12.0
    return float(2.0 * np.sqrt(np.linalg.eigvalsh(covariance)[-1]))


def disc(x: float, y: float, radius: float) -> Footprint:
    """The footprint of a manual spot (crop pixel coordinates): the circle the user drew, plus a pixel."""
    reach = int(np.ceil(radius))
    top, left = int(round(y)) - reach, int(round(x)) - reach
    ys, xs = np.ogrid[top:top + 2 * reach + 1, left:left + 2 * reach + 1]
    return Footprint(top, left, (xs - x) ** 2 + (ys - y) ** 2 <= max(radius, 0.5) ** 2)


def texture_offset(high: np.ndarray, clean: np.ndarray, hole: np.ndarray, radius: float) -> tuple[int, int] | None:
    """(dx, dy) of the neighbouring clean patch whose surrounding texture best matches the hole's ring.

    Candidates lie just beyond the hole in OFFSET_DIRECTIONS directions; a candidate must be clean skin
    over the hole and its ring. None when no neighbour is clean (arrays are one window of the crop)."""
    ring_size = 2 * max(1, int(round(radius / 2))) + 1
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((ring_size, ring_size), np.uint8)) > 0) & ~hole
    ys, xs = np.nonzero(hole | ring)
    ring_y, ring_x = np.nonzero(ring)
    height, width = hole.shape
    best, best_cost = None, np.inf
    distance = 2.0 * radius + ring_size
    for angle in np.linspace(0, 2 * np.pi, OFFSET_DIRECTIONS, endpoint=False):
        dx, dy = int(round(distance * np.cos(angle))), int(round(distance * np.sin(angle)))
        sx, sy = xs + dx, ys + dy
        if sx.min() < 0 or sy.min() < 0 or sx.max() >= width or sy.max() >= height or not clean[sy, sx].all():
            continue
        cost = float(np.mean((high[ring_y, ring_x] - high[ring_y + dy, ring_x + dx]) ** 2))
        if cost < best_cost:
            best, best_cost = (dx, dy), cost
    return best


def _window(spot: Footprint, pad: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The spot's box grown by `pad` pixels, clipped to `shape`."""
    return (slice(max(0, spot.y - pad), min(shape[0], spot.y + spot.mask.shape[0] + pad)),
            slice(max(0, spot.x - pad), min(shape[1], spot.x + spot.mask.shape[1] + pad)))


def tone_fill(lab: np.ndarray, holes: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """`lab` (a window, HxWx3, float64) with the `holes` that reach `inside` filled by biharmonic
    interpolation from the pixels around them: the tone, continuing the surrounding gradients.

    The biharmonic stencil reaches 2 px, so holes farther apart than that are independent systems: only
    those connected to `inside` are solved, on a crop just around them (a 24-megapixel face's window
    holds several spots, and the sparse solve grows faster than its size). The result inside equals a
    solve of every hole over the whole window: scikit-image clips a fill to the range of the known
    pixels, so the other holes take the window's lowest known value and two pixels out of the stencil's
    reach carry the window's range (when the crop is the whole window, it has its range already)."""
    _, labels = cv2.connectedComponents(cv2.dilate(holes.astype(np.uint8), _STENCIL_STEP), connectivity=4)
    solved = holes & np.isin(labels, np.unique(labels[inside]))
    known = lab[~holes]
    low, high = known.min(axis=0), known.max(axis=0)
    ys, xs = np.nonzero(solved)
    margin = 3                                       # one pixel beyond the stencil's reach
    y0, y1 = max(0, ys.min() - margin), min(holes.shape[0], ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(holes.shape[1], xs.max() + margin + 1)
    part, part_solved = lab[y0:y1, x0:x1].copy(), solved[y0:y1, x0:x1]
    part[holes[y0:y1, x0:x1] & ~part_solved] = low
    far = np.flatnonzero(cv2.dilate(part_solved.astype(np.uint8), _STENCIL_REACH) == 0)
    if far.size >= 2:
        part.reshape(-1, 3)[far[:2]] = low, high
    from skimage.restoration import inpaint_biharmonic    # scipy's sparse solvers: loaded when a spot is filled
    filled = lab.copy()
    filled[y0:y1, x0:x1] = inpaint_biharmonic(part, part_solved, channel_axis=-1)
    return filled


def heal(rgb: np.ndarray, skin: np.ndarray, spots: list[Footprint], *, texture: float) -> tuple[np.ndarray, np.ndarray]:
    """`rgb` with every spot healed, and the soft mask of the healed pixels.

    Each spot's hole (Footprint.hole) is healed in two parts. Tone: the hole is filled by biharmonic
    interpolation from the clean skin at its edge, which continues the surrounding tone and its
    gradients smoothly (every hole is left out, so no spot leaks into another). Texture: the high
    frequencies (finer than `texture` px) of the best-matching clean neighbour (texture_offset) are
    added, weighted in with depth into the hole (where the interpolation no longer reaches), so the
    patch has pores. The mask is the hole, softened at its rim. All of it happens on a window around
    each spot (grown by the texture filter's reach, so its texture layer is the whole crop's), so
    healing costs what the spots do, not what the face does; only those windows go to CIELAB and back."""
    holes = [spot.hole() for spot in spots]
    healed, mask = rgb.astype(np.float32, copy=True), np.zeros(skin.shape, np.float32)
    for hole in holes:
        reach = semi_major(hole.mask)
        pad = int(np.ceil(4 * reach)) + 3
        around = _window(hole, pad + int(np.ceil(4 * texture)) + 1, skin.shape)
        origin = (around[0].start, around[1].start)
        taken = np.zeros(skin[around].shape, bool)
        for other in holes:
            other.paint(taken, origin)
        lab = to_lab(rgb[around])
        _, high = split(lab, texture, (skin[around] + OUTSIDE_WEIGHT) * ~taken)
        clean = (skin[around] > SKIN_CORE) & ~taken
        window = _window(hole, pad, skin.shape)
        local = tuple(slice(part.start - start, part.stop - start) for part, start in zip(window, origin))
        inside = np.zeros(taken[local].shape, bool)
        hole.paint(inside, (window[0].start, window[1].start))
        fill = tone_fill(lab[local].astype(np.float64), taken[local], inside)
        offset = texture_offset(high[local], clean[local], inside, reach)
        if offset is not None:
            depth = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
            weight = (1.0 - np.exp(-0.5 * (depth / (TEXTURE_DEPTH * texture)) ** 2))[..., None]
            detail = weight * np.roll(high[local], (-offset[1], -offset[0]), axis=(0, 1))
            fill += detail - detail[inside].mean(axis=0)     # texture only: the tone is the fill's
        soft = np.clip(2.0 * cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.5), 0.0, 1.0)
        healed[window][inside] = from_lab(fill[inside])
        mask[window] = np.maximum(mask[window], soft)
    return healed, mask
