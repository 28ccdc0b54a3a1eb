"""Helpers shared by the face edits (light, eyes, teeth; skin and blemish via _skin_layers): boxes, soft ramps,
and joining per-face changes.

These edits work face by face on a crop and change it by a per-pixel amount; the pipeline then blends
that in by strength. `support` turns the weight an edit used into the mask it reports (`masked_change`),
and `combine` pastes the per-face results into one Change over the union of their boxes.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..photo import Box, Face, Photo
from . import Change


def grow_box(box: Box, margin: float, size: tuple[int, int]) -> Box:
    """`box` grown by `margin` pixels on every side, clipped to a frame of `size` (width, height)."""
    pad = int(np.ceil(margin))
    x0, y0, x1, y1 = box
    return max(0, x0 - pad), max(0, y0 - pad), min(size[0], x1 + pad), min(size[1], y1 + pad)


def union_box(boxes: list[Box]) -> Box:
    """The smallest box holding every box of `boxes` (which must not be empty)."""
    array = np.array(boxes)
    return (int(array[:, 0].min()), int(array[:, 1].min()), int(array[:, 2].max()), int(array[:, 3].max()))


def crop(pixels: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return pixels[y0:y1, x0:x1]


def region_extent(face: Face, names: tuple[str, ...], size: tuple[int, int], *, margin: float = 1) -> Box | None:
    """The frame box around where the face's regions `names` are non-zero (grown by `margin`), or None
    when they are all empty or missing."""
    masks = [face.regions[name].crop(face.box) for name in names if name in face.regions]
    if not masks:
        return None
    ys, xs = np.nonzero(np.maximum.reduce(masks) > 0.01)
    if xs.size == 0:
        return None
    x0, y0 = face.box[:2]
    return grow_box((x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1),
                    margin, size)


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below `lo`, 1 above `hi`, a smooth (C1) ramp between: soft thresholds without visible edges."""
    t = np.clip((np.asarray(x, np.float32) - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def support(weight: np.ndarray, *, ramp: float = 0.05) -> np.ndarray:
    """The mask an edit reports from the weight it used: 1 wherever the weight is meaningful, tapering
    to 0 as the weight vanishes (so the blended result stays continuous at the mask's rim)."""
    return np.clip(weight / ramp, 0.0, 1.0).astype(np.float32)


def masked_change(box: Box, original: np.ndarray, edited: np.ndarray, weight: np.ndarray) -> Change | None:
    """A Change over `box` with the mask `support(weight)`; pixels the mask leaves out keep `original`
    exactly. `edited` is a fresh float32 array the caller hands over: it becomes the Change's pixels
    (no copy of a 24-megapixel face). None when the weight is zero everywhere."""
    mask = support(weight)
    if not mask.any():
        return None
    cv2.copyTo(original, (mask <= 0).view(np.uint8), edited)      # in place; 10x numpy's masked copy
    return Change(box, edited, mask)


def combine(photo: Photo, parts: list[Change | None]) -> Change:
    """One Change over the union of the per-face changes `parts` (each computed from the same photo;
    None for a face with nothing to do). Where two faces' boxes overlap, each pixel comes from the face
    whose mask is stronger there. Their details are joined, list by list (a face's details go along even
    when it changed nothing: the record says why)."""
    details: dict[str, list] = {}
    for part in parts:
        for key, entries in (part.details if part is not None else {}).items():
            details.setdefault(key, []).extend(entries)
    parts = [part for part in parts if part is not None and not part.empty]
    if not parts:
        nothing = Change.nothing(photo)
        nothing.details = details
        return nothing
    if len(parts) == 1:
        return Change(parts[0].box, parts[0].pixels, parts[0].mask, details)
    box = union_box([part.box for part in parts])
    pixels = crop(photo.pixels, box).astype(np.float32, copy=True)
    mask = np.zeros(pixels.shape[:2], np.float32)
    for part in parts:
        x0, y0, x1, y1 = (part.box[0] - box[0], part.box[1] - box[1], part.box[2] - box[0], part.box[3] - box[1])
        stronger = part.mask > mask[y0:y1, x0:x1]
        pixels[y0:y1, x0:x1][stronger] = part.pixels[stronger]
        mask[y0:y1, x0:x1][stronger] = part.mask[stronger]
    return Change(box, pixels, mask, details)
