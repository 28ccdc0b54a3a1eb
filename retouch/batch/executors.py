"""Where a session's photos are retouched: worker processes on this machine, or a Dask cluster."""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from .planning import SessionError, Task
from .worker import WorkerDied, check_access, load_models, start_local_worker, threads_per_worker

WORKER_MEMORY = 3 << 30         # a worker's peak on a 24 MP photo was 2.65 GB (benchmarks/bench_batch.py)


class EngineError(Exception):
    """The executor failed as a whole (scheduler gone, a worker cannot see the folders): exit 1."""


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
                                   initializer=start_local_worker,
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
