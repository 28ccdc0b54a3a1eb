"""light: even out the light on the face with a smooth gain field, the way a reflector or a dodge would.

Three corrections are measured on the face and summed as a field of gains in stops (EV):
- exposure: a lift when the face is judged under-lit, from references that do not depend on skin tone
  (see `judge_exposure`): the scene's neutral whites, the face's teeth and eye whites, and the face's
  brightest skin against the scene's whites. Skin lightness alone never decides it: a correctly exposed
  face with very dark skin reads exactly like a correctly exposed face with light skin to every one of
  these references, so it gets no gain;
- balance: a left-right ramp across the face's own horizontal axis, fitted from the two cheeks' luminance;
- under-eye: a dodge of each under-eye crescent toward the luminance of the cheek below it.
The field is built from large Gaussians scaled to the face and fades to zero gain outside the face, so it
can make no edge. It multiplies R, G and B in linear light by the same number, so chromaticity (hue and
saturation) is kept: only light changes. Every gain is capped at `max_ev` stops, and gains never push a
pixel past white (which would shift its hue).

Each face's exposure decision, with the reference readings behind it, goes into the Change's details
(details["exposure"]: one entry per face, with or without a lift) for the edit record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import cv2
import numpy as np

from ..color import channel_reduce, power, to_linear, to_srgb
from ..resample import shrink
from ..params import Param, param
from ..photo import Box, Face, Faces, Photo
from . import Change, Edit, register
from ._changes import combine, crop, grow_box, masked_change, smoothstep

STRENGTH = Param(0.8, 0.0, 1.0, 1.0,
                 "how much of the light correction to apply; its gains are already capped at max_ev, "
                 "so even 1 only re-lights by a fraction of a stop")

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
CHEEKS = ((50, 187, 205), (280, 411, 425))   # image-left cheek, image-right cheek
RIGHT_IRIS, LEFT_IRIS = 468, 473
# Sizes, in face widths or inter-ocular distances.
FEATHER = 0.12           # Gaussian sigma of the face weight, in face widths
CHEEK_RADIUS = 0.2       # cheek sample disc, in inter-ocular distances
UNDER_EYE_SOFTNESS = 0.04  # extra Gaussian sigma of the under-eye dodge, in inter-ocular distances
FIELD_SIZE = 128         # the gain field is built with the face this many pixels wide, then resized
STATS_SIZE = 512         # luminance statistics (medians) are read with the face at most this many pixels wide
MIN_SAMPLE = 12          # pixels a cheek or under-eye sample needs to be trusted
HIGHLIGHT = 0.98         # a lifted pixel's brightest channel stops here (past white its hue would shift)
BAND_ROWS = 64           # relighting runs over bands of this many rows, so its temporaries stay in cache
# Exposure references: the lightness (L*) each reaches on a well-lit, correctly exposed face or scene.
# Teeth and eye whites are read as the 90th percentile of their near-neutral pixels, the scene's whites as
# the 99th percentile of the near-neutral pixels outside the faces. Set at the bright end of what these
# portraits show (astronaut's teeth and eye whites L* 95 and 87, obama's teeth 93; scene whites L* 96-100 on
# all four), so that a reference reads "under" only when it is plainly dim.
WELL_LIT = {"scene whites": 95.0, "teeth": 91.0, "eye whites": 84.0}
NEUTRAL = {"scene whites": 0.25, "teeth": 0.4, "eye whites": 0.4}   # largest saturation 1 - min/max (linear)
BRIGHT_PERCENTILE = {"scene whites": 99.0, "teeth": 90.0, "eye whites": 90.0}
MIN_FEATURE = 0.003      # near-neutral pixels teeth or eye whites need, in inter-ocular distances squared
EYE_CONTRAST = 3.0       # eye whites count only this many times brighter than the irises (10-20x on the test
                         # portraits, at any exposure): a dark neutral lens or a shut lid is no eye white
SCENE_SIZE = 512         # the scene's whites are read on a copy of the frame this many pixels on its long side
SCENE_MARGIN = 0.25      # each face's box, grown by this share of its size, is left out of the scene
MIN_SCENE = 0.005        # the scene needs this share of its pixels near-neutral to have whites
SKIN_HIGHLIGHT = 95.0    # percentile of the skin's luminance that stands for its brightest diffuse parts
DEAD_ZONE = (0.15, 0.3)  # stops under: no lift below the first, the whole measured lift from the second
_EPS = 1e-6
_SRGB_OFFSET = 0.055     # the sRGB curve's power segment: linear = ((x + 0.055) / 1.055) ** 2.4 ...
_TOE = 0.04045           # ... above this encoded value; below it the curve is linear


@dataclass(frozen=True)
class Params:
    """The light edit's settings (version 2: version 1's target_low / target_high skin-lightness band is gone;
    see `migrate`)."""

    exposure: float = param(1.0, 0.0, 1.0, 1.0,
                            "share of the face's measured under-exposure that is lifted; under-exposure is "
                            "judged from the scene's whites, the teeth and the eye whites, never from skin "
                            "lightness, so dark skin in a correctly exposed photo gets no lift")
    balance: float = param(0.8, 0.0, 1.0, 1.0, "share of the left/right cheek luminance difference removed")
    under_eye: float = param(0.5, 0.0, 1.0, 0.8,
                             "share of the under-eye shadow (against the cheek below) that is lifted")
    max_ev: float = param(0.5, 0.0, 1.5, 1.0, "largest gain or cut anywhere on the face, in stops (EV)")


def migrate(version: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Version-1 params as today's: version 1 moved the face's median skin lightness into the band
    target_low..target_high (L*), which lightened correctly exposed dark skin. Both are dropped: exposure is
    now judged from references that do not depend on skin tone, and no skin-lightness value translates
    into them. `exposure` keeps its value: it was, and is, the share of the correction applied."""
    return {name: value for name, value in values.items() if name not in ("target_low", "target_high")}


def lightness_to_luminance(lightness: float) -> float:
    """CIE L* (0..100) -> relative luminance Y (0..1)."""
    f = (lightness + 16.0) / 116.0
    return f ** 3 if f > 6 / 29 else 3 * (6 / 29) ** 2 * (f - 4 / 29)


def luminance_to_lightness(luminance: float) -> float:
    """Relative luminance Y (0..1) -> CIE L* (0..100)."""
    return float(116.0 * np.cbrt(luminance) - 16.0 if luminance > (6 / 29) ** 3 else luminance * (29 / 3) ** 3)


def saturation(linear: np.ndarray) -> np.ndarray:
    """1 - min/max of each linear RGB pixel: 0 for neutral greys and whites, and the same at any exposure
    (a gain multiplies min and max alike), so a white reads as near-neutral however dim it is."""
    return 1.0 - channel_reduce(linear, cv2.REDUCE_MIN) / np.maximum(channel_reduce(linear, cv2.REDUCE_MAX), _EPS)


def neutral_level(linear: np.ndarray, where: np.ndarray, name: str, min_count: float) -> float | None:
    """The luminance of the bright near-neutral pixels of `where` in `linear` (HxWx3): the
    BRIGHT_PERCENTILE[name] percentile of those no more saturated than NEUTRAL[name] (teeth rather than
    tongue or lips, eye whites rather than lashes or a tinted lens); None when fewer than `min_count`."""
    pixels = linear[where]
    neutral = pixels[saturation(pixels[:, None])[:, 0] <= NEUTRAL[name]] if len(pixels) else pixels
    if len(neutral) < max(min_count, MIN_SAMPLE):
        return None
    return float(np.percentile(neutral @ LUMA, BRIGHT_PERCENTILE[name]))


def scene_whites(pixels: np.ndarray, boxes: list[Box]) -> float | None:
    """Linear luminance of the scene's whites: the brightest near-neutral surfaces of the frame outside the
    faces (each face box grown by SCENE_MARGIN), read on a copy SCENE_SIZE pixels on its long side (area
    averaging keeps catchlights and specular glints from counting as whites). None when too little of the
    scene is near-neutral to hold a white (MIN_SCENE)."""
    height, width = pixels.shape[:2]
    scale = min(1.0, SCENE_SIZE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small, extent = shrink(pixels, size) if scale < 1 else (pixels, (width, height))
    scene = np.ones(small.shape[:2], bool)
    to_small = np.array([small.shape[1] / extent[0], small.shape[0] / extent[1]] * 2)
    for box in boxes:
        x0, y0, x1, y1 = box
        grown = grow_box(box, SCENE_MARGIN * max(x1 - x0, y1 - y0), (width, height))
        sx0, sy0, sx1, sy1 = (np.array(grown) * to_small).round().astype(int)
        scene[sy0:sy1, sx0:sx1] = False
    return neutral_level(to_linear(small), scene, "scene whites", MIN_SCENE * np.count_nonzero(scene))


@dataclass(frozen=True)
class Reference:
    """A neutral reference's reading: its luminance `level` and how far below its well-lit level it sits."""

    name: str
    level: float

    @property
    def under(self) -> float:
        """Stops below the level this reference reaches when well lit (negative: above it)."""
        return float(np.log2(lightness_to_luminance(WELL_LIT[self.name]) / max(self.level, _EPS)))

    def record(self) -> dict[str, float]:
        return {"lightness": round(luminance_to_lightness(self.level), 1), "well_lit": WELL_LIT[self.name],
                "ev_under": round(self.under, 3)}


def _names(references: list[Reference]) -> str:
    """e.g. "teeth and eye whites"."""
    names = [reference.name for reference in references]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def judge_exposure(face_references: list[Reference], scene: Reference | None, skin_highlight: float | None,
                   params: Params) -> dict[str, Any]:
    """How many stops to lift a face, and why, for the record (an entry of details["exposure"]).

    Votes: the face's own neutral references (teeth, eye whites) when both are visible; with one of them,
    it and the scene's whites; with neither, the scene's whites alone (the face taken as lit like its
    scene). A lift needs every vote to say "under" (a face in shadow therefore needs its teeth and its eye
    whites to agree: either alone is too often shaded by lips, lids or brows) and is the smallest amount they
    agree on, ramped in over DEAD_ZONE so that small readings do nothing. It is then held so that the face's
    brightest skin (SKIN_HIGHLIGHT) ends no brighter than the scene's whites, and to `max_ev`. Skin
    lightness can only hold a lift back, never ask for one. Exposure is never cut: the references are whites,
    which clip when over-exposed and so cannot say by how much, and a cut would grey clipped highlights."""
    votes = face_references if len(face_references) == 2 else face_references + ([scene] if scene else [])
    entry: dict[str, Any] = {"gain_ev": 0.0,
                             "references": {ref.name: ref.record() for ref in face_references + [scene] if ref}}
    if skin_highlight is not None:
        entry["references"]["skin highlights"] = {"lightness": round(luminance_to_lightness(skin_highlight), 1)}
    if not votes:
        return entry | {"judged": "no reference", "why": "no scene whites, teeth or eye whites to judge "
                                                         "exposure by: no exposure gain"}
    under = min(vote.under for vote in votes)
    low, high = ([vote for vote in votes if vote.under <= DEAD_ZONE[0]],
                 [vote for vote in votes if vote.under > DEAD_ZONE[0]])
    if low:
        verdict = ("scene exposure correct" if scene is not None and scene.under <= DEAD_ZONE[0]
                   else f"{_names(low)} correctly exposed")
        if high:
            verdict += f" ({_readings(high)} under, {_readings(low)})"
        return entry | {"judged": "correct", "why": f"{verdict}: no exposure gain"}
    judged = ("frame under-exposed" if scene is not None and scene.under > DEAD_ZONE[0]
              else "face in shadow" if scene is not None else "face under-exposed")
    gain = params.exposure * under * float(smoothstep(under, *DEAD_ZONE))
    holds = [(params.max_ev, "max_ev")]
    if scene is not None and skin_highlight is not None:
        holds.append((float(np.log2(scene.level / max(skin_highlight, _EPS))),
                      "the face's brightest skin against the scene's whites"))
    limit, bound_by = min(holds)
    readings = _readings(votes) + " under" + (f"; {_readings([scene])}" if scene and scene not in votes else "")
    why = f"{judged} ({readings}): lifted {max(0.0, min(gain, limit)):.2f} EV"
    if params.exposure < 1:
        why += f" (exposure {params.exposure:g} of the lift)"
    if gain > limit:
        why += f", held by {bound_by}"
    return entry | {"gain_ev": round(max(0.0, min(gain, limit)), 3), "judged": judged, "why": why}


def _readings(references: list[Reference]) -> str:
    """e.g. "teeth 0.53 EV, eye whites -0.12 EV" (stops under each reference's well-lit level)."""
    return ", ".join(f"{reference.name} {reference.under:+.2f} EV" for reference in references)


def _disc(shape: tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, tuple(int(v) for v in np.round(centre * 16)), int(round(radius * 16)), 1, -1, cv2.LINE_8, 4)
    return mask.astype(bool)


def _median(values: np.ndarray, where: np.ndarray) -> float | None:
    return float(np.median(values[where])) if np.count_nonzero(where) >= MIN_SAMPLE else None


def cheek_levels(luminance: np.ndarray, skin: np.ndarray, points: np.ndarray,
                 interocular: float) -> list[float | None]:
    """Median luminance of each cheek (image left, image right): the skin in a disc around the cheek's
    landmarks (the whole disc if the skin mask misses it); None where too little is visible."""
    levels = []
    for indices in CHEEKS:
        disc = _disc(luminance.shape, points[list(indices)].mean(0), CHEEK_RADIUS * interocular)
        levels.append(_median(luminance, disc & skin if np.count_nonzero(disc & skin) >= MIN_SAMPLE else disc))
    return levels


def balance_slope(levels: list[float | None], params: Params) -> float:
    """Stops per unit of `across_map` that remove `params.balance` of the cheeks' difference, half on
    each side (the lit cheek comes down as much as the shaded one goes up: mean exposure is kept)."""
    if None in levels:
        return 0.0
    left, right = (max(level, 1e-4) for level in levels)
    return -params.balance * float(np.log2(right / left)) / 2


def across_map(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Position along the face's own horizontal axis (eye to eye, whatever the roll): -1 at the image-left
    cheek, +1 at the image-right cheek, linear in between and beyond."""
    axis = points[LEFT_IRIS] - points[RIGHT_IRIS]
    axis = axis / max(float(np.linalg.norm(axis)), 1e-6)
    left, right = (points[list(indices)].mean(0) for indices in CHEEKS)
    middle, half = (left + right) / 2, max(float((right - left) @ axis) / 2, 1.0)
    xs = (np.arange(shape[1], dtype=np.float32) - middle[0]) * axis[0] / half
    ys = (np.arange(shape[0], dtype=np.float32) - middle[1]) * axis[1] / half
    return (ys[:, None] + xs[None, :]).astype(np.float32)


def face_weight(hull: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """0..1: 1 over the face (the landmarks' hull), fading smoothly to 0 within ~2 sigma outside it."""
    filled = np.zeros(shape, np.uint8)
    cv2.fillPoly(filled, [np.round(hull * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return smoothstep(cv2.GaussianBlur(filled.astype(np.float32) / 255.0, (0, 0), sigma), 0.02, 0.6)


def dodge_shape(crescent: np.ndarray, sigma: float) -> np.ndarray:
    """0..1: an under-eye crescent softened by a Gaussian and reaching 1 over its core (where its shadow
    was measured), so the measured shadow gets the full lift and the rim fades smoothly."""
    soft = cv2.GaussianBlur(crescent, (0, 0), sigma)
    core = crescent >= 0.5 * float(crescent.max())
    level = float(np.median(soft[core])) if core.any() else float(soft.max())
    return smoothstep(soft, 0.0, max(level, 1e-6))


def under_eye_lifts(luminance: np.ndarray, under: np.ndarray, across: np.ndarray,
                    levels: list[float | None], params: Params) -> list[tuple[np.ndarray, float]]:
    """(crescent mask, stops) for each under-eye crescent darker than the cheek on its side: the lift is
    `params.under_eye` of the shadow's depth below that cheek."""
    lifts = []
    for side, cheek in zip((across < 0, across >= 0), levels):
        crescent = under * side
        level = _median(luminance, crescent >= 0.5 * max(float(crescent.max()), 1e-6))
        if level is None or cheek is None:
            continue
        stops = params.under_eye * float(np.log2(cheek / max(level, 1e-4)))
        if stops > 0:
            lifts.append((crescent, stops))
    return lifts


def relight(rgb: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """sRGB pixels `rgb` with their linear light times 2**stops (R, G, B alike: chromaticity kept). A lift
    stops where a pixel's brightest channel reaches HIGHLIGHT: clipping one channel would shift its hue.

    On the sRGB curve's power segment, multiplying linear light by g is exactly the affine map
    (x + 0.055) * g**(1/2.4) - 0.055 of the encoded value, so no pixel is decoded to linear light;
    the few pixels with a channel on the curve's linear toe (near black) take the exact route. Bands of
    BAND_ROWS rows are relit one at a time: on a 24-megapixel face the work is memory traffic, and a band's
    temporaries stay in the CPU's cache (about a third faster than whole-crop passes)."""
    lit = np.empty(rgb.shape, np.float32)
    for top in range(0, rgb.shape[0], BAND_ROWS):
        rows = slice(top, top + BAND_ROWS)
        lit[rows] = _relight_band(rgb[rows], stops[rows])
    return lit


def _relight_band(rgb: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """relight() of a few rows, in the encoded values' own terms: the gain's factor on the power segment
    is g**(1/2.4), and the highlight cap HIGHLIGHT / linear(brightest) becomes
    HIGHLIGHT**(1/2.4) * 1.055 / (brightest + 0.055) there, so no channel is raised to a power. A cut
    (g < 1) can never meet the cap, so the cap needs no mask."""
    offset = np.float32(_SRGB_OFFSET)
    factor = np.exp2(stops.astype(np.float32) * np.float32(1 / 2.4))
    cap = channel_reduce(rgb, cv2.REDUCE_MAX)
    cap += offset
    np.divide(np.float32(HIGHLIGHT ** (1 / 2.4) * (1 + _SRGB_OFFSET)), cap, out=cap)
    np.minimum(factor, np.maximum(cap, 1.0, out=cap), out=factor)
    lift = (factor - 1.0) * offset                      # (x + 0.055) * f - 0.055 = x * f + lift
    lit = rgb * factor[..., None]
    lit += lift[..., None]
    darkest = channel_reduce(rgb, cv2.REDUCE_MIN)
    toe = np.minimum(darkest, darkest * factor + lift) <= _TOE
    if toe.any():
        lit[toe] = to_srgb(to_linear(rgb[toe]) * power(factor[toe], 2.4)[:, None])
    return np.clip(lit, 0.0, 1.0, out=lit)


def _resized(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`values` at `shape` (h, w): area-averaged by whole blocks first when it shrinks (resample.shrink: a
    24-megapixel crop read for statistics, where a fraction of a pixel's shift at the far edges does not
    matter), bilinear when it grows (the smooth field, which must stay in register)."""
    if shape[0] < values.shape[0]:
        return shrink(values, (shape[1], shape[0]))[0]
    return cv2.resize(values.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _core(mask: np.ndarray) -> np.ndarray:
    """Where a soft region mask reaches half its peak (its body, without the feathered rim)."""
    return mask >= 0.5 * max(float(mask.max()), _EPS)


def face_references(linear: np.ndarray, luminance: np.ndarray, regions: dict[str, np.ndarray],
                    interocular: float) -> list[Reference]:
    """The teeth and eye whites of a face that are visible: near-neutral (NEUTRAL) over at least
    MIN_FEATURE inter-ocular distances squared of the mouth opening or the scleras, and eye whites at least
    EYE_CONTRAST times brighter than the irises. `linear` (HxWx3), its `luminance` and the `regions`
    ("inner_mouth", "scleras", "irises", where analysed) share one crop; `interocular` is in its pixels."""
    found = []
    for name, region in (("teeth", "inner_mouth"), ("eye whites", "scleras")):
        if region in regions:
            level = neutral_level(linear, _core(regions[region]), name, MIN_FEATURE * interocular ** 2)
            if level is not None and name == "eye whites" and "irises" in regions:
                irises = _median(luminance, _core(regions["irises"]))
                level = level if irises is None or level >= EYE_CONTRAST * irises else None
            if level is not None:
                found.append(Reference(name, level))
    return found


def _face_change(photo: Photo, face: Face, index: int, scene: Reference | None, params: Params) -> Change:
    """The light correction of one face, on a crop around it, with its exposure decision in the details
    (an empty Change when nothing is to be done). The statistics are read on a copy with the face at most
    STATS_SIZE px wide and the smooth field is built with it FIELD_SIZE px wide and resized: only the
    relighting itself runs at full resolution, so a 24-megapixel face costs little more than a small one."""
    points = face.landmarks - 0.5                         # pixel-centre coordinates
    face_width = float(np.ptp(points[:, 0]))
    sigma = FEATHER * face_width
    extent = (int(points[:, 0].min()), int(points[:, 1].min()),
              int(points[:, 0].max()) + 1, int(points[:, 1].max()) + 1)
    box = grow_box(extent, 3 * sigma, photo.size)
    rgb = crop(photo.pixels, box)
    shape = rgb.shape[:2]
    stats_scale = min(1.0, STATS_SIZE / max(face_width, 1.0))
    stats_shape = (max(2, round(shape[0] * stats_scale)), max(2, round(shape[1] * stats_scale)))
    linear = to_linear(_resized(rgb, stats_shape))
    luminance = linear @ LUMA
    local = (points - np.array(box[:2], np.float32) + 0.5) * stats_scale - 0.5
    hull = cv2.convexHull(local).reshape(-1, 2)
    regions = {name: _resized(region.crop(box), stats_shape) for name, region in face.regions.items()
               if name in ("skin", "inner_mouth", "scleras", "irises", "under_eye")}
    skin = regions["skin"] > 0.5 if "skin" in regions else face_weight(hull, stats_shape, 0.5) > 0.5
    if not skin.any():
        nothing = Change.nothing(photo)
        nothing.details = {"exposure": [{"face": index, "gain_ev": 0.0, "why": "no skin found: nothing relit"}]}
        return nothing
    levels = cheek_levels(luminance, skin, local, face.interocular * stats_scale)
    across = across_map(stats_shape, local)
    highlight = (float(np.percentile(luminance[skin], SKIN_HIGHLIGHT))
                 if np.count_nonzero(skin) >= MIN_SAMPLE else None)
    exposure = {"face": index} | judge_exposure(
        face_references(linear, luminance, regions, face.interocular * stats_scale), scene, highlight, params)

    scale = min(1.0, FIELD_SIZE / max(face_width, 1.0))
    small = (max(2, round(shape[0] * scale)), max(2, round(shape[1] * scale)))
    to_small = scale / stats_scale
    weight = face_weight((hull + 0.5) * to_small - 0.5, small, sigma * scale)
    field = weight * (exposure["gain_ev"] + balance_slope(levels, params) * _resized(across, small))
    reach = weight
    if "under_eye" in regions and params.under_eye > 0:
        for crescent, stops in under_eye_lifts(luminance, regions["under_eye"], across, levels, params):
            dodge = dodge_shape(_resized(crescent, small), UNDER_EYE_SOFTNESS * face.interocular * scale)
            field, reach = field + stops * dodge, np.maximum(reach, dodge)

    field = np.clip(field, -params.max_ev, params.max_ev)
    change = (masked_change(box, rgb, relight(rgb, _resized(field, shape)), _resized(reach, shape))
              if np.any(np.abs(field) > 1e-3) else None) or Change.nothing(photo)
    change.details = {"exposure": [exposure]}
    return change


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Re-light every face with its own smooth, chroma-keeping gain field (full effect; see module doc).
    The scene's whites are read once for all faces, outside every face."""
    level = scene_whites(photo.pixels, [face.box for face in faces])
    scene = Reference("scene whites", level) if level is not None else None
    return combine(photo, [_face_change(photo, face, index, scene, params) for index, face in enumerate(faces)])


register(Edit("light", Params, apply, STRENGTH, True,
              "even out face lighting: lift under-lit faces (judged from whites, teeth and eye whites, never "
              "skin lightness), left/right balance, under-eye lift (linear light)",
              words="lighting balanced", order=30, version=2, migrate=migrate))
