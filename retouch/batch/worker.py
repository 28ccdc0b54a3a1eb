"""One photo in a worker process: retouch it into a small report row; and the worker's own set-up.

Every photo goes through `job.retouch_file`, the same path as `retouch apply`, so an output is the same
whichever executor made it. A worker tunes the allocator and loads its models once, ignores Ctrl-C (the
parent's to handle), unwinds on SIGTERM so a write in progress removes its temporary, and ends with its
parent.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import threading
import time
import warnings
from pathlib import Path

from ..errors import DiskFull
from ..io import PhotoError
from .planning import Task


class WorkerDied(Exception):
    """A worker process died while retouching a photo, twice."""


def report_row(task: Task, status: str, *, reason: str = "", entry: dict | None = None, seconds: float = 0.0,
               moved: tuple[Path, ...] = (), disk_full: bool = False) -> dict:
    """One line of the report: small, JSON-ready, the same whichever executor made it."""
    entry = entry or {}
    return {
        "file": task.file, "status": status, "reason": reason, "disk_full": disk_full,
        "moved": [str(path) for path in moved],
        "output": task.output if status != "failed" else "",
        "faces": entry.get("faces"),
        "steps": [{key: step[key] for key in ("edit", "requested", "applied", "status")}
                  for step in entry.get("steps", [])],
        "measures": entry.get("summary", {}),
        "warnings": entry.get("warnings", []),
        "dropped": (entry.get("output") or {}).get("dropped", []),
        "description": entry.get("description", ""),
        "seconds": round(seconds, 3),
    }


def _retouched(task: Task) -> dict:
    """report_row's keywords for one photo: status, entry, reason, what was moved aside, a full disk."""
    from ..job import OutputConflict, retouch_file
    try:
        outcome = retouch_file(task.source, task.target, task.preset, resume=True,
                               overwrite=task.overwrite, aside=Path(task.aside) if task.aside else None,
                               sign=task.sign)
    except DiskFull as error:
        return dict(status="failed", reason=str(error), disk_full=True)
    except (PhotoError, OutputConflict) as error:
        return dict(status="failed", reason=str(error))
    except MemoryError:
        return dict(status="failed", reason=f"{task.source}: too large to retouch in this worker's memory")
    except Exception as error:   # a bug or an unreadable file must not stop the session: report it
        return dict(status="failed", reason=f"{task.source}: {type(error).__name__}: {error}")
    status = "skipped" if outcome.skipped else "done" if outcome.record.get("faces") else "no face"
    return dict(status=status, entry=outcome.record, moved=outcome.moved)


def process(task: Task) -> dict:
    """Retouch one photo (in a worker) and return its report row; a bad photo is a row, not an exception."""
    start = time.perf_counter()
    return report_row(task, **_retouched(task), seconds=time.perf_counter() - start)


def threads_per_worker(workers: int) -> int:
    """CPU threads for each worker's own libraries: the cores shared out, so workers do not fight."""
    return max(1, (os.cpu_count() or 1) // workers)


# glibc's mallopt parameters (malloc.h) and what a worker sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Have glibc's allocator serve big arrays from its heap and keep up to KEEP_FREED_BYTES of what is
    freed, instead of mapping fresh memory from the system for each: a 24-megapixel photo allocates and
    frees 100-300 MB temporaries dozens of times, and fresh memory is zeroed page by page by the kernel
    (measured: 15-25% of a photo's time, reading and writing included). A worker's memory then stays
    near its peak between photos rather than dropping. False (and nothing changed) off glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES)
                    and libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
    except (OSError, AttributeError):
        return False


def load_models(threads: int) -> None:
    """Once per worker: tune the allocator, cap library threads, load mediapipe's graphs and the identity
    model, and keep library warnings off the console (what matters per photo is in its record and the
    report)."""
    import cv2
    import numpy as np

    from .. import edits
    from ..face import analyse, identity
    from ..photo import Photo
    warnings.simplefilter("ignore", UserWarning)
    keep_freed_memory()
    cv2.setNumThreads(threads)
    edits.load_all()
    analyse(Photo(np.zeros((64, 64, 3), np.float32)))
    identity.load_model()


def _exit_with(parent: int, *, grace: float = 3.0) -> None:
    """End this worker once its parent is gone (kill -9): SIGTERM first, so a write in progress removes
    its temporary file, then for sure (the pool's worker loop swallows the SystemExit of a photo)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os._exit(1)


def start_local_worker(threads: int) -> None:
    """ProcessPoolExecutor initializer: Ctrl-C is the parent's to handle, SIGTERM unwinds (temporary
    files removed), and the worker ends with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(Exception):   # only a warm-up: a failure shows again, with its reason, per photo
        load_models(threads)


def check_access(session: str, out_dir: str) -> str | None:
    """Run on a worker: None when the session can be read and OUT_DIR written from there, else why."""
    if not os.path.isdir(session) or not os.access(session, os.R_OK | os.X_OK):
        return f"cannot read the session folder {session}"
    probe = Path(out_dir) / f".retouch-probe-{socket.gethostname()}-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return f"cannot write to the output folder {out_dir} ({error.strerror or error})"
    return None
