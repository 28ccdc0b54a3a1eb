"""teeth: less yellow, slightly brighter teeth, never paper-white.

Inside the mouth opening (inner_mouth mask) a per-pixel tooth likelihood from L* and a* picks the teeth:
teeth are light and nearly neutral in a*, while gums, tongue and lips are red (high a*) and the mouth's
depths are dark. On those pixels yellow (b*) is reduced toward a floor and L* lifted toward a cap. The cap
and the floor are what keep teeth natural: real teeth are ivory (b* clearly above 0) and never as light as
white paper, so `max_lightness` has a hard maximum and `min_yellow` cannot go below its range.
A closed mouth has an empty mask or no tooth-like pixels, and the edit then changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..color import moved_in_lab, to_lab
from ..params import Param, param
from ..photo import Face, Faces, Photo
from . import Change, Edit, register
from ._changes import combine, crop, masked_change, region_extent, smoothstep

STRENGTH = Param(0.7, 0.0, 1.0, 1.0,
                 "how much of the whitening to apply; the edit itself stops at an L* cap and a b* floor, "
                 "so even 1 leaves teeth ivory, not white")

TOOTH_LIGHTNESS = (35.0, 55.0)   # L*: no tooth below the first, fully tooth-light above the second
TOOTH_RED = (10.0, 18.0)         # a*: fully tooth-neutral below the first, gum/lip red above the second
MIN_TEETH = 0.002                # tooth area (in inter-ocular distances squared) below which nothing is done


@dataclass(frozen=True)
class Params:
    whiten: float = param(0.6, 0.0, 1.0, 0.8, "share of the yellow (b* above the floor) that is removed")
    lift: float = param(3.0, 0.0, 10.0, 6.0, "L* added to the teeth (before the cap)")
    max_lightness: float = param(85.0, 60.0, 95.0, 90.0,
                                 "teeth are never lifted above this L* (paper-white looks false)")
    min_yellow: float = param(8.0, 3.0, 20.0, None,
                              "b* floor: yellow is never reduced below it (range bottom = hardest allowed)")


def tooth_likelihood(lab: np.ndarray) -> np.ndarray:
    """0..1 per pixel: light (L*) and not red (a*), i.e. a tooth rather than gum, tongue, lip or shadow."""
    light = smoothstep(lab[..., 0], *TOOTH_LIGHTNESS)
    neutral = 1.0 - smoothstep(lab[..., 1], *TOOTH_RED)
    return light * neutral


def teeth_delta(lab: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(dL, db) of the full edit per pixel: yellow toward the floor, lightness toward the cap (pixels
    already past the floor or the cap are left alone, never pushed back)."""
    lightness, b = lab[..., 0], lab[..., 2]
    d_b = -params.whiten * np.maximum(b - params.min_yellow, 0.0)
    d_lightness = np.minimum(params.lift, np.maximum(params.max_lightness - lightness, 0.0))
    return d_lightness, d_b


def _face_change(photo: Photo, face: Face, params: Params) -> Change | None:
    box = region_extent(face, ("inner_mouth",), photo.size)
    if box is None:
        return None
    rgb = crop(photo.pixels, box)
    lab = to_lab(rgb)
    weight = face.regions["inner_mouth"].crop(box) * tooth_likelihood(lab)
    if weight.sum() < MIN_TEETH * face.interocular ** 2:
        return None
    d_lightness, d_b = teeth_delta(lab, params)
    edited = lab.copy()
    edited[..., 0] += weight * d_lightness
    edited[..., 2] += weight * d_b
    return masked_change(box, rgb, moved_in_lab(rgb, lab, edited), weight)


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Whiten the teeth of every face with an open mouth (full effect; see module doc)."""
    return combine(photo, [_face_change(photo, face, params) for face in faces])


register(Edit("teeth", Params, apply, STRENGTH, True,
              "reduce yellow and lift teeth slightly inside the open mouth, capped below paper-white",
              words="teeth brightened", order=50))
