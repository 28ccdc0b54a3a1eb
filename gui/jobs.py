"""The library work the app runs off the UI thread, each a generator of (stage, value) so a newer
request can abandon it between stages. No Qt here: these are plain calls into retouch.

- prepare: read a photo, make its proxy (long side ~1500 px) and analyse the proxy, once per photo;
- render: the proxy retouched unguarded first (edit + blend only: fast, shown at once), then guarded
  (measured and backed off: the numbers and pixels export will get); when the preview's edits are slow
  (they last took over DRAFT_WHEN_S), a draft at half the proxy's size comes first;
- full_size: the photo at full resolution for the 100% view: read once per photo (the before side), then
  retouched step by step, unguarded, at the strengths the guard chose on the proxy (pipeline.as_applied:
  the after side);
- export: the full-resolution photo through job.retouch_file, writing the output and its record.
Whatever goes to the screen is converted to 8-bit here, so the UI thread only wraps it.

A slider usually changes one step, and a step's output depends only on the steps before it, so each
photo keeps the chains of its last renders (pipeline.Chain): a new render re-runs only the steps from the
first one that changed, and a step whose edit and params meet the same pixels as before (only its
strength moved) is blended again without running its edit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from retouch import io, resample
from retouch.face import analyse
from retouch.job import Outcome, retouch_file
from retouch.measure import Reference, reference
from retouch.photo import Faces, Photo
from retouch.pipeline import Chain, Result, StepKey, change_key, chosen_heals, known_changes, shared_steps
from retouch.presets import Preset

DRAFT_SCALE = 0.5         # a draft is the proxy at half size: a quarter of the pixels to edit
DRAFT_WHEN_S = 0.15       # a render drafts first when the edits it re-runs last took longer than this


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
    seconds: dict[str, float] = field(default_factory=dict)    # each edit's last run time here (both chains)
    chains: dict[str, Chain] = field(default_factory=dict)
    reference: Reference | None = None

    def __post_init__(self) -> None:
        self.chains = {kind: Chain(seconds=self.seconds) for kind in ("preview", "guarded")}

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


def _draft_of(prepared: Prepared) -> Prepared:
    """`prepared` at DRAFT_SCALE: its proxy area-averaged, its faces scaled (no new analysis)."""
    width, height = prepared.proxy.size
    size = (max(1, round(width * DRAFT_SCALE)), max(1, round(height * DRAFT_SCALE)))
    pixels = cv2.resize(prepared.proxy.pixels, size, interpolation=cv2.INTER_AREA)
    factor = size[0] / width
    return Prepared(prepared.path, prepared.proxy.with_pixels(pixels), rgb8(pixels),
                    prepared.faces.scaled(factor, size), prepared.scale * factor, prepared.full_size)


def prepare(path: Path, *, long_side: int = io.PROXY_LONG_SIDE) -> Iterator[tuple[str, Prepared]]:
    photo = io.read(path)
    pixels, scale = resample.proxy_pixels(photo, long_side)
    proxy = photo.with_pixels(pixels)
    prepared = Prepared(path, proxy, rgb8(pixels), analyse(proxy), scale, photo.size)
    prepared.draft = _draft_of(prepared)
    yield "prepared", prepared


def slow(prepared: Prepared, preset: Preset) -> bool:
    """Whether the preview of `preset` is expected to take over DRAFT_WHEN_S: the edits it would run
    (the first changed step's unless only its strength moved, then every later one) took that long
    when they last ran here."""
    links = prepared.chains["preview"].links
    keys = [StepKey.of(step, preset) for step in preset.steps]
    shared = shared_steps(keys, links)
    if shared == len(keys):
        return False
    made_from = links[shared - 1].made_of if shared else ()
    first_known = change_key(made_from, keys[shared]) in known_changes(*prepared.chains.values())
    return sum(prepared.seconds.get(key.edit, 0.0) for key in keys[shared + first_known:]) > DRAFT_WHEN_S


def _render(prepared: Prepared, preset: Preset, *, guard: bool) -> Rendered:
    start = time.perf_counter()
    ref = None
    if guard:
        released = chosen_heals(preset)
        if prepared.reference is None or prepared.reference.released != released:
            prepared.reference = reference(prepared.proxy.pixels, prepared.faces, released=released)
            prepared.chains["guarded"].links.clear()      # measured against what the user had not released
        ref = prepared.reference
    chain = prepared.chains["guarded" if guard else "preview"]
    reused = chain.run(prepared.proxy, prepared.faces, preset, ref, known=known_changes(*prepared.chains.values()))
    result = chain.result(prepared.proxy, prepared.faces, preset, ref)
    return Rendered(result, rgb8(result.pixels), time.perf_counter() - start, reused)


def render(prepared: Prepared, preset: Preset, draft_preset: Preset) -> Iterator[tuple[str, Rendered]]:
    """The draft (`draft_preset` on prepared.draft) when the preview would be slow, the preview, the
    guarded result."""
    if slow(prepared, preset):
        yield "draft", _render(prepared.draft, draft_preset, guard=False)
    yield "preview", _render(prepared, preset, guard=False)
    yield "guarded", _render(prepared, preset, guard=True)


def full_size(path: Path, kept: FullResolution, preset: Preset | None) -> Iterator[tuple[str, object]]:
    """(path, 8-bit before) at full resolution, then with `preset`: each step's name as it starts
    (a newer request may abandon the work there) and the 8-bit after, retouched unguarded."""
    kept.hold(path)
    yield "before", (path, kept.rgb)
    if preset is None:
        return
    faces = kept.analysed()
    chain = Chain(keep=False)
    steps = chain.steps(kept.photo, faces, preset, None)
    next(steps)
    for _, step in steps:
        yield "retouching", step.edit
    yield "after", rgb8(chain.canvas(kept.photo).pixels)


def export(original: Path, target: Path, preset: Preset) -> Iterator[tuple[str, Outcome]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    yield "exported", retouch_file(original, target, preset, overwrite=True)


def thumbnail(path: Path, long_side: int) -> np.ndarray:
    """Small 8-bit RGB of a photo for the strip (JPEG decoded at reduced size)."""
    photo = io.read(path, proxy=True)
    pixels, _ = resample.proxy_pixels(photo, long_side)
    return rgb8(pixels)
