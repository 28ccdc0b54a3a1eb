"""Colour helpers shared by edits and measures: sRGB <-> linear light, CIELAB, CIEDE2000.

Thin wrappers so every module speaks the same float32 conventions: RGB in 0..1 sRGB-encoded, Lab (D65)
with L in 0..100. CIEDE2000 is scikit-image's (checked against published reference data). sRGB <-> Lab
is OpenCV's float conversion (much faster than scikit-image's float64 one), within 0.6 dE2000 of it
in absolute terms, and there and back it returns a portrait's pixels to within 3e-3 (under one 8-bit
level; tests/test_color.py). Measures compare two conversions of the same kind, so they do not see the
offset.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage import color as skcolor

from .photo import Box


def power(values: np.ndarray, exponent: float) -> np.ndarray:
    """values ** exponent (float32, values >= 0) by OpenCV (faster than numpy's power)."""
    shape = np.shape(values)
    return cv2.pow(np.ascontiguousarray(values, np.float32), exponent).reshape(shape)


def channel_reduce(rgb: np.ndarray, reduction: int) -> np.ndarray:
    """Each pixel's largest or smallest channel (reduction cv2.REDUCE_MAX or REDUCE_MIN) of HxWx3 `rgb`:
    OpenCV's row reduction, which is faster than numpy's over a 3-long last axis."""
    flat = np.ascontiguousarray(rgb, np.float32).reshape(-1, 3)
    return cv2.reduce(flat, 1, reduction).reshape(rgb.shape[:2])


def to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded 0..1 -> linear light (IEC 61966-2-1). Written with few temporaries: on a
    24-megapixel face, memory traffic is what costs."""
    rgb = np.clip(rgb, 0.0, 1.0, dtype=np.float32)
    linear = rgb + np.float32(0.055)
    linear *= np.float32(1 / 1.055)
    linear = power(linear, 2.4)
    np.multiply(rgb, np.float32(1 / 12.92), out=linear, where=rgb <= 0.04045)
    return linear


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded 0..1 (values above 1 are clipped: they cannot be stored)."""
    linear = np.clip(linear, 0.0, 1.0, dtype=np.float32)
    rgb = power(linear, 1 / 2.4)
    rgb *= np.float32(1.055)
    rgb -= np.float32(0.055)
    np.multiply(linear, np.float32(12.92), out=rgb, where=linear <= 0.0031308)
    return rgb


def _convert(values: np.ndarray, code: int) -> np.ndarray:
    """OpenCV colour conversion of float32 triples of any leading shape (OpenCV wants an image)."""
    values = np.asarray(values, np.float32)
    image = values if values.ndim == 3 else values.reshape(-1, 1, 3)
    return cv2.cvtColor(np.ascontiguousarray(image), code).reshape(values.shape)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0..1 (any leading shape, last axis 3) -> CIELAB (D65), float32."""
    return _convert(np.clip(rgb, 0.0, 1.0), cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) -> sRGB 0..1, float32, clipped to the displayable range."""
    return np.clip(_convert(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)


def moved_in_lab(rgb: np.ndarray, lab: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """`rgb` (whose CIELAB is `lab`) moved by the change from `lab` to `edited`, clipped to 0..1.

    Both Lab images are converted back and only their difference is added, so the conversions' round-trip
    error cancels: a pixel whose Lab did not change keeps its RGB exactly."""
    return np.clip(rgb + (from_lab(edited) - from_lab(lab)), 0.0, 1.0)


def delta_e(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference per pixel (1 is about one just-noticeable difference)."""
    return skcolor.deltaE_ciede2000(lab_a, lab_b).astype(np.float32)


def delta_e_rgb(rgb_a: np.ndarray, rgb_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between two sRGB arrays of the same shape."""
    return delta_e(to_lab(rgb_a), to_lab(rgb_b))


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y of sRGB-encoded pixels (linear light, Rec. 709 weights)."""
    return to_linear(rgb) @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def grid_step(shape: tuple[int, ...], max_samples: int = 1_000_000) -> int:
    """The step of the regular grid, of about `max_samples` points, that changed shares are judged on.

    A share of changed pixels is a statistic: a 24 MP frame is judged every 5th pixel each way (the
    error is far below the 0.5% budgets)."""
    return max(1, int(np.ceil(np.sqrt(shape[0] * shape[1] / max_samples))))


def changed_grid(before: np.ndarray, after: np.ndarray, step: int, *, threshold: float = 2.0,
                 within: Box | None = None) -> np.ndarray:
    """Which points of the frame[::step, ::step] grid changed by more than `threshold` (CIEDE2000) from
    `before` (that grid of one frame, already sampled) to `after` (the other, whole frame).

    `within` is a box outside which the two frames are known to be equal: only the grid points inside
    it are compared. Pixels identical to within 1/1024 in every channel are skipped before the Lab
    conversion: that is far below dE 1."""
    height, width = after.shape[:2]
    grid = np.zeros(before.shape[:2], bool)
    x0, y0, x1, y1 = within or (0, 0, width, height)
    rows, cols = slice(-(-y0 // step), -(-y1 // step)), slice(-(-x0 // step), -(-x1 // step))
    was = np.ascontiguousarray(before[rows, cols], np.float32)
    now = np.ascontiguousarray(after[rows.start * step:y1:step, cols.start * step:x1:step], np.float32)
    moved = channel_reduce(cv2.absdiff(was, now), cv2.REDUCE_MAX) > 1 / 1024
    if moved.any():
        changed = np.zeros(moved.shape, bool)
        changed[moved] = delta_e_rgb(was[moved], now[moved]) > threshold
        grid[rows, cols] = changed
    return grid


def changed_share(rgb_a: np.ndarray, rgb_b: np.ndarray, *, threshold: float = 2.0,
                  where: np.ndarray | None = None, within: Box | None = None,
                  max_samples: int = 1_000_000) -> float:
    """Share of pixels (inside `where`, if given) whose CIEDE2000 difference exceeds `threshold`,
    judged on a grid of about `max_samples` points (grid_step; `within` as for changed_grid)."""
    step = grid_step(rgb_a.shape, max_samples)
    grid = changed_grid(rgb_a[::step, ::step], rgb_b, step, threshold=threshold, within=within)
    return share_of(grid, None if where is None else where[::step, ::step])


def share_of(grid: np.ndarray, where: np.ndarray | None) -> float:
    """Share of the True points of `grid` among those inside `where` (all, if None); 0 when none is."""
    if where is None:
        return float(grid.mean()) if grid.size else 0.0
    total = int(np.count_nonzero(where))
    return float(np.count_nonzero(grid & where)) / total if total else 0.0
