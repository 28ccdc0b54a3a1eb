"""Pixel resampling: the analysis proxy, shrinking by whole blocks first, and enlarging a coarse grid back.

An integer factor keeps OpenCV's area resampling on its fast path, so shrinking averages whole blocks
first and resizes the rest of the way; positions then map through the extent the blocks covered.
"""
from __future__ import annotations

import cv2
import numpy as np

from .io import PROXY_LONG_SIDE, unit_float
from .photo import Photo


def proxy_pixels(photo: Photo, long_side: int = PROXY_LONG_SIDE) -> tuple[np.ndarray, float]:
    """A float32 copy of `photo` area-downscaled to `long_side`, and its scale (proxy / full width).

    Full-resolution coordinates are proxy coordinates / scale, to within a proxy pixel at the far edges
    (see shrink: it averages whole blocks first, which is faster, and may leave out a few pixels at the right
    and bottom; finding faces is what a proxy is for). The RAW's embedded preview is used
    instead of the full pixels when its aspect matches and it is at least as big as the proxy: it is
    already small, so this is much cheaper (its colours are the camera's rendering: fine for finding
    faces, not for measuring them).
    """
    height, width = photo.pixels.shape[:2]
    scale = min(1.0, long_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    source = photo.pixels
    preview = photo.preview
    if (scale < 1.0 and preview is not None and preview.shape[1] >= size[0] and preview.shape[0] >= size[1]
            and abs(preview.shape[1] / preview.shape[0] - width / height) < 0.01 * width / height):
        source = preview
    if source.shape[1::-1] == size:
        return unit_float(source).copy(), size[0] / width
    return shrink(unit_float(source), size)[0], size[0] / width


def area_down(image: np.ndarray, factor: int) -> np.ndarray:
    """float32 `image` averaged over factor x factor blocks (the whole blocks from the top left).

    An integer factor keeps OpenCV's area resampling on its fast path (a fractional one leaves it)."""
    image = image.astype(np.float32, copy=False)
    if factor == 1:
        return image
    height, width = image.shape[0] // factor, image.shape[1] // factor
    return cv2.resize(image[:height * factor, :width * factor], (width, height), interpolation=cv2.INTER_AREA)


def shrink(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """`image` resampled to `size` (w, h): area-averaged (by whole blocks first, see area_down) when it
    shrinks, bicubic when it grows. Also returns the extent (w, h) of `image` that the result covers: whole
    blocks leave up to factor - 1 pixels at the right and bottom out."""
    height, width = image.shape[:2]
    factor = max(1, min(width // size[0], height // size[1]))
    extent = (width // factor * factor, height // factor * factor)
    image = area_down(image, factor)
    if image.shape[1::-1] == size:
        return image, extent
    interpolation = cv2.INTER_AREA if image.shape[1] > size[0] else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation), extent


def upsample(grid: np.ndarray, factor: float | tuple[float, float], origin: tuple[int, int],
             size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """`size` (w, h) pixels of the grid `factor` (or (x, y) factors) times finer than `grid`, from its pixel
    `origin` (x, y): bilinear between `grid`'s pixel centres (a fine pixel's centre x lies at
    (x + 0.5) / factor - 0.5 in `grid`), edges replicated. Only the part of `grid` that is needed is read;
    `out` (of that size, a view into a bigger array will do) is filled if given."""
    fx, fy = (factor, factor) if np.isscalar(factor) else factor
    if fx == fy and float(fx).is_integer():
        return _enlarge(grid, int(fx), origin, size, out)
    x0, y0 = origin
    to_grid = np.float32([[1 / fx, 0, (x0 + 0.5) / fx - 0.5], [0, 1 / fy, (y0 + 0.5) / fy - 0.5]])
    return cv2.warpAffine(grid, to_grid, size, dst=out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _enlarge(grid: np.ndarray, factor: int, origin: tuple[int, int], size: tuple[int, int],
             out: np.ndarray | None) -> np.ndarray:
    """upsample by a whole factor: the grid pixels around the span (edges replicated) resized by `factor`,
    whose pixel grid then matches the fine one exactly, and cut out (cheaper than warpAffine)."""
    (x0, y0), (width, height) = origin, size
    gx0, gy0 = x0 // factor - 1, y0 // factor - 1
    gx1, gy1 = (x0 + width - 1) // factor + 2, (y0 + height - 1) // factor + 2
    rows, cols = grid.shape[:2]
    part = grid[max(gy0, 0):min(gy1, rows), max(gx0, 0):min(gx1, cols)]
    pads = (max(-gy0, 0), max(gy1 - rows, 0), max(-gx0, 0), max(gx1 - cols, 0))
    if any(pads):
        part = cv2.copyMakeBorder(part, *pads, cv2.BORDER_REPLICATE)
    fine = cv2.resize(part, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    ox, oy = x0 - gx0 * factor, y0 - gy0 * factor
    fine = fine[oy:oy + height, ox:ox + width]
    if out is None:
        return fine
    out[...] = fine
    return out
