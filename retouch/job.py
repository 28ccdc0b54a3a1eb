"""One photo from file to file: read, analyse, retouch under the guard, write output and edit record.

Shared by `retouch apply`, the batch workers and the GUI's export, so every output is made the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import record
from .budget import Budget
from .io import PhotoError, read, sha256_file, write
from .measure import measure, reference, verdict, worst
from .pipeline import Result, retouch
from .presets import Preset


class NoFaceError(PhotoError):
    """A preset that only edits faces met a photo with none: nothing would be retouched."""


@dataclass
class Outcome:
    output: Path
    record: dict
    record_path: Path
    result: Result


def retouch_file(source: str | Path, target: str | Path, preset: Preset, *, quality: int | None = None,
                 overwrite: bool = False, progress: Callable[[str, int, int], None] | None = None,
                 max_pixels: int | None = None, require_face: bool = False) -> Outcome:
    """Retouch `source` into `target` (format from its suffix) and write the record beside it.

    The original is never written: a target that is the source is refused whatever the flags, and an
    existing target needs `overwrite`. With `require_face`, a photo without a face raises NoFaceError
    before anything is written.
    """
    source, target = Path(source), Path(target)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise PhotoError(f"{target}: is the original photo; retouch never writes over an original")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target}: already exists (pass --overwrite to replace it)")
    input_sha = sha256_file(source) if source.is_file() else ""
    photo = read(source) if max_pixels is None else read(source, max_pixels=max_pixels)
    result = retouch(photo, preset, progress=progress, in_place=True)    # its original pixels are not read again
    if require_face and not len(result.faces):
        raise NoFaceError(f"{source}: no face found")
    entry = record.build(result.as_dict(), input_path=source, input_sha256=input_sha,
                         output_path=target, preset_summary=preset.summary())
    write(photo.with_pixels(result.pixels), target, quality=quality or preset.output.quality,
          xmp=record.xmp_packet(entry), allow_overwrite=overwrite)
    json_path, _ = record.write(entry, target)
    return Outcome(target, entry, json_path, result)


def compare_files(original: str | Path, retouched: str | Path, budget: Budget) -> dict:
    """Every measure of `retouched` against `original`, with the budget's verdict."""
    from .face import analyse
    before, after = read(original), read(retouched)
    if before.pixels.shape != after.pixels.shape:
        raise PhotoError(f"{retouched}: size {after.size[0]}x{after.size[1]} differs from the original's "
                         f"{before.size[0]}x{before.size[1]}; measures need the same framing")
    faces = analyse(before, person=False)
    metrics = measure(reference(before.pixels, faces), after.pixels)
    flat = worst(metrics)
    broken = budget.breaches(flat)
    return {"original": str(original), "retouched": str(retouched), "metrics": metrics, "summary": flat,
            "budget": budget.as_dict(), "broken": broken, "within_budget": not broken,
            "verdict": verdict(flat, budget)}
