"""Find and analyse every face: landmarks, region masks, identity embeddings and the person matte.

Everything is found on a proxy (long side ~1500 px) and reported in full-resolution coordinates: the
meshes are taken from full-resolution crops, the region masks cover each face's box at full resolution,
and the person matte covers the frame. Where the process may use two threads, the person matte is made
alongside the regions and embeddings (both need only the landmarks).
"""
from __future__ import annotations

import os

os.environ.setdefault("GLOG_minloglevel", "2")   # before mediapipe is first imported (landmarks, regions)

import numpy as np  # noqa: E402

from ..resample import proxy_pixels# noqa: E402
from ..photo import Face, Faces, Photo  # noqa: E402
from .landmarks import alongside, find_faces, to_uint8  # noqa: E402
from .overlay import draw_overlay  # noqa: E402
from .person import person_matte  # noqa: E402
from .regions import REGION_NAMES, face_regions  # noqa: E402

__all__ = ["analyse", "detect_landmarks", "draw_overlay", "REGION_NAMES"]


def detect_landmarks(pixels: np.ndarray, *, proxy_long_side: int = 1500) -> list[Face]:
    """Faces in float RGB `pixels` with box, confidence and 478 landmarks, but no regions (for re-detection)."""
    proxy, _ = proxy_pixels(Photo(pixels), proxy_long_side)
    return find_faces(pixels, proxy)


def analyse(photo: Photo, *, proxy_long_side: int = 1500, identity: bool = True, person: bool = True) -> Faces:
    """Every face in `photo` (landmarks, region masks, embedding if `identity`) and the person matte if `person`."""
    pixels = photo.pixels
    proxy = to_uint8(proxy_pixels(photo, proxy_long_side)[0])     # once: both models take uint8
    faces = find_faces(pixels, proxy)
    matte = alongside(person_matte, pixels, proxy, faces) if person else lambda: None
    for face in faces:
        face.regions = face_regions(pixels, face)
    if identity:
        from . import identity as model
        for face in faces:
            face.embedding = model.embed(pixels, face.landmarks)
    return Faces(faces, matte(), photo.size)
