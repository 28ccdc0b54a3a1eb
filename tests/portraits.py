"""The public-domain test portraits and their (cached) analyses, shared by every test module.

astronaut: skimage.data.astronaut() (NASA, public domain); grace_hopper: matplotlib's sample data
(US Navy, public domain); obama (darker skin, short tight curly hair, a mole beside the left nostril) and
biden (light skin, white hair): official portraits, US government works (public domain), fetched at set-up
from the face_recognition==1.3.0 sdist with their sha256 checked (retouch.samples, `make photos`).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from retouch import samples
from retouch.io import unit_float
from retouch.photo import Faces, Photo

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
_RGB = {"astronaut": samples.astronaut_rgb, "grace_hopper": samples.grace_hopper_rgb,
        "obama": lambda: samples.portrait_rgb("obama"), "biden": lambda: samples.portrait_rgb("biden")}
NAMES = tuple(_RGB)
# The mole beside Obama's left nostril (the viewer's right), full-resolution (x, y) in obama.jpg.
OBAMA_MOLE = (529, 255)


@functools.lru_cache(maxsize=None)
def _pixels(name: str) -> np.ndarray:
    return unit_float(_RGB[name]())


def photo(name: str) -> Photo:
    """A fresh Photo of a test portrait (a copy: tests may not disturb each other)."""
    return Photo(_pixels(name).copy(), 8, source=None, format="PNG")


@functools.lru_cache(maxsize=None)
def faces(name: str) -> Faces:
    """The analysis of a test portrait (computed once per test session)."""
    from retouch.face import analyse
    return analyse(photo(name))


def save_png(pixels: np.ndarray, name: str) -> Path:
    """Write float RGB 0..1 to test-output/NAME for a person to look at."""
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    Image.fromarray((np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def side_by_side(before: np.ndarray, after: np.ndarray, name: str) -> Path:
    """Before | after in one PNG."""
    return save_png(np.concatenate([before, after], axis=1), name)
