"""The guard's eye for hair edges: how much of the OLD backdrop's colour is left where the person meets
the new one (the `edge` measure, issue 14).

Background work composites the person onto a new backdrop through the person matte. Where the matte is
soft (hair, a defocused shoulder) each pixel of the original is a mix, I = alpha*F + (1 - alpha)*B_old,
and the ideal replacement onto a new backdrop G is alpha*F + (1 - alpha)*G = I + (1 - alpha)*(G - B_old)
(linear light). That needs no estimate of the hair's own colour F, only alpha and the two backdrops, so
the guard does not lean on the edit's decontamination to judge it. On the grid the frame measures use
(every `step`-th pixel each way):

- the band: the matte's soft pixels (SOFT < alpha < 1 - SOFT) and every grid point within BAND_REACH of
  the frame's long side of them, person and backdrop sides alike; and, within HAIR_REACH of them, every
  pixel the matte counts as person although the original there is the old backdrop itself (a gap between
  curls that the matte closed: where the old wall is left as a blotch);
- B_old: the original's clear backdrop (alpha <= SOFT) filled in over the band from the nearest clear
  pixels (push-pull: it follows a lit wall's gradient); G: the same from the CURRENT image's clear
  backdrop, so a gradient, a lowered strength or any new colour is read as it was made;
- alpha is the matte's, except where the original is the old backdrop itself (within BACKDROP_DE,
  CIEDE2000): that pixel is backdrop whatever the matte says, so old wall left in a gap between curls,
  where the matte wrongly called it person, is caught without trusting the matte;
- a band pixel keeps the old backdrop when it is visibly off the ideal (more than LEFT_DE) and nearer the
  old backdrop than both the ideal and the new backdrop (an alpha error alone moves a pixel between the
  hair and the new backdrop and does not count).

The value is the share of band pixels that keep the old backdrop (0 = a clean edge). It does not apply
(NOT_TAKEN) when there is no person matte or when the clear backdrop around the band was not changed:
no background step ran. What it cannot see: a pixel the matte calls wholly person (alpha 1) that is
partly backdrop but not the backdrop's colour itself (its ideal is then the original), and an image
backdrop's own texture, which the filled-in G smooths (a textured pixel that happens to look like the
old wall may count).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .color import delta_e, delta_e_rgb, to_lab, to_linear, to_srgb
from .face.matting import fill_from_known

SOFT = 0.02            # the matte is soft between SOFT and 1 - SOFT; at most SOFT it is clear backdrop
BAND_REACH = 0.003     # the band reaches this share of the frame's long side beyond the soft pixels
HAIR_REACH = 0.03      # backdrop-coloured pixels the matte calls person are looked for this far from them
BACKDROP_DE = 4.0      # an original pixel this close (CIEDE2000) to the old backdrop there is backdrop
LEFT_DE = 5.0          # a band pixel this far (CIEDE2000) off the ideal may keep the old backdrop
CLEAR_REACH = 4        # clear grid points this many band reaches around the band estimate the backdrops
CHANGED = 2.0 / 255    # a clear backdrop point moved by more than this (any channel) was changed ...
CHANGED_SHARE = 0.5    # ... and the measure is taken when at least this share of them were


@dataclass(frozen=True)
class EdgeBand:
    """The original's side of the measure, on the grid window (rows, cols: slices of the full frame with
    the grid's step) that holds the band and the clear backdrop around it."""

    rows: slice
    cols: slice
    band: np.ndarray        # bool, window grid: the band
    clear: np.ndarray       # bool, window grid: clear backdrop near the band
    before: np.ndarray      # (N, 3) sRGB: the original at the band's points
    alpha: np.ndarray       # (N,) alpha there (0 where the original is the old backdrop itself)
    old: np.ndarray         # (N, 3) sRGB: the old backdrop there
    clear_before: np.ndarray    # (M, 3) sRGB: the original at the clear points


def _dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def prepare(reference, original: np.ndarray, faces) -> EdgeBand | None:
    """The band, its alpha and the old backdrop, from the original and its person matte (None without a
    matte, or when the matte has no soft edge or no clear backdrop)."""
    if faces.person is None:
        return None
    step = reference.step
    alpha = faces.person[::step, ::step]
    soft = (alpha > SOFT) & (alpha < 1 - SOFT)
    if not soft.any() or not (alpha <= SOFT).any():
        return None
    long_side = max(original.shape[:2])
    reach = max(1, round(BAND_REACH * long_side / step))
    hair = max(reach, round(HAIR_REACH * long_side / step))
    ys, xs = np.nonzero(soft)
    margin = max(hair, CLEAR_REACH * reach) + 1
    y0, y1 = max(0, ys.min() - margin), min(alpha.shape[0], ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(alpha.shape[1], xs.max() + margin + 1)
    rows, cols = slice(y0 * step, y1 * step, step), slice(x0 * step, x1 * step, step)
    alpha, soft = alpha[y0:y1, x0:x1], soft[y0:y1, x0:x1]
    near = _dilated(soft, reach)
    clear = (alpha <= SOFT) & _dilated(near, CLEAR_REACH * reach)
    pixels = np.ascontiguousarray(original[rows, cols], np.float32)
    around = _dilated(soft, hair) & (alpha > SOFT)          # where a closed gap may hide
    old_all = to_srgb(fill_from_known(to_linear(pixels), clear))
    backdrop = np.zeros(alpha.shape, bool)
    backdrop[around] = delta_e(to_lab(pixels[around]), to_lab(old_all[around])) < BACKDROP_DE
    band = near | backdrop
    old, before = old_all[band], pixels[band]
    values = np.where(backdrop[band], 0.0, alpha[band]).astype(np.float32)
    return EdgeBand(rows, cols, band, clear, before, values, old, pixels[clear])


def left_behind(result: np.ndarray, ideal: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Which pixels keep the old backdrop's colour: visibly off the ideal (CIEDE2000 > LEFT_DE) and nearer
    the old backdrop than both the ideal and the new backdrop. (N, 3) sRGB each -> (N,) bool."""
    to_old = delta_e_rgb(result, old)
    off = delta_e_rgb(result, ideal)
    return (off > LEFT_DE) & (to_old < off) & (to_old < delta_e_rgb(result, new))


def measure(view) -> float | object:
    """Share of the matte's edge band that keeps the OLD backdrop's colour after background work
    (0 = clean): the result against the ideal I + (1 - alpha)(G - B_old) in linear light, alpha taken as
    0 where the original is the old backdrop itself (see retouch/edge.py)."""
    from .measure import NOT_TAKEN
    prepared: EdgeBand | None = view.ref.prepared.get("edge")
    if prepared is None:
        return NOT_TAKEN
    now = np.ascontiguousarray(view.frame[prepared.rows, prepared.cols], np.float32)
    moved = np.abs(now[prepared.clear] - prepared.clear_before).max(axis=1) > CHANGED
    if moved.mean() < CHANGED_SHARE:
        return NOT_TAKEN
    new = to_srgb(fill_from_known(to_linear(now), prepared.clear))[prepared.band]
    clear = (1.0 - prepared.alpha)[:, None]
    ideal = to_srgb(np.clip(to_linear(prepared.before) + clear * (to_linear(new) - to_linear(prepared.old)),
                            0.0, 1.0))
    return float(left_behind(now[prepared.band], ideal, prepared.old, new).mean())


def explain(view) -> list[str]:
    """The edge `measure` in words, for a step the guard held back ("hair edge not clean enough: ...")."""
    value = measure(view)
    if not isinstance(value, float):
        return []
    return [f"hair edge not clean enough: {value:.1%} of its band keeps the old backdrop's colour, so a clean "
            f"edge was"]
