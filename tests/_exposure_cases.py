"""The exposure known answers of issue 20, made from a real portrait in linear light and analysed afresh:

- "dark skin": only the skin is made much darker (its reflectance scaled so that its median L* falls to
  DARK_SKIN_LIGHTNESS), the scene, eyes and teeth untouched: a correctly exposed photo of darker skin;
- "frame under": the whole frame darkened by UNDER_EV: a plainly under-exposed photo;
- "as shot": the photo as it is;
- "face in shadow": the face alone darkened by UNDER_EV in the bright scene (a backlit portrait).
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from retouch.color import to_linear, to_srgb
from retouch.edits.light import LUMA, lightness_to_luminance
from retouch.photo import Faces

from portraits import faces, photo

CASES = ("dark skin", "frame under", "as shot", "face in shadow")
DARK_SKIN_LIGHTNESS = 20.0
UNDER_EV = 0.7
SHADOW_REACH = 0.1     # the shadow covers the landmarks' hull grown by this share of the face width ...
SHADOW_SOFTNESS = 0.08  # ... with an edge this soft (Gaussian sigma, in face widths)


def skin_mask(found: Faces, shape: tuple[int, int]) -> np.ndarray:
    """The first face's soft skin mask over the whole frame."""
    return found.items[0].regions["skin"].full(shape)


def _darker_skin(name: str) -> np.ndarray:
    linear = to_linear(photo(name).pixels)
    skin = skin_mask(faces(name), linear.shape[:2])
    median = float(np.median((linear @ LUMA)[skin > 0.5]))
    scale = lightness_to_luminance(DARK_SKIN_LIGHTNESS) / median
    return to_srgb(linear * np.power(scale, skin)[..., None])


def _face_in_shadow(name: str) -> np.ndarray:
    linear = to_linear(photo(name).pixels)
    points = faces(name).items[0].landmarks
    width = float(np.ptp(points[:, 0]))
    hull = np.zeros(linear.shape[:2], np.float32)
    cv2.fillPoly(hull, [np.round(cv2.convexHull(points)).astype(np.int32).reshape(-1, 2)], 1.0)
    reach = int(2 * SHADOW_REACH * width) | 1
    grown = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    shade = cv2.GaussianBlur(grown, (0, 0), SHADOW_SOFTNESS * width)
    return to_srgb(linear * np.exp2(-UNDER_EV * shade)[..., None])


@functools.lru_cache(maxsize=None)
def case(name: str, which: str) -> tuple[np.ndarray, Faces]:
    """(pixels, fresh analysis) of portrait `name` in case `which` (one of CASES); read-only pixels."""
    from retouch.face import analyse
    if which == "as shot":
        pixels = photo(name).pixels
    elif which == "dark skin":
        pixels = _darker_skin(name)
    elif which == "frame under":
        pixels = to_srgb(to_linear(photo(name).pixels) * np.float32(2 ** -UNDER_EV))
    elif which == "face in shadow":
        pixels = _face_in_shadow(name)
    else:
        raise ValueError(f"unknown exposure case {which!r} (known: {', '.join(CASES)})")
    pixels.setflags(write=False)
    return pixels, (faces(name) if which == "as shot" else
                    analyse(photo(name).with_pixels(pixels), identity=False, person=False))
