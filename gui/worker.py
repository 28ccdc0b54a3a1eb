"""Background work without freezing the window: one QThread runs the library's calls in turn.

Jobs are generators of (stage, value) (see gui.jobs). Two delivery rules:
- latest wins ("load", "render", "full"): a newer request of the same kind replaces one still waiting,
  and a running one stops after the stage in hand when a newer request of its kind or of a kind
  listed before it waits (a quick preview still shows while a slider moves; a full-resolution render
  gives way to a slider's; the window drops any result older than what it already shows);
- every one runs ("export", "thumbnail"): queued in order, never dropped.
One thread, not a pool: the face models are not shared safely between threads, and the machine's cores
are better spent inside one render than on renders nobody will see. Errors come back as one line.

Handover: both threads share one interpreter lock, so a stage computed right after another starves the
window that should be painting the first (a quick preview reached the screen only long after it was
ready while the guarded stage ran). After each stage the worker waits, at most HANDOVER_S, for the
receiver to call `acknowledge()` once it has shown the result.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterator

from PySide6.QtCore import QThread, Signal

from retouch.io import PhotoError

Job = Callable[[], Iterator[tuple[str, object]]]
LATEST_WINS = ("load", "render", "full")     # in priority order; queued kinds run when none of these waits
HANDOVER_S = 0.2


class Worker(QThread):
    produced = Signal(str, int, str, object)   # kind, serial, stage, value
    failed = Signal(str, int, str)             # kind, serial, one-line message

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Condition()
        self._latest: dict[str, tuple[int, Job]] = {}
        self._queue: deque[tuple[str, int, Job]] = deque()
        self._stopping = False
        self._busy = False
        self._shown = threading.Event()

    def submit(self, kind: str, serial: int, job: Job) -> None:
        with self._lock:
            if kind in LATEST_WINS:
                self._latest[kind] = (serial, job)
            else:
                self._queue.append((kind, serial, job))
            self._lock.notify()

    def acknowledge(self) -> None:
        """The receiver has shown the last result: the next stage may start."""
        self._shown.set()

    def idle(self) -> bool:
        """Nothing running and nothing waiting (tests and the benchmark wait for this)."""
        with self._lock:
            return not (self._busy or self._latest or self._queue)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._shown.set()
        self.wait()

    def _superseded(self, kind: str) -> bool:
        """Stopping, or a newer request of `kind` or of a more urgent latest-wins kind is waiting."""
        with self._lock:
            if kind not in LATEST_WINS:
                return self._stopping
            urgent = LATEST_WINS[:LATEST_WINS.index(kind) + 1]
            return self._stopping or any(waiting in self._latest for waiting in urgent)

    def _next(self) -> tuple[str, int, Job] | None:
        with self._lock:
            self._busy = False
            while not (self._stopping or self._latest or self._queue):
                self._lock.wait()
            if self._stopping:
                return None
            self._busy = True
            for kind in LATEST_WINS:
                if kind in self._latest:
                    serial, job = self._latest.pop(kind)
                    return kind, serial, job
            return self._queue.popleft()

    def run(self) -> None:  # the thread's body
        while (task := self._next()) is not None:
            kind, serial, job = task
            try:
                for stage, value in job():
                    self._shown.clear()
                    self.produced.emit(kind, serial, stage, value)
                    if self._superseded(kind):
                        break
                    self._shown.wait(HANDOVER_S)
            except Exception as error:  # noqa: BLE001 - any failure is shown in the window, never a crash
                self.failed.emit(kind, serial, _one_line(error))


def _one_line(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if isinstance(error, (OSError, ValueError, PhotoError)) else f"{type(error).__name__}: {text}"
