"""The public-domain test portraits and their (cached) analyses, shared by every test module.

astronaut: skimage.data.astronaut() (NASA, public domain); grace_hopper: matplotlib's sample data
(US Navy, public domain).
"""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from skimage import data

from retouch.photo import Faces, Photo

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"


def grace_hopper_path() -> Path:
    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


@functools.lru_cache(maxsize=None)
def _pixels(name: str) -> np.ndarray:
    if name == "astronaut":
        rgb = data.astronaut()
    elif name == "grace_hopper":
        rgb = np.asarray(Image.open(grace_hopper_path()).convert("RGB"))
    else:
        raise KeyError(name)
    return (rgb.astype(np.float32) / 255.0)


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
