"""backdrop: clean a studio backdrop (paper, muslin) behind the person: dust specks, small scuffs, and
(optionally, off by default) its uneven falloff.

The backdrop is the person matte's complement (`faces.person`), less a safety band around the person:
nothing within `band` of the matte's edge is ever read as a speck or changed, so hair stays exactly as
it was. Specks are found on a copy of the frame no larger than WORK_SIDE px: each pixel's lightness (L*,
the pixel noise smoothed away) is compared with its surround (a normalised blur over the backdrop, made
a second time without the specks found the first time, so they do not dim themselves), in units of the
backdrop's own robust noise. A speck stands out by the `sensitivity` threshold, is at most `max_size` in
radius, and lies alone on a calm stretch of backdrop: where the backdrop around it is textured or
busy (a flag, a window, an office, an object's edge), a "speck" is part of the scene and is kept. Each
speck is healed at full resolution with the texture-keeping healing blemishes get (_healing.heal):
its tone continued from around it by biharmonic interpolation, the backdrop's grain taken from the
best-matching neighbouring patch.

`falloff` evens out uneven light on the backdrop: a quadratic surface fitted to the backdrop's log
luminance, and a smooth gain field (linear light, R, G and B alike, so colour stays) taking `falloff` of
its departure from the backdrop's median away, at most MAX_EV stops anywhere, fading in from the safety
band's edge over FALLOFF_RAMP of the frame (a faster fade would draw the person's outline on the
backdrop: the band keeps the old light).

Bounds: `max_size`'s hard maximum (1% of the frame's long side) keeps props, stands and shadows out of
reach; `band` cannot go below 1% of the long side; `falloff`'s hard maximum 0.6 keeps some of the
backdrop's modelling light.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import luminance, to_lab, to_linear, to_srgb
from ..params import Param, param
from ..photo import Box, Faces, Photo
from ..resample import shrink, upsample
from . import Change, Edit, register
from ._skin_layers import masked_blur, robust_spread
from ._changes import smoothstep
from ._healing import Footprint, heal, semi_major


@dataclass(frozen=True)
class Params:
    sensitivity: float = param(0.5, 0.0, 1.0, doc="how faint a speck may be and still be healed: 0 only "
                               "strong ones, 1 faint ones too (relative to the backdrop's own noise)")
    max_size: float = param(0.004, 0.0005, 0.02, 0.01,
                            doc="largest speck or scuff healed (radius, share of the frame's long side); hard "
                                "max 0.01, so props, stands and shadows on a backdrop are never touched")
    band: float = param(0.02, 0.01, 0.2, doc="nothing closer than this to the person is touched (share of the "
                        "frame's long side; at least 0.01): hair stays exactly as it was")
    falloff: float = param(0.0, 0.0, 1.0, 0.6, "share of the backdrop's uneven light (a smooth falloff) evened "
                           "out; 0 is off; hard max 0.6 keeps some of its modelling light")


STRENGTH = Param(1.0, 0.0, 1.0, 1.0, "share of the cleaning applied; healing dust completely looks natural")

WORK_SIDE = 1500            # px: specks are found on a copy with at most this long side (24 MP: by 4)
ALPHA_FLOOR = 0.02          # matte values above this belong to the person (its soft edge included)
NOISE_SIGMA = 0.7           # px (working copy): pixel noise smoothed away before comparing
NOISE_SAMPLES = 250_000     # backdrop points its noise is read on, at most
SURROUND = 3.0              # the surround's blur sigma, in largest speck radii
THRESHOLDS = (8.0, 4.0)     # how far (noise units) a speck must stand out, at sensitivity 0 and 1
CALM = 2.0                  # a speck's surroundings vary by at most this many noise units (RMS)
CALM_REACH = 6.0            # ... read over this many largest speck radii
CROWD = 0.05                # ... and at most this share of them stands out too
EDGE_PX = 3                 # px (working copy): specks this close to the frame's edge are left
TEXTURE_PX = 1.0            # px (working copy): finer detail is the backdrop's grain, kept when healing
MAX_EV = 0.5                # largest falloff gain or cut, in stops
FALLOFF_RAMP = 0.15         # the gain fades in over this share of the long side past the safety band
FIT_SAMPLES = 20_000        # backdrop pixels the falloff surface is fitted to, at most


def distance_to_person(person: np.ndarray) -> np.ndarray:
    """Each pixel's distance (px) to the person of `person` (a matte at any scale, its soft edge included)."""
    outside = (person <= ALPHA_FLOOR).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def speck_scores(lightness: np.ndarray, allowed: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """(how far each pixel's L* stands out from the backdrop around it, in noise units; the weights of
    the calm backdrop the surround was read from): the surround is a normalised blur over the backdrop of
    sigma SURROUND * `reach` px, made twice, the second time without what the first found. The noise is
    the backdrop's robust spread, read on a grid of about NOISE_SAMPLES points."""
    smoothed = cv2.GaussianBlur(lightness, (0, 0), NOISE_SIGMA)
    step = max(1, int(np.sqrt(lightness.size / NOISE_SAMPLES)))
    weights = allowed.astype(np.float32)
    scores = np.zeros_like(lightness)
    for _ in range(2):
        contrast = smoothed - masked_blur(lightness, weights, SURROUND * reach)
        noise = float(robust_spread(contrast[::step, ::step, None], allowed[::step, ::step])[0])
        scores = np.abs(contrast) * (allowed / noise)
        found = (scores >= THRESHOLDS[1]).astype(np.uint8)
        weights = allowed * (1.0 - cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))))
    return scores.astype(np.float32), weights


def find_specks(lightness: np.ndarray, allowed: np.ndarray, *, reach: float, threshold: float) -> list[Footprint]:
    """The specks of a backdrop (`lightness`: the working copy's L*, `allowed`: where specks may be):
    connected parts where the score is at least half the threshold whose peak reaches it, inside
    `allowed` and clear of the frame's edge (what a speck cut by it is, nobody can tell), at most `reach`
    px in radius where they stand out by half their peak (the speck itself; the rest of the part is its
    soft edge, healed with it), and alone on calm backdrop: the backdrop around them varies by at most
    CALM noise units, and at most CROWD of it stands out too (an edge, a pattern or a scene's detail
    does; isolated dust does not)."""
    allowed = allowed.copy()
    allowed[:EDGE_PX], allowed[-EDGE_PX:], allowed[:, :EDGE_PX], allowed[:, -EDGE_PX:] = False, False, False, False
    scores, calm_weights = speck_scores(lightness, allowed, reach)
    standing = (scores >= threshold / 2).astype(np.uint8)
    count, parts, stats, _ = cv2.connectedComponentsWithStats(standing, connectivity=8)
    if count > 1:
        around = CALM_REACH * reach
        variation = np.sqrt(masked_blur(np.minimum(scores, 3 * threshold) ** 2, calm_weights, around))
        crowd = masked_blur(standing.astype(np.float32), allowed.astype(np.float32), around)
    found = []
    for index in range(1, count):
        x, y, width, height, _ = stats[index]
        box = (slice(y, y + height), slice(x, x + width))
        part = parts[box] == index
        peak = scores[box][part].max()
        if (peak < threshold or semi_major(part & (scores[box] >= peak / 2)) > reach
                or semi_major(part) > 2 * reach + 2 or not allowed[box][part].all()
                or variation[box][part].max() > CALM or crowd[box][part].max() > CROWD):
            continue
        found.append(Footprint(int(y), int(x), part, max(1.0, semi_major(part) / 2)))
    return found


def falloff_gain(linear_luma: np.ndarray, weight: np.ndarray, amount: float) -> np.ndarray:
    """Stops (HxW) that take `amount` of the backdrop's smooth falloff away: a quadratic surface fitted
    by least squares to the log luminance where `weight` (0..1, 0 on the person and its band) is 1, its
    departure from its median there scaled by -`amount`, capped at MAX_EV, and faded by `weight`."""
    height, width = linear_luma.shape
    ys, xs = np.nonzero(weight >= 1.0)
    if xs.size < 6:
        return np.zeros_like(linear_luma)
    pick = np.random.default_rng(0).choice(xs.size, min(xs.size, FIT_SAMPLES), replace=False)
    grid_y, grid_x = np.mgrid[:height, :width].astype(np.float32)
    grid_y, grid_x = grid_y / height - 0.5, grid_x / width - 0.5

    def terms(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1)

    level = np.log2(np.maximum(linear_luma, 1e-4))
    sample = (ys[pick], xs[pick])
    coefficients, *_ = np.linalg.lstsq(terms(grid_x[sample], grid_y[sample]), level[sample], rcond=None)
    surface = terms(grid_x, grid_y) @ coefficients.astype(np.float32)
    stops = np.clip(-amount * (surface - np.median(surface[sample])), -MAX_EV, MAX_EV)
    return (stops * weight).astype(np.float32)


def heal_box(specks: list[Footprint], size: tuple[int, int]) -> Box:
    """The frame box holding every speck's healing window (frame `size`: width, height)."""
    pad = int(np.ceil(4 * max(semi_major(speck.mask) for speck in specks))) + 8
    return (max(0, min(speck.x for speck in specks) - pad), max(0, min(speck.y for speck in specks) - pad),
            min(size[0], max(speck.x + speck.mask.shape[1] for speck in specks) + pad),
            min(size[1], max(speck.y + speck.mask.shape[0] for speck in specks) + pad))


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """The backdrop's specks healed (and its falloff evened, if asked), full effect; the mask covers the
    healed specks (and the backdrop the gain reaches), never the person nor the safety band."""
    if faces.person is None:
        return Change.nothing(photo)
    pixels = photo.pixels
    height, width = pixels.shape[:2]
    long_side = max(width, height)
    scale = min(1.0, WORK_SIDE / long_side)
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    (work, extent), (person, _) = shrink(pixels, small), shrink(faces.person, small)
    factor = (extent[0] / small[0], extent[1] / small[1])
    distance, band = distance_to_person(person), params.band * long_side / factor[0]
    allowed = distance >= band
    if not allowed.any():
        return Change.nothing(photo)
    threshold = THRESHOLDS[0] + params.sensitivity * (THRESHOLDS[1] - THRESHOLDS[0])
    reach = max(1.0, params.max_size * long_side / factor[0])
    specks = [speck.scaled(factor[1], factor[0])
              for speck in find_specks(to_lab(work)[..., 0], allowed, reach=reach, threshold=threshold)]
    details = {"specks": [{"x": round(speck.x + speck.mask.shape[1] / 2, 1),
                           "y": round(speck.y + speck.mask.shape[0] / 2, 1),
                           "radius": round(semi_major(speck.mask), 1)} for speck in specks]}

    stops = None
    if params.falloff > 0:
        weight = smoothstep(distance, band, band + FALLOFF_RAMP * max(small))
        stops = upsample(falloff_gain(luminance(work), weight, params.falloff), factor, (0, 0), (width, height))
        if not np.any(np.abs(stops) > 1e-3):
            stops = None
    if stops is not None:
        box = (0, 0, width, height)
        mask = (np.abs(stops) > 0).astype(np.float32)
        out = to_srgb(to_linear(pixels) * np.exp2(stops)[..., None])
        cv2.copyTo(pixels, (mask <= 0).view(np.uint8), out)      # the person and the band: exactly as they were
    elif specks:
        box = heal_box(specks, (width, height))
        out = pixels[box[1]:box[3], box[0]:box[2]]
        mask = np.zeros(out.shape[:2], np.float32)
    else:
        nothing = Change.nothing(photo)
        nothing.details = details
        return nothing
    if specks:
        x0, y0, x1, y1 = box
        clean = upsample(allowed.astype(np.float32), factor, (x0, y0), (x1 - x0, y1 - y0)) >= 1.0 - 1e-5
        local = [speck._replace(y=speck.y - y0, x=speck.x - x0) for speck in specks]
        out, healed = heal(out, clean.astype(np.float32), local, texture=TEXTURE_PX / scale)
        mask = np.maximum(mask, healed)
    return Change(box, np.ascontiguousarray(out, np.float32), mask, details)


register(Edit("backdrop", Params, apply, STRENGTH, needs_face=False,
              doc="clean a studio backdrop behind the person: heal dust specks and small scuffs (and, if asked, "
                  "even out its falloff), never near the person",
              words="backdrop cleaned", order=80))
