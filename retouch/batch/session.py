"""Running a session: every task of a plan on an executor, the folder locked, the report written."""
from __future__ import annotations

import time
from typing import Protocol

from .. import files, record
from ..io import PhotoError
from .executors import Executor
from .planning import Plan, Task, check_output
from .report import Report, checklist, save
from .worker import WorkerDied, process, report_row


class Progress(Protocol):
    """What `run` tells as photos finish (the command line draws it as a progress line)."""

    def advance(self, row: dict) -> None: ...

    def close(self) -> None: ...


def _lost_row(task: Task, error: BaseException) -> dict:
    return report_row(task, "failed", reason=str(error) if isinstance(error, WorkerDied)
                else f"{task.source}: the executor lost this photo ({type(error).__name__}: {error})")


def run(session_plan: Plan, executor: Executor, *, progress: Progress | None = None) -> Report:
    """Run every task of the plan on `executor` (closed at the end), then write and return the report.

    OUT_DIR is checked (check_output: PhotoError) and locked (files.FolderError when another batch holds
    it) before any photo starts. On a full disk no new photo starts (Report.stopped says so) and the
    report is still written if it fits (Report.unsaved says why not). KeyboardInterrupt passes through
    once the workers are stopped; EngineError when the executor fails as a whole. Re-running resumes.
    """
    session, out_dir = session_plan.session, session_plan.out_dir
    started, clock = record.now(), time.perf_counter()
    rows, stopped = [], ""
    try:
        check_output(session_plan)
        lock = files.FolderLock(out_dir)
        lock.acquire()
    except BaseException:
        executor.close()
        raise
    with lock:
        files.sweep(out_dir)
        try:
            executor.check(session, out_dir)
            for task, result in executor.map_unordered(process, session_plan.tasks):
                rows.append(result if isinstance(result, dict) else _lost_row(task, result))
                if progress:
                    progress.advance(rows[-1])
                if rows[-1].get("disk_full"):
                    stopped = (f"{out_dir}: the disk is full; no further photo was started. Free some "
                               "space and run the same command again to finish")
                    break
        finally:
            if progress:
                progress.close()
            executor.close()
        if stopped:
            handled = {row["file"] for row in rows}
            rows += [report_row(task, "failed", reason=f"{task.source}: not retouched: the disk is full",
                          disk_full=True) for task in session_plan.tasks if task.file not in handled]
        rows.sort(key=lambda row: row["file"])
        preset = session_plan.preset
        info = {"session": str(session), "output": str(out_dir),
                "preset": {"name": preset.name, "digest": preset.digest},
                "run": {"executor": executor.name, "started": started,
                        "seconds": round(time.perf_counter() - clock, 3)}}
        report = Report(rows, checklist(rows, preset.budget["identity"]), out_dir, info, stopped=stopped,
                        replaced=session_plan.replaced)
        try:
            save(report)
        except (PhotoError, OSError) as error:
            report.unsaved = str(error)
    return report
