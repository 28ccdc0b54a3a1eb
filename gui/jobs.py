"""The library work the app runs off the UI thread, each a generator of (stage, value) so a newer
request can abandon it between stages. No Qt here: these are plain calls into retouch.

- prepare: read a photo, make its proxy (long side ~1500 px) and analyse the proxy, once per photo;
- render: the proxy retouched unguarded first (edit + blend only: fast, shown at once), then guarded
  (measured and backed off: the numbers and pixels export will get);
- export: the full-resolution photo through job.retouch_file, writing the output and its record.

A slider usually changes one step, and a step's output depends only on the steps before it, so each
photo keeps the chain of its last render (the pixels after every step) and a new render re-runs, with
pipeline.run_step, only the steps from the first one that changed. Strength still acts only in the
pipeline; this is the loop of pipeline.retouch with a memory.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from retouch import io
from retouch.face import analyse
from retouch.job import Outcome, retouch_file
from retouch.measure import Reference, measure, reference
from retouch.photo import Faces, Photo
from retouch.pipeline import Result, StepReport, run_step
from retouch.presets import Preset, Step

Link = tuple[tuple, np.ndarray, np.ndarray, StepReport]     # step key, pixels and touched mask after it


@dataclass
class Prepared:
    """A photo ready for interactive work: its proxy, the proxy's analysis, and the proxy's scale.

    The chains and reference are filled in and used by the worker thread only."""

    path: Path
    proxy: Photo
    faces: Faces
    scale: float                  # proxy width / full-resolution width
    full_size: tuple[int, int]    # (width, height) at full resolution
    chains: dict[str, list[Link]] = field(default_factory=lambda: {"preview": [], "guarded": []})
    reference: Reference | None = None

    @property
    def warning(self) -> str:
        return "" if len(self.faces) else f"{self.path.name}: no face found, face edits are skipped"


@dataclass
class Rendered:
    """One stage of a render and how long it took (seconds), for the status bar and the benchmark."""

    result: Result
    seconds: float
    reused: int                   # steps taken from the previous render


def prepare(path: Path, *, long_side: int = io.PROXY_LONG_SIDE) -> Iterator[tuple[str, Prepared]]:
    photo = io.read(path)
    pixels, scale = io.proxy_pixels(photo, long_side)
    proxy = photo.with_pixels(pixels)
    yield "prepared", Prepared(path, proxy, analyse(proxy), scale, photo.size)


def _key(step: Step, preset: Preset) -> tuple:
    return step.edit, step.strength, repr(step.params), preset.budget


def run_steps(prepared: Prepared, preset: Preset, chain: list[Link],
              ref: Reference | None) -> tuple[np.ndarray, np.ndarray, list[StepReport], int]:
    """(pixels, touched, reports, steps reused) for `preset` on the proxy, re-running only the steps
    after the longest prefix shared with `chain`, which is updated to this render."""
    keys = [_key(step, preset) for step in preset.steps]
    shared = 0
    while shared < min(len(keys), len(chain)) and chain[shared][0] == keys[shared]:
        shared += 1
    del chain[shared:]
    if chain:
        current, touched = chain[-1][1], chain[-1][2]
    else:
        current, touched = prepared.proxy.pixels, np.zeros(prepared.proxy.pixels.shape[:2], np.float32)
    for step, key in zip(preset.steps[shared:], keys[shared:]):
        current, touched, report = run_step(step, prepared.proxy, current, touched, prepared.faces, ref, preset)
        chain.append((key, current, touched, report))
    return current, touched, [link[3] for link in chain], shared


def _render(prepared: Prepared, preset: Preset, *, guard: bool) -> Rendered:
    start = time.perf_counter()
    ref = None
    if guard:
        if prepared.reference is None:
            prepared.reference = reference(prepared.proxy.pixels, prepared.faces)
        ref = prepared.reference
    chain = prepared.chains["guarded" if guard else "preview"]
    pixels, touched, reports, reused = run_steps(prepared, preset, chain, ref)
    metrics = measure(ref, pixels, touched=touched) if guard else {}
    result = Result(pixels, reports, metrics, [], prepared.faces, preset)    # the window shows step notes
    return Rendered(result, time.perf_counter() - start, reused)


def render(prepared: Prepared, preset: Preset) -> Iterator[tuple[str, Rendered]]:
    yield "preview", _render(prepared, preset, guard=False)
    yield "guarded", _render(prepared, preset, guard=True)


def export(original: Path, target: Path, preset: Preset) -> Iterator[tuple[str, Outcome]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    yield "exported", retouch_file(original, target, preset, overwrite=True)


def thumbnail(path: Path, long_side: int) -> np.ndarray:
    """Small float RGB of a photo for the strip (JPEG decoded at reduced size)."""
    photo = io.read(path, proxy=True)
    pixels, _ = io.proxy_pixels(photo, long_side)
    return pixels
