"""retouch(photo, preset): run the steps, blend each by its strength, measure, back off, report.

This is the only module that both edits and measures, and the only place strength acts: an edit
returns its full effect and the mask it touched; here it is blended in as
    current + strength * mask * (edited - current)
then measured against the ORIGINAL. Work happens in place on one Canvas and only inside each step's box
(the original is copied once), so a face edit on a 24-megapixel frame costs the face, not the frame.
If any budget limit breaks, the step's strength is lowered by bisection to the highest value that keeps
every limit, or the step is dropped, and the report says so.

The steps run as a Chain: one Link per step (its settings, its change at full effect, the canvas after
it, its report). `retouch()` runs a chain once, in place; the app keeps a photo's chains between renders,
so a new render re-runs only the steps from the first one that changed, and a step whose edit and params
meet the same pixels as before (only its strength moved) is blended again without running its edit.
There is one step loop in the project: Chain.run.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, NamedTuple

import cv2
import numpy as np

from . import edits, presets
from .measure import Reference, explain_breaches, measure, reference, worst
from .params import Points, settings
from .budget import Budget, back_off
from .edits._changes import union_box
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


def _explain(report: StepReport, lost: list[str]) -> str:
    """The step's note: what bound it and, where a measure can say so, what it would have lost."""
    what = f" ({'; '.join(lost)} lost)" if lost else ""
    if report.status == "backed off":
        return (f"lowered from {report.requested:.2f} to {report.applied:.2f} to keep "
                f"{', '.join(report.bound_by)} within budget{what}")
    if report.status == "dropped":
        return f"dropped: even a small amount broke {', '.join(report.bound_by)}{what}"
    return report.note


def chosen_heals(preset: Preset) -> tuple:
    """Every point the preset's steps declare as the user's explicit choice to heal (Points with
    `heals`): the guard does not count a distinctive mark there as lost."""
    return tuple(point for step in preset.steps
                 for name, declared in settings(type(step.params)).items()
                 if isinstance(declared, Points) and declared.heals
                 for point in getattr(step.params, name))


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


@dataclass
class Undo:
    """What a step overwrote on a canvas (its box's pixels and touched mask, the dirty box before it)."""

    box: Box
    pixels: np.ndarray
    touched: np.ndarray
    dirty: Box | None

    def restore(self, canvas: Canvas) -> None:
        x0, y0, x1, y1 = self.box
        canvas.pixels[y0:y1, x0:x1] = self.pixels
        canvas.touched[y0:y1, x0:x1] = self.touched
        canvas.dirty = self.dirty


def run_step(step: Step, photo: Photo, canvas: Canvas, faces: Faces, ref: Reference | None,
             preset: Preset, *, change: edits.Change | str | None = None,
             undo: list[Undo] | None = None) -> StepReport:
    """Apply one step to `canvas` (in place) with the guard (if `ref` is given) and report it.

    `change` is the step's step_change on this canvas when the caller already has it. Every candidate
    strength is blended into the step's box only and measured there against the original. What the
    step overwrites is appended to `undo` when given."""
    if change is None:
        change = step_change(step, photo, canvas, faces)
    if isinstance(change, str):
        return StepReport(step.edit, step.strength, 0.0, "skipped", note=change)
    if change.empty or step.strength <= 0:
        note = "nothing to change" if change.empty else "strength 0"
        return StepReport(step.edit, step.strength, 0.0, "skipped", note=note, details=change.details)
    x0, y0, x1, y1 = box = change.box
    base = canvas.pixels[y0:y1, x0:x1].copy()
    saved = Undo(box, base, canvas.touched[y0:y1, x0:x1].copy(), canvas.dirty)
    if undo is not None:
        undo.append(saved)
    np.maximum(saved.touched, change.mask, out=canvas.touched[y0:y1, x0:x1])
    canvas.dirty = box if canvas.dirty is None else union_box([canvas.dirty, box])
    if ref is None:
        blend_into(canvas.pixels, change, step.strength, base)
        return StepReport(step.edit, step.strength, step.strength, "applied", details=change.details)

    lost: list[str] = []

    def evaluate(strength: float):
        blend_into(canvas.pixels, change, strength, base)
        metrics = measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty)
        broken = preset.budget.breaches(worst(metrics))
        if broken and strength == step.strength:
            lost.extend(explain_breaches(ref, canvas.pixels, broken))
        return metrics, broken

    found = back_off(evaluate, step.strength)
    if found.outcome is None:
        saved.restore(canvas)
        report = StepReport(step.edit, step.strength, 0.0, "dropped", found.bound_by,
                            measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty))
    else:
        if found.strength != found.last_tried:
            blend_into(canvas.pixels, change, found.strength, base)
        status = "backed off" if found.bound_by else "applied"
        report = StepReport(step.edit, step.strength, found.strength, status, found.bound_by, found.outcome)
    report.note = _explain(report, lost)
    report.details = change.details
    return report


class StepKey(NamedTuple):
    """A step's settings as a run saw them (the budget too: the guard depends on it)."""

    edit: str
    strength: float
    params: str
    budget: Budget

    @classmethod
    def of(cls, step: Step, preset: Preset) -> "StepKey":
        return cls(step.edit, step.strength, repr(step.params), preset.budget)


def change_key(made_from: tuple, key: StepKey) -> tuple:
    """What a step's change depends on: the pixels it meets, its edit and its params (no strength)."""
    return made_from, key.edit, key.params


@dataclass
class Link:
    """One step of a chain: its settings, its change at full effect on the pixels it met (`made_from`
    names them; None when the chain does not keep changes), the canvas after it and its report."""

    key: StepKey
    made_from: tuple
    change: edits.Change | str | None
    canvas: Canvas
    report: StepReport

    @property
    def change_key(self) -> tuple:
        return change_key(self.made_from, self.key)

    @property
    def made_of(self) -> tuple:
        """What the canvas after this step is made of: the change and the strength it was blended at."""
        return self.change_key, self.report.applied


def shared_steps(keys: list[StepKey], links: list[Link]) -> int:
    """How many steps from the start `links` already ran with these keys."""
    shared = 0
    while shared < min(len(keys), len(links)) and links[shared].key == keys[shared]:
        shared += 1
    return shared


def known_changes(*chains: "Chain") -> dict[tuple, edits.Change | str]:
    """Every change the chains keep, by what it depends on (change_key)."""
    return {link.change_key: link.change for chain in chains for link in chain.links if link.change is not None}


@dataclass
class Chain:
    """A photo's steps as links. With `keep` (an interactive photo) each link keeps its own canvas and
    change, so a later run re-runs only what changed; without (a file being retouched once) every step
    works on one canvas in place and nothing is kept but the reports."""

    keep: bool = True
    start: Canvas | None = None          # the canvas before the first step (default: a copy of the photo)
    links: list[Link] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)    # each edit's last run time here

    def run(self, photo: Photo, faces: Faces, preset: Preset, ref: Reference | None, *,
            known: dict[tuple, edits.Change | str] | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> int:
        """Bring the chain up to `preset` on `photo`; the number of steps kept whole from the last run.

        The longest prefix shared with the last run is kept; every later step runs again, taking its
        change from `known` (see known_changes) when the same edit and params met the same pixels."""
        steps = self.steps(photo, faces, preset, ref, known=known)
        shared = next(steps)
        for index, step in steps:
            if progress:
                progress(step.edit, index, len(preset.steps))
        return shared

    def steps(self, photo: Photo, faces: Faces, preset: Preset, ref: Reference | None, *,
              known: dict[tuple, edits.Change | str] | None = None, undo: list[Undo] | None = None) -> Iterator:
        """run() one step at a time: yields the number of steps kept whole, then (index, step) before
        each step that runs (a caller may stop between steps). What each step overwrites goes to `undo`."""
        keys = [StepKey.of(step, preset) for step in preset.steps]
        shared = shared_steps(keys, self.links) if self.keep else 0
        del self.links[shared:]
        yield shared
        for index, (step, key) in enumerate(zip(preset.steps[shared:], keys[shared:]), shared):
            yield index, step
            made_from = self.links[-1].made_of if self.links else ()
            if self.links:
                canvas = self.links[-1].canvas.copy() if self.keep else self.links[-1].canvas
            else:
                canvas = self.canvas(photo)
            change = (known or {}).get(change_key(made_from, key))
            if change is None:
                began = time.perf_counter()
                change = step_change(step, photo, canvas, faces)
                self.seconds[step.edit] = time.perf_counter() - began
            report = run_step(step, photo, canvas, faces, ref, preset, change=change, undo=undo)
            self.links.append(Link(key, made_from, change if self.keep else None, canvas, report))

    def run_measured_once(self, photo: Photo, faces: Faces, preset: Preset, ref: Reference, *,
                          progress: Callable[[str, int, int], None] | None = None) -> bool:
        """Run every step at its requested strength without the guard, then measure the result once.

        When that one measure keeps the budget, the chain holds exactly what the step-by-step guard
        would have kept (every step applied as asked; the last applied step carries the measures) and
        this says True. Otherwise every step is undone, the chain is empty again, and it says False: the
        caller runs the guarded search step by step. For a chain that keeps no links (a file)."""
        undo: list[Undo] = []
        steps = self.steps(photo, faces, preset, None, undo=undo)
        next(steps)
        for index, step in steps:
            if progress:
                progress(step.edit, index, len(preset.steps))
        applied = [report for report in self.reports if report.status == "applied"]
        if not applied:
            return True
        canvas = self.canvas(photo)
        metrics = measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty)
        if not preset.budget.breaches(worst(metrics)):
            applied[-1].metrics = metrics
            return True
        for saved in reversed(undo):
            saved.restore(canvas)
        self.links.clear()
        return False

    def canvas(self, photo: Photo) -> Canvas:
        """The canvas after the last step (before any: `start`, else a copy of the photo's pixels)."""
        if self.links:
            return self.links[-1].canvas
        return self.start if self.start is not None else Canvas.of(photo.pixels)

    @property
    def reports(self) -> list[StepReport]:
        return [link.report for link in self.links]

    def result(self, photo: Photo, faces: Faces, preset: Preset, ref: Reference | None) -> Result:
        """The Result of the chain's last run: its pixels, reports, measures (the last step's that
        measured the pixels now current, else measured now) and warnings."""
        canvas = self.canvas(photo)
        measured = [report.metrics for report in self.reports if report.metrics]
        metrics = (measured[-1] if measured else {} if ref is None else
                   measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty))
        warnings = [] if len(faces) else ["no face found: no face edits"]
        warnings += [f"{report.edit} skipped: {report.note}" for report in self.reports
                     if report.status == "skipped" and report.note not in QUIET_SKIPS]
        return Result(canvas.pixels, self.reports, metrics, warnings, faces, preset)


def as_applied(preset: Preset, reports: list[StepReport]) -> Preset:
    """`preset` with every step at the strength the guard applied (steps it dropped or skipped left
    out): what the 100% view retouches at full resolution without measuring again."""
    applied = {report.edit: report.applied for report in reports if report.applied > 0}
    steps = tuple(dataclasses.replace(step, strength=applied[step.edit])
                  for step in preset.steps if step.edit in applied)
    narrowed = dataclasses.replace(preset, steps=steps)
    return dataclasses.replace(narrowed, digest=presets.digest(narrowed))


# Reasons a step has nothing to do that are no news to the photographer.
QUIET_SKIPS = ("no face found", "nothing to change", "strength 0")


def retouch(photo: Photo, preset: Preset, *, faces: Faces | None = None, guard: bool = True,
            progress: Callable[[str, int, int], None] | None = None, in_place: bool = False,
            measure_once: bool = True) -> Result:
    """Run every step of `preset` on `photo` (never modified) and return the Result.

    `faces` may be passed when the caller already analysed the photo (the GUI). The person matte is
    computed only when a step works on the whole person, and matted along the hair only when a step
    needs that (background): it is the costliest analysis. With
    `guard=False` nothing is measured or backed off (used only to time the guard's cost). With
    `in_place=True` the caller hands over `photo`'s pixels (it is done with the original's: a file is
    being retouched into another), and they are retouched in their own buffer, sparing a full-frame copy:
    the measures keep what they need of the original in their Reference.

    The guard measures optimistically (`measure_once`): every step runs as asked and the result is
    measured once; only when that breaks the budget are the steps undone and searched step by step (see
    Chain.run_measured_once). Either way the result is the guarded one.
    """
    if faces is None:
        from .face import analyse
        used = [edits.get(step.edit) for step in preset.steps]
        faces = analyse(photo, person=any(not edit.needs_face for edit in used),
                        hair=any(edit.hair_edge for edit in used))
    ref = reference(photo.pixels, faces, released=chosen_heals(preset)) if guard else None
    start = (Canvas(photo.pixels, np.zeros(photo.pixels.shape[:2], np.float32)) if in_place
             else Canvas.of(photo.pixels))
    chain = Chain(keep=False, start=start)
    if ref is None or not measure_once or not chain.run_measured_once(photo, faces, preset, ref, progress=progress):
        chain.run(photo, faces, preset, ref, progress=progress)
    return chain.result(photo, faces, preset, ref)
