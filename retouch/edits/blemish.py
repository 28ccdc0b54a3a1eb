"""Blemish healing by judgement: heal what will pass, keep what is the person.

Detection works in CIELAB inside the skin mask only (features excluded), at scales matched to mark
sizes. At each scale a pixel's neighbourhood is compared with its surround (a normalised blur over skin,
recomputed without the marks found, so it acts like a local median); the difference in L* (darker or
brighter), a* (redder) and b* is divided by the skin's own robust noise (MAD), so the same relative
rule finds the same marks on dark and light skin, with no absolute thresholds. A mark must stand out by
the `sensitivity` threshold and be at least `min_size` inter-ocular distances in radius (finer detail is
pores). Since every size is relative to the face, detection runs on the face scaled down so the
inter-ocular distance is at most WORK_INTEROCULAR px, and the marks are mapped back and healed at full
resolution, each on a small window around it, so a 24-megapixel face costs about what a small one does
plus what its marks do.

Every mark is then judged by what it is, never by size alone (judge_mark): temporary (inflamed spots,
pimples: blood, which in linear light takes green far more than red against the skin around it, on any
skin tone) or permanent (moles and freckles: pigment, which darkens red about as much as green; marks
on a line, pale marks, and anything unclear: when in doubt, the person is kept). A sharp edge settles an
unclear colour as a mole, a highlight names a pimple, and moles in a group of `freckle_count` are
freckles. Temporary marks up to `max_size` are healed; permanent ones are kept, or lightened by
`lighten_marks` (hard max 0.3 of their contrast). Only an explicit choice heals a permanent mark: a
`heal_marks` point on it (or a manual spot drawn in `spots`); a `keep_marks` point keeps any mark. Every
mark, with its class, kind, confidence and what was done, goes into the Change's details["marks"].

Healing separates tone from texture: a mark is filled by biharmonic interpolation from the clean skin
around it (tone, continuing its gradients), and the high frequencies of the neighbouring clean patch
whose texture matches best are added where the interpolation does not reach, so the patch has pores.
An inflamed spot fades out, so its hole reaches FADE_MARGIN radii past its footprint, unless that would
swallow a kept mark.

Bounds: `max_size` has a hard maximum of 0.08 inter-ocular distances (a radius of about 5 mm), checked
on a measure that never reads a large mark small: larger marks are never healed, not even by choice.
Healing a temporary mark completely is natural, so strength may reach 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import cv2
import numpy as np

from ..color import from_lab, to_lab, to_linear
from ..resample import shrink
from ..params import Param, ParamError, declarations, param, points, settings
from ..photo import Box, Face, Faces, Photo
from . import Change, Edit, register
from ._healing import Footprint, disc, heal, semi_major, tone_fill
from ._skin_layers import OUTSIDE_WEIGHT, SKIN_CORE, each_face, masked_blur, robust_spread

# All sizes in inter-ocular distances unless named _PX.
TEXTURE_SIZE = 0.03        # sigma splitting tone from texture (pores) when healing
FRECKLE_GAP = 0.1          # marks whose footprints come this close belong to one group
SURROUND = 2.0             # the surround's blur sigma, in detection sigmas
SMOOTHING_PX = 0.6         # smallest detection sigma: below it is pixel noise
HALF_MAX_RADIUS = 1.18     # half-maximum radius of a Gaussian, in sigmas (sqrt(2 ln 2))
SCALE_WIDTH = 0.9          # a footprint's radius exceeds the spot's by this many detecting sigmas (in
                           # quadrature; calibrated on synthetic flat and Gaussian spots in noise)
BIG_MARK_READING = 0.8     # large flat marks measure at least this share of their radius (same calibration)
COMPACT = 1.5              # a spot's whole extent (a third of its peak) may reach this many largest sizes
THRESHOLDS = (9.0, 3.0)    # how far (noise units) a spot must stand out, at sensitivity 0 and 1
WORK_INTEROCULAR = 160.0   # px: detection runs on the face scaled to at most this inter-ocular distance
# Judging a mark (working-scale px, or shares of the mark's radius). Calibrated on marks planted as
# absorbers in linear light on the four test portraits (tests/_planted.py) and on Obama's real mole.
RED_TEMPORARY = 0.4        # redness from which a mark reads as blood (inflamed) rather than pigment
RED_PIGMENT = 0.2          # redness below which a darker mark reads as pigment; in between: kept, unclear
RED_SPAN = 0.3             # redness past a line that makes a judgement certain
CENTRE_SIGMA_PX = 0.6      # a mark's colour is read with a Gaussian weight of at least this sigma ...
RING_RADII = (1.0, 2.0)    # ... against the skin between these radii (plus RING_PX) around it
RING_PX = (1.5, 3.5)
RING_FEWEST = 6            # clean skin pixels the ring needs
SHARP_MEASURABLE = 2.0     # px: below this half-maximum radius a mark's edge is the lens's, not the mark's
SHARP_EDGE = 0.1           # edge_falloff at most this: sharply bounded (planted moles gave -0.07..0.1,
                           # inflamed spots 0.03..0.43: the edge settles a mark of unclear colour as a
                           # mole, never a red one as temporary or permanent)
EDGE_SPAN = 0.1            # edge_falloff past SHARP_EDGE that makes it certain
HIGHLIGHT = 0.03           # optical density of a raised spot's highlight (3% more light than the skin)
FADE_MARGIN = 1.0          # an inflamed spot fades out: its hole reaches this many radii past its footprint
ROUND = 2.0                # a line's mark whose own footprint is no longer than this across is judged as
                           # a mark on the line (a mole at a crease), not as the line
NEAR_PX = 2.0              # a chosen point names a mark within this far of its footprint (full-res px)


@dataclass(frozen=True)
class Params:
    sensitivity: float = param(0.65, 0.0, 1.0, doc="how faint a mark may be and still be found: 0 only strong "
                               "marks, 1 faint ones too (relative to the skin's own noise); what is found is "
                               "then judged by kind")
    min_size: float = param(0.008, 0.0, 0.05, doc="smallest mark radius, share of the inter-ocular distance "
                            "(smaller detail is pores and texture)")
    max_size: float = param(0.05, 0.005, 0.2, hard_max=0.08,
                            doc="largest temporary mark healed by itself, share of the inter-ocular distance; "
                                "hard max 0.08 (about 5 mm): no mark beyond it is ever healed, not even by choice")
    freckle_count: int = param(5, 2, 100, kind=int, doc="this many pigmented marks close together are "
                               "freckles")
    lighten_marks: float = param(0.0, 0.0, 1.0, hard_max=0.3,
                                 doc="share of a permanent mark's contrast removed (moles, freckles): hard max "
                                     "0.3, so they always stay")
    spots: tuple = points("manual spots (x, y, radius), healed as drawn", radius=True, heals=True)
    heal_marks: tuple = points("the mark holding one of these points is healed, by the user's choice", heals=True)
    keep_marks: tuple = points("the mark holding one of these points is kept, by the user's choice")

    def __post_init__(self) -> None:
        for name, declared in settings(Params).items():
            object.__setattr__(self, name, declared.check(getattr(self, name), f"blemish.{name}"))
        if self.min_size > self.max_size:
            raise ParamError(f"blemish.min_size: {self.min_size!r} is above max_size {self.max_size!r}")


def migrate(version: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Version 1 judged marks by size (spots under max_size healed, whatever they were) and its
    `exclude` points kept the spot holding one: they are version 2's `keep_marks`. max_size keeps its
    value; it now bounds only the temporary marks healed without being chosen."""
    values = dict(values)
    if version < 2 and "exclude" in values:
        values["keep_marks"] = values.pop("exclude")
    return values


STRENGTH = Param(1.0, 0.0, 1.0, 1.0, "share of each temporary mark healed; healing one completely looks "
                 "natural (judging marks by kind, not strength, is what keeps moles, freckles and scars)")

# The largest radius ever healed, whatever the params: manual spots beyond it are ignored.
LARGEST = declarations(Params)["max_size"].limit


def detection_scales(smallest: float, largest: float) -> np.ndarray:
    """Blur sigmas (px) matched to spot radii from `smallest` to `largest` px, a factor sqrt(2) apart."""
    low = max(SMOOTHING_PX, smallest / HALF_MAX_RADIUS)
    high = max(low, largest / HALF_MAX_RADIUS)
    return low * np.sqrt(2) ** np.arange(int(np.floor(np.log(high / low) / np.log(np.sqrt(2)))) + 1)


def spot_scores(lab: np.ndarray, skin: np.ndarray, *, scales: np.ndarray, threshold: float) -> np.ndarray:
    """Per scale and pixel (scales x H x W, float16): how far the pixel's colour stands out from the
    surrounding skin, in units of the skin's noise.

    At each scale the pixel's neighbourhood (a Gaussian of that sigma) is compared with its surround
    (SURROUND times wider); darker or brighter (L*), redder (a*) and yellower or bluer (b*) count, each
    divided by its robust noise (MAD over the skin). The surround is a normalised blur over skin, computed
    a second time without the spots found the first time, so it acts like a local median and spots do
    not dim themselves."""
    core = skin > SKIN_CORE
    weights = skin + OUTSIDE_WEIGHT
    stack = np.zeros((len(scales),) + skin.shape, np.float16)
    blurred: dict[float, np.ndarray] = {}

    def over_skin(sigma: float) -> np.ndarray:
        """The normalised blur of `lab` over skin at `sigma`, made once: one scale's surround is the
        neighbourhood of the scale two steps up (scales are sqrt(2) apart, SURROUND is 2)."""
        key = round(float(sigma), 6)
        if key not in blurred:
            blurred[key] = masked_blur(lab, weights, sigma)
        return blurred[key]

    for index, sigma in enumerate(scales):
        smoothed = over_skin(sigma)
        surround = over_skin(SURROUND * sigma)
        noise = robust_spread(smoothed - surround, core)
        found = (_standing_out(smoothed - surround, noise) * core >= threshold).astype(np.uint8)
        reach = 2 * int(np.ceil(sigma)) + 1
        candidates = cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
        surround = masked_blur(lab, weights * (1 - candidates), SURROUND * sigma)
        stack[index] = _standing_out(smoothed - surround, noise) * core
    return stack


def _standing_out(contrast: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Length of the Lab contrast (a float32 HxWx3 temporary, overwritten) in noise units, counting a* only
    where redder (greener is no blemish). The squares are summed over channels by OpenCV's per-pixel
    matrix product: numpy's reductions over a 3-long axis are several times slower."""
    red = contrast[..., 1]
    np.maximum(red, 0.0, out=red)
    return cv2.sqrt(cv2.transform(cv2.multiply(contrast, contrast), (1.0 / noise.astype(np.float64) ** 2)[None]))


def _region(scores: np.ndarray, at: tuple[int, int], level: float) -> np.ndarray:
    """The connected region of `scores` >= `level` holding the pixel `at` (y, x)."""
    _, parts = cv2.connectedComponents((scores >= level).astype(np.uint8), connectivity=8)
    return parts == parts[at]


class Mark(NamedTuple):
    """A candidate mark: its footprint, radius (px), `shape` ("spot": compact and within the hard size
    limit, "large": beyond it, "line": a point of a line, such as a crease or a scar) and `peak` (y, x)."""

    footprint: Footprint
    radius: float
    shape: str
    peak: tuple[float, float]

    def scaled(self, fy: float, fx: float) -> "Mark":
        """The mark on a grid `fy` x `fx` times as fine (see Footprint.scaled)."""
        y, x = self.peak
        return Mark(self.footprint.scaled(fy, fx), self.radius * float(np.sqrt(fy * fx)), self.shape,
                    ((y + 0.5) * fy - 0.5, (x + 0.5) * fx - 0.5))


def find_marks(stack: np.ndarray, scales: np.ndarray, *, threshold: float, smallest: float,
               largest: float, compact: float) -> list[Mark]:
    """Every mark (from spot_scores' `stack`) whose radius is at least `smallest` px (finer detail is pores).

    A mark is a local maximum of the best score over scales, above the threshold (strongest first; a
    peak inside an earlier mark's half-peak region is part of it). Its footprint is the connected region
    around the peak where the score is at least half the peak's, at the finest scale that sees it at half
    its best score (the least blurred view: a tight footprint). Its radius is the footprint's
    semi-major radius less, in quadrature, SCALE_WIDTH times that scale; its hole's margin, half that
    radius, takes in the mark's soft edge. Its shape is read on the best scale: a "line" when at a third
    of its peak it reaches beyond `compact` px (a dark point on a crease or a scar belongs to a line);
    "large" when its radius, or the mark as the best scale sees it, passes what the hard limit `largest`
    allows (BIG_MARK_READING: the least share of its radius a large flat mark measures there at half
    its peak, so a large mark is never read small); else a "spot".
    """
    best = stack.max(axis=0).astype(np.float32)
    peaks = (best >= threshold) & (best >= cv2.dilate(best, np.ones((3, 3), np.uint8)))
    ys, xs = np.nonzero(peaks)
    order = np.argsort(-best[ys, xs])
    pad = int(np.ceil(max(largest / BIG_MARK_READING, compact))) + 2
    height, width = best.shape
    claimed = np.zeros(best.shape, bool)
    found = []
    for y, x in zip(ys[order], xs[order]):
        if claimed[y, x]:
            continue
        y0, x0, y1, x1 = max(0, y - pad), max(0, x - pad), min(height, y + pad + 1), min(width, x + pad + 1)
        at = (y - y0, x - x0)
        strongest = stack[int(np.argmax(stack[:, y, x])), y0:y1, x0:x1]
        mark = _region(strongest, at, best[y, x] / 2)
        claimed[y0:y1, x0:x1] |= mark
        fine = int(np.argmax(stack[:, y, x] >= best[y, x] / 2))
        region = _region(stack[fine, y0:y1, x0:x1], at, float(stack[fine, y, x]) / 2)
        radius = float(np.sqrt(max(semi_major(region) ** 2 - (SCALE_WIDTH * scales[fine]) ** 2, 0.0)))
        if radius < smallest:
            continue
        shape = ("line" if semi_major(_region(strongest, at, best[y, x] / 3)) > compact else
                 "large" if radius > largest or semi_major(mark) > BIG_MARK_READING * largest else "spot")
        rows, columns = np.nonzero(region)
        footprint = Footprint(int(y0 + rows.min()), int(x0 + columns.min()),
                              region[rows.min():rows.max() + 1, columns.min():columns.max() + 1], radius / 2)
        found.append(Mark(footprint, radius, shape, (float(y), float(x))))
    return found


def clustered(marks: list[Mark], shape: tuple[int, int], *, gap: float, count: int) -> list[bool]:
    """Per mark, whether it belongs to a group of `count` or more marks closer than `gap` px."""
    if len(marks) < count:
        return [False] * len(marks)
    canvas = np.zeros(shape, bool)
    for mark in marks:
        mark.footprint.grown(max(1, int(round(gap / 2)))).paint(canvas)
    _, groups = cv2.connectedComponents(canvas.astype(np.uint8), connectivity=8)
    group_of = [int(groups[min(shape[0] - 1, max(0, int(round(y)))), min(shape[1] - 1, max(0, int(round(x))))])
                for y, x in (mark.peak for mark in marks)]
    members = np.bincount(group_of)
    return [group > 0 and members[group] >= count for group in group_of]


class Judgement(NamedTuple):
    """What a mark is: temporary (heal it) or permanent (it is the person), its kind in plain words, and
    how sure the judgement is (0.5: a guess, 1: clear)."""

    temporary: bool
    kind: str
    confidence: float


def _ring_density(linear: np.ndarray, allowed: np.ndarray, centre: tuple[float, float],
                  radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Optical density (-ln of light, per channel, against the skin around) of a window around a mark,
    the pixels' distances from its centre, and the skin's linear colour: None where too little clean
    skin surrounds it. The skin is the median of the ring RING_RADII radii out, on `allowed` pixels."""
    height, width = allowed.shape
    reach = int(np.ceil(max(RING_RADII[1] * radius + RING_PX[1], 3 * SHARP_MEASURABLE))) + 1
    cy, cx = centre
    y0, y1 = max(0, int(cy) - reach), min(height, int(cy) + reach + 2)
    x0, x1 = max(0, int(cx) - reach), min(width, int(cx) + reach + 2)
    ys, xs = np.ogrid[y0:y1, x0:x1]
    distance = np.hypot(ys - cy, xs - cx)
    ring = ((distance >= RING_RADII[0] * radius + RING_PX[0]) & (distance <= RING_RADII[1] * radius + RING_PX[1])
            & allowed[y0:y1, x0:x1])
    if np.count_nonzero(ring) < RING_FEWEST:
        return None
    window = linear[y0:y1, x0:x1]
    skin = np.maximum(np.median(window[ring], axis=0), 1e-4)
    density = -np.log(np.maximum(window, 1e-4) / skin)
    return density, distance, skin


def judge_mark(linear: np.ndarray, allowed: np.ndarray, mark: Mark) -> Judgement:
    """Whether a mark is temporary or permanent, by what it is, relative to the skin around it.

    Colour: in linear light a mark is an absorber over the skin, so its optical density per channel
    against the ring of skin around it says what absorbs, on any skin tone. Blood (an inflamed spot, a
    pimple) absorbs green and hardly any red: its redness, (green - red) / (|green| + |red|) density, is
    high; pigment (melanin: moles, freckles) darkens red about as much as green. On dark skin an
    inflamed spot reads dark or violet, but still takes green more than red against its own skin.
    Edge: measured where the mark is large enough (SHARP_MEASURABLE px), the density left just outside
    its radius against that inside: a sharply bounded mark of unclear colour is a mole (naevi are
    sharply bounded, papules fade out); the edge adds to a pigmented mark's confidence.
    A raised spot's highlight names a pimple. Lines (creases, scars) and pale marks are permanent, and so
    is every mark in between (a round mark where a line starts is judged for itself: it is never healed
    by itself, being part of a line): when in doubt, the person is kept (grouping into freckles: detect)."""
    if mark.shape == "line" and elongation(mark.footprint.mask) > ROUND:
        return Judgement(False, "line (crease or scar)", 0.7)
    ys, xs = np.nonzero(mark.footprint.mask)
    centre = (float(ys.mean() + mark.footprint.y), float(xs.mean() + mark.footprint.x))
    measured = _ring_density(linear, allowed, centre, mark.radius)
    if measured is None:
        return Judgement(False, "mark (too little skin around to judge)", 0.5)
    density, distance, _ = measured
    weight = np.exp(-0.5 * (distance / max(CENTRE_SIGMA_PX, mark.radius / 2)) ** 2)
    absorbed = (weight[..., None] * density).sum(axis=(0, 1)) / weight.sum()
    red, green = float(absorbed[0]), float(absorbed[1])
    redness = (green - red) / (abs(red) + abs(green) + 1e-6)
    along = density @ (absorbed / max(float(np.linalg.norm(absorbed)), 1e-6))
    sharp = edge_falloff(along, distance)
    if redness >= RED_TEMPORARY and green > 0:
        raised = bool((-density[distance <= mark.radius].mean(axis=-1) >= HIGHLIGHT).any())
        return Judgement(True, "pimple" if raised else "inflamed spot", _sure((redness - RED_TEMPORARY) / RED_SPAN))
    if float(absorbed.mean()) <= 0:
        return Judgement(False, "pale mark", 0.5)
    kind = "birthmark" if mark.shape == "large" else "mole"
    if redness <= RED_PIGMENT:
        return Judgement(False, kind, _sure(max((RED_PIGMENT - redness) / RED_SPAN, _sharpness(sharp))))
    if sharp is not None and sharp <= SHARP_EDGE:
        return Judgement(False, kind, _sure(_sharpness(sharp)))
    return Judgement(False, "mark (unclear: kept)", 0.5)


def _sharpness(falloff: float | None) -> float:
    """How far an edge_falloff lies on the sharp side of SHARP_EDGE, in EDGE_SPANs (0 when unknown)."""
    return 0.0 if falloff is None else (SHARP_EDGE - falloff) / EDGE_SPAN


def edge_falloff(values: np.ndarray, distance: np.ndarray) -> float | None:
    """How sharply a mark ends: its radial profile (`values` binned by `distance` from its centre, half a
    pixel a bin) at 1.5 times its half-maximum radius, over the profile at half that radius. A soft spot
    (Gaussian) gives about 0.25, a sharply bounded one (a flat disc blurred by the lens) near 0; None
    when the half-maximum radius is under SHARP_MEASURABLE px (its edge is then the lens's)."""
    bins = np.minimum((distance / 0.5).astype(int), int(distance.max() / 0.5)).ravel()
    profile = np.bincount(bins, values.ravel()) / np.maximum(np.bincount(bins), 1)
    radii = (np.arange(profile.size) + 0.5) * 0.5
    centre = float(values[distance <= 0.75].mean()) if (distance <= 0.75).any() else float(profile[0])
    below = np.flatnonzero(profile <= 0.5 * centre)
    if centre <= 0 or below.size == 0 or below[0] == 0:
        return None
    i = int(below[0])
    half = radii[i - 1] + (radii[i] - radii[i - 1]) * (profile[i - 1] - 0.5 * centre) / max(profile[i - 1] - profile[i], 1e-9)
    if half < SHARP_MEASURABLE or 1.5 * half > radii[-1]:
        return None
    return float(np.interp(1.5 * half, radii, profile) / max(np.interp(0.5 * half, radii, profile), 1e-9))


def elongation(region: np.ndarray) -> float:
    """Ratio of a binary region's longest to shortest axis (1: round)."""
    ys, xs = np.nonzero(region)
    if len(xs) < 3:
        return 1.0
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)) + np.eye(2) / 12.0)
    return float(np.sqrt(spread[1] / spread[0]))


def _sure(margin: float) -> float:
    """A confidence from a judgement's margin past its line (in units of the feature's span)."""
    return round(0.5 + 0.5 * float(np.clip(margin, 0.0, 1.0)), 2)


def holds_point(spot: Footprint, points: np.ndarray) -> bool:
    """Whether any (x, y) of `points` (crop pixel coordinates) falls on the spot grown by a pixel."""
    grown = spot.grown(1)
    for x, y in np.round(points).astype(int):
        row, column = y - grown.y, x - grown.x
        if 0 <= row < grown.mask.shape[0] and 0 <= column < grown.mask.shape[1] and grown.mask[row, column]:
            return True
    return False


def detect(lab: np.ndarray, linear: np.ndarray, skin: np.ndarray, interocular: float,
           params: Params) -> list[tuple[Mark, Judgement]]:
    """The marks found in a face's crop (`lab`, `linear` light, `skin`) whose inter-ocular distance is
    `interocular` px, each judged (judge_mark) against the clean skin around it; moles in a group of
    `freckle_count` or more are freckles."""
    sizes = (params.min_size * interocular, params.max_size * interocular)
    threshold = THRESHOLDS[0] + params.sensitivity * (THRESHOLDS[1] - THRESHOLDS[0])
    largest = LARGEST * interocular
    scales = detection_scales(sizes[0], largest / BIG_MARK_READING)
    stack = spot_scores(lab, skin, scales=scales, threshold=threshold)
    marks = find_marks(stack, scales, threshold=threshold, smallest=sizes[0], largest=largest,
                       compact=COMPACT * sizes[1])
    taken = np.zeros(skin.shape, bool)
    for mark in marks:
        mark.footprint.grown(1).paint(taken)
    allowed = (skin > SKIN_CORE) & ~taken
    judged = [(mark, judge_mark(linear, allowed, mark)) for mark in marks]
    moles = [index for index, (_, judgement) in enumerate(judged) if judgement.kind == "mole"]
    grouped = clustered([marks[index] for index in moles], skin.shape, gap=FRECKLE_GAP * interocular,
                        count=params.freckle_count)
    for index, group in zip(moles, grouped):
        if group:
            judged[index] = (marks[index], judged[index][1]._replace(kind="freckle"))
    return judged


def detect_at_working_scale(rgb: np.ndarray, skin: np.ndarray, interocular: float,
                            params: Params) -> list[tuple[Mark, Judgement]]:
    """detect() on the crop (RGB) shrunk so the inter-ocular distance is at most WORK_INTEROCULAR px, with
    the marks mapped back to the crop's full resolution (Mark.scaled). Every size and threshold is
    relative to the face and its noise, and every judgement to the skin around the mark, so the marks
    are those a full-resolution search finds (only marks at the threshold may differ), and the search
    costs what a small face's does."""
    height, width = skin.shape
    scale = min(1.0, WORK_INTEROCULAR / interocular)
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    if work == (width, height):
        return detect(to_lab(rgb), to_linear(rgb), skin, interocular, params)
    (small_rgb, extent), (small_skin, _) = shrink(rgb, work), shrink(skin, work)
    found = detect(to_lab(small_rgb), to_linear(small_rgb), small_skin,
                   interocular * np.sqrt(work[0] * work[1] / (extent[0] * extent[1])), params)
    return [(mark.scaled(extent[1] / work[1], extent[0] / work[0]), judgement) for mark, judgement in found]


def _chosen(mark: Mark, points: np.ndarray, reach: int) -> bool:
    """Whether any (x, y) of `points` (crop pixels) falls on the mark's footprint grown by `reach` px."""
    return len(points) > 0 and holds_point(mark.footprint.grown(reach), points)


def decide(mark: Mark, judgement: Judgement, params: Params, *, healable: bool, choosable: bool,
           heal_points: np.ndarray, keep_points: np.ndarray, reach: int, interocular: float) -> str:
    """What is done to a mark: "kept by choice" or "healed by choice" where a chosen point names it
    (healing only a `choosable` mark: within the hard size limit, on skin); else, where it is
    `healable` (on clean skin, compact, within the hard limit), "healed" for a temporary spot up to
    max_size and "lightened" for a permanent one when the params lighten; "kept" for everything else."""
    if _chosen(mark, keep_points, reach):
        return "kept by choice"
    if choosable and _chosen(mark, heal_points, reach):
        return "healed by choice"
    if not healable:
        return "kept"
    if judgement.temporary and mark.radius <= params.max_size * interocular:
        return "healed"
    if not judgement.temporary and params.lighten_marks > 0:
        return "lightened"
    return "kept"


def heal_face(rgb: np.ndarray, skin: np.ndarray, face: Face, box: Box, params: Params, record: list[dict]):
    """One face's RGB crop with its temporary marks (and those chosen) healed, permanent ones kept or
    lightened, and the mask of what changed; every mark's judgement and action is appended to `record`
    (full-resolution coordinates)."""
    interocular = face.interocular
    largest = LARGEST * interocular
    origin = np.array(box[:2], np.float32)
    heal_points = np.array(params.heal_marks, np.float32).reshape(-1, 2) - origin
    keep_points = np.array(params.keep_marks, np.float32).reshape(-1, 2) - origin
    reach = max(1, int(round(NEAR_PX)))
    core, on_skin = skin > SKIN_CORE, skin > 0
    decided = []
    for mark, judgement in detect_at_working_scale(rgb, skin, interocular, params):
        hole = mark.footprint.hole() if mark.radius <= largest else None
        choosable = hole is not None and hole.within(on_skin)
        healable = choosable and mark.shape == "spot" and hole.within(core)
        action = decide(mark, judgement, params, healable=healable, choosable=choosable,
                        heal_points=heal_points, keep_points=keep_points, reach=reach, interocular=interocular)
        decided.append((mark, judgement, action))
        y, x = mark.peak
        record.append({"x": round(float(x + origin[0]), 1), "y": round(float(y + origin[1]), 1),
                       "radius": round(mark.radius, 1),
                       "class": "temporary" if judgement.temporary else "permanent", "kind": judgement.kind,
                       "confidence": judgement.confidence, "action": action})
    kept = np.zeros(skin.shape, bool)
    for mark, judgement, action in decided:
        if action.startswith("kept") and mark.shape != "line" and not judgement.temporary:
            mark.footprint.paint(kept)
    spots, lighter = [], []
    for mark, judgement, action in decided:
        if action == "lightened":
            lighter.append(mark.footprint)
        if action not in ("healed", "healed by choice"):
            continue
        hole = mark.footprint
        if judgement.temporary and action == "healed":
            faded = mark.footprint._replace(margin=FADE_MARGIN * mark.radius)
            if faded.hole().within(~kept):      # a fading spot's wider hole may not swallow a kept mark
                hole = faded
        spots.append(hole)
    height, width = skin.shape
    for x, y, radius in params.spots:
        if radius <= largest and 0 <= x - origin[0] < width and 0 <= y - origin[1] < height:
            spots.append(disc(x - origin[0], y - origin[1], radius))
            record.append({"x": x, "y": y, "radius": radius, "class": "chosen", "kind": "spot drawn by hand",
                           "confidence": 1.0, "action": "healed by choice"})
    if not spots and not lighter:
        return None
    texture = max(0.7, TEXTURE_SIZE * interocular)
    pixels, mask = heal(rgb, skin, spots, texture=texture) if spots else (rgb, np.zeros(skin.shape, np.float32))
    if lighter:
        pixels, lightened = lighten(pixels, lighter, params.lighten_marks)
        mask = np.maximum(mask, lightened)
    return pixels, mask


def lighten(rgb: np.ndarray, marks: list[Footprint], share: float) -> tuple[np.ndarray, np.ndarray]:
    """`rgb` with each mark's difference from the skin around it reduced by exactly `share`, and the soft
    mask of the pixels changed.

    The skin under a mark is the tone fill of its hole (biharmonic interpolation from the skin around it,
    every mark's hole left out); in CIELAB, each pixel of the hole keeps (1 - share) of its difference
    from that fill. A lightened mole is the same mole, fainter (its own texture with it), whatever the
    skin around it: what is removed never depends on a texture borrowed from elsewhere, so
    `lighten_marks`'s hard maximum bounds what actually happens."""
    holes = [mark.hole() for mark in marks]
    lightened, mask = rgb.astype(np.float32, copy=True), np.zeros(rgb.shape[:2], np.float32)
    height, width = mask.shape
    for hole in holes:
        pad = int(np.ceil(4 * semi_major(hole.mask))) + 3
        window = (slice(max(0, hole.y - pad), min(height, hole.y + hole.mask.shape[0] + pad)),
                  slice(max(0, hole.x - pad), min(width, hole.x + hole.mask.shape[1] + pad)))
        origin = (window[0].start, window[1].start)
        taken, inside = np.zeros(mask[window].shape, bool), np.zeros(mask[window].shape, bool)
        for other in holes:
            other.paint(taken, origin)
        hole.paint(inside, origin)
        lab = to_lab(rgb[window])
        skin_under = tone_fill(lab.astype(np.float64), taken, inside)[inside]
        kept = skin_under + (1.0 - share) * (lab[inside] - skin_under)
        lightened[window][inside] = from_lab(kept.astype(np.float32))
        soft = np.clip(2.0 * cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.5), 0.0, 1.0)
        mask[window] = np.maximum(mask[window], soft)
    return lightened, mask


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Every face's temporary marks fully healed (strength 1), the soft mask of what changed, and in
    details["marks"] every mark found: where, how large, what it is and what was done."""
    record: list[dict] = []

    def work(rgb: np.ndarray, skin: np.ndarray, face: Face, box: Box):
        found: list[dict] = []
        done = heal_face(rgb, skin, face, box, params, found)
        index = next(i for i, item in enumerate(faces) if item is face)
        record.extend({"face": index} | entry for entry in found)
        return done

    change = each_face(photo, faces, 2.0 * LARGEST + SURROUND * LARGEST, work)
    change.details = {"marks": record}
    return change


register(Edit("blemish", Params, apply, STRENGTH, True,
              "heal temporary marks (inflamed spots, pimples) with the skin's own texture; moles, freckles "
              "and scars stay, judged by what they are", words="blemishes removed", order=10, version=2,
              migrate=migrate))
