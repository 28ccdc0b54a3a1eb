"""Measures of how far a retouched image has moved from the ORIGINAL photo.

Everything is measured against the original, never the previous step, so small changes cannot add up
unseen. What depends only on the original (embeddings, skin Lab, texture energy) is computed once in a
Reference; each measure is then a small function of (reference, current image). Face measures work on
face boxes, not the frame, so measuring stays cheap on 24-megapixel photos.

Registry: FACE_MEASURES (per face) and FRAME_MEASURES (whole frame), by name, each documented.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from .color import changed_share, delta_e, luminance, to_lab
from .photo import Face, Faces


@dataclass
class FaceReference:
    """What the measures need from the original for one face."""

    face: Face
    crop_box: tuple[int, int, int, int]
    skin: np.ndarray             # bool mask of skin pixels inside crop_box
    skin_lab: np.ndarray         # Lab of the original's skin pixels
    texture_sigma: float
    texture_energy: float        # fine band-pass energy of the original's skin
    embedding: np.ndarray | None
    redetected: np.ndarray | None = None  # landmarks re-detected on the original's crop (crop coords)


@dataclass
class Reference:
    """The original photo and its per-face reference data."""

    original: np.ndarray
    faces: list[FaceReference] = field(default_factory=list)


def _crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return pixels[y0:y1, x0:x1]


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) straight from luminance: the one Lab channel texture needs, at a third the cost."""
    y = luminance(rgb)
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27).astype(np.float32)


def _fine_energy(rgb: np.ndarray, skin: np.ndarray, sigma: float) -> float:
    """Mean squared fine-detail (pores, fine hair) of L* on skin: L minus its Gaussian blur."""
    lightness = _lightness(rgb)
    detail = lightness - cv2.GaussianBlur(lightness, (0, 0), sigma)
    return float(np.mean(detail[skin] ** 2)) if skin.any() else 0.0


def _embed(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    from .face import identity
    return identity.embed(pixels, landmarks)


def reference(original: np.ndarray, faces: Faces, *, identity: bool = True) -> Reference:
    """Precompute the original-side data of every measure (once per photo)."""
    result = Reference(original)
    for face in faces:
        box = face.box
        region = face.regions.get("skin")
        skin = (region.crop(box) > 0.5 if region is not None
                else np.zeros((box[3] - box[1], box[2] - box[0]), bool))
        crop = _crop(original, box)
        sigma = max(1.0, face.interocular / 50.0)
        embedding = face.embedding
        if embedding is None and identity:
            embedding = _embed(original, face.landmarks)
        result.faces.append(FaceReference(face, box, skin, to_lab(crop[skin]), sigma,
                                          _fine_energy(crop, skin, sigma), embedding,
                                          _redetect(crop, face.landmarks - np.array(box[:2], np.float32))))
    return result


def _redetect(crop: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    """Landmarks detected on a face crop, the detection nearest to `expected` (crop coordinates)."""
    from .face import detect_landmarks
    found = detect_landmarks(crop)
    if not found:
        return None
    return min((f.landmarks for f in found), key=lambda points: np.linalg.norm(points - expected, axis=1).mean())


# --- face measures: (reference face, current full image) -> value ------------------------------------

def identity(ref: FaceReference, current: np.ndarray) -> float | None:
    """Cosine similarity of SFace embeddings, both aligned with the ORIGINAL's landmarks (1 = same)."""
    if ref.embedding is None:
        return None
    now = _embed(current, ref.face.landmarks)
    return float(np.dot(ref.embedding, now))


def drift(ref: FaceReference, current: np.ndarray) -> float | None | dict:
    """Landmarks re-detected on the current image: mean displacement over the inter-ocular distance.

    Both sides are detected the same way (on the face's crop), so the detector's own bias cancels.
    None when the face can no longer be found at all (the worst possible drift); not reported at all
    when even the original's crop gives no detection (nothing to compare with).
    """
    if ref.redetected is None:
        return {}
    x0, y0, x1, y1 = ref.crop_box
    now = _redetect(current[y0:y1, x0:x1], ref.redetected)
    if now is None:
        return None
    return float(np.linalg.norm(now - ref.redetected, axis=1).mean() / max(ref.face.interocular, 1.0))


def skin_de(ref: FaceReference, current: np.ndarray) -> dict[str, float]:
    """Mean and 95th-percentile CIEDE2000 on the skin mask: retouching must not shift skin tone."""
    if not ref.skin.any():
        return {"skin_de_mean": 0.0, "skin_de_p95": 0.0}
    differences = delta_e(ref.skin_lab, to_lab(_crop(current, ref.crop_box)[ref.skin]))
    return {"skin_de_mean": float(differences.mean()),
            "skin_de_p95": float(np.percentile(differences, 95))}


def texture(ref: FaceReference, current: np.ndarray) -> float:
    """Fine band-pass energy on skin, current over original (plastic skin drives it toward 0)."""
    if ref.texture_energy <= 0:
        return 1.0
    energy = _fine_energy(_crop(current, ref.crop_box), ref.skin, ref.texture_sigma)
    return float(np.sqrt(energy / ref.texture_energy))


FACE_MEASURES: dict[str, Callable[[FaceReference, np.ndarray], object]] = {
    "identity": identity,
    "drift": drift,
    "skin_de": skin_de,
    "texture": texture,
}


# --- frame measures: (reference, current, touched mask or None) -> value ------------------------------

def spill(ref: Reference, current: np.ndarray, touched: np.ndarray | None) -> float | None:
    """Share of pixels OUTSIDE the edits' own touched mask that changed by more than dE 2."""
    if touched is None:
        return None
    return changed_share(ref.original, current, where=touched <= 1e-3)


def changed_area(ref: Reference, current: np.ndarray, touched: np.ndarray | None) -> float:
    """Share of the whole frame changed by more than dE 2."""
    return changed_share(ref.original, current)


FRAME_MEASURES: dict[str, Callable[[Reference, np.ndarray, np.ndarray | None], object]] = {
    "spill": spill,
    "changed_area": changed_area,
}

ALL_MEASURES = ("identity", "drift", "skin_de_mean", "skin_de_p95", "texture", "spill", "changed_area")


def measure(ref: Reference, current: np.ndarray, *, touched: np.ndarray | None = None,
            names: tuple[str, ...] | None = None) -> dict:
    """Every measure (or those named) of `current` against the reference original.

    Returns {"faces": [{measure: value, ...} per face], "frame": {measure: value}}. A value of None
    means the measure could not be taken (no model, face lost, no mask).
    """
    faces = []
    for face_ref in ref.faces:
        values: dict[str, object] = {}
        for name, function in FACE_MEASURES.items():
            if names is not None and name not in names:
                continue
            value = function(face_ref, current)
            values.update(value if isinstance(value, dict) else {name: value})
        faces.append(values)
    frame = {name: function(ref, current, touched) for name, function in FRAME_MEASURES.items()
             if names is None or name in names}
    return {"faces": faces, "frame": frame}


def worst(metrics: dict) -> dict[str, float | None]:
    """Flatten to one value per measure: the worst face for each (lowest identity, highest dE ...)."""
    higher_is_better = {"identity", "texture"}
    flat: dict[str, float | None] = dict(metrics.get("frame", {}))
    for values in metrics.get("faces", []):
        for name, value in values.items():
            if name not in flat:
                flat[name] = value
            elif value is None or flat[name] is None:
                flat[name] = None
            else:
                pick = min if name in higher_is_better else max
                flat[name] = pick(flat[name], value)
    return flat


def verdict(flat: dict[str, float | None], budget) -> str:
    """A plain-language judgement a photographer can read at a glance."""
    parts = []
    identity_value = flat.get("identity")
    if identity_value is None:
        parts.append("no face measured")
    elif identity_value >= budget.identity_min:
        parts.append(f"same person (identity {identity_value:.2f})")
    elif identity_value >= 0.363:
        parts.append(f"looks less like the original (identity {identity_value:.2f}, "
                     f"budget {budget.identity_min:.2f})")
    else:
        parts.append(f"NOT recognisably the same person (identity {identity_value:.2f})")
    tone = flat.get("skin_de_mean")
    if tone is not None:
        words = ("unchanged" if tone <= 1.0 else
                 "barely shifted" if tone <= budget.skin_de_mean_max else "SHIFTED beyond budget")
        parts.append(f"skin tone {words} (dE {tone:.1f})")
    kept = flat.get("texture")
    if kept is not None:
        parts.append(f"texture kept {min(kept, 9.99):.0%}")
    moved = flat.get("drift")
    if moved is not None and moved > budget.drift_max:
        parts.append(f"features moved ({moved:.1%} of eye distance)")
    return ", ".join(parts)
