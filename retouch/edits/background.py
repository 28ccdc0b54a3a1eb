"""background: put the person in front of a solid colour, a studio-style vertical gradient or an image.

The new backdrop goes in through the person matte (`faces.person`: a full-resolution alpha that the
face analysis matted where hair meets the backdrop, retouch/face/matting.py), composited in linear
light, where light mixes. Where the matte is soft (0 < alpha < 1: hair, a defocused shoulder) a pixel is
a mix of the person and the OLD background, and plain alpha blending would let the old background glow
through the hair. There the edge is decontaminated, with I = alpha*F + (1 - alpha)*B_old:
- F (the hair's own colour) and B_old are estimated together from the photo and its alpha by
  pymatting's multi-level foreground estimation on a proxy;
- the person's own colour per pixel, (I - (1 - alpha)*B_old) / alpha, is trusted in proportion to alpha
  (dividing by a small alpha turns background texture into speckle) and otherwise F, and
  out = alpha*F + (1 - alpha)*B_new: none of the old backdrop is left where its estimate is right.
`decontaminate` scales all of this (0 is plain alpha blending). A small `light_wrap` lets the new
backdrop's blurred light spill onto the person's rim, as a real backdrop would. The person's core
(alpha = 1, beyond the wrap) is returned untouched, and hair edges stay as soft as the matte.

Only the edge band is computed per pixel (in chunks); the clear background and the core are plain
copies, and every blur runs on a proxy, so a 24-megapixel frame costs a few full-frame passes. This is the
one edit whose box is the whole frame; its mask is 1 wherever a pixel changes, so at strength s the
pipeline shows original + s * (replaced - original) everywhere.

In mode "image" the backdrop is a declared picture parameter: its pixels are read when the params are
built (by the preset or the command line), so this edit, like every edit, never opens a file.

Bounds: STRENGTH's hard maximum is 1 (a complete replacement looks natural when the edge is
decontaminated); below 1 the old background shows through in proportion. `light_wrap` stops at 0.3: more
reads as a glow around the person rather than light from the backdrop.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..color import from_lab, to_lab, to_linear, to_srgb
from ..params import Param, ParamError, choice, colour, param, picture, settings
from ..photo import Faces, Photo
from . import Change, Edit, register

STRENGTH = Param(1.0, 0.0, 1.0, 1.0,
                 "how completely the old background is replaced; 1 (the hard maximum) is a clean, natural "
                 "replacement because the edge is decontaminated, lower lets the old background show through")

MODES = ("color", "gradient", "image")
COLORS = {
    "white": "#ffffff",
    "black": "#000000",
    "grey": "#808080",
    "light-grey": "#c8c8c8",
    "dark-grey": "#404040",
    "studio-grey": "#6b6e72",
    "studio-blue": "#3d5673",
    "studio-cream": "#e9e2d3",
}
GRADIENT_STEP = 20.0     # L* between top and bottom of a gradient with no color2: darker (lighter if dark)
PROXY = 1024             # long side of the proxy on which the old background is filled in and blurs run
ALPHA_FLOOR = 0.02       # matte values below this count as background, above 1 - this as person
WRAP_WIDTH = 0.01        # light wrap reach into the person (Gaussian sigma), as a share of the long side
SAMPLE_ROW = 4096        # points per row handed to cv2.remap
CHUNK = 1 << 20          # edge pixels composited at a time (bounds the temporary memory)
WRAP_CUTOFF = 1 / 255    # light wrap weights below this are dropped (at most one 8-bit level)


def hex_rgb(text: str) -> np.ndarray:
    """A normalised "#rrggbb" -> float32 sRGB (3,) in 0..1."""
    return np.array([int(text[i:i + 2], 16) for i in (1, 3, 5)], np.float32) / 255.0


@dataclass(frozen=True)
class Params:
    """What to put behind the person; every value is checked by its declaration, also when built in code."""

    mode: str = choice("color", MODES, doc="what goes behind the person: a colour, a studio gradient or an image")
    color: str = colour("studio-grey", names=COLORS, doc="the backdrop's colour (a gradient's top)")
    color2: str = colour("", names=COLORS, optional=True,
                         doc="a gradient's bottom; none: the top colour moved 20 L* darker (lighter if dark)")
    image: str = picture("the backdrop image for mode 'image' (scaled to cover the frame, centre-cropped)")
    light_wrap: float = param(0.1, 0.0, 1.0, 0.3,
                              "share of the backdrop's blurred light mixed into the person's outermost rim "
                              "(fades inward over ~1% of the frame)")
    decontaminate: float = param(1.0, 0.0, 1.0, None,
                                 "how much of the old background's colour is removed from soft edges "
                                 "(hair) before compositing; 0 is plain alpha blending")

    def __post_init__(self) -> None:
        for name, declared in settings(Params).items():
            object.__setattr__(self, name, declared.check(getattr(self, name), f"background.{name}"))
        if self.mode == "image" and not self.image:
            raise ParamError("background.image: '' but mode 'image' needs the path of a backdrop image")


def gradient_bottom(top: str) -> np.ndarray:
    """Lab of the derived gradient bottom: `top` GRADIENT_STEP darker in L* (lighter if it is very dark)."""
    lab = to_lab(hex_rgb(top)[None])[0]
    lab[0] += -GRADIENT_STEP if lab[0] >= 2 * GRADIENT_STEP else GRADIENT_STEP
    return lab


def gradient(top: str, bottom: str, height: int) -> np.ndarray:
    """(height, 1, 3) sRGB rows from `top` to `bottom`, interpolated in Lab (even steps of lightness)."""
    lab_top = to_lab(hex_rgb(top)[None])[0]
    lab_bottom = to_lab(hex_rgb(bottom)[None])[0] if bottom else gradient_bottom(top)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    return from_lab(lab_top + t * (lab_bottom - lab_top))[:, None, :]


def cover(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """`pixels` scaled to cover width x height and centre-cropped (one resize of the needed part)."""
    source_height, source_width = pixels.shape[:2]
    scale = max(width / source_width, height / source_height)
    crop_width, crop_height = min(source_width, width / scale), min(source_height, height / scale)
    x0, y0 = (source_width - crop_width) / 2, (source_height - crop_height) / 2
    part = pixels[int(y0):int(np.ceil(y0 + crop_height)), int(x0):int(np.ceil(x0 + crop_width))]
    shrink = part.shape[0] > height
    return cv2.resize(np.ascontiguousarray(part), (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def backdrop(params: Params, width: int, height: int) -> np.ndarray:
    """The new background in sRGB, broadcastable to (height, width, 3): (1,1,3), (height,1,3) or full."""
    if params.mode == "color":
        return hex_rgb(params.color)[None, None, :]
    if params.mode == "gradient":
        return gradient(params.color, params.color2, height)
    return cover(params.image.pixels, width, height)


def matte_alpha(person: np.ndarray) -> np.ndarray:
    """The matte stretched so values within ALPHA_FLOOR of 0 or 1 become exactly 0 or 1 (float32)."""
    alpha = (person - ALPHA_FLOOR) * np.float32(1.0 / (1.0 - 2.0 * ALPHA_FLOOR))
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def sample(proxy: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear samples (N,) or (N, channels) of a proxy-resolution map at full-resolution pixels (ys, xs).

    cv2.remap does the work; it takes maps under 32767 on a side, so the N points go in rows of SAMPLE_ROW."""
    height, width = proxy.shape[:2]
    count = ys.size
    rows = -(-count // SAMPLE_ROW)
    map_x, map_y = np.zeros((2, rows * SAMPLE_ROW), np.float32)
    map_x[:count] = (xs + 0.5) * (width / shape[1]) - 0.5
    map_y[:count] = (ys + 0.5) * (height / shape[0]) - 0.5
    samples = cv2.remap(proxy, map_x.reshape(rows, SAMPLE_ROW), map_y.reshape(rows, SAMPLE_ROW),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return samples.reshape(rows * SAMPLE_ROW, *proxy.shape[2:])[:count]


def composite_edge(rgb: np.ndarray, alpha: np.ndarray, behind: np.ndarray, front: np.ndarray,
                   new: np.ndarray, wrap: np.ndarray, wrap_light: np.ndarray) -> np.ndarray:
    """Composite N edge pixels (linear light, (N,3) colours, (N,) weights) onto the new backdrop.

    The person's colour F = (I - (1-alpha)*B) / alpha (B: the old background as estimated, B = I being
    plain blending) is trusted in proportion to alpha and otherwise taken from `front`, the nearby
    person colour: dividing by a small alpha would turn the old background's texture into speckle.
    Then alpha*F + (1-alpha)*new, with the wrap light mixed in."""
    alpha, clear, wrap = alpha[:, None], (1.0 - alpha)[:, None], wrap[:, None]
    own = np.clip((rgb - clear * behind) / np.maximum(alpha, 1e-6), 0.0, 1.0)
    out = alpha * (alpha * own + clear * front) + clear * new
    return out + wrap * (wrap_light - out)


@dataclass
class EdgeModel:
    """Proxy-resolution maps the edge pixels are composited with (colours in linear light)."""

    old: np.ndarray | None      # the old background behind the edge, estimated; None: plain blending
    front: np.ndarray | None    # the person's own colour (hair) at the edge, estimated
    rim: np.ndarray             # 0..1: how close to the person's outline (light wrap weight before amount)
    wrap_light: np.ndarray      # the new backdrop, blurred: the light it would spill


def edge_model(pixels: np.ndarray, proxy_alpha: np.ndarray, params: Params) -> EdgeModel:
    """The proxy maps for compositing: old background and person colour (pymatting's multi-level
    foreground and background estimation, Germer et al. 2020, from the photo and its alpha), rim and
    wrap light."""
    height, width = proxy_alpha.shape
    sigma = WRAP_WIDTH * max(height, width)
    rim = np.minimum(2.0 * (1.0 - cv2.GaussianBlur(proxy_alpha, (0, 0), sigma)), 1.0)
    new = to_linear(np.broadcast_to(backdrop(params, width, height), (height, width, 3)))
    wrap_light = cv2.GaussianBlur(new, (0, 0), sigma)
    if params.decontaminate == 0 or not (proxy_alpha <= 0.0).any() or not (proxy_alpha >= 1.0).any():
        return EdgeModel(None, None, rim, wrap_light)
    from pymatting.foreground.estimate_foreground_ml import estimate_foreground_ml   # costly import: here
    proxy = to_linear(cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA))
    front, old = estimate_foreground_ml(proxy, proxy_alpha, return_background=True)
    return EdgeModel(np.ascontiguousarray(old, np.float32), np.ascontiguousarray(front, np.float32), rim,
                     wrap_light)


def edge_colours(rgb: np.ndarray, alpha: np.ndarray, new: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                 shape: tuple[int, int], model: EdgeModel, params: Params) -> np.ndarray:
    """Composited sRGB of N edge pixels at (ys, xs) of a frame of `shape`, given their sRGB, alpha, backdrop."""
    rgb = to_linear(rgb)
    behind = front = rgb
    if model.old is not None:
        old, person = sample(model.old, ys, xs, shape), sample(model.front, ys, xs, shape)
        behind = rgb + params.decontaminate * (old - rgb)
        front = rgb + params.decontaminate * (person - rgb)
    wrap = params.light_wrap * alpha * sample(model.rim, ys, xs, shape)
    return to_srgb(composite_edge(rgb, alpha, behind, front, to_linear(new), wrap,
                                  sample(model.wrap_light, ys, xs, shape)))


def apply(photo: Photo, faces: Faces, params: Params) -> Change:
    """The photo on the new backdrop, over the whole frame; mask 1 wherever a pixel may change."""
    if faces.person is None:
        return Change.nothing(photo)
    pixels = photo.pixels
    height, width = pixels.shape[:2]
    alpha = matte_alpha(faces.person)
    if alpha.min() >= 1.0:
        return Change.nothing(photo)
    scale = min(1.0, PROXY / max(height, width))
    proxy_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    model = edge_model(pixels, cv2.resize(alpha, proxy_size, interpolation=cv2.INTER_AREA), params)

    # Pixels that change: all but the person's core, which the light wrap (on a proxy) does not reach.
    wrapped = (params.light_wrap * model.rim >= WRAP_CUTOFF).astype(np.uint8)
    wrapped = cv2.resize(cv2.dilate(wrapped, np.ones((3, 3), np.uint8)), (width, height),
                         interpolation=cv2.INTER_NEAREST)
    changed = (alpha < 1.0) | wrapped.view(bool)
    clear = alpha <= 0.0
    new = backdrop(params, width, height)
    out = pixels.copy()
    np.copyto(out, new, where=clear[..., None])
    edge = np.flatnonzero(changed & ~clear)
    flat_out, flat_pixels, flat_alpha = out.reshape(-1, 3), pixels.reshape(-1, 3), alpha.ravel()
    flat_new = np.broadcast_to(new, pixels.shape)
    for start in range(0, edge.size, CHUNK):
        part = edge[start:start + CHUNK]
        ys, xs = np.divmod(part, width)
        flat_out[part] = edge_colours(flat_pixels[part], flat_alpha[part], flat_new[ys, xs], ys, xs,
                                      (height, width), model, params)
    return Change((0, 0, width, height), out, changed.astype(np.float32))


register(Edit("background", Params, apply, STRENGTH, needs_face=False, hair_edge=True,
              doc="replace the background behind the person with a colour, a studio gradient or an image",
              words="background replaced", order=90))
