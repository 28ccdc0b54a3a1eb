"""The library work the app runs off the UI thread, each a generator of (stage, value) so a newer
request can abandon it between stages. No Qt here: these are plain calls into retouch.

- prepare: read a photo, make its proxy (long side ~1500 px) and analyse the proxy, once per photo;
- render: the proxy retouched unguarded first (edit + blend only: fast, shown at once), then guarded
  (measured and backed off: the numbers and pixels export will get); when the preview's edits are slow
  (they last took over DRAFT_WHEN_S), a draft at half the proxy's size comes first;
- full_size: the photo at full resolution for the 100% view: read once per photo (the before side), then
  retouched step by step, unguarded, at the strengths the guard chose on the proxy (the after side);
- export: the full-resolution photo through job.retouch_file, writing the output and its record.
Whatever goes to the screen is converted to 8-bit here, so the UI thread only wraps it.

A slider usually changes one step, and a step's output depends only on the steps before it, so each
photo keeps the chain of its last renders: per step, the canvas after it and its change at full effect
(pipeline.step_change, which does not depend on the strength). A new render re-runs only the steps from
the first one that changed, and a step whose edit and params meet the same pixels as before (only its
strength moved) is blended again without running its edit. Strength still acts only in the pipeline;
this is the loop of pipeline.retouch with a memory.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

import cv2
import numpy as np

from retouch import edits, io, presets
from retouch.budget import Budget
from retouch.face import analyse
from retouch.job import Outcome, retouch_file
from retouch.measure import Reference, measure, reference
from retouch.photo import Box, Face, Faces, Photo, Region
from retouch.pipeline import Canvas, Result, StepReport, run_step, step_change
from retouch.presets import Preset, Step

DRAFT_SCALE = 0.5         # a draft is the proxy at half size: a quarter of the pixels, edits ~4x faster
DRAFT_WHEN_S = 0.15       # a render drafts first when the edits it re-runs last took longer than this


class StepKey(NamedTuple):
    """A step's settings as a render saw them (the budget too: the guard depends on it)."""

    edit: str
    strength: float
    params: str
    budget: Budget


def _change_key(made_from: tuple, key: StepKey) -> tuple:
    """What a step's change depends on: the pixels it meets, its edit and its params (no strength)."""
    return made_from, key.edit, key.params


@dataclass
class Link:
    """One step of a render: its settings, its change at full effect on the pixels it met (`made_from`
    names them), the canvas after it and its report."""

    key: StepKey                  # the link is kept whole by a render with the same key here
    made_from: tuple              # what the pixels the step met are made of (see `made_of`)
    change: edits.Change | str
    canvas: Canvas
    report: StepReport

    @property
    def change_key(self) -> tuple:
        return _change_key(self.made_from, self.key)

    @property
    def made_of(self) -> tuple:
        """What the canvas after this step is made of: the change and the strength it was blended at."""
        return self.change_key, self.report.applied


@dataclass
class Prepared:
    """A photo ready for interactive work: its proxy (and its 8-bit image), the proxy's analysis, and
    the proxy's scale.

    The chains and reference are filled in and used by the worker thread only."""

    path: Path
    proxy: Photo
    rgb: np.ndarray
    faces: Faces
    scale: float                  # proxy width / full-resolution width
    full_size: tuple[int, int]    # (width, height) at full resolution
    draft: Prepared | None = None  # the proxy at DRAFT_SCALE with its faces scaled (none for a draft)
    chains: dict[str, list[Link]] = field(default_factory=lambda: {"preview": [], "guarded": []})
    reference: Reference | None = None
    seconds: dict[str, float] = field(default_factory=dict)    # each edit's last run time here

    @property
    def warning(self) -> str:
        return "" if len(self.faces) else f"{self.path.name}: no face found, face edits are skipped"


@dataclass
class Rendered:
    """One stage of a render, its 8-bit image, and how long it took (seconds), for the status bar and
    the benchmark."""

    result: Result
    rgb: np.ndarray
    seconds: float
    reused: int                   # steps taken whole from the previous render


@dataclass
class FullResolution:
    """The one photo kept at full resolution for the 100% view (it is big: one at a time), with its
    8-bit image and, once something was retouched at full resolution, its analysis. Worker thread only."""

    path: Path | None = None
    photo: Photo | None = None
    rgb: np.ndarray | None = None
    faces: Faces | None = None

    def hold(self, path: Path) -> None:
        """Keep `path` (read it unless it is the one kept)."""
        if path != self.path:
            photo = io.read(path)
            self.path, self.photo, self.rgb, self.faces = path, photo, rgb8(photo.pixels), None

    def analysed(self) -> Faces:
        """The kept photo's faces and person matte at full resolution (analysed once; no identity:
        nothing is measured here)."""
        if self.faces is None:
            self.faces = analyse(self.photo, identity=False)
        return self.faces


def rgb8(pixels: np.ndarray) -> np.ndarray:
    """float RGB 0..1 -> 8-bit RGB, rounded and saturated (one fast pass: this is on the preview's path)."""
    return cv2.convertScaleAbs(cv2.max(pixels, 0.0), alpha=255.0)


def _scaled_box(box: Box, factor: float, size: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = box
    return (int(x0 * factor), int(y0 * factor),
            min(size[0], math.ceil(x1 * factor)), min(size[1], math.ceil(y1 * factor)))


def _scaled_region(region: Region, factor: float, size: tuple[int, int]) -> Region:
    box = _scaled_box(region.box, factor, size)
    width, height = max(box[2] - box[0], 0), max(box[3] - box[1], 0)
    if min(width, height, region.mask.size) == 0:
        return Region(box, np.zeros((height, width), np.float32))
    return Region(box, cv2.resize(region.mask, (width, height), interpolation=cv2.INTER_AREA))


def _scaled_face(face: Face, factor: float, size: tuple[int, int]) -> Face:
    return dataclasses.replace(face, box=_scaled_box(face.box, factor, size), landmarks=face.landmarks * factor,
                               regions={name: _scaled_region(region, factor, size)
                                        for name, region in face.regions.items()})


def scaled_faces(faces: Faces, factor: float, size: tuple[int, int]) -> Faces:
    """`faces` for their frame resized by `factor` to `size` (width, height): landmarks, boxes, region
    masks and the person matte follow it, without a new analysis (good enough for a draft)."""
    person = None if faces.person is None else cv2.resize(faces.person, size, interpolation=cv2.INTER_AREA)
    return Faces([_scaled_face(face, factor, size) for face in faces], person, size)


def _draft_of(prepared: Prepared) -> Prepared:
    """`prepared` at DRAFT_SCALE: its proxy area-averaged, its faces scaled (no new analysis)."""
    width, height = prepared.proxy.size
    size = (max(1, round(width * DRAFT_SCALE)), max(1, round(height * DRAFT_SCALE)))
    pixels = cv2.resize(prepared.proxy.pixels, size, interpolation=cv2.INTER_AREA)
    factor = size[0] / width
    return Prepared(prepared.path, prepared.proxy.with_pixels(pixels), rgb8(pixels),
                    scaled_faces(prepared.faces, factor, size), prepared.scale * factor, prepared.full_size)


def prepare(path: Path, *, long_side: int = io.PROXY_LONG_SIDE) -> Iterator[tuple[str, Prepared]]:
    photo = io.read(path)
    pixels, scale = io.proxy_pixels(photo, long_side)
    proxy = photo.with_pixels(pixels)
    prepared = Prepared(path, proxy, rgb8(pixels), analyse(proxy), scale, photo.size)
    prepared.draft = _draft_of(prepared)
    yield "prepared", prepared


def _key(step: Step, preset: Preset) -> StepKey:
    return StepKey(step.edit, step.strength, repr(step.params), preset.budget)


def _shared(keys: list[StepKey], chain: list[Link]) -> int:
    """How many steps from the start `chain` already ran with these keys."""
    shared = 0
    while shared < min(len(keys), len(chain)) and chain[shared].key == keys[shared]:
        shared += 1
    return shared


def _known_changes(prepared: Prepared) -> dict[tuple, edits.Change | str]:
    return {link.change_key: link.change for links in prepared.chains.values() for link in links}


def run_steps(prepared: Prepared, preset: Preset, chain: list[Link], ref: Reference | None) -> int:
    """Bring `chain` up to `preset` on `prepared`'s proxy; the number of steps kept whole.

    Links of the longest prefix shared with `chain` are kept; every later step runs again, with the
    change of any link of this photo's chains made by the same edit and params on the same pixels (a
    strength-only change) instead of running its edit."""
    keys = [_key(step, preset) for step in preset.steps]
    shared = _shared(keys, chain)
    known = _known_changes(prepared)
    del chain[shared:]
    for step, key in zip(preset.steps[shared:], keys[shared:]):
        made_from = chain[-1].made_of if chain else ()
        canvas = chain[-1].canvas.copy() if chain else Canvas.of(prepared.proxy.pixels)
        change = known.get(_change_key(made_from, key))
        if change is None:
            start = time.perf_counter()
            change = step_change(step, prepared.proxy, canvas, prepared.faces)
            prepared.seconds[step.edit] = time.perf_counter() - start
        report = run_step(step, prepared.proxy, canvas, prepared.faces, ref, preset, change=change)
        chain.append(Link(key, made_from, change, canvas, report))
    return shared


def slow(prepared: Prepared, preset: Preset) -> bool:
    """Whether the preview of `preset` is expected to take over DRAFT_WHEN_S: the edits it would run
    (the first changed step's unless only its strength moved, then every later one) took that long
    when they last ran here."""
    chain = prepared.chains["preview"]
    keys = [_key(step, preset) for step in preset.steps]
    shared = _shared(keys, chain)
    if shared == len(keys):
        return False
    made_from = chain[shared - 1].made_of if shared else ()
    first_known = _change_key(made_from, keys[shared]) in _known_changes(prepared)
    return sum(prepared.seconds.get(key.edit, 0.0) for key in keys[shared + first_known:]) > DRAFT_WHEN_S


def _metrics(ref: Reference, canvas: Canvas, reports: list[StepReport]) -> dict:
    """The measures of the canvas: the last step's that measured it (what pipeline.retouch reports),
    else measured now."""
    measured = [report.metrics for report in reports if report.metrics]
    if measured:
        return measured[-1]
    return measure(ref, canvas.pixels, touched=canvas.touched, changed_box=canvas.dirty)


def _render(prepared: Prepared, preset: Preset, *, guard: bool) -> Rendered:
    start = time.perf_counter()
    ref = None
    if guard:
        if prepared.reference is None:
            prepared.reference = reference(prepared.proxy.pixels, prepared.faces)
        ref = prepared.reference
    chain = prepared.chains["guarded" if guard else "preview"]
    reused = run_steps(prepared, preset, chain, ref)
    canvas = chain[-1].canvas if chain else Canvas.of(prepared.proxy.pixels)
    reports = [link.report for link in chain]
    metrics = _metrics(ref, canvas, reports) if guard else {}
    result = Result(canvas.pixels, reports, metrics, [], prepared.faces, preset)    # the window shows step notes
    return Rendered(result, rgb8(canvas.pixels), time.perf_counter() - start, reused)


def render(prepared: Prepared, preset: Preset, draft_preset: Preset) -> Iterator[tuple[str, Rendered]]:
    """The draft (`draft_preset` on prepared.draft) when the preview would be slow, the preview, the
    guarded result."""
    if slow(prepared, preset):
        yield "draft", _render(prepared.draft, draft_preset, guard=False)
    yield "preview", _render(prepared, preset, guard=False)
    yield "guarded", _render(prepared, preset, guard=True)


def as_applied(preset: Preset, reports: list[StepReport]) -> Preset:
    """`preset` with every step at the strength the guard applied (steps it dropped or skipped left
    out): what the 100% view retouches at full resolution without measuring again."""
    applied = {report.edit: report.applied for report in reports if report.applied > 0}
    steps = tuple(dataclasses.replace(step, strength=applied[step.edit])
                  for step in preset.steps if step.edit in applied)
    narrowed = dataclasses.replace(preset, steps=steps)
    return dataclasses.replace(narrowed, digest=presets.digest(narrowed))


def full_size(path: Path, kept: FullResolution, preset: Preset | None) -> Iterator[tuple[str, object]]:
    """(path, 8-bit before) at full resolution, then with `preset`: each step's name as it starts
    (a newer request may abandon the work there) and the 8-bit after, retouched unguarded."""
    kept.hold(path)
    yield "before", (path, kept.rgb)
    if preset is None:
        return
    faces = kept.analysed()
    canvas = Canvas.of(kept.photo.pixels)
    for step in preset.steps:
        yield "retouching", step.edit
        run_step(step, kept.photo, canvas, faces, None, preset)
    yield "after", rgb8(canvas.pixels)


def export(original: Path, target: Path, preset: Preset) -> Iterator[tuple[str, Outcome]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    yield "exported", retouch_file(original, target, preset, overwrite=True)


def thumbnail(path: Path, long_side: int) -> np.ndarray:
    """Small 8-bit RGB of a photo for the strip (JPEG decoded at reduced size)."""
    photo = io.read(path, proxy=True)
    pixels, _ = io.proxy_pixels(photo, long_side)
    return rgb8(pixels)
