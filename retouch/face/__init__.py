"""Find and analyse every face: landmarks, region masks, identity embeddings and the person matte.

Everything is found on a proxy (long side ~1500 px) and reported in full-resolution coordinates: the
meshes are taken from full-resolution crops, the region masks cover each face's box at full resolution,
and the person matte covers the frame.
"""
from __future__ import annotations

import os
import warnings

os.environ.setdefault("GLOG_minloglevel", "2")   # before mediapipe is first imported (landmarks, regions)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ..photo import Face, Faces, Photo  # noqa: E402
from .landmarks import find_faces  # noqa: E402
from .overlay import draw_overlay  # noqa: E402
from .person import person_matte  # noqa: E402
from .regions import REGION_NAMES, face_regions  # noqa: E402

__all__ = ["analyse", "detect_landmarks", "draw_overlay", "REGION_NAMES"]


def _proxy(pixels: np.ndarray, long_side: int) -> np.ndarray:
    """`pixels` area-downscaled to `long_side` (unchanged if already smaller).

    Note: stands in for retouch.io.proxy_pixels, which will also use a RAW's embedded preview."""
    height, width = pixels.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def detect_landmarks(pixels: np.ndarray, *, proxy_long_side: int = 1500) -> list[Face]:
    """Faces in float RGB `pixels` with box, confidence and 478 landmarks, but no regions (for re-detection)."""
    return find_faces(pixels, _proxy(pixels, proxy_long_side))


def _embed_all(pixels: np.ndarray, faces: list[Face]) -> None:
    try:
        from . import identity
    except ModuleNotFoundError as error:
        if error.name != __name__ + ".identity":
            raise
        warnings.warn("retouch/face/identity.py is missing: faces have no identity embedding", stacklevel=3)
        return
    for face in faces:
        face.embedding = identity.embed(pixels, face.landmarks)


def analyse(photo: Photo, *, proxy_long_side: int = 1500, identity: bool = True, person: bool = True) -> Faces:
    """Every face in `photo` (landmarks, region masks, embedding if `identity`) and the person matte if `person`."""
    pixels = photo.pixels
    proxy = _proxy(pixels, proxy_long_side)
    faces = find_faces(pixels, proxy)
    for face in faces:
        face.regions = face_regions(pixels, face)
    if identity:
        _embed_all(pixels, faces)
    matte = person_matte(pixels, proxy, faces) if person else None
    return Faces(faces, matte, photo.size)
