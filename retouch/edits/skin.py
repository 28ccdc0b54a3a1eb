"""Skin smoothing by frequency separation: even out mid-frequency blotchiness, keep texture and tone.

Each face's skin (CIELAB, all three channels, so red blotches even out as well as light and dark ones)
is split into three bands by normalised Gaussian blurs over the skin alone: fine (below `texture_size`:
pores, fine hair), mid (blotches, up to `tone_size`) and low (overall tone and the face's broad
shading). Only the mid band is reduced; the fine band is never touched, so skin keeps its texture and
never turns to plastic, and the low band is kept, so skin is neither lightened nor darkened. The mid
band is removed where its local amplitude is about the skin's own typical blotchiness, and kept where it
is many times stronger (`edge_contrast`): there it is the shading that gives the nose, cheekbones, folds
and jaw their shape. The skin region reaches the hairline, the face's sides, the jaw and the chin, where
the face turns away from the light: that shading is form, not blotchiness, so the skin's typical
blotchiness is judged on the inner skin only (JUDGED_INSET), and the smoothing fades to nothing across
the region's outer band (EDGE_FADE), where the jawline and the face's outline live. Eyes, brows, lips,
nostrils, hair and beard are outside the skin mask: they are never changed, and because every blur uses
skin pixels only, their colour cannot bleed into the skin.

Bounds: strength's hard maximum is below 1, so some of the skin's tone variation always remains;
`edge_contrast`'s hard maximum stops the face's own shading from being taken for blotchiness.

Speed: what is removed (the weighted mid band) is smooth at the texture scale, so it is computed on a
copy shrunk until the inter-ocular distance is WORK_INTEROCULAR px, turned into the RGB change it makes
there, and that change is enlarged and added to the full-resolution crop: the fine band is never
resampled, and a 24-megapixel face costs what a 2-megapixel one does (tests/test_edit_skin.py checks it
against the full-resolution computation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..color import moved_in_lab, to_lab
from ..face.outline import depth_inside
from ..params import Param, param
from ..photo import Box, Face, Faces, Photo
from . import Change, Edit, register
from ._skin_layers import OUTSIDE_WEIGHT, SKIN_CORE, at_working_scale, each_face, masked_blur, robust_spread, split


@dataclass(frozen=True)
class Params:
    texture_size: float = param(0.05, 0.01, 0.1, doc="detail finer than this (Gaussian sigma, share of the "
                                "inter-ocular distance) is texture: pores and fine hair, never touched")
    tone_size: float = param(0.37, 0.1, 1.0, doc="reach of the smoothing (share of the inter-ocular distance): "
                             "blotches up to about this size even out, broader tone stays")
    edge_contrast: float = param(1.5, 0.5, 8.0, hard_max=3.0,
                                 doc="variation up to this many times the skin's typical blotchiness is "
                                     "evened out; stronger variation is the face's shape and is kept "
                                     "(hard max 3: beyond it cheekbones, folds and highlights flatten)")


# The mid band is computed with the face at most this many pixels between the eyes (texture sigma 6 px).
WORK_INTEROCULAR = 120.0
# In inter-ocular distances from the skin region's outer edge (hairline, face sides, jaw, chin; not the
# features' holes): the skin's typical blotchiness is judged deeper inside than JUDGED_INSET, and the
# smoothing rises from nothing at the edge to full at EDGE_FADE, so the shading where the face turns away
# from the light (its outline, the jawline) is kept.
JUDGED_INSET = 0.25
EDGE_FADE = 0.2

STRENGTH = Param(0.5, 0.0, 1.0, 0.7, "share of the blotchiness removed; hard max 0.7 so at least 30% of the "
                 "skin's tone variation always remains and skin never looks airbrushed")


def evenness_weight(mid: np.ndarray, skin: np.ndarray, depth: np.ndarray, *, reach: float,
                    edge_contrast: float) -> np.ndarray:
    """0..1 per pixel (HxW): how much of the mid band to remove there.

    The local amplitude of the mid band (RMS over half of `reach`, skin only) is compared with the skin's typical
    amplitude (robust, per channel, judged on the inner skin, deeper than JUDGED_INSET: the shading at
    the jaw, chin and face sides would otherwise count as blotchiness and everything would be evened out
    more): where it is small the variation is blotchiness (weight near 1), where it is many times larger it
    is the face's shape (nose, cheekbones, folds: weight near 0). The weight varies smoothly in space, so a
    blotch is evened out as a whole, never cored into a ring, and fades to 0 toward the region's outer
    edge (`depth` below EDGE_FADE), where the face's outline is drawn by shading."""
    core = skin > SKIN_CORE
    inner = core & (depth > JUDGED_INSET)
    typical = robust_spread(mid, inner if inner.any() else core)
    local = np.sqrt(masked_blur(mid * mid, skin, reach / 2))
    contrast = np.sqrt(np.mean((local / (edge_contrast * typical)) ** 2, axis=-1))
    ramp = np.clip(depth / EDGE_FADE, 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp) / (1.0 + contrast ** 4)).astype(np.float32)


def removed_blotches(lab: np.ndarray, skin: np.ndarray, interocular: float, params: Params) -> np.ndarray:
    """What to subtract from the Lab crop `lab` (HxWx3): the skin's mid band, weighted by evenness_weight.

    The bands are normalised blurs over skin only (eyes, brows, lips never leak in); fine + low are kept
    exactly, so texture and mean tone stay."""
    weights = skin + OUTSIDE_WEIGHT
    base, _ = split(lab, params.texture_size * interocular, weights)
    reach = params.tone_size * interocular
    _, mid = split(base, reach, weights)
    weight = evenness_weight(mid, skin, depth_inside(skin, interocular), reach=reach,
                             edge_contrast=params.edge_contrast)
    return weight[..., None] * mid


def smooth_face(rgb: np.ndarray, skin: np.ndarray, face: Face, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """One face's RGB crop with its skin's mid band evened out (worked out at the working scale, see
    _skin_layers.at_working_scale), and the skin mask it acted on."""
    def evened(small_rgb: np.ndarray, small_skin: np.ndarray, interocular: float) -> tuple[np.ndarray, None]:
        lab = to_lab(small_rgb)
        return moved_in_lab(small_rgb, lab, lab - removed_blotches(lab, small_skin, interocular, params)), None

    return at_working_scale(rgb, skin, face.interocular, WORK_INTEROCULAR, evened)[0], skin


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """The fully smoothed skin of every face (strength 1) and the skin mask it acted on."""
    def work(rgb: np.ndarray, skin: np.ndarray, face: Face, box: Box):
        return smooth_face(rgb, skin, face, params)

    return each_face(photo, faces, 2.0 * params.tone_size, work)


register(Edit("skin", Params, apply, STRENGTH, True,
              "even out blotchy skin tone by frequency separation, keeping pores and overall tone",
              words="skin gently evened", order=20))
