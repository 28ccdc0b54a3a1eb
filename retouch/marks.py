"""The guard's own eye for distinctive marks: moles and freckles that are part of who a person is.

The `marks` measure asks whether the original's distinctive marks keep their contrast. It finds them
itself, in the ORIGINAL only, and never reads the blemish edit's list: a guard does not trust what it
guards. The detector is deliberately simple and different from the edit's: a black top-hat of the log
luminance over the skin (what is darker than the skin around it, up to TOPHAT_SIZE across) thresholded
at a fixed darkening, the connected parts sized against the face, and a part kept only when it is
pigment and not blood: pigment (melanin) darkens the red channel about as much as the luminance, blood
(an inflamed spot, which may be healed) hardly darkens red at all. Lines (creases) are left out: the
skin edits soften them legitimately. A mark is read against the skin around it, so a candidate whose
ring is not mostly skin is left out: a dark pocket where skin meets something darker (between hair
strands at the face's side, under a glasses frame's tip, at a mouth corner, in the chin's shadow) looks
like a spot once the skin's light is continued over the non-skin, but its darkness goes on beyond the
skin. The region's outermost band (EDGE_TRUST from its outline) does not count as skin here: there the
region's colour model is least sure, and hair or shadow may be taken in.

Each mark's contrast is the optical density of its core against the median of the ring of skin around
it, in linear luminance: a ratio, so it reads the same on dark and light skin. On a candidate image the
same pixels are read again (small windows of the full-resolution frame), and a mark is kept while it
keeps at least KEPT of its contrast. Marks at points the user chose to heal are left out (`released`).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .color import luminance, to_linear
from .face.outline import depth_inside
from .resample import shrink

# Sizes in inter-ocular distances unless named _PX.
WORK_INTEROCULAR = 120.0   # px: marks are found on the face shrunk to at most this inter-ocular distance
TOPHAT_SIZE = 0.12         # widest mark the top-hat sees (diameter)
FILL_SIGMA = 0.05          # the skin's light continued past its edge by a normalised blur of this sigma
DARKER = 0.3                # least optical density (ln of light) of a distinctive mark: 26% darker
RADII = (0.008, 0.06)      # radius range of a distinctive mark
PIGMENT = 0.7              # red density at least this share of the luminance's: pigment, not blood
ROUND = 2.5                # a part longer than this many times its width is a line (crease), not a mark
KEPT = 0.8                 # a mark keeps at least this share of its contrast to count as kept
CORE = 0.7                 # a mark's core: this share of its radius
RING = (1.0, 2.0)          # its ring of skin: between these multiples of its radius, plus RING_PX
RING_PX = (1.5, 3.0)
NEAR_PX = 3.0              # a released point frees a mark within this far of its edge (full-res px)
RING_SKIN = 0.8            # a mark's ring lies at least this share on trusted skin (its median is skin)
EDGE_TRUST = 0.03          # skin within this far of the region's outline is not trusted to be skin


@dataclass(frozen=True)
class Mark:
    """A distinctive mark of the original: centre and radius in full-resolution frame pixels, and its
    contrast (optical density of its core against its ring, linear luminance)."""

    x: float
    y: float
    radius: float
    contrast: float

    def describe(self) -> str:
        return f"mark at ({self.x:.0f}, {self.y:.0f}), radius {self.radius:.1f} px"


def _around(shape: tuple[int, ...], mark: Mark, origin: tuple[int, int] = (0, 0)):
    """The window (slices into an array of `shape` whose pixel (0, 0) is frame pixel `origin`) around the
    mark, and the mark's core and ring inside it (bool). None when the window is empty."""
    reach = int(np.ceil(RING[1] * mark.radius + RING_PX[1])) + 1
    x, y = mark.x - origin[0], mark.y - origin[1]
    x0, x1 = max(0, int(x) - reach), min(shape[1], int(x) + reach + 2)
    y0, y1 = max(0, int(y) - reach), min(shape[0], int(y) + reach + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = np.ogrid[y0:y1, x0:x1]
    distance = np.hypot(xs - x, ys - y)
    core = distance <= max(CORE * mark.radius, 0.75)
    ring = (distance >= RING[0] * mark.radius + RING_PX[0]) & (distance <= RING[1] * mark.radius + RING_PX[1])
    return (slice(y0, y1), slice(x0, x1)), core, ring


def contrast(frame: np.ndarray, mark: Mark) -> float:
    """The mark's contrast in `frame` (full resolution, sRGB): ln(ring's median light / core's mean light)."""
    around = _around(frame.shape, mark)
    if around is None:
        return 0.0
    window, core, ring = around
    light = luminance(frame[window])
    if not core.any() or not ring.any():
        return 0.0
    return float(np.log(max(float(np.median(light[ring])), 1e-5) / max(float(light[core].mean()), 1e-5)))


def _ring_on_skin(trusted: np.ndarray, box: tuple[int, int, int, int], mark: Mark) -> float:
    """Share of the mark's ring on `trusted` skin (bool over `box` of the frame)."""
    around = _around(trusted.shape, mark, (box[0], box[1]))
    if around is None:
        return 0.0
    window, _, ring = around
    return float(trusted[window][ring].mean()) if ring.any() else 0.0


def find(original: np.ndarray, box: tuple[int, int, int, int], skin: np.ndarray,
         interocular: float) -> list[Mark]:
    """The distinctive marks on the skin (`skin`: bool over `box` of the frame) of one face.

    Found on the face shrunk to at most WORK_INTEROCULAR px between the eyes (the same marks at any
    resolution), their contrast read at full resolution."""
    x0, y0, x1, y1 = box
    scale = min(1.0, WORK_INTEROCULAR / max(interocular, 1.0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    crop = original[y0:y1, x0:x1]
    (small, extent), (small_skin, _) = shrink(crop, size), shrink(skin.astype(np.float32), size)
    fy, fx = extent[1] / size[1], extent[0] / size[0]
    linear = to_linear(small)
    log_light = np.log(np.maximum(linear @ np.array([0.2126, 0.7152, 0.0722], np.float32), 1e-5))
    work_iod = interocular * scale
    # Outside the skin the light is replaced by the skin's own, smoothly continued (a normalised blur),
    # so dark features beside it (eyes, brows, nostrils, hair) cannot make or hide a mark.
    on_skin = small_skin > 0.5
    sigma = FILL_SIGMA * work_iod
    weight = cv2.GaussianBlur(on_skin.astype(np.float32), (0, 0), sigma)
    smooth = cv2.GaussianBlur(np.where(on_skin, log_light, 0).astype(np.float32), (0, 0), sigma) / np.maximum(weight, 1e-6)
    filled = np.where(on_skin, log_light, smooth).astype(np.float32)
    reach = max(3, int(round(TOPHAT_SIZE * work_iod)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))
    depth = cv2.morphologyEx(filled, cv2.MORPH_BLACKHAT, kernel)
    inner = cv2.erode(on_skin.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    peaks = (depth >= DARKER) & inner & (depth >= cv2.dilate(depth, np.ones((3, 3), np.uint8)))
    ys, xs = np.nonzero(peaks)
    pad = int(np.ceil(2 * RADII[1] * work_iod)) + 2
    height, width = depth.shape
    claimed = np.zeros(depth.shape, bool)
    trusted = skin & (depth_inside(skin, interocular) > EDGE_TRUST)
    found = []
    for y, x in sorted(zip(ys, xs), key=lambda at: -depth[at]):
        if claimed[y, x]:
            continue
        wy0, wx0 = max(0, y - pad), max(0, x - pad)
        window = depth[wy0:y + pad + 1, wx0:x + pad + 1]
        _, parts = cv2.connectedComponents((window >= depth[y, x] / 2).astype(np.uint8))
        pixels = parts == parts[y - wy0, x - wx0]
        claimed[wy0:y + pad + 1, wx0:x + pad + 1] |= pixels
        radius = float(np.sqrt(np.count_nonzero(pixels) / np.pi))
        if not RADII[0] * work_iod <= radius <= RADII[1] * work_iod:
            continue
        rows, columns = np.nonzero(pixels)
        if len(columns) >= 3:
            spread = np.linalg.eigvalsh(np.cov(np.stack([columns, rows]).astype(np.float64)) + np.eye(2) / 12.0)
            if np.sqrt(spread[1] / spread[0]) > ROUND:
                continue
        cx, cy = columns.mean() + wx0, rows.mean() + wy0
        mark = Mark(x0 + (cx + 0.5) * fx - 0.5, y0 + (cy + 0.5) * fy - 0.5, max(radius * np.sqrt(fx * fy), 0.75), 0.0)
        if _ring_on_skin(trusted, box, mark) >= RING_SKIN and _pigment(original, mark):
            found.append(Mark(mark.x, mark.y, mark.radius, contrast(original, mark)))
    return [mark for mark in found if mark.contrast >= DARKER]


def _pigment(frame: np.ndarray, mark: Mark) -> bool:
    """Whether the mark darkens red at least PIGMENT times as much as luminance (pigment, not blood)."""
    around = _around(frame.shape, mark)
    if around is None:
        return False
    window, core, ring = around
    linear = to_linear(frame[window])
    if not core.any() or not ring.any():
        return False
    density = np.log(np.maximum(np.median(linear[ring], axis=0), 1e-5) / np.maximum(linear[core].mean(axis=0), 1e-5))
    light = float(density @ np.array([0.2126, 0.7152, 0.0722]))
    return light > 0 and float(density[0]) >= PIGMENT * light


def released(marks: list[Mark], points) -> list[Mark]:
    """The marks that no released point (x, y[, radius]) falls on: the user chose to heal those."""
    points = [tuple(point) for point in points]
    return [mark for mark in marks
            if not any(np.hypot(point[0] - mark.x, point[1] - mark.y)
                       <= mark.radius + NEAR_PX + (point[2] if len(point) > 2 else 0.0) for point in points)]


def lost(marks: list[Mark], frame: np.ndarray) -> list[Mark]:
    """The marks that keep less than KEPT of their contrast in `frame`."""
    return [mark for mark in marks if contrast(frame, mark) < KEPT * mark.contrast]


def kept_share(marks: list[Mark], frame: np.ndarray) -> float:
    """Share of `marks` keeping at least KEPT of their contrast in `frame` (1 when there are none)."""
    if not marks:
        return 1.0
    return 1.0 - len(lost(marks, frame)) / len(marks)


# --- the `marks` measure (retouch/measure.py's table) ------------------------------------------------

def prepare(face_ref, original: np.ndarray) -> list[Mark]:
    """The face's distinctive marks in the original, less those at the points the user released (chose
    to heal): face_ref.released, (x, y) or (x, y, radius) in full-resolution pixels."""
    found = find(original, face_ref.crop_box, face_ref.skin, face_ref.face.interocular)
    return released(found, face_ref.released)


def measure(face_ref, view) -> float:
    """Share of the original's distinctive marks (moles, freckles: found by the guard's own detector,
    never taken from an edit) that keep at least 80% of their contrast (1 when there are none)."""
    return kept_share(face_ref.prepared["marks"], view.frame)


def explain(face_ref, view) -> list[str]:
    """The marks `measure` counts as lost, in words ("mark at (529, 257), radius 2.2 px")."""
    return [mark.describe() for mark in lost(face_ref.prepared["marks"], view.frame)]
