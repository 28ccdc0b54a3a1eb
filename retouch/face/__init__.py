"""Find and analyse every face: landmarks, region masks, identity embeddings and the person matte.

Everything is found on a proxy (long side ~1500 px) and reported in full-resolution coordinates: the
meshes are taken from full-resolution crops, the region masks cover each face's box at full resolution,
and the person matte covers the frame. Where the process may use two threads, the person matte is made
alongside the regions and embeddings (both need only the landmarks).

The modules are imported when first used, not with the package: a module that needs one part of it (the
matting helpers, the identity model) does not load mediapipe, and listing presets does not analyse.
"""
from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING

os.environ.setdefault("GLOG_minloglevel", "2")   # before mediapipe is first imported (landmarks, regions)

if TYPE_CHECKING:
    import numpy as np

    from ..photo import Face, Faces, Photo

__all__ = ["analyse", "detect_landmarks", "draw_overlay", "REGION_NAMES"]
_ELSEWHERE = {"draw_overlay": "overlay", "REGION_NAMES": "regions"}


def __getattr__(name: str):
    if name not in _ELSEWHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_ELSEWHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def detect_landmarks(pixels: np.ndarray, *, proxy_long_side: int = 1500) -> list[Face]:
    """Faces in float RGB `pixels` with box, confidence and 478 landmarks, but no regions (for re-detection)."""
    from ..photo import Photo
    from ..resample import proxy_pixels
    from .landmarks import find_faces
    proxy, _ = proxy_pixels(Photo(pixels), proxy_long_side)
    return find_faces(pixels, proxy)


def analyse(photo: Photo, *, proxy_long_side: int = 1500, identity: bool = True, person: bool = True,
            hair: bool = True) -> Faces:
    """Every face in `photo` (landmarks, region masks, embedding if `identity`) and the person matte if
    `person`, matted exactly along the hair if `hair` (the costliest part of analysis)."""
    from ..photo import Faces
    from ..resample import proxy_pixels
    from .landmarks import alongside, find_faces, to_uint8
    from .person import person_matte
    from .regions import face_regions
    pixels = photo.pixels
    proxy = to_uint8(proxy_pixels(photo, proxy_long_side)[0])     # once: both models take uint8
    faces = find_faces(pixels, proxy)
    matte = alongside(functools.partial(person_matte, hair=hair), pixels, proxy, faces) if person else lambda: None
    for face in faces:
        face.regions = face_regions(pixels, face)
    if identity:
        from . import identity as model
        for face in faces:
            face.embedding = model.embed(pixels, face.landmarks)
    return Faces(faces, matte(), photo.size)
