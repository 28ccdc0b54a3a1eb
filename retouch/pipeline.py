"""retouch(photo, preset): run the steps, blend each by its strength, measure, back off, report.

This is the only module that both edits and measures, and the only place strength acts: an edit
returns its full effect and the mask it touched; here it is blended in as
    current + strength * mask * (edited - current)
then measured against the ORIGINAL. If any budget limit breaks, the step's strength is lowered by
bisection to the highest value that keeps every limit, or the step is dropped, and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import edits
from .measure import Reference, measure, reference, worst
from .budget import back_off
from .photo import Faces, Photo
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

    def as_dict(self) -> dict:
        return {"edit": self.edit, "requested": round(self.requested, 4), "applied": round(self.applied, 4),
                "status": self.status, "bound_by": self.bound_by, "metrics": self.metrics, "note": self.note}


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


def blend(current: np.ndarray, change: edits.Change, strength: float) -> np.ndarray:
    """current with `change` mixed in at `strength`, through the change's soft mask, inside its box."""
    out = current.copy()
    if change.empty or strength <= 0:
        return out
    x0, y0, x1, y1 = change.box
    weight = (strength * change.mask)[..., None]
    base = current[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = base + weight * (change.pixels - base)
    return out


def _touched_with(touched: np.ndarray, change: edits.Change) -> np.ndarray:
    x0, y0, x1, y1 = change.box
    out = touched.copy()
    np.maximum(out[y0:y1, x0:x1], change.mask, out=out[y0:y1, x0:x1])
    return out


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


def run_step(step: Step, photo: Photo, current: np.ndarray, touched: np.ndarray, faces: Faces,
             ref: Reference | None, preset: Preset) -> tuple[np.ndarray, np.ndarray, StepReport]:
    """Apply one step with the guard (if `ref` is given); returns (pixels, touched mask, report)."""
    edit = edits.get(step.edit)
    reason = _skip_reason(edit, faces)
    if reason:
        return current, touched, StepReport(step.edit, step.strength, 0.0, "skipped", note=reason)
    change = edit.apply(photo.with_pixels(current), faces, step.params)
    if change.empty:
        return current, touched, StepReport(step.edit, step.strength, 0.0, "skipped",
                                            note="nothing to change")
    touched_now = _touched_with(touched, change)
    if ref is None:
        return blend(current, change, step.strength), touched_now, \
            StepReport(step.edit, step.strength, step.strength, "applied")

    def evaluate(strength: float):
        candidate = blend(current, change, strength)
        metrics = measure(ref, candidate, touched=touched_now)
        return (candidate, metrics), preset.budget.breaches(worst(metrics))

    found = back_off(evaluate, step.strength)
    if found.outcome is None:
        report = StepReport(step.edit, step.strength, 0.0, "dropped", found.bound_by,
                            measure(ref, current, touched=touched))
        report.note = _explain(report)
        return current, touched, report
    pixels, metrics = found.outcome
    status = "backed off" if found.bound_by else "applied"
    report = StepReport(step.edit, step.strength, found.strength, status, found.bound_by, metrics)
    report.note = _explain(report)
    return pixels, touched_now, report


def retouch(photo: Photo, preset: Preset, *, faces: Faces | None = None, guard: bool = True,
            progress: Callable[[str, int, int], None] | None = None) -> Result:
    """Run every step of `preset` on `photo` (never modified) and return the Result.

    `faces` may be passed when the caller already analysed the photo (the GUI). The person matte is
    computed only when a step works on the whole person (background): it is the costliest analysis. With
    `guard=False` nothing is measured or backed off (used only to time the guard's cost).
    """
    if faces is None:
        from .face import analyse
        faces = analyse(photo, person=any(not edits.get(s.edit).needs_face for s in preset.steps))
    warnings = [] if len(faces) else ["no face found: face edits skipped"]
    ref = reference(photo.pixels, faces) if guard else None
    current = photo.pixels
    touched = np.zeros(photo.pixels.shape[:2], np.float32)
    reports, metrics = [], None
    for index, step in enumerate(preset.steps):
        if progress:
            progress(step.edit, index, len(preset.steps))
        current, touched, report = run_step(step, photo, current, touched, faces, ref, preset)
        reports.append(report)
        if report.metrics:
            metrics = report.metrics          # measured on exactly the pixels now current
        if report.status == "skipped" and report.note not in ("no face found", "nothing to change"):
            warnings.append(f"{step.edit} skipped: {report.note}")
    if metrics is None:
        metrics = measure(ref, current, touched=touched) if ref is not None else {}
    return Result(current, reports, metrics, warnings, faces, preset)
