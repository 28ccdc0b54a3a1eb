"""tone: even out blotchy skin colour (redness around the nose and cheeks, uneven patches) by colour alone.

Each face's skin is read in CIELAB as lightness L* and chromaticity: a* and b* over L* + 16, which a
change of light does not move (shading multiplies the light; a*, b* and L* + 16 all scale with its cube
root), so the face's form and shadows never read as blotches. The chromaticity is split by normalised
blurs over skin only: detail finer than TEXTURE_SIZE (freckles, pores, fine hair) is kept; what lies
between that and `size` (blotches) is taken out, `amount` of it; what is broader (the face's own skin
colour, and its broad changes: forehead to cheeks) is kept. a* and b* move, L* never does, so lightness
structure (form, contouring, wrinkles) and the luminance of every mark are untouched; and since the
blotches are measured from the face's own average, the face's overall colour stays (darker skin is not
made greyer or lighter). Eyes, brows, lips and the mouth are outside the skin mask and never change.

Bounds: `amount`'s hard maximum 0.8 leaves at least a fifth of the skin's colour variation, so skin
never looks painted; `size` stops at the width of a face's broad colour zones.

The change is smooth at the texture scale, so it is worked out with the face at most WORK_INTEROCULAR px
between the eyes and enlarged (_skin_layers.at_working_scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import moved_in_lab, to_lab
from ..params import Param, param
from ..photo import Box, Face, Faces, Photo
from . import Change, Edit, register
from ._skin_layers import OUTSIDE_WEIGHT, at_working_scale, each_face, masked_blur
from ._changes import support


@dataclass(frozen=True)
class Params:
    amount: float = param(0.45, 0.0, 1.0, 0.8,
                          "share of the blotchy colour evened out; hard max 0.8 leaves at least a fifth of "
                          "the skin's colour variation, so skin never looks painted")
    size: float = param(0.6, 0.3, 1.0, doc="blotches up to about this size even out (Gaussian sigma, share "
                        "of the inter-ocular distance); broader colour, the face's own, stays")


STRENGTH = Param(0.6, 0.0, 1.0, 1.0, "share of the evening applied (amount already leaves some of the "
                 "skin's colour variation)")

TEXTURE_SIZE = 0.04        # inter-ocular distances: finer colour detail (freckles, pores) is kept
MARGIN = 0.25              # inter-ocular distances around the face box: the skin lies inside it, and the
                           # blurs, normalised over skin, need no more than a little context past it
WORK_INTEROCULAR = 120.0   # px: the change is worked out with the face at most this big
_WHITE_OFFSET = 16.0       # L* + 16 is proportional to the cube root of luminance (above the toe)


def blotches(lab: np.ndarray, skin: np.ndarray, interocular: float, params: Params) -> np.ndarray:
    """The a*, b* to take away from the Lab crop `lab` (HxWx2): `amount` of the skin's chromaticity
    between TEXTURE_SIZE and `size`, times the (texture-free) L* + 16 there, on skin."""
    weights = skin + OUTSIDE_WEIGHT
    level = np.maximum(lab[..., 0], 0.0) + _WHITE_OFFSET
    chroma = lab[..., 1:] / level[..., None]
    low = masked_blur(np.dstack([chroma, level]), weights, TEXTURE_SIZE * interocular)
    base = masked_blur(low[..., :2], weights, params.size * interocular)
    return (params.amount * skin * low[..., 2])[..., None] * (low[..., :2] - base)


def even_face(rgb: np.ndarray, skin: np.ndarray, interocular: float,
              params: Params) -> tuple[np.ndarray, np.ndarray]:
    """A face crop with its skin's blotchy colour evened out (a* and b* only), and the skin it acted on."""
    lab = to_lab(rgb)
    edited = lab.copy()
    edited[..., 1:] -= blotches(lab, skin, interocular, params)
    return moved_in_lab(rgb, lab, edited), skin


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Every face's skin colour evened (full effect) and the skin mask it acted on; pixels off the skin
    (the enlarged change reaches a little past it) keep their values exactly."""
    def work(rgb: np.ndarray, skin: np.ndarray, face: Face, box: Box):
        edited, _ = at_working_scale(rgb, skin, face.interocular, WORK_INTEROCULAR,
                                     lambda small, small_skin, iod: even_face(small, small_skin, iod, params))
        mask = support(skin)
        cv2.copyTo(rgb, (mask <= 0).view(np.uint8), edited)
        return edited, mask

    return each_face(photo, faces, MARGIN, work)


register(Edit("tone", Params, apply, STRENGTH, True,
              "even out blotchy skin colour (redness, patches) toward the face's own colour; lightness untouched",
              words="skin colour evened", order=15))
