"""One photo from file to file: read, analyse, retouch under the guard, write output and edit record.

Shared by `retouch apply`, the batch workers and the GUI's export, so every output is made the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import files, outputs, provenance, record
from .budget import Budget
from .credentials import Credentials
from .exif import upright_exif
from .io import PhotoError, dropped, output_format, read
from .staging import check_folder, sha256_file
from .measure import measure, reference, verdict, worst
from .photo import Photo
from .pipeline import Result, retouch
from .presets import Preset

MIN_SIDE = 32     # pixels: face analysis and the person matte need room (10-20 px frames broke them)


class NoFaceError(PhotoError):
    """A preset that only edits faces met a photo with none, and the caller leaves such a file as it is
    (Edit-In, retouching in place); retouch_file passes it through instead."""


class OutputConflict(FileExistsError):
    """The output's path holds something retouch must not replace unasked (see outputs.examine)."""


@dataclass
class Outcome:
    output: Path
    record: dict
    record_path: Path
    result: Result | None           # None when the output was already done (skipped)
    skipped: bool = False
    moved: tuple[Path, ...] = ()    # what was replaced, where it went (recoverable)


def check_size(photo: Photo) -> None:
    """PhotoError naming the photo's file when it is too small to analyse (under MIN_SIDE on a side)."""
    width, height = photo.size
    if min(width, height) < MIN_SIDE:
        raise PhotoError(f"{photo.source}: {width}x{height} is too small to analyse or retouch "
                         f"(at least {MIN_SIDE} pixels on each side)")


def _input_sha256(source: Path) -> str:
    try:
        return sha256_file(source)
    except (FileNotFoundError, files.FileReadError) as error:
        raise PhotoError(str(error)) from None


def retouch_file(source: str | Path, target: str | Path, preset: Preset, *, quality: int | None = None,
                 overwrite: bool = False, progress: Callable[[str, int, int], None] | None = None,
                 max_pixels: int | None = None, resume: bool = False,
                 aside: Path | None = None, sign: Credentials | bool = True) -> Outcome:
    """Retouch `source` into `target` (format from its suffix) and write the record beside it, as one unit
    (outputs.write).

    The original is never written: a target that is the source is refused whatever the flags. The output's
    format and folder are checked before any work. What is at `target` decides (outputs.examine): nothing,
    or our own output of this photo whose write was cut short, is written; with `resume` (a batch), our
    output of this photo and preset is kept as it is (skipped) and our output of this photo with another
    preset is redone. Anything else raises OutputConflict unless `overwrite`; with `aside`, what is then
    replaced is moved there first. A photo without a face is passed through with the steps that need none
    (its record says so). Where the output's format cannot hold the source's 16 bits or transparency, the
    record's output names what was dropped (output.dropped) and a warning says so. The output is signed
    with Content Credentials (provenance): `sign` True means with the studio's identity when one is set up
    (a broken one raises CredentialsError before any work), False leaves it unsigned, or it is the identity
    to sign with.
    """
    source, target = Path(source), Path(target)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise PhotoError(f"{target}: is the original photo; retouch never writes over an original")
    outputs.check_target(target)
    check_folder(target.parent)
    files.sweep(target.parent, names=(target.name, *(path.name for path in record.sidecar_paths(target))))
    input_sha = _input_sha256(source)
    existing = outputs.examine(target, input_sha, preset.digest)
    identity = provenance.resolve(sign)
    if resume and existing.state == "done":
        return Outcome(target, existing.record, record.sidecar_paths(target)[0], None, skipped=True)
    writable = existing.state == "none" or (existing.state == "ours" and (resume or existing.sha256 is None))
    if not (writable or overwrite):
        raise OutputConflict(f"{target}: {existing.reason}; choose another output "
                             f"{'folder' if resume else 'file'} or --overwrite")
    photo = read(source) if max_pixels is None else read(source, max_pixels=max_pixels)
    check_size(photo)
    upright_exif(photo)              # a malformed EXIF block is refused now, not after the work
    result = retouch(photo, preset, progress=progress, in_place=True)    # its original pixels are not read again
    done = result.as_dict()
    lost = dropped(photo, target)
    done["warnings"] = [*photo.notes, *done["warnings"], *([_dropped_words(lost, target)] if lost else [])]
    entry = record.build(done, input_path=source, input_sha256=input_sha, output_path=target,
                         preset_summary=preset.summary())
    entry["output"]["dropped"] = lost
    entry, signing = provenance.prepare(identity, entry, source, target)
    moved: tuple[Path, ...] = ()
    if existing.state == "conflict" and aside is not None:
        moved = tuple(outputs.move_aside(target, aside))
    entry, json_path = outputs.write(photo.with_pixels(result.pixels), target, entry,
                                     quality=quality or preset.output.quality,
                                     previous=None if moved else existing.sha256, sign=signing)
    return Outcome(target, entry, json_path, result, moved=moved)


def _dropped_words(lost: list[str], target: Path) -> str:
    return (f"the source's {' and '.join(lost)} dropped: a {output_format(target)} output cannot hold "
            f"{'them' if len(lost) > 1 else 'it'} (output format \"same\" keeps the source's)")


def compare_files(original: str | Path, retouched: str | Path, budget: Budget) -> dict:
    """Every measure of `retouched` against `original`, with the budget's verdict."""
    from .face import analyse
    before, after = read(original), read(retouched)
    check_size(before)
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
