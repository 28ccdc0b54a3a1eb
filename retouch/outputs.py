"""An output and its edit record as one unit: written together, recognised on the next run, never taken over.

A retouched output is three files: the image (with the XMP packet embedded), its XMP sidecar and its JSON
record. `write` stages all three (staging.staged) and renames them into place record first, image last; the
record names the sha256 of the image and of the sidecar it goes with, and the image it replaces. Whatever
instant a run is killed at, the files on disk are then one of: the old unit whole; a new record beside the
old image (which the record names as the one it replaces); or the new unit whole.

`examine` reads what is at an output's path before anything is written there and says what it is:

    none       nothing there: write
    done       our output of this same input and preset, matching its record and sidecar: nothing to do
    ours       our output of this same input (another preset, or a write that was cut short), no review
               decision: safe to write over
    conflict   anything else: a file with no record of ours, one made from another photo, one that carries
               a review decision, one changed since we made it, or a record that cannot be read; it is only
               replaced when the user says so (--overwrite), and `move_aside` then keeps it recoverable
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import files, io, record, staging
from .photo import Photo

REPLACED = ".retouch-replaced"     # inside OUT_DIR: outputs replaced with --overwrite, by run


@dataclass(frozen=True)
class Existing:
    """What is at an output's path (see the module doc)."""

    state: str                  # "none", "done", "ours" or "conflict"
    reason: str                 # one phrase, for the user: why it is a conflict, or "already exists"
    record: dict | None = None
    sha256: str | None = None   # of the file at the output's path now (None where there is none)


def check_target(output: Path) -> str:
    """Before any work: the output's format (returned) can be written and its record's name fits the file
    system; io.PhotoError naming the output otherwise."""
    kind = io.output_format(output)
    json_path, _ = record.sidecar_paths(output)
    length = len(os.fsencode(json_path.name))
    if length > files.NAME_MAX:
        raise io.PhotoError(f"{output}: the name is too long to keep an edit record beside it ({json_path.name!r} "
                            f"would be {length} bytes; a file name may be {files.NAME_MAX}); choose a shorter name")
    return kind


def _conflict(reason: str, entry: dict | None = None, sha: str | None = None) -> Existing:
    return Existing("conflict", reason, entry, sha)


def _field(entry: dict, name: str) -> dict:
    value = entry.get(name)
    return value if isinstance(value, dict) else {}


def _sidecar_matches(path: Path, expected: str | None) -> bool:
    try:
        return expected is not None and staging.sha256_file(path) == expected
    except (OSError, ValueError):
        return False


def examine(output: str | os.PathLike, input_sha256: str, preset_digest: str | None = None) -> Existing:
    """What is at `output` now, for a photo whose input has `input_sha256`, retouched with the preset of
    `preset_digest` (see the module doc). Reads; never writes."""
    output = Path(output)
    json_path, xmp_path = record.sidecar_paths(output)
    present = os.path.lexists(output)
    try:
        entry = record.read(output)
    except FileNotFoundError:
        entry = None
    except ValueError as error:
        return _conflict(f"has an edit record that cannot be read ({error})")
    if entry is None:
        if present:
            return _conflict("exists and was not made by retouch (it has no edit record)")
        if os.path.lexists(xmp_path):
            return _conflict(f"has an XMP sidecar ({xmp_path.name}) that retouch did not write")
        return Existing("none", "")
    try:
        sha = staging.sha256_file(output) if present else None
    except (OSError, ValueError) as error:
        return _conflict(f"cannot be read ({error})", entry)
    made, source = _field(entry, "output"), _field(entry, "input")
    recorded = made.get("sha256")
    if source.get("sha256") != input_sha256:
        return _conflict(f"was made from another photo ({source.get('path') or 'unknown'})", entry, sha)
    if recorded is not None and sha is not None and sha not in (recorded, made.get("previous_sha256")):
        return _conflict("was changed after retouch made it (it no longer matches its edit record)", entry, sha)
    if (recorded is not None and sha == recorded and _field(entry, "preset").get("digest") == preset_digest
            and _sidecar_matches(xmp_path, made.get("xmp_sha256"))):
        return Existing("done", "already exists", entry, sha)
    decision = _field(entry, "review").get("decision")
    if decision:
        return _conflict(f"carries a review decision ({decision})", entry, sha)
    return Existing("ours", "already exists", entry, sha)


def move_aside(output: Path, folder: Path) -> list[Path]:
    """Move `output` and its sidecars (those there are) into `folder`, never over a file already there; the
    record moves last. Returns where each went."""
    json_path, xmp_path = record.sidecar_paths(output)
    folder.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in (output, xmp_path, json_path):
        if not os.path.lexists(path):
            continue
        target, number = folder / path.name, 1
        while os.path.lexists(target):
            number += 1
            target = folder / f"{number}-{path.name}"
        os.rename(path, target)
        moved.append(target)
    return moved


def write(photo: Photo, output: Path, entry: dict, *, quality: int, previous: str | None,
          sign: Callable[[Path], None] | None = None, xmp: bytes | None = None) -> tuple[dict, Path]:
    """Write the image, its XMP sidecar and its JSON record as one unit (see the module doc). `previous` is
    the sha256 of the file this replaces, if any; `sign` signs the staged image where it lies, before its
    sha256 is taken (provenance.Signing); `xmp` is the packet to embed and write beside it (default: the
    record's own; Edit-In passes the host's packet with our history added). Returns the record as written
    and its path. Nothing of the unit appears unless all three were staged (errors.DiskFull when the disk
    is full)."""
    json_path, xmp_path = record.sidecar_paths(output)
    packet = xmp if xmp is not None else record.xmp_packet(entry)
    with staging.staged() as stage:
        io.write(photo, output, quality=quality, xmp=packet, allow_overwrite=True, stage=stage)
        if sign is not None:
            sign(stage.temporary(output))
        made = {**entry["output"], "sha256": staging.sha256_file(stage.temporary(output)),
                "previous_sha256": previous, "xmp_sha256": hashlib.sha256(packet).hexdigest()}
        entry = entry | {"output": made}
        stage.data(xmp_path, packet)
        stage.data(json_path, record.encode(entry))
        stage.commit(order=(json_path, xmp_path, output))
    return entry, json_path
