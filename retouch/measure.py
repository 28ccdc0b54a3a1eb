"""Measures of how far a retouched image has moved from the ORIGINAL photo.

Everything is measured against the original, never the previous step, so small changes cannot add up
unseen. What depends only on the original (embeddings, skin Lab, texture energy) is computed once in a
Reference; each measure is then a small function of (reference, current image). Face measures work on
face boxes, not the frame, and texture and drift read the face box shrunk to a working scale (at most
MEASURE_INTEROCULAR px between the eyes), so measuring a 24-megapixel face costs about what a 2-megapixel
one does, and the same face scores the same at any resolution.

One table, MEASURES: each measure is declared once (`Measure`: its function, which way is better, its
label, format and plain words, its default budget limit with that limit's range, and the original-side
data it prepares). The worst-of summary, the budget, report columns, the app's rows and the gallery's
words are all built from it, so adding a measure is one entry plus its function and its test.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from . import edge, marks
from .color import changed_grid, delta_e, grid_step, share_of, to_lab
from .resample import shrink
from .params import Param
from .photo import Box, Face, Faces


# Skin-tone shift is a statistic: faces with more skin pixels than this are measured on a regular grid
# of about this many (a 24-megapixel face every 3rd-4th pixel each way; the mean moves by < 0.01 dE).
SKIN_SAMPLES = 200_000
# Texture and drift are measured with the face shrunk to at most this inter-ocular distance (px): texture
# is then detail finer than 4 px there (a fiftieth of the eye distance), whatever the photo's resolution.
MEASURE_INTEROCULAR = 200.0


@dataclass
class FaceReference:
    """What the measures need from the original for one face."""

    face: Face
    crop_box: tuple[int, int, int, int]
    skin: np.ndarray             # bool mask of skin pixels inside crop_box
    skin_sample: np.ndarray      # bool mask of the skin pixels the tone shift is measured on (a grid)
    skin_lab: np.ndarray         # Lab of the original's sampled skin pixels
    work_scale: float            # working scale of texture and drift (<= 1)
    work_skin: np.ndarray        # bool skin mask of the crop at the working scale
    texture_energy: float        # fine band-pass energy of the original's skin (working scale)
    embedding: np.ndarray | None
    redetected: np.ndarray | None = None  # landmarks meshed again on the original (working-scale crop)
    prepared: dict[str, Any] = field(default_factory=dict)   # each measure's own original-side data
    released: tuple = ()         # points (x, y[, radius]) in the face's box the user chose to heal

    @property
    def work_interocular(self) -> float:
        return self.face.interocular * self.work_scale

    @property
    def texture_sigma(self) -> float:
        return max(1.0, self.work_interocular / 50.0)


@dataclass
class Reference:
    """What the measures keep of the original photo: the frame sampled on the changed-pixel grid (every
    `step`-th pixel each way) and the per-face reference data. Nothing else of it is read again, so the
    pipeline may retouch in the original's own buffer."""

    grid: np.ndarray
    step: int
    faces: list[FaceReference] = field(default_factory=list)
    prepared: dict[str, Any] = field(default_factory=dict)   # each frame measure's own original-side data
    released: tuple = ()         # the points the user chose to heal (see `reference`)


def _crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return pixels[y0:y1, x0:x1]


def _shrunk(values: np.ndarray, scale: float) -> np.ndarray:
    """`values` (HxW or HxWx3) area-resized by `scale` (<= 1), by whole blocks first (resample.shrink: the
    original and every candidate are shrunk alike); itself when the scale is 1."""
    if scale >= 1.0:
        return values
    height, width = values.shape[:2]
    return shrink(values, (max(1, round(width * scale)), max(1, round(height * scale))))[0]


class FaceView:
    """The current image as one face's measures read it: the whole frame, and (made once, on first use)
    the face's box at the working scale, where texture and drift are measured."""

    def __init__(self, ref: "FaceReference", frame: np.ndarray):
        self.ref, self.frame = ref, frame

    @functools.cached_property
    def work(self) -> np.ndarray:
        return _shrunk(_crop(self.frame, self.ref.crop_box), self.ref.work_scale)

    @functools.cached_property
    def skin_differences(self) -> np.ndarray:
        """CIEDE2000 of every sampled skin pixel against the original (shared by the skin-tone measures)."""
        return delta_e(self.ref.skin_lab, to_lab(_crop(self.frame, self.ref.crop_box)[self.ref.skin_sample]))


def _fine_energy(rgb: np.ndarray, skin: np.ndarray, sigma: float) -> float:
    """Mean squared fine-detail (pores, fine hair) of L* on skin: L minus its Gaussian blur."""
    lightness = to_lab(rgb)[..., 0]
    detail = lightness - cv2.GaussianBlur(lightness, (0, 0), sigma)
    return float(np.mean(detail[skin] ** 2)) if skin.any() else 0.0


def _skin_sample(skin: np.ndarray) -> np.ndarray:
    """`skin` thinned to a regular grid of about SKIN_SAMPLES pixels (all of it when smaller)."""
    step = max(1, int(np.ceil(np.sqrt(skin.sum() / SKIN_SAMPLES))))
    if step == 1:
        return skin
    sample = np.zeros_like(skin)
    sample[::step, ::step] = skin[::step, ::step]
    return sample


def _embed(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    from .face import identity
    return identity.embed(pixels, landmarks)


def _mesh_again(work: np.ndarray, face: Face, box: Box, scale: float) -> np.ndarray | None:
    """The face's landmarks found again by FaceMesh in `work` (its box at the working `scale`), where
    its ORIGINAL landmarks lie (working-scale crop coordinates).

    The original and every candidate are meshed on exactly the same crop, so the detector's own framing
    jitter cannot pass for drift, and no face detector runs per measure."""
    from .face.landmarks import mesh_face
    points = (face.landmarks - np.array(box[:2], np.float32)) * scale
    return mesh_face(work, np.concatenate([points.min(0), points.max(0)]).astype(np.float64))


def reference(original: np.ndarray, faces: Faces, *, identity: bool = True, released: tuple = ()) -> Reference:
    """Precompute the original-side data of every measure (once per photo). `released` are the points
    (x, y[, radius], full-resolution pixels) the user chose to heal: marks there are not guarded."""
    step = grid_step(original.shape)
    result = Reference(original[::step, ::step].copy(), step, released=tuple(released))
    for face in faces:
        box = face.box
        region = face.regions.get("skin")
        skin = (region.crop(box) > 0.5 if region is not None
                else np.zeros((box[3] - box[1], box[2] - box[0]), bool))
        crop = _crop(original, box)
        embedding = face.embedding
        if embedding is None and identity:
            embedding = _embed(original, face.landmarks)
        sample = _skin_sample(skin)
        scale = min(1.0, MEASURE_INTEROCULAR / max(face.interocular, 1.0))
        work = _shrunk(crop, scale)
        work_skin = _shrunk(skin.astype(np.float32), scale) > 0.5
        face_ref = FaceReference(face, box, skin, sample, to_lab(crop[sample]), scale, work_skin, 0.0, embedding)
        face_ref.texture_energy = _fine_energy(work, work_skin, face_ref.texture_sigma)
        face_ref.redetected = _mesh_again(work, face, box, scale)
        face_ref.released = tuple(tuple(point) for point in released
                                  if box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3])
        for entry in MEASURES.values():
            if entry.scope == "face" and entry.prepare is not None:
                face_ref.prepared[entry.name] = entry.prepare(face_ref, original)
        result.faces.append(face_ref)
    for entry in MEASURES.values():
        if entry.scope == "frame" and entry.prepare is not None:
            result.prepared[entry.name] = entry.prepare(result, original, faces)
    return result


# --- face measures: (reference face, view of the current image) -> value -----------------------------

def identity(ref: FaceReference, current: FaceView) -> float | None:
    """Cosine similarity of SFace embeddings, both aligned with the ORIGINAL's landmarks (1 = same)."""
    if ref.embedding is None:
        return None
    now = _embed(current.frame, ref.face.landmarks)
    return float(np.dot(ref.embedding, now))


def drift(ref: FaceReference, current: FaceView) -> float | None | object:
    """Landmarks re-detected on the current image: mean displacement over the inter-ocular distance.

    Both sides are meshed the same way (on the same crop), so the detector's own bias cancels.
    None when the face can no longer be found at all (the worst possible drift); NOT_TAKEN when even
    the original gives no mesh there (nothing to compare with).
    """
    if ref.redetected is None:
        return NOT_TAKEN
    now = _mesh_again(current.work, ref.face, ref.crop_box, ref.work_scale)
    if now is None:
        return None
    return float(np.linalg.norm(now - ref.redetected, axis=1).mean() / max(ref.work_interocular, 1.0))


def skin_de_mean(ref: FaceReference, current: FaceView) -> float:
    """Mean CIEDE2000 on the skin mask: retouching must not shift skin tone."""
    return float(current.skin_differences.mean()) if ref.skin.any() else 0.0


def skin_de_p95(ref: FaceReference, current: FaceView) -> float:
    """95th-percentile CIEDE2000 on the skin mask: no patch of skin may shift far either."""
    return float(np.percentile(current.skin_differences, 95)) if ref.skin.any() else 0.0


def texture(ref: FaceReference, current: FaceView) -> float:
    """Fine band-pass energy on skin, current over original (plastic skin drives it toward 0)."""
    if ref.texture_energy <= 0:
        return 1.0
    energy = _fine_energy(current.work, ref.work_skin, ref.texture_sigma)
    return float(np.sqrt(energy / ref.texture_energy))


# --- frame measures: (frame view of the current image) -> value ----------------------------------------

class FrameView:
    """The current image as the frame measures read it, with the edits' touched mask (or None) and the
    box outside which it is known to equal the original (or None: anywhere may differ). Which pixels
    changed by more than dE 2 is worked out once, on first use, for every frame measure."""

    def __init__(self, ref: Reference, frame: np.ndarray, touched: np.ndarray | None, changed_box: Box | None):
        self.ref, self.frame, self.touched, self.changed_box = ref, frame, touched, changed_box

    @functools.cached_property
    def changed(self) -> np.ndarray:
        """Which points of the reference's grid changed by more than dE 2: see color.changed_grid."""
        return changed_grid(self.ref.grid, self.frame, self.ref.step, within=self.changed_box)


def spill(current: FrameView) -> float | object:
    """Share of pixels OUTSIDE the edits' own touched mask that changed by more than dE 2."""
    if current.touched is None:
        return NOT_TAKEN
    step = current.ref.step
    return share_of(current.changed, current.touched[::step, ::step] <= 1e-3)


def changed_area(current: FrameView) -> float:
    """Share of the whole frame changed by more than dE 2."""
    return share_of(current.changed, None)


# --- the table ---------------------------------------------------------------------------------------

NOT_TAKEN = object()   # a measure's answer where it does not apply (left out of the results, not a breach)


@dataclass(frozen=True)
class Measure:
    """One measure, declared once.

    `fn` returns one number (None: it could not be taken although it applies, e.g. the face was lost;
    NOT_TAKEN: it does not apply here). Face measures take (FaceReference, FaceView), frame measures a
    FrameView. `better` is "higher" or "lower"; `limit` declares the budget's default limit and the
    range a preset may set it in (None: reported, never budgeted); `missing_breaks` says a None value
    breaks the budget (when in doubt, protect the person). `prepare` computes original-side data once
    per photo, kept in `prepared[name]` of the FaceReference (face: prepare(face_ref, original)) or the
    Reference (frame: prepare(reference, original, faces)). `plain` names what a breach protects;
    `explain`, where given, says in words what was lost (same arguments as `fn`: "mark at (529, 257)")."""

    name: str
    fn: Callable[..., Any]
    better: str
    label: str
    fmt: str
    doc: str
    plain: str
    scope: str = "face"
    limit: Param | None = None
    missing_breaks: bool = False
    prepare: Callable[..., Any] | None = None
    explain: Callable[..., list[str]] | None = None

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower") or self.scope not in ("face", "frame"):
            raise ValueError(f"measure {self.name}: better={self.better!r}, scope={self.scope!r}")

    def worse(self, a: float, b: float) -> float:
        """The worse of two values of this measure."""
        return min(a, b) if self.better == "higher" else max(a, b)

    def within(self, value: float | None, limit: float) -> bool:
        """Whether `value` keeps `limit` (a missing value keeps it unless missing_breaks)."""
        if value is None:
            return not self.missing_breaks
        return value >= limit if self.better == "higher" else value <= limit

    def show(self, value: float | None) -> str:
        return "n/a" if value is None else self.fmt.format(value)


MEASURES: dict[str, Measure] = {entry.name: entry for entry in (
    Measure("identity", identity, "higher", "Identity (same person)", "{:.3f}",
            identity.__doc__, "the likeness",
            limit=Param(0.90, 0.0, 1.0, doc="lowest identity similarity to the original"),
            missing_breaks=True),
    Measure("skin_de_mean", skin_de_mean, "lower", "Skin tone shift, mean dE", "{:.2f}",
            skin_de_mean.__doc__, "the skin tone",
            limit=Param(2.0, 0.0, 20.0, doc="largest mean skin-tone shift (dE2000)")),
    Measure("skin_de_p95", skin_de_p95, "lower", "Skin tone shift, 95% dE", "{:.2f}",
            skin_de_p95.__doc__, "the skin tone",
            limit=Param(5.0, 0.0, 40.0, doc="largest 95th-percentile skin-tone shift (dE2000)")),
    Measure("texture", texture, "higher", "Texture kept", "{:.0%}", texture.__doc__, "the skin texture",
            limit=Param(0.70, 0.0, 1.0, doc="lowest share of fine skin texture kept"), missing_breaks=True),
    Measure("drift", drift, "lower", "Features moved", "{:.1%}", drift.__doc__, "the features' positions",
            limit=Param(0.03, 0.0, 1.0, doc="largest landmark drift, share of inter-ocular distance"),
            missing_breaks=True),
    Measure("spill", spill, "lower", "Spill outside the edits", "{:.2%}", spill.__doc__,
            "the area outside the edit", scope="frame",
            limit=Param(0.005, 0.0, 1.0, doc="largest share of pixels changed outside the edit's mask")),
    Measure("changed_area", changed_area, "lower", "Area changed", "{:.1%}", changed_area.__doc__,
            "the photo as a whole", scope="frame"),
    Measure("edge", edge.measure, "lower", "Old backdrop left at the edge", "{:.2%}", edge.measure.__doc__,
            "a clean hair edge", scope="frame",
            limit=Param(1.0, 0.0, 1.0, doc="largest share of the matte's edge band that keeps the old "
                        "backdrop's colour after background work (1: not enforced)"),
            prepare=edge.prepare, explain=edge.explain),
    Measure("marks", marks.measure, "higher", "Distinctive marks kept", "{:.0%}", marks.measure.__doc__,
            "the person's moles and freckles",
            limit=Param(1.0, 0.0, 1.0, doc="lowest share of the original's distinctive marks (moles, "
                        "freckles) keeping their contrast, apart from those the user chose to heal"),
            prepare=marks.prepare, explain=marks.explain),
)}

FACE_MEASURES = {name: entry for name, entry in MEASURES.items() if entry.scope == "face"}
FRAME_MEASURES = {name: entry for name, entry in MEASURES.items() if entry.scope == "frame"}


def measure(ref: Reference, current: np.ndarray, *, touched: np.ndarray | None = None,
            changed_box: Box | None = None, names: tuple[str, ...] | None = None) -> dict:
    """Every measure (or those named) of `current` against the reference original.

    `changed_box`, where known, bounds every pixel that differs from the original: the frame measures
    then read only that box (the pipeline knows it; for any other pair of files leave it None).
    Returns {"faces": [{measure: value, ...} per face], "frame": {measure: value}}. A value of None
    means the measure could not be taken (no model, face lost, no mask).
    """
    wanted = [entry for name, entry in MEASURES.items() if names is None or name in names]
    faces = []
    for face_ref in ref.faces:
        view = FaceView(face_ref, current)
        values = {entry.name: entry.fn(face_ref, view) for entry in wanted if entry.scope == "face"}
        faces.append({name: value for name, value in values.items() if value is not NOT_TAKEN})
    frame_view = FrameView(ref, current, touched, changed_box)
    frame = {entry.name: entry.fn(frame_view) for entry in wanted if entry.scope == "frame"}
    return {"faces": faces, "frame": {name: value for name, value in frame.items() if value is not NOT_TAKEN}}


def explain_breaches(ref: Reference, current: np.ndarray, names: list[str]) -> list[str]:
    """What the measures named (those that broke the budget) can say they lost, in words."""
    words = []
    for name in names:
        entry = MEASURES.get(name)
        if entry is None or entry.explain is None:
            continue
        if entry.scope == "face":
            for face_ref in ref.faces:
                words += entry.explain(face_ref, FaceView(face_ref, current))
        else:
            words += entry.explain(FrameView(ref, current, None, None))
    return words


def worst(metrics: dict) -> dict[str, float | None]:
    """Flatten to one value per measure: the worst face for each (lowest identity, highest dE ...).

    Measures this version does not declare (an older record's) are passed over."""
    flat: dict[str, float | None] = {name: value for name, value in metrics.get("frame", {}).items()
                                     if name in MEASURES}
    for values in metrics.get("faces", []):
        for name, value in values.items():
            if name not in MEASURES:
                continue
            if name not in flat:
                flat[name] = value
            elif value is None or flat[name] is None:
                flat[name] = None
            else:
                flat[name] = MEASURES[name].worse(flat[name], value)
    return flat


def verdict(flat: dict[str, float | None], budget) -> str:
    """A plain-language judgement a photographer can read at a glance."""
    parts = []
    identity_value = flat.get("identity")
    if identity_value is None:
        parts.append("no face measured")
    elif identity_value >= budget["identity"]:
        parts.append(f"same person (identity {identity_value:.2f})")
    elif identity_value >= 0.363:
        parts.append(f"looks less like the original (identity {identity_value:.2f}, "
                     f"budget {budget['identity']:.2f})")
    else:
        parts.append(f"NOT recognisably the same person (identity {identity_value:.2f})")
    tone = flat.get("skin_de_mean")
    if tone is not None:
        words = ("unchanged" if tone <= 1.0 else
                 "barely shifted" if tone <= budget["skin_de_mean"] else "SHIFTED beyond budget")
        parts.append(f"skin tone {words} (dE {tone:.1f})")
    kept = flat.get("texture")
    if kept is not None:
        parts.append(f"texture kept {min(kept, 9.99):.0%}")
    moved = flat.get("drift")
    if moved is not None and moved > budget["drift"]:
        parts.append(f"features moved ({moved:.1%} of eye distance)")
    return ", ".join(parts)
