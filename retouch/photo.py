"""The data that flows through retouch: a Photo, the Faces found in it, and their Regions.

Pixels are float32 RGB, sRGB-encoded (the working space, see profiles: 0..1, with a colour of a
wide-gamut file that sRGB cannot show kept below 0 or above 1), full resolution. Boxes are (x0, y0, x1, y1)
integer pixel coordinates, end-exclusive, in the full-resolution frame.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

Box = tuple[int, int, int, int]


@dataclass
class Photo:
    """A decoded photo with everything needed to write it back faithfully."""

    pixels: np.ndarray                 # float32 HxWx3, working space (sRGB, see profiles), orientation applied
    bit_depth: int = 8                 # bits per channel of the source (8 or 16)
    exif: bytes | None = None          # raw EXIF block (orientation already applied to pixels)
    icc: bytes | None = None           # ICC profile of the source, if any
    source: Path | None = None         # where it was read from
    alpha: np.ndarray | None = None    # float32 HxW 0..1, kept aside and restored on PNG/TIFF output
    preview: np.ndarray | None = None  # uint8 RGB embedded preview (RAW), for fast proxies
    format: str = ""                   # source format name, e.g. "JPEG", "PNG", "TIFF", "RAW"
    notes: tuple[str, ...] = ()        # what reading noticed and the record should say (e.g. frames left out)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def with_pixels(self, pixels: np.ndarray) -> "Photo":
        """Same metadata, new pixels (the original is never modified)."""
        return Photo(pixels, self.bit_depth, self.exif, self.icc, self.source, self.alpha,
                     None, self.format, self.notes)


@dataclass
class Region:
    """A soft mask (float32 0..1) covering `box` of the full frame."""

    box: Box
    mask: np.ndarray

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask pasted into a zero frame of `shape` (height, width)."""
        frame = np.zeros(shape, np.float32)
        x0, y0, x1, y1 = self.box
        frame[y0:y1, x0:x1] = self.mask
        return frame

    def crop(self, box: Box) -> np.ndarray:
        """The mask over another `box` of the frame (zero where this region has no coverage)."""
        bx0, by0, bx1, by1 = box
        out = np.zeros((by1 - by0, bx1 - bx0), np.float32)
        x0, y0, x1, y1 = max(bx0, self.box[0]), max(by0, self.box[1]), min(bx1, self.box[2]), min(by1, self.box[3])
        if x1 > x0 and y1 > y0:
            out[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0] = \
                self.mask[y0 - self.box[1]:y1 - self.box[1], x0 - self.box[0]:x1 - self.box[0]]
        return out

    def scaled(self, factor: float, size: tuple[int, int]) -> "Region":
        """This region in its frame resized by `factor` to `size` (width, height), area-averaged."""
        box = scaled_box(self.box, factor, size)
        width, height = max(box[2] - box[0], 0), max(box[3] - box[1], 0)
        if min(width, height, self.mask.size) == 0:
            return Region(box, np.zeros((height, width), np.float32))
        return Region(box, cv2.resize(self.mask, (width, height), interpolation=cv2.INTER_AREA))


def scaled_box(box: Box, factor: float, size: tuple[int, int]) -> Box:
    """`box` in a frame resized by `factor` to `size` (width, height): grown outward to whole pixels."""
    x0, y0, x1, y1 = box
    return (int(x0 * factor), int(y0 * factor),
            min(size[0], math.ceil(x1 * factor)), min(size[1], math.ceil(y1 * factor)))


@dataclass
class Face:
    """One face: its box, detection confidence, 478 landmarks, region masks and identity embedding."""

    box: Box
    confidence: float
    landmarks: np.ndarray                          # float32 (478, 2) x, y in full-resolution pixels
    regions: dict[str, Region] = field(default_factory=dict)
    embedding: np.ndarray | None = None            # float32 (128,), L2-normalised

    @property
    def interocular(self) -> float:
        """Distance between the eye centres (iris centres 468 and 473), in pixels."""
        return float(np.linalg.norm(self.landmarks[468] - self.landmarks[473]))

    def scaled(self, factor: float, size: tuple[int, int]) -> "Face":
        """This face in its frame resized by `factor` to `size`: box, landmarks and regions follow."""
        return dataclasses.replace(self, box=scaled_box(self.box, factor, size), landmarks=self.landmarks * factor,
                                   regions={name: region.scaled(factor, size) for name, region in self.regions.items()})


@dataclass
class Faces:
    """Everything analysis found in one photo: the faces and the soft person matte."""

    items: list[Face]
    person: np.ndarray | None = None   # float32 HxW 0..1 full resolution, None if no person found
    size: tuple[int, int] = (0, 0)     # (width, height) of the frame the coordinates refer to

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def scaled(self, factor: float, size: tuple[int, int]) -> "Faces":
        """These faces for their frame resized by `factor` to `size` (width, height): landmarks, boxes,
        region masks and the person matte follow it, without a new analysis (good enough for a draft)."""
        person = None if self.person is None else cv2.resize(self.person, size, interpolation=cv2.INTER_AREA)
        return Faces([face.scaled(factor, size) for face in self], person, size)
