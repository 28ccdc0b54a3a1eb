"""The session batch on Dask: real `distributed` processes on loopback (a LocalCluster with two worker
processes, and a scheduler + worker started as commands), against the local executor's results."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from retouch import batch, presets, samples

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "presets" / "natural.toml"
GOOD = ("astronaut.jpg", "grace_hopper.jpg")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    """The two portraits and one broken file."""
    folder = tmp_path_factory.mktemp("dask") / "session"
    folder.mkdir()
    Image.fromarray(samples.astronaut_rgb()).save(folder / "astronaut.jpg", quality=92)
    shutil.copy(samples.grace_hopper_path(), folder / "grace_hopper.jpg")
    (folder / "broken.jpg").write_bytes((folder / "astronaut.jpg").read_bytes()[:5000])
    return folder


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster


def run(session: Path, out: Path, executor: batch.Executor) -> batch.Report:
    return batch.run(batch.plan(session, out, presets.load(PRESET)), executor)


def without_timings(report: dict) -> dict:
    report = {key: value for key, value in report.items() if key != "run"}
    report["files"] = [{k: v for k, v in row.items() if k != "seconds"} for row in report["files"]]
    return report


def without_record_packet(data: bytes) -> bytes:
    """An output's bytes less its embedded XMP record (which carries the time it was made)."""
    return re.sub(rb"<\?xpacket begin.*?<\?xpacket end=\"w\"\?>", b"", data, flags=re.S)


@pytest.fixture(scope="module")
def local_and_dask(session, cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("dask-out")
    local = run(session, root / "local", batch.LocalExecutor(2))
    dask = run(session, root / "dask", batch.DaskExecutor(cluster.scheduler_address, 2))
    return root / "local", root / "dask", local, dask


def test_dask_outputs_are_byte_identical_to_local(local_and_dask):
    local_dir, dask_dir, local, dask = local_and_dask
    assert local.counts == dask.counts == {"done": 2, "no face": 0, "skipped": 0, "failed": 1, "total": 3}
    for name in GOOD:
        assert without_record_packet((dask_dir / name).read_bytes()) == \
            without_record_packet((local_dir / name).read_bytes())


def test_dask_report_matches_local_apart_from_timings(local_and_dask):
    local_dir, dask_dir, _, _ = local_and_dask
    local = without_timings(json.loads((local_dir / "report.json").read_text()))
    dask = without_timings(json.loads((dask_dir / "report.json").read_text()))
    assert dask.pop("output") != local.pop("output")
    assert dask == local
    assert (dask_dir / "report.csv").read_text().count("\n") == 4


def test_worker_killed_mid_run_loses_nothing_and_rerun_resumes(session, cluster, tmp_path):
    out = tmp_path / "out"
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(
        report=run(session, out, batch.DaskExecutor(cluster.scheduler_address, 2))))
    with distributed.Client(cluster.scheduler_address) as watcher:
        pids = watcher.run(os.getpid)
        worker.start()
        deadline = time.monotonic() + 120
        while not (busy := [w for w, keys in watcher.processing().items() if keys]):
            assert time.monotonic() < deadline and worker.is_alive(), "no task started"
            time.sleep(0.05)
        os.kill(pids[busy[0]], signal.SIGKILL)
        worker.join(timeout=240)
    report = outcome["report"]
    assert {row["file"]: row["status"] for row in report.rows} == \
        {"astronaut.jpg": "done", "grace_hopper.jpg": "done", "broken.jpg": "failed"}
    for name in GOOD:
        with Image.open(out / name) as image:
            image.load()
    assert not list(out.glob(".*.tmp"))
    again = run(session, out, batch.DaskExecutor(cluster.scheduler_address, 2))
    assert [row["status"] for row in again.rows] == ["skipped", "failed", "skipped"]   # sorted by path


def test_unreadable_session_names_the_worker_and_path(cluster, tmp_path):
    executor = batch.DaskExecutor(cluster.scheduler_address, 2)
    try:
        with pytest.raises(batch.EngineError, match=r"worker tcp://127\.0\.0\.1:\d+: cannot read the "
                                                    r"session folder .*missing"):
            executor.check(tmp_path / "missing", tmp_path)
    finally:
        executor.close()


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(batch.EngineError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        batch.DaskExecutor("tcp://127.0.0.1:9", 1, connect_timeout=1)


def _command(*args: str, log: Path) -> subprocess.Popen:
    with log.open("w") as sink:
        return subprocess.Popen([sys.executable, *args], stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(REPO)})


def test_lost_scheduler_stops_with_a_message_and_rerun_resumes(session, tmp_path):
    """A real `dask scheduler` and `dask worker`; the scheduler is killed once the first photo is done."""
    address_file = tmp_path / "scheduler.json"
    scheduler = _command("-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                         "--no-dashboard", "--scheduler-file", str(address_file), log=tmp_path / "scheduler.log")
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        worker = _command("-m", "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                          "--no-dashboard", log=tmp_path / "worker.log")
        with distributed.Client(address) as client:
            client.wait_for_workers(1, timeout=120)
        out = tmp_path / "out"
        command = [sys.executable, "-c", "import sys; from retouch.cli import main; sys.exit(main())", "batch",
                   str(session), str(out), "--executor", "dask", "--scheduler", address, "--preset", str(PRESET)]
        batch_run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(REPO)})
        while not list(out.glob("*.retouch.json")):
            assert batch_run.poll() is None and time.monotonic() < deadline + 120, batch_run.communicate()
            time.sleep(0.1)
        scheduler.kill()
        _, stderr = batch_run.communicate(timeout=120)
        assert batch_run.returncode == 1
        assert f"retouch: error: lost the Dask scheduler at {address}" in stderr
        assert "Traceback" not in stderr
    finally:
        for process in (scheduler, worker):
            if process is not None:
                process.kill()
                process.wait(timeout=30)
    done = {path.name for path in out.glob("*.jpg")}
    resumed = run(session, out, batch.LocalExecutor(1))
    assert {row["file"] for row in resumed.rows if row["status"] == "skipped"} == done
    assert resumed.counts["done"] + resumed.counts["skipped"] == 2
