"""shine: tone down specular shine on skin (forehead, nose, cheekbones, chin under studio strobes).

Shine is light reflected off the skin's surface rather than from within it: it adds white light, the
same in R, G and B, to the skin's own colour. So each face's skin (linear light, its fine texture
blurred away) is compared with the skin around it (a normalised blur over skin only, `reach` wide) and
every pixel is split, by least squares, into that surrounding colour times a gain (diffuse light: form,
shading) plus white light (shine_light). The shine counted is at most what the pixel is brighter than its
surround, and the skin's own tint there is allowed for (a red nose reads as less white than the cheeks
around it). Where the shine exceeds `threshold` of the surrounding skin's light, the pixel's colour
moves `amount` of the way toward the surrounding skin's and its lightness drops by `amount` of what its
shine adds to it (in L*): lightness and colour come back toward the skin's, form (the diffuse gain)
stays, and the change is one smooth field, so the fine texture (pores) is untouched. Eyes (catchlights),
brows, lips (gloss) and the mouth (teeth) are outside the skin mask and never change. A speck of
shine finer than the texture scale (a sparkle on a cheek) is texture, and keeps its contrast.

Bounds: `amount`'s hard maximum 0.6 keeps at least 40% of each highlight's excess lightness, so the face
keeps its form. Why: with L the pixel's L*, Lb its surround's and Ls its L* less its shine, the drop is
amount * (L - Ls), and the shine is never more than the pixel is brighter than its surround (Ls >= Lb),
so at most 0.6 (L - Lb) goes; the pipeline's blend at strength <= 1 through a mask <= 1 only moves a
pixel less far, and a channel clipped at black removes less still (tested on flat skin of obama's and
biden's colour: every pixel of a strong highlight keeps at least 40% of its excess).

The field is smooth at the texture scale, so it is worked out with the face at most WORK_INTEROCULAR px
between the eyes and enlarged (_skin_layers.at_working_scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import to_linear, to_srgb
from ..params import Param, param
from ..photo import Box, Face, Faces, Photo
from . import Change, Edit, register
from ._skin_layers import OUTSIDE_WEIGHT, at_working_scale, blur, each_face, masked_blur
from ._changes import smoothstep, support


@dataclass(frozen=True)
class Params:
    amount: float = param(0.6, 0.0, 1.0, 0.6,
                          "share of each highlight's shine (its white light) taken away; hard max 0.6 keeps at "
                          "least 40% of every highlight's excess lightness, so the face keeps its form")
    threshold: float = param(0.06, 0.02, 0.5, doc="shine below this share of the surrounding skin's light is "
                             "left alone (full effect from twice it): the skin's own sheen stays")
    reach: float = param(0.3, 0.1, 0.6, doc="how far around a highlight the skin it is compared with lies "
                         "(Gaussian sigma, share of the inter-ocular distance)")


STRENGTH = Param(1.0, 0.0, 1.0, 1.0, "share of the shine reduction applied; even 1 keeps at least 40% of each "
                 "highlight's excess lightness (amount's hard max)")

TEXTURE_SIZE = 0.03        # inter-ocular distances: finer detail (pores) is texture, never changed
MARGIN = 0.25              # inter-ocular distances around the face box: the skin lies inside it, and the
                           # blurs, normalised over skin, need no more than a little context past it
WORK_INTEROCULAR = 120.0   # px: the field is worked out with the face at most this big
OFFSET_REACH = 0.1         # inter-ocular distances: the skin's own colour offset is read this close
SPREAD = 0.03              # inter-ocular distances: the found weight's spread over a highlight's rim
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_TOE, _SLOPE = (6 / 29) ** 3, (29 / 3) ** 3     # CIE L*: linear below _TOE (luminance), slope _SLOPE


def white_light(low: np.ndarray, around: np.ndarray) -> np.ndarray:
    """Per pixel (HxW): the white light in `low` (linear RGB) over the colour of the skin `around` it:
    `low` fitted, by least squares, as g * around + w * (1, 1, 1), and w returned (negative where the
    pixel is more saturated than that skin: a redder nose)."""
    aa = np.einsum("...c,...c->...", around, around)
    a1, l1 = around.sum(-1), low.sum(-1)
    la = np.einsum("...c,...c->...", low, around)
    return ((aa * l1 - a1 * la) / np.maximum(3.0 * aa - a1 * a1, 1e-12)).astype(np.float32)


def shine_light(low: np.ndarray, around: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """The shine of each pixel (HxW, linear luminance): its white light over the skin `around` it, less
    the skin's own `offset` there (white_light of the skin nearby, where it is negative), and never
    more than the pixel is brighter than that skin: skin only paler than its neighbours, or brighter
    in its own colour (a cheekbone catching the light), carries none."""
    brighter = (low - around) @ LUMA
    return np.clip(np.minimum(white_light(low, around) - offset, brighter), 0.0, None)


def found(shine: np.ndarray, around: np.ndarray, skin: np.ndarray, params: Params) -> np.ndarray:
    """0..1: where `shine` is more than `threshold` of the surrounding skin's luminance (full from
    twice that), on skin."""
    share = shine / np.maximum(around @ LUMA, 1e-4)
    return smoothstep(share, params.threshold, 2.0 * params.threshold) * skin


def lightness(luminance: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) of relative luminance (0..1), per element."""
    luminance = np.maximum(luminance, 0.0)
    return np.where(luminance > _TOE, 116.0 * np.cbrt(luminance) - 16.0, luminance * _SLOPE).astype(np.float32)


def luminance_of(lightness_: np.ndarray) -> np.ndarray:
    """Relative luminance of CIE L*, per element (the inverse of `lightness`)."""
    return np.where(lightness_ > 8.0, ((lightness_ + 16.0) / 116.0) ** 3, lightness_ / _SLOPE).astype(np.float32)


def matted(low: np.ndarray, skin: np.ndarray, interocular: float,
           params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(`low` with its shine toned down, 0..1 weight of where shine was found) for a face crop whose
    linear RGB, texture blurred away, is `low`.

    The surrounding skin is a normalised blur over skin, worked out again without the shine found the
    first time, so a broad highlight does not brighten its own surround; the skin's own tint
    (OFFSET_REACH: a red nose reads as less white than its cheeks) is read from the skin nearby without
    the shine. Where there is shine, a pixel's colour moves `amount` of the way toward the surrounding
    skin's, and its lightness drops by `amount` of what its shine adds to it (in L*). The weight is
    spread by a fraction of the eye distance, so a highlight's soft rim goes with its core."""
    weights = skin + OUTSIDE_WEIGHT
    reach = params.reach * interocular
    broad = masked_blur(low, weights, reach)
    clear = weights * (1.0 - found(shine_light(low, broad), broad, skin, params))
    around = masked_blur(low, clear, reach)
    offset = np.minimum(masked_blur(white_light(low, around), clear, OFFSET_REACH * interocular), 0.0)
    shine = shine_light(low, around, offset)
    weight = np.minimum(2.0 * blur(found(shine, around, skin, params), SPREAD * interocular), 1.0) * skin
    share = params.amount * weight
    level = np.maximum(low @ LUMA, 1e-6)
    now = lightness(level)
    toned = luminance_of(now - share * (now - lightness(level - shine)))
    mixed = low + share[..., None] * (around * (level / np.maximum(around @ LUMA, 1e-6))[..., None] - low)
    return mixed * (toned / level)[..., None], weight


def matte_face(rgb: np.ndarray, skin: np.ndarray, interocular: float,
               params: Params) -> tuple[np.ndarray, np.ndarray]:
    """A face crop with its shine toned down (see module doc) and the weight of where it was: the change
    worked out on the crop's texture-free layer is added to the crop, so its pores stay."""
    low = masked_blur(to_linear(rgb), skin + OUTSIDE_WEIGHT, TEXTURE_SIZE * interocular)
    toned, weight = matted(low, skin, interocular, params)
    return np.clip(rgb + (to_srgb(toned) - to_srgb(low)), 0.0, 1.0), weight


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """Every face's shine toned down (full effect) and the mask of where it was found. The weight is
    enlarged from the working scale, so it is cut to the full-resolution skin again: pixels off the skin
    (eyes, lips, teeth) keep their values exactly."""
    def work(rgb: np.ndarray, skin: np.ndarray, face: Face, box: Box):
        edited, weight = at_working_scale(rgb, skin, face.interocular, WORK_INTEROCULAR,
                                          lambda small, small_skin, iod: matte_face(small, small_skin, iod, params))
        mask = support(weight * skin)
        if not mask.any():
            return None
        cv2.copyTo(rgb, (mask <= 0).view(np.uint8), edited)
        return edited, mask

    return each_face(photo, faces, MARGIN, work)


register(Edit("shine", Params, apply, STRENGTH, True,
              "tone down specular shine on skin toward the surrounding skin, keeping texture and form",
              words="shine toned down", order=25))
