"""A session's report: one row per photo, the photographer's checklist, report.json and report.csv, and
the lines the command prints at the end."""
from __future__ import annotations

import csv
import io as _io
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..measure import MEASURES
from ..staging import write_bytes_atomic

CHECKLIST_SHARE = 0.10          # the photographer's checklist: the lowest 10% identity (at least one)


@dataclass
class Report:
    """A session's outcome: one row per photo (sorted by path), the checklist, and where it was saved."""

    rows: list[dict]
    checklist: list[dict]
    out_dir: Path
    info: dict = field(default_factory=dict)
    stopped: str = ""              # why the run stopped starting photos (a full disk), one line
    unsaved: str = ""              # why report.json and report.csv could not be written, one line
    replaced: Path | None = None   # where replaced outputs were moved (with --overwrite)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(row["status"] for row in self.rows)
        return ({status: counts[status] for status in ("done", "no face", "skipped", "failed")}
                | {"total": len(self.rows)})

    @property
    def exit_code(self) -> int:
        """0 when every photo is done, passed through without a face, or was already done; 1 when any
        failed."""
        return 1 if self.counts["failed"] else 0

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.out_dir / "report.json", self.out_dir / "report.csv"


def checklist(rows: list[dict], identity_min: float, *, share: float = CHECKLIST_SHARE) -> list[dict]:
    """The photos to look at first: the lowest identity similarity of the session (the lowest `share`,
    at least one) and any below the budget's identity limit."""
    measured = sorted((row for row in rows if row["measures"].get("identity") is not None),
                      key=lambda row: (row["measures"]["identity"], row["file"]))
    lowest = max(1, math.ceil(share * len(measured))) if measured else 0
    flagged = []
    for rank, row in enumerate(measured):
        identity = row["measures"]["identity"]
        if identity < identity_min:
            flagged.append({"file": row["file"], "identity": identity, "why": "below the budget"})
        elif rank < lowest:
            flagged.append({"file": row["file"], "identity": identity, "why": "lowest in the session"})
    return flagged


_CSV_COLUMNS = ("file", "status", "reason", "output", "faces", *MEASURES, "steps", "flagged", "seconds")


def _csv(rows: list[dict], flagged: set[str]) -> bytes:
    text = _io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        steps = "; ".join(f"{s['edit']} {s['requested']:.2f}->{s['applied']:.2f}" for s in row["steps"])
        measures = ["" if row["measures"].get(name) is None else f"{row['measures'][name]:.4f}"
                    for name in MEASURES]
        writer.writerow([row["file"], row["status"], row["reason"], row["output"],
                         "" if row["faces"] is None else row["faces"], *measures, steps,
                         "yes" if row["file"] in flagged else "", f"{row['seconds']:.2f}"])
    return text.getvalue().encode("utf-8")


def save(report: Report) -> tuple[Path, Path]:
    """Write report.json and report.csv into OUT_DIR, atomically."""
    json_path, csv_path = report.paths
    document = {"tool": "retouch", "version": __version__, **report.info, "counts": report.counts,
                "checklist": report.checklist, "files": report.rows}
    write_bytes_atomic(json_path, json.dumps(document, indent=2).encode("utf-8"))
    write_bytes_atomic(csv_path, _csv(report.rows, {item["file"] for item in report.checklist}))
    return json_path, csv_path


def _dropped_lines(rows: list[dict]) -> list[str]:
    """One line, where the chosen format dropped what some sources had (16-bit depth, transparency)."""
    lost = Counter(what for row in rows for what in row.get("dropped") or [])
    if not lost:
        return []
    outputs = sum(bool(row.get("dropped")) for row in rows)
    what = ", ".join(f"{what} ({count})" for what, count in sorted(lost.items()))
    return [f"{outputs} output{'s' if outputs != 1 else ''} lost what {'their' if outputs != 1 else 'its'} format "
            f"cannot hold: {what}; output format \"same\" keeps it (each record's warnings name it)"]


def summary_lines(report: Report) -> list[str]:
    """What the command prints at the end: counts, where the report is, the photographer's checklist."""
    counts = report.counts
    no_face = (f"{counts['no face']} no face (passed through without face edits), " if counts["no face"]
               else "")
    lines = [f"{counts['total']} photos: {counts['done']} done, {no_face}{counts['skipped']} already done, "
             f"{counts['failed']} failed",
             f"outputs: {report.out_dir}",
             f"report: not written ({report.unsaved})" if report.unsaved
             else f"report: {report.paths[0]} and {report.paths[1].name}"]
    moved = sum(bool(row.get("moved")) for row in report.rows)
    if moved:
        lines.append(f"{moved} earlier output{'s' if moved != 1 else ''} replaced: moved with "
                     f"{'their records' if moved != 1 else 'its record'} to {report.replaced} (recoverable)")
    lines += _dropped_lines(report.rows)
    if report.checklist:
        lines.append("check these first (lowest identity similarity to the original):")
        lines += [f"  {item['file']}  identity {item['identity']:.3f}  ({item['why']})"
                  for item in report.checklist]
    return lines
