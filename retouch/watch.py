"""`retouch watch IN_DIR OUT_DIR`: retouch each frame as the tethering software writes it, and keep the
client gallery current.

A tethered shoot fills IN_DIR (Capture One, Lightroom tethered, gPhoto2, Smart Shooter). watchfiles reports
every file created or written there (inotify, FSEvents, ReadDirectoryChangesW; on a network share, where
the other machine's writes raise no events, set WATCHFILES_FORCE_POLLING=1). Each photo then goes through
`batch`: its worker processes, `batch.process` (the same path as `retouch batch` and `retouch apply`), its
report and summary, and its resuming, so a restart does only what is left, exactly as a batch would.

When a file is taken. Only once it is complete: its size and modification time have held for `settle`
seconds since its last change (tethering software writes a frame as fast as the cable allows, so a pause
that long means it is done) and it decodes. A file still being written is never reported as a failure:
when a worker cannot retouch it and it has changed since it was handed out, or does not decode (io.read
of a proxy), it is "incomplete" and is taken again at its next change. One that never completes is
listed as incomplete at the end, not failed.

RAW + JPEG. A camera shooting both writes two files of one frame, with the same name in the same folder.
The frame is retouched from the RAW (16 bits and the sensor's full range; the JPEG is the camera's 8-bit
rendering of it) and the JPEG is left out. Where RAW files arrive, a JPEG whose RAW has not yet come waits
PAIR_WAIT_S for it; a RAW arriving later still is retouched too (then the frame has two outputs).

Output names are `retouch batch`'s (batch.output_names), given once per frame and kept. OUT_DIR is locked
for the whole watch (one batch or watch at a time writes it). Ctrl-C stops the workers (their writes are
atomic: nothing half-written is left), writes report.json and report.csv, and the summary is printed.
"""
from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, TextIO

from . import batch, files, record
from .errors import PhotoError
from .io import RAW_SUFFIXES, SUPPORTED_SUFFIXES
from .presets import Preset

SETTLE_S = 2.0        # a file is complete once unchanged this long (and it decodes)
PAIR_WAIT_S = 8.0     # a JPEG waits this long (after it settled) for its RAW where RAW files arrive
GALLERY = "gallery"   # OUT_DIR/gallery: the client gallery, by default
_JPEG = frozenset({".jpg", ".jpeg", ".jpe"})


@dataclass(frozen=True)
class Frame(batch.Task):
    """A batch task with the file's (size, mtime_ns) when it was judged complete."""

    seen: tuple[int, int] = (0, 0)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def complete(frame: Frame) -> bool:
    """Whether the frame's file is as it was when handed out and decodes whole (a proxy decode reads
    every byte of the image data)."""
    from .io import read
    if _stat(Path(frame.source)) != frame.seen:
        return False
    try:
        read(frame.source, proxy=True)
    except PhotoError:
        return False
    return True


def failed_row(file: str, reason: str) -> dict:
    """A report row (batch's columns) for a frame that was not retouched."""
    return {"file": file, "status": "failed", "reason": reason, "disk_full": False, "moved": [], "output": "",
            "faces": None, "steps": [], "measures": {}, "warnings": [], "description": "", "seconds": 0.0}


def process(frame: Frame) -> dict:
    """batch.process for one frame (in a worker); a failure of a file that was still being written is
    "incomplete", not "failed"."""
    row = batch.process(frame)
    if row["status"] == "failed" and not complete(frame):
        row = row | {"status": "incomplete", "output": ""}
    return row


# -------------------------------------------------------------------------------------------- arrivals

@dataclass
class _Pending:
    stat: tuple[int, int] | None
    due: float


class Arrivals:
    """Files seen changing in the session, and which of them have settled. Fed by the watching thread,
    read by the main one."""

    def __init__(self, session: Path, *, settle: float, recursive: bool):
        self.session, self.settle, self.recursive = session, settle, recursive
        self.pending: dict[PurePosixPath, _Pending] = {}
        self.raws: set[tuple[PurePosixPath, str]] = set()     # (folder, name in lower case) of RAWs seen
        self.changed = threading.Condition()
        self.error: BaseException | None = None

    def wanted(self, relative: PurePosixPath) -> bool:
        """A photo (suffix case ignored), not hidden, not a sidecar, in a subfolder only when recursive."""
        return (relative.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in relative.parts)
                and not relative.name.lower().endswith((record.RECORD_SUFFIX, ".xmp"))
                and (self.recursive or len(relative.parts) == 1))

    def saw(self, paths: list[Path], *, delay: float | None = None) -> None:
        """These files changed now (or are to be looked at again after `delay` seconds)."""
        now = time.monotonic()
        with self.changed:
            for path in paths:
                try:
                    relative = PurePosixPath(Path(path).relative_to(self.session).as_posix())
                except ValueError:
                    continue
                if self.wanted(relative):
                    if relative.suffix.lower() in RAW_SUFFIXES:
                        self.raws.add((relative.parent, relative.stem.lower()))
                    self.pending[relative] = _Pending(_stat(self.session / relative),
                                                      now + (self.settle if delay is None else delay))
            self.changed.notify_all()

    def failed(self, error: BaseException) -> None:
        with self.changed:
            self.error = error
            self.changed.notify_all()

    def settled(self, timeout: float) -> list[tuple[PurePosixPath, tuple[int, int]]]:
        """Files unchanged for `settle` seconds, with their (size, mtime_ns); waits up to `timeout` for one.
        A file gone is forgotten; one that changed without an event waits again."""
        end = time.monotonic() + timeout
        with self.changed:
            while True:
                if self.error is not None:
                    raise self.error
                now = time.monotonic()
                found = []
                for relative, pending in list(self.pending.items()):
                    if pending.due > now:
                        continue
                    stat = _stat(self.session / relative)
                    if stat is None:
                        del self.pending[relative]
                    elif stat != pending.stat or stat[0] == 0:
                        self.pending[relative] = _Pending(stat, now + self.settle)
                    else:
                        del self.pending[relative]
                        found.append((relative, stat))
                if found or now >= end:
                    return sorted(found)
                due = min((pending.due for pending in self.pending.values()), default=end)
                self.changed.wait(max(0.01, min(due, end) - now))

    @property
    def waiting(self) -> int:
        with self.changed:
            return len(self.pending)


def _watch_thread(arrivals: Arrivals, stop: threading.Event) -> threading.Thread:
    """A thread that feeds `arrivals` from watchfiles until `stop` is set."""
    from watchfiles import Change, watch

    def run() -> None:
        try:
            for changes in watch(arrivals.session, watch_filter=None, stop_event=stop, debounce=400, step=50,
                                 rust_timeout=1000, yield_on_timeout=True, raise_interrupt=False):
                arrivals.saw([Path(path) for change, path in changes if change != Change.deleted])
        except Exception as error:   # the folder went away, the watch limit was reached: say why and stop
            arrivals.failed(batch.SessionError(f"{arrivals.session}: cannot watch this folder any more ({error})"))

    thread = threading.Thread(target=run, name="retouch-watch", daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------------------------- frames

@dataclass
class Shoot:
    """What the watch knows: each frame's output name (given once), the latest row per file, what was
    handed out at which (size, mtime_ns), and the files first seen when (for RAW + JPEG pairs)."""

    session: Path
    out_dir: Path
    preset: Preset
    fmt: str
    sign: object = True
    names: dict[PurePosixPath, PurePosixPath] = field(default_factory=dict)
    rows: dict[str, dict] = field(default_factory=dict)
    handled: dict[PurePosixPath, tuple[int, int]] = field(default_factory=dict)
    first_seen: dict[PurePosixPath, float] = field(default_factory=dict)

    def frames(self, settled: list[tuple[PurePosixPath, tuple[int, int]]], arrivals: Arrivals
               ) -> tuple[list[Frame], list[dict]]:
        """Tasks for the settled files that are frames to retouch (a RAW pair's JPEG is left out, a lone
        JPEG may wait for its RAW), and failed rows for those that cannot be named."""
        now = time.monotonic()
        chosen = []
        for relative, stat in settled:
            self.first_seen.setdefault(relative, now)
            jpeg = relative.suffix.lower() in _JPEG
            if self.handled.get(relative) == stat:
                continue                                   # an event without a change (attributes, a copy)
            if jpeg and (relative.parent, relative.stem.lower()) in arrivals.raws:
                continue                                   # its RAW is the frame
            wait = self.first_seen[relative] + PAIR_WAIT_S - now
            if jpeg and arrivals.raws and wait > 0:
                arrivals.saw([self.session / relative], delay=wait)
                continue
            chosen.append((relative, stat))
        tasks, refused = [], []
        new = [relative for relative, _ in chosen if relative not in self.names]
        if new:
            try:
                proposed = batch.output_names([*self.names, *new], self.fmt, self.preset.output.suffix)
            except batch.SessionError as error:
                proposed, reason = {}, str(error)
            taken = {str(name).lower() for name in self.names.values()}
            for relative in new:
                name = proposed.get(relative)
                if name is None or str(name).lower() in taken:
                    refused.append(failed_row(str(relative), reason if name is None else
                                              f"{relative}: its output {name} is another frame's; rename one"))
                    continue
                self.names[relative] = name
                taken.add(str(name).lower())
        for relative, stat in chosen:
            if relative in self.names:
                name = self.names[relative]
                tasks.append(Frame(str(relative), str(name), str(self.session / relative), str(self.out_dir / name),
                                   self.preset, sign=self.sign, seen=stat))
                self.handled[relative] = stat
        return tasks, refused

    def took(self, row: dict) -> bool:
        """Keep a frame's result; whether it made an output. An incomplete file is taken again when it
        next settles."""
        self.rows[row["file"]] = row
        if row["status"] == "incomplete":
            self.handled.pop(PurePosixPath(row["file"]), None)
        return row["status"] == "done"

    def report(self, info: dict) -> batch.Report:
        """The report of every frame handled so far (incomplete ones left out: they were never taken)."""
        rows = sorted((row for row in self.rows.values() if row["status"] != "incomplete"),
                      key=lambda row: row["file"])
        return batch.Report(rows, batch.checklist(rows, self.preset.budget["identity"]), self.out_dir, info)

    @property
    def incomplete(self) -> list[str]:
        return sorted(file for file, row in self.rows.items() if row["status"] == "incomplete")


# ---------------------------------------------------------------------------------------------- gallery

class Gallery:
    """The client gallery rebuilt in a thread of its own after frames are done, one build at a time (a
    build asked for during one follows it)."""

    def __init__(self, out_dir: Path, folder: Path, title: str | None):
        self.out_dir, self.folder, self.title = out_dir, folder, title
        self.wanted = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.problem = ""
        self.built = ""          # when the last build finished (HH:MM:SS)
        self._thread: threading.Thread | None = None
        self._stop = False

    def update(self) -> None:
        """Rebuild soon (in the background)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retouch-gallery", daemon=True)
            self._thread.start()
        self.idle.clear()
        self.wanted.set()

    def _run(self) -> None:
        while not self._stop:
            self.wanted.wait()
            if self._stop:
                break
            self.wanted.clear()
            self.build()
            if not self.wanted.is_set():
                self.idle.set()

    def build(self) -> None:
        from .review import ReviewError, build_gallery
        try:
            build_gallery(self.out_dir, self.folder, title=self.title)
        except (ReviewError, PhotoError, OSError) as error:
            self.problem = str(error)
        else:
            self.problem, self.built = "", time.strftime("%H:%M:%S")

    def finish(self, timeout: float) -> None:
        """Let the build in progress (and one asked for since) end, then stop the thread."""
        self.idle.wait(timeout)
        self._stop = True
        self.wanted.set()


# ------------------------------------------------------------------------------------------------- run

@dataclass
class Status:
    """Where the watch stands: counts (batch's, and incomplete), files arriving, the gallery's state."""

    counts: dict[str, int]
    arriving: int
    gallery: str

    def line(self) -> str:
        c = self.counts
        return (f"{c['done']} retouched, {c['skipped']} already done, {c['failed']} failed, "
                f"{c['incomplete']} incomplete, {self.arriving} arriving; gallery {self.gallery}")


def result_line(row: dict) -> str:
    """One frame's result for the terminal: what it became, the identity kept, or why it failed."""
    if row["status"] == "failed":
        return f"failed  {row['file']}: {row['reason']}"
    identity = row["measures"].get("identity")
    same = f"identity {identity:.3f}" if identity is not None else "no face measured"
    return f"done    {row['file']} -> {row['output']}  {same}  ({row['seconds']:.1f} s)"


class Board:
    """The running count on one line and a line per result above it: on a terminal the count is redrawn
    in place (the last results stay on screen above it); elsewhere it is printed every `every` seconds."""

    def __init__(self, stream: TextIO, *, every: float = 30.0):
        self.stream, self.every, self.live = stream, every, stream.isatty()
        self.shown = 0.0

    def __call__(self, status: Status, row: dict | None) -> None:
        clear = "\r\033[K" if self.live else ""
        if row is not None and row["status"] in ("done", "failed"):
            self.stream.write(clear + result_line(row) + "\n")
        now = time.monotonic()
        if self.live:
            self.stream.write(clear + status.line())
        elif now - self.shown >= self.every:
            self.stream.write(status.line() + "\n")
            self.shown = now
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def watch(in_dir: str | Path, out_dir: str | Path, preset: Preset, *, workers: int | None = None,
          fmt: str | None = None, recursive: bool = False, settle: float = SETTLE_S,
          gallery: str | Path | None = None, title: str | None = None, sign=True,
          stop: threading.Event | None = None, show: Callable[[Status, dict | None], None] | None = None,
          ) -> tuple[batch.Report, list[str]]:
    """Watch IN_DIR and retouch each complete frame into OUT_DIR until `stop` is set or Ctrl-C (see the
    module doc). `show(status, row)` is called after each result (row) and every second (row None). Returns
    the report (saved as report.json and report.csv) and the files left incomplete.

    batch.SessionError for folders that cannot be used (exit 2); files.FolderError when another batch or
    watch writes OUT_DIR; PhotoError when OUT_DIR cannot be written."""
    session, out = batch.check_folders(Path(in_dir), Path(out_dir))
    fmt = fmt or preset.output.format
    if fmt not in (*batch.FORMAT_SUFFIX, "same"):
        raise batch.SessionError(f"format {fmt!r} is not one of jpeg, tiff, png, same")
    gallery_dir = Path(gallery) if gallery is not None else out / GALLERY
    batch.check_output(batch.Plan(session, out, preset, ()))
    stop = stop or threading.Event()
    shoot = Shoot(session, out, preset, fmt, sign)
    arrivals = Arrivals(session, settle=settle, recursive=recursive)
    pictures = Gallery(out, gallery_dir, title)
    started, clock = record.now(), time.perf_counter()
    info = {"session": str(session), "output": str(out), "preset": {"name": preset.name, "digest": preset.digest},
            "run": {"executor": "local", "mode": "watch", "started": started}}

    def tell(row: dict | None) -> None:
        if show is not None:
            counts = shoot.report(info).counts | {"incomplete": len(shoot.incomplete)}
            state = pictures.problem and f"not updated: {pictures.problem}" or (
                f"updated {pictures.built}" if pictures.built else "not built yet")
            show(Status(counts, arrivals.waiting, state), row)

    with files.FolderLock(out, what="a retouch batch or watch"):
        files.sweep(out)
        executor = batch.make_executor("local", workers=workers)
        watcher = _watch_thread(arrivals, stop)
        arrivals.saw([session / relative for relative in batch.discover(session, recursive=recursive)])
        if record.find_outputs(out, recursive=True):
            pictures.update()                       # a restart: the gallery as it was left, brought up to date
        try:
            executor.check(session, out)
            while not stop.is_set():
                tasks, refused = shoot.frames(arrivals.settled(timeout=1.0), arrivals)
                outcomes = itertools.chain(((None, row) for row in refused),
                                           executor.map_unordered(process, tasks) if tasks else ())
                done = False
                for task, result in outcomes:       # as each finishes: a round ends with its slowest frame
                    row = result if isinstance(result, dict) else failed_row(
                        task.file, str(result) if isinstance(result, batch.WorkerDied)
                        else f"{task.source}: the executor lost this photo ({type(result).__name__}: {result})")
                    done |= shoot.took(row)
                    tell(row)
                    if stop.is_set():
                        break                   # frames in progress are abandoned (their writes are atomic)
                if done:
                    pictures.update()
                    _save(shoot.report(info))
                tell(None)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            executor.close()
            watcher.join(timeout=5)
        with contextlib.suppress(KeyboardInterrupt):      # a second Ctrl-C: leave the gallery as it is
            pictures.finish(timeout=600)
        info["run"]["seconds"] = round(time.perf_counter() - clock, 3)
        report = shoot.report(info)
        _save(report)
    return report, shoot.incomplete


def _save(report: batch.Report) -> None:
    try:
        batch.save(report)
    except (PhotoError, OSError) as error:
        report.unsaved = str(error)
