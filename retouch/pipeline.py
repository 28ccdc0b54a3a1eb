"""retouch(photo, preset): run the steps, blend each by its strength, measure, back off, report.

This is the only module that both edits and measures, and the only place strength acts: an edit
returns its full effect and the mask it touched; here it is blended in as
    current + strength * mask * (edited - current)
then measured against the ORIGINAL. Work happens in place on one Canvas and only inside each step's box
(the original is copied once), so a face edit on a 24-megapixel frame costs the face, not the frame.
If any budget limit breaks, the step's strength is lowered by bisection to the highest value that keeps
every limit, or the step is dropped, and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from . import edits
from .measure import Reference, measure, reference, worst
from .budget import back_off
from .edits._tone import union_box
from .photo import Box, Faces, Photo
from .presets import Preset, Step


@dataclass
class StepReport:
    """What happened to one step: requested and applied strength, what bound it, every measure."""

    edit: str
    requested: float
    applied: float
    status: str                        # "applied", "backed off", "dropped", "skipped"
    bound_by: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    note: str = ""
    details: dict = field(default_factory=dict)   # what the edit decided (Change.details), for the record

    def as_dict(self) -> dict:
        entry = {"edit": self.edit, "requested": round(self.requested, 4), "applied": round(self.applied, 4),
                 "status": self.status, "bound_by": self.bound_by, "metrics": self.metrics, "note": self.note}
        if self.details:
            entry["details"] = self.details
        return entry


@dataclass
class Result:
    """The retouched pixels and the full account of how they were made."""

    pixels: np.ndarray
    steps: list[StepReport]
    metrics: dict                      # final measures against the original (per face and frame)
    warnings: list[str]
    faces: Faces
    preset: Preset

    def as_dict(self) -> dict:
        return {"preset": self.preset.name, "preset_digest": self.preset.digest,
                "faces": len(self.faces), "steps": [s.as_dict() for s in self.steps],
                "metrics": self.metrics, "summary": worst(self.metrics),
                "budget": self.preset.budget.as_dict(), "warnings": self.warnings}


_WEIGHT_SCALE = 2.0 ** 17   # a power of two: scaling by it is exact in float32


def blend(current: np.ndarray, change: edits.Change, strength: float) -> np.ndarray:
    """current with `change` mixed in at `strength`, through the change's soft mask, inside its box."""
    out = current.copy()
    if not change.empty and strength > 0:
        blend_into(out, change, strength)
    return out


def blend_into(pixels: np.ndarray, change: edits.Change, strength: float,
               base: np.ndarray | None = None) -> None:
    """Write `base` (default: the pixels there now) with `change` mixed in at `strength` into `pixels`'
    box, in place: a face edit on a 24-megapixel frame then costs its box, not the frame."""
    x0, y0, x1, y1 = change.box
    target = pixels[y0:y1, x0:x1]
    # One fused pass written straight into the frame (OpenCV's blendLinear: (w1*a + w2*b) / (w1 + w2 +
    # 1e-5)); weights summing to _WEIGHT_SCALE make its 1e-5 vanish in float32, so pixels outside the
    # mask keep `base` exactly.
    edited = np.float32(strength * _WEIGHT_SCALE) * change.mask
    cv2.blendLinear(target if base is None else base, change.pixels, np.float32(_WEIGHT_SCALE) - edited, edited,
                    dst=target)


@dataclass
class Canvas:
    """The photo being retouched: its pixels after the steps so far, the union of their masks (the spill
    measure's "inside"), and `dirty`, the box outside which every pixel is still exactly the original's
    (so frame measures compare only that box). run_step changes a canvas in place."""

    pixels: np.ndarray
    touched: np.ndarray
    dirty: Box | None = None

    @classmethod
    def of(cls, original: np.ndarray) -> "Canvas":
        """A canvas holding a copy of `original` (which is never modified) and nothing touched."""
        return cls(original.copy(), np.zeros(original.shape[:2], np.float32))

    def copy(self) -> "Canvas":
        return Canvas(self.pixels.copy(), self.touched.copy(), self.dirty)


def _skip_reason(edit: edits.Edit, faces: Faces) -> str | None:
    if edit.needs_face and not len(faces):
        return "no face found"
    if not edit.needs_face and faces.person is None:
        return "no person found"
    return None


def _explain(report: StepReport) -> str:
    if report.status == "backed off":
        return (f"lowered from {report.requested:.2f} to {report.applied:.2f} to keep "
                f"{', '.join(report.bound_by)} within budget")
    if report.status == "dropped":
        return f"dropped: even a small amount broke {', '.join(report.bound_by)}"
    return report.note


def step_change(step: Step, photo: Photo, canvas: Canvas, faces: Faces) -> edits.Change | str:
    """The step's edit at full effect on the canvas' pixels (possibly empty, with the edit's details of
    why), or the reason it cannot run here.

    Depends only on the step's edit and params and on the pixels so far, not on its strength: a caller
    that only changes a strength (the GUI's slider) may keep it and hand it back to run_step."""
    edit = edits.get(step.edit)
    reason = _skip_reason(edit, faces)
    if reason:
        return reason
    return edit.apply(photo.with_pixels(canvas.pixels), faces, step.params).tight()


def run_step(step: Step, photo: Photo, canvas: Canvas, faces: Faces, ref: Reference | None,
             preset: Preset, *, change: edits.Change | str | None = None) -> StepReport:
    """Apply one step to `canvas` (in place) with the guard (if `ref` is given) and report it.

    `change` is the step's step_change on this canvas when the caller already has it. Every candidate
    strength is blended into the step's box only and measured there against the original."""
    if change is None:
        change = step_change(step, photo, canvas, faces)
    if isinstance(change, str):
        return StepReport(step.edit, step.strength, 0.0, "skipped", note=change)
    if change.empty or step.strength <= 0:
        note = "nothing to change" if change.empty else "strength 0"
        return StepReport(step.edit, step.strength, 0.0, "skipped", note=note, details=change.details)
    x0, y0, x1, y1 = box = change.box
    base = canvas.pixels[y0:y1, x0:x1].copy()
    touched_before = canvas.touched[y0:y1, x0:x1].copy()
    np.maximum(touched_before, change.mask, out=canvas.touched[y0:y1, x0:x1])
    dirty_before, canvas.dirty = canvas.dirty, box if canvas.dirty is None else union_box([canvas.dirty, box])
    if ref is None:
        blend_into(canvas.pixels, change, step.strength, base)
        return StepReport(step.edit, step.strength, step.strength, "applied", details=change.details)

    def evaluate(strength: float):
        blend_into(canvas.pixels, change, strength, base)
        metrics = measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty)
        return metrics, preset.budget.breaches(worst(metrics))

    found = back_off(evaluate, step.strength)
    if found.outcome is None:
        canvas.pixels[y0:y1, x0:x1] = base
        canvas.touched[y0:y1, x0:x1] = touched_before
        canvas.dirty = dirty_before
        report = StepReport(step.edit, step.strength, 0.0, "dropped", found.bound_by,
                            measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty))
    else:
        if found.strength != found.last_tried:
            blend_into(canvas.pixels, change, found.strength, base)
        status = "backed off" if found.bound_by else "applied"
        report = StepReport(step.edit, step.strength, found.strength, status, found.bound_by, found.outcome)
    report.note = _explain(report)
    report.details = change.details
    return report


def retouch(photo: Photo, preset: Preset, *, faces: Faces | None = None, guard: bool = True,
            progress: Callable[[str, int, int], None] | None = None, in_place: bool = False) -> Result:
    """Run every step of `preset` on `photo` (never modified) and return the Result.

    `faces` may be passed when the caller already analysed the photo (the GUI). The person matte is
    computed only when a step works on the whole person (background): it is the costliest analysis. With
    `guard=False` nothing is measured or backed off (used only to time the guard's cost). With
    `in_place=True` the caller hands over `photo`'s pixels (it is done with the original's: a file is
    being retouched into another), and they are retouched in their own buffer, sparing a full-frame copy
    (288 MB at 24 MP): the measures keep what they need of the original in their Reference.
    """
    if faces is None:
        from .face import analyse
        faces = analyse(photo, person=any(not edits.get(s.edit).needs_face for s in preset.steps))
    warnings = [] if len(faces) else ["no face found: face edits skipped"]
    ref = reference(photo.pixels, faces) if guard else None
    canvas = (Canvas(photo.pixels, np.zeros(photo.pixels.shape[:2], np.float32)) if in_place
              else Canvas.of(photo.pixels))
    reports, metrics = [], None
    for index, step in enumerate(preset.steps):
        if progress:
            progress(step.edit, index, len(preset.steps))
        report = run_step(step, photo, canvas, faces, ref, preset)
        reports.append(report)
        if report.metrics:
            metrics = report.metrics          # measured on exactly the pixels now current
        if report.status == "skipped" and report.note not in ("no face found", "nothing to change", "strength 0"):
            warnings.append(f"{step.edit} skipped: {report.note}")
    if metrics is None:
        metrics = ({} if ref is None else
                   measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty))
    return Result(canvas.pixels, reports, metrics, warnings, faces, preset)
