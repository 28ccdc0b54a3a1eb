"""A session: find the photos, retouch each in a worker process, resume, report.

`plan` finds every supported photo of a session folder and names its output; `run` hands one task per
photo to an executor (worker processes on this machine, or a Dask cluster) and gathers the small rows
they send back, never pixels, so memory stays bounded however large the session. Every photo goes
through `job.retouch_file`, the same path as `retouch apply`, so an output is the same whichever
executor made it.

Resuming: a photo whose output, XMP sidecar and edit record already exist as one unit for the same input
sha256 and preset digest is skipped (outputs.examine), so running the same command again after an
interruption does only what is left; a unit whose files do not match (a run killed while writing it) is
redone. An output made from another photo, one that carries a review decision, or a file retouch did not
make is never replaced without `overwrite`, and with it is moved into OUT_DIR/.retouch-replaced/RUN/
first. One batch at a time writes an OUT_DIR (files.FolderLock); temporaries a killed run left there are
removed. A photo that fails is reported with its reason and the session goes on, except on a full disk,
where no new photo is started and the report is still written if it fits.
"""
from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import io as _io
import json
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Protocol, TextIO

from . import __version__, files, outputs, record
from .credentials import Credentials
from .errors import DiskFull
from .io import PhotoError, RAW_SUFFIXES, SUPPORTED_SUFFIXES
from .staging import check_folder, sha256_file, write_bytes_atomic
from .measure import MEASURES
from .presets import Preset

FORMAT_SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}
_WRITABLE = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}
_SIDECAR_ENDINGS = (".retouch.json", ".xmp")
CHECKLIST_SHARE = 0.10          # the photographer's checklist: the lowest 10% identity (at least one)
WORKER_MEMORY = 3 << 30         # a worker's peak on a 24 MP photo was 2.65 GB (benchmarks/bench_batch.py)


class SessionError(Exception):
    """The session cannot be run as asked (a usage problem: exit 2); one line naming the path."""


class EngineError(Exception):
    """The executor failed as a whole (scheduler gone, a worker cannot see the folders): exit 1."""


class WorkerDied(Exception):
    """A worker process died while retouching a photo, twice."""


# ------------------------------------------------------------------------------------------------ plan

@dataclass(frozen=True)
class Task:
    """One photo: its path in the session, its output's path in OUT_DIR, and what to do (sent to a worker)."""

    file: str            # relative to the session, POSIX separators
    output: str          # relative to OUT_DIR
    source: str          # absolute paths: workers on other machines need the same shared mount
    target: str
    preset: Preset
    face_only: bool      # every step needs a face: a photo without one is a failure, not a copy
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
    """The output's extension: the format's, or for "same" the input's where writable, TIFF for RAW
    (16 bits kept), JPEG otherwise."""
    source_suffix = source_suffix.lower()
    if fmt != "same":
        return FORMAT_SUFFIX[fmt]
    if source_suffix in RAW_SUFFIXES:
        return FORMAT_SUFFIX["tiff"]
    return FORMAT_SUFFIX[_WRITABLE.get(source_suffix, "jpeg")]


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
    """Whether every step of `preset` needs a face (then a photo without one has nothing to retouch)."""
    from . import edits
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
    face_only = needs_a_face(preset)
    replaced = out_dir / outputs.REPLACED / time.strftime("%Y%m%d-%H%M%S") if overwrite else None
    tasks = tuple(Task(str(file), str(names[file]), str(session / file), str(out_dir / names[file]), preset,
                       face_only, overwrite, str(replaced / names[file].parent) if replaced else "", sign)
                  for file in photos)
    return Plan(session, out_dir, preset, tasks, replaced)


# ------------------------------------------------------------------------------------- one photo (worker)

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


def _row(task: Task, status: str, *, reason: str = "", entry: dict | None = None, seconds: float = 0.0,
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
        "description": entry.get("description", ""),
        "seconds": round(seconds, 3),
    }


def _retouched(task: Task) -> dict:
    """_row's keywords for one photo: status, entry, reason, what was moved aside, a full disk."""
    from .job import NoFaceError, OutputConflict, retouch_file
    try:
        outcome = retouch_file(task.source, task.target, task.preset, require_face=task.face_only, resume=True,
                               overwrite=task.overwrite, aside=Path(task.aside) if task.aside else None,
                               sign=task.sign)
    except NoFaceError:
        return dict(status="failed", reason="no face found")
    except DiskFull as error:
        return dict(status="failed", reason=str(error), disk_full=True)
    except (PhotoError, OutputConflict) as error:
        return dict(status="failed", reason=str(error))
    except MemoryError:
        return dict(status="failed", reason=f"{task.source}: too large to retouch in this worker's memory")
    except Exception as error:   # a bug or an unreadable file must not stop the session: report it
        return dict(status="failed", reason=f"{task.source}: {type(error).__name__}: {error}")
    return dict(status="skipped" if outcome.skipped else "done", entry=outcome.record, moved=outcome.moved)


def process(task: Task) -> dict:
    """Retouch one photo (in a worker) and return its report row; a bad photo is a row, not an exception."""
    start = time.perf_counter()
    return _row(task, **_retouched(task), seconds=time.perf_counter() - start)


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

    from . import edits
    from .face import analyse, identity
    from .photo import Photo
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


def _start_local_worker(threads: int) -> None:
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


# ------------------------------------------------------------------------------------------- executors

class Executor(Protocol):
    """Where the per-photo tasks run. `map_unordered` yields (task, row) as photos finish, or
    (task, exception) for a task the engine itself lost."""

    name: str

    def check(self, session: Path, out_dir: Path) -> None: ...

    def map_unordered(self, fn: Callable[[Task], dict], tasks: Iterable[Task]
                      ) -> Iterator[tuple[Task, dict | BaseException]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Worker processes on this machine, spawned (mediapipe is not fork-safe), models loaded
    once per worker.

    A worker that dies (out of memory, a crash in a decoder) breaks the whole pool: the photos in flight
    then become suspects and are retried one at a time in a fresh pool, so a second death names the
    photo that causes it (WorkerDied) and the others go on.
    """

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._running: dict = {}

    def check(self, session: Path, out_dir: Path) -> None:
        """Nothing to do: the workers share this process's view of both folders, checked by `plan`."""

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_local_worker,
                                   initargs=(threads_per_worker(self.workers),))

    def _submit(self, fn, task: Task) -> None:
        if self._pool is None:
            self._pool = self._start()
        self._running[self._pool.submit(fn, task)] = task

    def map_unordered(self, fn, tasks):
        waiting, suspects, alone = deque(tasks), deque(), None
        while waiting or suspects or self._running:
            if suspects and not self._running:
                alone = suspects.popleft()
                self._submit(fn, alone)
            while not suspects and waiting and len(self._running) < self.workers:   # in flight = held
                self._submit(fn, waiting.popleft())
            done, _ = wait(self._running, return_when=FIRST_COMPLETED)
            broken = {future for future in done if isinstance(future.exception(), BrokenProcessPool)}
            for future in done - broken:
                yield self._running.pop(future), future.exception() or future.result()
            if broken:
                lost = sorted(self._running.values(), key=lambda task: task.file)
                self._running.clear()
                self._pool.shutdown(wait=True)
                self._pool = None
                if len(lost) == 1 and lost[0] is alone:
                    yield alone, WorkerDied(f"{alone.source}: the worker process died while retouching "
                                            "it, twice (out of memory?)")
                else:
                    suspects.extend(lost)
            alone = alone if self._running else None

    def close(self) -> None:
        """Stop the workers; photos still in progress are abandoned (their writes are atomic)."""
        if self._pool is None:
            return
        if self._running:   # interrupted: don't wait for photos in progress (3.14 has terminate_workers)
            for worker in list((self._pool._processes or {}).values()):
                worker.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._running = None, {}


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Processes started inside keep SIGINT ignored (Python leaves an ignored SIGINT alone), so Ctrl-C
    reaches only this process, which then stops them itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class DaskExecutor:
    """Tasks on a Dask cluster: the scheduler at `address`, or a LocalCluster sized to this machine.

    One task per photo, submitted with pure=False and retries=1; a worker that dies mid-photo has its
    photo rescheduled by Dask. Workers must see the session and OUT_DIR at the same paths (shared storage).
    """

    name = "dask"

    def __init__(self, address: str | None, workers: int, *, connect_timeout: float = 10.0):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise EngineError("the dask executor needs the 'distributed' package "
                              "(pip install distributed)") from None
        # A lost scheduler is reported as one EngineError line, not as the client's logged traceback.
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
        self.address, self.cluster, self._futures = address, None, {}
        self.connect_timeout = connect_timeout
        try:
            if address:
                self.client = Client(address, timeout=connect_timeout)
            else:
                with _ctrl_c_ignored():
                    self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as error:
            raise EngineError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        self.address = self.client.scheduler.address
        self.threads = 1 if address else threads_per_worker(workers)

    def check(self, session: Path, out_dir: Path) -> None:
        """EngineError naming each worker that cannot read the session or write OUT_DIR; then every
        worker loads its models (a worker that joins later loads them with its first photo)."""
        try:
            self.client.wait_for_workers(1, timeout=self.connect_timeout)
        except TimeoutError:
            raise EngineError(f"the Dask scheduler at {self.address} has no workers (none joined within "
                              f"{self.connect_timeout:g} s)") from None
        answers = self.client.run(check_access, str(session), str(out_dir), on_error="return")
        problems = [f"worker {worker}: {answer}" for worker, answer in sorted(answers.items())
                    if answer is not None]
        if problems:
            raise EngineError("; ".join(problems))
        self.client.run(load_models, self.threads, on_error="return")   # a failure shows again per photo

    def map_unordered(self, fn, tasks):
        from concurrent.futures import CancelledError

        from distributed import as_completed
        self._futures = {self.client.submit(fn, task, pure=False, retries=1): task for task in tasks}
        for future in as_completed(self._futures):
            task = self._futures.pop(future)
            try:
                result = future.result()
            except CancelledError:
                raise EngineError(f"lost the Dask scheduler at {self.address}; run the same command again "
                                  "to resume") from None
            except Exception as error:   # the engine gave up on this photo (e.g. KilledWorker)
                result = error
            yield task, result

    def close(self) -> None:
        if self._futures:
            self.client.cancel(list(self._futures), force=True)
            self._futures = {}
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def default_workers() -> int:
    """One worker per CPU, as many as memory holds at WORKER_MEMORY each."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(os.cpu_count() or 1, memory // WORKER_MEMORY))


def make_executor(kind: str, *, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """"local" or "dask" (a LocalCluster when no scheduler address is given); `workers` defaults to
    `default_workers()`."""
    workers = workers or default_workers()
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise SessionError(f"executor {kind!r} is not one of local, dask")


# ---------------------------------------------------------------------------------------------- progress

class Progress:
    """Count, rate and ETA on one stderr line (redrawn on a terminal, every few seconds otherwise),
    and one line per failure."""

    def __init__(self, total: int, *, stream: TextIO | None = None, every: float = 5.0):
        self.total, self.stream, self.every = total, stream or sys.stderr, every
        self.count = self.worked = 0
        self.start = self.shown = time.monotonic()
        self.live = self.stream.isatty()
        if self.live:
            self._write(self._line(), keep=False)

    def _line(self) -> str:
        elapsed = time.monotonic() - self.start
        rate = self.worked / elapsed if elapsed > 0 else 0.0
        left = self.total - self.count
        eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "--:--:--"
        return f"{self.count}/{self.total} photos  {rate * 60:.1f}/min  ETA {eta}"

    def _write(self, text: str, *, keep: bool) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text + ("\n" if keep else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def advance(self, row: dict) -> None:
        self.count += 1
        self.worked += row["status"] != "skipped"
        if row["status"] == "failed":
            self._write(f"failed: {row['file']}: {row['reason']}", keep=True)
        now = time.monotonic()
        if self.live or now - self.shown >= self.every or self.count == self.total:
            self.shown = now
            self._write(self._line(), keep=not self.live)

    def close(self) -> None:
        if self.live and self.count:
            self.stream.write("\n")
            self.stream.flush()


# ------------------------------------------------------------------------------------------------ report

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
        return {status: counts[status] for status in ("done", "skipped", "failed")} | {"total": len(self.rows)}

    @property
    def exit_code(self) -> int:
        """0 when every photo is done or was already done, 1 when any failed."""
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


def summary_lines(report: Report) -> list[str]:
    """What the command prints at the end: counts, where the report is, the photographer's checklist."""
    counts = report.counts
    lines = [f"{counts['total']} photos: {counts['done']} done, {counts['skipped']} already done, "
             f"{counts['failed']} failed",
             f"outputs: {report.out_dir}",
             f"report: not written ({report.unsaved})" if report.unsaved
             else f"report: {report.paths[0]} and {report.paths[1].name}"]
    moved = sum(bool(row.get("moved")) for row in report.rows)
    if moved:
        lines.append(f"{moved} earlier output{'s' if moved != 1 else ''} replaced: moved with "
                     f"{'their records' if moved != 1 else 'its record'} to {report.replaced} (recoverable)")
    if report.checklist:
        lines.append("check these first (lowest identity similarity to the original):")
        lines += [f"  {item['file']}  identity {item['identity']:.3f}  ({item['why']})"
                  for item in report.checklist]
    return lines


# --------------------------------------------------------------------------------------------------- run

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


def _lost_row(task: Task, error: BaseException) -> dict:
    return _row(task, "failed", reason=str(error) if isinstance(error, WorkerDied)
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
            rows += [_row(task, "failed", reason=f"{task.source}: not retouched: the disk is full",
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
