"""Planning a session and resuming it: which photos, which outputs, what is already there.

`plan` finds every supported photo of a session folder and names its output (same folders, the preset's
suffix, the format's extension); nothing is written. Resuming rests on `existing`: a photo whose output,
XMP sidecar and edit record already exist as one unit for the same input sha256 and preset digest is
skipped (outputs.examine), so running the same command again after an interruption does only what is left.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from .. import outputs, record
from ..credentials import Credentials
from ..io import PhotoError, RAW_SUFFIXES, SUPPORTED_SUFFIXES
from ..presets import Preset
from ..staging import check_folder, sha256_file

FORMAT_SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}
_SAME = {".jpg": ".jpg", ".jpeg": ".jpg", ".jpe": ".jpg", ".png": ".png", ".tif": ".tif", ".tiff": ".tif",
         ".webp": ".webp"}   # format "same": each writable input's own extension
_SIDECAR_ENDINGS = (".retouch.json", ".xmp")


class SessionError(Exception):
    """The session cannot be run as asked (a usage problem: exit 2); one line naming the path."""


@dataclass(frozen=True)
class Task:
    """One photo: its path in the session, its output's path in OUT_DIR, and what to do (sent to a worker)."""

    file: str            # relative to the session, POSIX separators
    output: str          # relative to OUT_DIR
    source: str          # absolute paths: workers on other machines need the same shared mount
    target: str
    preset: Preset
    overwrite: bool = False   # replace what is not ours to replace (moved into `aside` first)
    aside: str = ""           # absolute: where this run moves what it replaces
    sign: Credentials | bool = True   # Content Credentials: job.retouch_file's `sign`


@dataclass(frozen=True)
class Plan:
    session: Path
    out_dir: Path
    preset: Preset
    tasks: tuple[Task, ...]
    replaced: Path | None = None   # OUT_DIR/.retouch-replaced/RUN when overwriting


def _hidden(relative: PurePosixPath) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def discover(session: Path, *, recursive: bool = False) -> list[PurePosixPath]:
    """Supported photos in `session` (RAW included; suffix case ignored), relative, sorted.

    Hidden files and folders and retouch's own sidecars are left out; symlinked folders are not followed.
    """
    found = []
    for folder, subfolders, names in os.walk(session):
        base = PurePosixPath(Path(folder).relative_to(session).as_posix())
        subfolders[:] = sorted(d for d in subfolders if recursive and not d.startswith("."))
        for name in names:
            relative = base / name
            if (Path(name).suffix.lower() in SUPPORTED_SUFFIXES and not _hidden(relative)
                    and not name.lower().endswith(_SIDECAR_ENDINGS)):
                found.append(relative)
    return sorted(found)


def output_suffix(source_suffix: str, fmt: str) -> str:
    """The output's extension: the format's, or for "same" the input's (JPEG, PNG, TIFF, WebP: bit depth and
    alpha kept), TIFF for RAW (16 bits kept)."""
    source_suffix = source_suffix.lower()
    if fmt != "same":
        return FORMAT_SUFFIX[fmt]
    if source_suffix in RAW_SUFFIXES:
        return FORMAT_SUFFIX["tiff"]
    return _SAME.get(source_suffix, FORMAT_SUFFIX["jpeg"])


def output_names(files: Iterable[PurePosixPath], fmt: str, suffix: str) -> dict[PurePosixPath, PurePosixPath]:
    """Each input's output path (same folders; stem + preset suffix + format's extension).

    Where two inputs would share an output (IMG_1.CR2 and IMG_1.JPG as JPEG), each keeps its own
    extension in the name (IMG_1-cr2.jpg, IMG_1-jpg.jpg). Names are compared ignoring case.
    """
    def name(file: PurePosixPath, tag: str = "") -> PurePosixPath:
        return file.with_name(f"{file.stem}{tag}{suffix}{output_suffix(file.suffix, fmt)}")

    files = list(files)
    first = {file: name(file) for file in files}
    shared = Counter(str(path).lower() for path in first.values())
    names = {file: (name(file, "-" + file.suffix[1:].lower()) if shared[str(path).lower()] > 1 else path)
             for file, path in first.items()}
    taken: dict[str, PurePosixPath] = {}
    for file, path in names.items():
        if str(path).lower() in taken:
            raise SessionError(f"{file} and {taken[str(path).lower()]} would both be written to {path}; "
                               "rename one of them")
        taken[str(path).lower()] = file
    return names


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_folders(session: Path, out_dir: Path) -> tuple[Path, Path]:
    """Both folders resolved; SessionError if outputs could land among the inputs."""
    session, out_dir = Path(session).resolve(), Path(out_dir).resolve()
    if not session.is_dir():
        raise SessionError(f"{session}: session folder not found")
    if out_dir.exists() and not out_dir.is_dir():
        raise SessionError(f"{out_dir}: output folder is a file")
    if _inside(out_dir, session):
        raise SessionError(f"{out_dir}: the output folder must be outside the session folder {session} "
                           "(retouch never writes among the originals)")
    if _inside(session, out_dir):
        raise SessionError(f"{out_dir}: the output folder must not contain the session folder {session} "
                           "(outputs could land among the originals)")
    return session, out_dir


def needs_a_face(preset: Preset) -> bool:
    """Whether every step of `preset` needs a face (then a photo without one has nothing to retouch: Edit-In
    leaves such a file as it is; a batch passes it through, see worker)."""
    from .. import edits
    return bool(preset.steps) and all(edits.get(step.edit).needs_face for step in preset.steps)


def plan(session: str | Path, out_dir: str | Path, preset: Preset, *, recursive: bool = False,
         fmt: str | None = None, overwrite: bool = False, sign: Credentials | bool = True) -> Plan:
    """The tasks of a session: one per photo found, with its output path. Writes nothing. With
    `overwrite`, outputs that are not ours to replace are replaced, moved first into a folder of this run
    under OUT_DIR/.retouch-replaced. `sign` is how outputs are signed (job.retouch_file): pass the identity
    loaded once here, so every worker signs alike."""
    session, out_dir = check_folders(Path(session), Path(out_dir))
    fmt = fmt or preset.output.format
    if fmt not in (*FORMAT_SUFFIX, "same"):
        raise SessionError(f"format {fmt!r} is not one of jpeg, tiff, png, same")
    photos = discover(session, recursive=recursive)
    names = output_names(photos, fmt, preset.output.suffix)
    replaced = out_dir / outputs.REPLACED / time.strftime("%Y%m%d-%H%M%S") if overwrite else None
    tasks = tuple(Task(str(file), str(names[file]), str(session / file), str(out_dir / names[file]), preset,
                       overwrite, str(replaced / names[file].parent) if replaced else "", sign)
                  for file in photos)
    return Plan(session, out_dir, preset, tasks, replaced)


def existing(task: Task) -> outputs.Existing:
    """What is at the task's output now (outputs.examine); the input is only read when there is something."""
    target = Path(task.target)
    if not any(os.path.lexists(path) for path in (target, *record.sidecar_paths(target))):
        return outputs.Existing("none", "")
    try:
        input_sha = sha256_file(task.source)
    except (OSError, ValueError) as error:
        return outputs.Existing("conflict", f"its input cannot be read ({error})")
    return outputs.examine(target, input_sha, task.preset.digest)


def preview(session_plan: Plan) -> list[tuple[Task, outputs.Existing]]:
    """(task, what is at its output now) for every photo: what a run would do, for --dry-run. Writes nothing."""
    return [(task, existing(task)) for task in session_plan.tasks]


def check_output(session_plan: Plan) -> None:
    """Before any work: OUT_DIR and the folders of every output exist and take a new file; PhotoError
    naming the folder otherwise (DiskFull when the disk is full)."""
    check_folder(session_plan.out_dir)
    for folder in sorted({Path(task.target).parent for task in session_plan.tasks}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PhotoError(f"{folder}: cannot write here ({error.strerror or error})") from None
