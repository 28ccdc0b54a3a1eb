"""What the review app shows for a folder: one Entry per photo, its edit record and its status badge.

A folder may be a session of originals, an OUT_DIR written by `retouch batch` (outputs beside their
`*.retouch.json` records, whose `input.path` names the original), or a mix. Every output with a record is
one entry (before = its original, after = the output's settings); every other photo is an entry of its
own, linked to an earlier GUI export in `FOLDER/retouched/` when there is one.

Review decisions always belong to an edit record. An original without one is exported first (current
settings, into `FOLDER/retouched/`), then the decision is stored in that new record: what was approved
or rejected is then always a concrete retouched file with its settings and measures, never a bare
original, and the originals' folder is never written to except for that one subfolder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from retouch import record
from retouch.batch import output_names
from retouch.io import SUPPORTED_SUFFIXES

EXPORT_FOLDER = "retouched"

# Badge words, most important first: the thumbnail shows the first that applies.
BADGES = ("failed", "approved", "rejected", "needs changes", "no face", "backed off", "retouched", "original")


@dataclass
class Entry:
    """One photo of the folder: the original (before), the retouched output with its record (after)."""

    original: Path
    output: Path | None = None
    record: dict | None = None
    problem: str = ""            # why it cannot be shown or retouched, one line naming the file
    warning: str = ""            # what limits it (no face found), one line naming the file
    target: Path | None = None   # Edit-In: export writes back over this file (the host's), from `original`

    @property
    def shown(self) -> Path:
        """The file the thumbnail and title show: the output when there is one."""
        return self.output or self.original

    @property
    def name(self) -> str:
        return self.shown.name

    @property
    def badge(self) -> str:
        return badge(self.record, self.problem, self.warning)


def badge(entry_record: dict | None, problem: str = "", warning: str = "") -> str:
    """The status word for a photo, the first of BADGES that applies."""
    if problem:
        return "failed"
    entry_record = entry_record or {}
    decision = (entry_record.get("review") or {}).get("decision")
    if decision:
        return decision
    if warning or any(w.startswith("no face") for w in entry_record.get("warnings", [])):
        return "no face"
    if not entry_record:
        return "original"
    if any(step.get("status") in ("backed off", "dropped") for step in entry_record.get("steps", [])):
        return "backed off"
    return "retouched"


def is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def _read_record(output: Path) -> dict | None:
    try:
        return record.read(output)
    except (FileNotFoundError, ValueError):
        return None


def _outputs(folder: Path) -> list[tuple[Path, dict | None, Path]]:
    """(output, record or None when unreadable, record path) for every record in `folder`."""
    return [(output, _read_record(output), record.sidecar_paths(output)[0]) for output in record.find_outputs(folder)]


def discover(folder: str | Path) -> list[Entry]:
    """Every photo of `folder` as an Entry, in name order (outputs first when the folder has both)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    entries, used = [], set()
    for output, entry_record, record_path in _outputs(folder):
        if entry_record is None:
            entries.append(Entry(output, output, None, f"{record_path.name}: edit record unreadable"))
            used.add(output.resolve())
            continue
        original = record.original_of(entry_record, output) or output
        problem = "" if original.is_file() and original != output else f"{output.name}: original {original} not found"
        entries.append(Entry(original, output, entry_record, problem))
        used.update({output.resolve(), original.resolve()})
    exported = {}
    export_folder = folder / EXPORT_FOLDER
    if export_folder.is_dir():
        for output, entry_record, record_path in _outputs(export_folder):
            if entry_record is not None:
                original = record.original_of(entry_record, output)
                if original is not None:
                    exported[original.resolve()] = (output, entry_record)
    for path in sorted(p for p in folder.iterdir() if is_photo(p) and p.resolve() not in used):
        output, entry_record = exported.get(path.resolve(), (None, None))
        entries.append(Entry(path, output, entry_record))
    return entries


def export_target(entry: Entry, entries: list[Entry], output_format: str, suffix: str = "") -> Path:
    """Where exporting `entry` writes: back over the host's file for Edit-In, over its own output, else
    FOLDER/retouched/ under the name `retouch batch` would give it (stem + preset suffix + format extension,
    clashes told apart)."""
    if entry.target is not None:
        return entry.target
    if entry.output is not None:
        return entry.output
    names = output_names([PurePosixPath(e.original.name) for e in entries if e.output is None],
                         output_format, suffix)
    return entry.original.parent / EXPORT_FOLDER / names[PurePosixPath(entry.original.name)].name


def review(entry: Entry, decision: str | None, comment: str) -> dict:
    """Store a photographer's decision in the entry's record (the entry must have an output by now)."""
    if entry.output is None:
        raise ValueError(f"{entry.original.name}: export it before a review can be stored")
    stored = record.set_review(entry.output, decision, comment, source="photographer")
    entry.record = stored
    return stored
