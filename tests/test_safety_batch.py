"""Never lose a photographer's work (issue 19), with real processes and real files: two sessions into one
folder with a client decision, a user's own file in OUT_DIR, a kill between the renames of one output, two
batches at once, a full disk (a small tmpfs) and a read-only output folder.

Every batch here runs as its own process (`python -m`-style, with its spawned workers), on the two small
public-domain portraits. Mounting a tmpfs needs root (CI and this machine run the tests as root); the tests
that need one skip with the reason where it cannot be mounted.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retouch import files, record, review, samples, staging

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "presets" / "natural.toml"

pytestmark = pytest.mark.slow

# Imported at start-up by every Python process (the batch and its spawned workers) when its folder is on
# PYTHONPATH: with RETOUCH_TEST_KILL_AT_RENAME=N the process group is killed at the process's Nth rename of
# a photo's files (the report's renames are left alone), as a power cut or kill -9 at that instant would.
KILL_HOOK = '''
import os, signal
_at = int(os.environ.get("RETOUCH_TEST_KILL_AT_RENAME", "0"))
if _at:
    _replace, _seen = os.replace, []
    def _killing_replace(source, target, *args, **kwargs):
        if not os.path.basename(target).startswith("report."):
            _seen.append(target)
            if len(_seen) == _at:
                os.killpg(os.getpgrp(), signal.SIGKILL)
        return _replace(source, target, *args, **kwargs)
    os.replace = _killing_replace
'''


def command(*args) -> list[str]:
    return [sys.executable, "-c", "import sys; from retouch.cli import main; sys.exit(main())", *map(str, args)]


def environment(**extra) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*extra.pop("paths", []), str(REPO)]), **extra}


def batch(session: Path, out: Path, *args, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    return subprocess.run(command("batch", session, out, "--workers", "1", "--preset", PRESET, *args),
                          capture_output=True, text=True, timeout=timeout, env=environment(**env),
                          start_new_session=True)


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def rows(out: Path) -> dict[str, dict]:
    return {row["file"]: row for row in report(out)["files"]}


def session_of(folder: Path, photos: dict[str, str]) -> Path:
    """A session folder: {file name: "astronaut" | "grace_hopper"}."""
    folder.mkdir(parents=True)
    for name, which in photos.items():
        if which == "astronaut":
            Image.fromarray(samples.astronaut_rgb()).save(folder / name, quality=92)
        else:
            shutil.copy(samples.grace_hopper_path(), folder / name)
    return folder


def units_whole(out: Path) -> None:
    """Every image under OUT_DIR has its record and sidecar and matches them; no sidecar without an image;
    no temporary left behind."""
    assert not [p for p in out.rglob("*") if files.is_temporary(p.name)], "temporary files left behind"
    for json_path in out.glob("*" + record.RECORD_SUFFIX):
        output = record.output_of(json_path)
        entry = record.read(output)
        assert output.is_file(), f"{json_path} has no image"
        assert staging.sha256_file(output) == entry["output"]["sha256"]
        assert staging.sha256_file(record.sidecar_paths(output)[1]) == entry["output"]["xmp_sha256"]
    for path in out.glob("*.jpg"):
        assert record.sidecar_paths(path)[0].is_file(), f"{path} has no record"
    for path in out.glob("*.xmp"):
        assert path.with_suffix("").is_file(), f"{path} is an orphan sidecar"


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32)


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                          text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


# --- two sessions, one folder ------------------------------------------------------------------------------

@pytest.mark.timeout(600)
def test_a_second_session_never_replaces_the_first_or_a_users_file(tmp_path):
    """Day 1's IMG_0001.jpg, approved by the client, is not replaced by day 2's different IMG_0001.jpg, nor
    is a user's own portrait.jpg (no record of ours); --dry-run names both. With --overwrite both are
    replaced and the old ones, records and decision included, are kept under OUT_DIR/.retouch-replaced."""
    out = tmp_path / "out"
    day1 = session_of(tmp_path / "day1", {"IMG_0001.jpg": "astronaut"})
    first = batch(day1, out)
    assert first.returncode == 0, first.stderr

    review.build_gallery(out, tmp_path / "gallery")
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"gallery_id": review.gallery_id(out), "photos": [
        {"file": "IMG_0001.jpg", "decision": "approved", "comment": "Lovely", "time": None}]}))
    review.import_decisions(decisions, out)

    day2 = session_of(tmp_path / "day2", {"IMG_0001.jpg": "grace_hopper", "portrait.jpg": "astronaut"})
    Image.fromarray(samples.grace_hopper_rgb()[::2, ::2]).save(out / "portrait.jpg")     # retouched by hand
    leftover = files.temporary_for(out / "IMG_0002.jpg")
    leftover.write_bytes(b"half a photo")                                               # from a killed run
    def kept() -> dict[str, bytes]:
        """The outputs and records in OUT_DIR (not the run's own report and lock)."""
        return {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()
                and not path.name.startswith("report.") and path.name not in (files.LOCK_NAME, leftover.name)}
    before = kept()

    dry = subprocess.run(command("batch", day2, out, "--dry-run", "--preset", PRESET), capture_output=True,
                         text=True, timeout=120, env=environment())
    assert dry.returncode == 0
    lines = dry.stdout.splitlines()
    assert f"conflict IMG_0001.jpg -> IMG_0001.jpg: was made from another photo ({day1 / 'IMG_0001.jpg'})" in lines
    assert ("conflict portrait.jpg -> portrait.jpg: exists and was not made by retouch (it has no edit record)"
            in lines)

    second = batch(day2, out)
    assert second.returncode == 1
    assert "2 photos: 0 done, 0 already done, 2 failed" in second.stdout
    assert (f"failed: IMG_0001.jpg: {out / 'IMG_0001.jpg'}: was made from another photo "
            f"({day1 / 'IMG_0001.jpg'}); choose another output folder or --overwrite") in second.stderr
    assert "failed: portrait.jpg: " in second.stderr and "not made by retouch" in second.stderr
    assert kept() == before
    assert record.read(out / "IMG_0001.jpg")["review"]["comment"] == "Lovely"
    assert not leftover.exists(), "the killed run's temporary was not removed"

    third = batch(day2, out, "--overwrite")
    assert third.returncode == 0, third.stderr
    assert "2 earlier outputs replaced: moved with their records to" in third.stdout
    replaced = next((out / ".retouch-replaced").iterdir())
    assert (replaced / "IMG_0001.jpg").read_bytes() == before["IMG_0001.jpg"]
    assert (replaced / "portrait.jpg").read_bytes() == before["portrait.jpg"]
    kept = record.read(replaced / "IMG_0001.jpg")
    assert kept["review"]["decision"] == "approved" and kept["input"]["path"] == str(day1 / "IMG_0001.jpg")
    assert record.read(out / "IMG_0001.jpg")["input"]["sha256"] == staging.sha256_file(day2 / "IMG_0001.jpg")
    assert all(row["moved"] for row in report(out)["files"])
    units_whole(out)


# --- a kill between the renames of one output ---------------------------------------------------------------

@pytest.fixture(scope="module")
def done_once(tmp_path_factory) -> tuple[Path, Path]:
    """A one-photo session retouched once with the natural preset (preset A)."""
    root = tmp_path_factory.mktemp("killed")
    session = session_of(root / "session", {"portrait.jpg": "astronaut"})
    out = root / "reference"
    assert batch(session, out).returncode == 0
    return session, out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("at", [2, 3])
def test_a_kill_between_renames_is_redone_not_skipped(done_once, tmp_path, at):
    """Preset B is killed at its Nth rename over preset A's output; running A again must give A's pixels
    with a record that matches them (before the fix: B's pixels under A's record, reported "already done")."""
    session, reference = done_once
    out = shutil.copytree(reference, tmp_path / "out")
    other = tmp_path / "b.toml"
    text = PRESET.read_text()
    assert "quality = 92" in text
    other.write_text(text.replace("quality = 92", "quality = 30"))      # preset B: the same edits, coarse JPEG
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KILL_HOOK)
    killed = subprocess.run(command("batch", session, out, "--workers", "1", "--preset", other),
                            capture_output=True, text=True, timeout=300, start_new_session=True,
                            env=environment(paths=[str(hooks)], RETOUCH_TEST_KILL_AT_RENAME=str(at)))
    assert killed.returncode < 0, killed.stderr                       # killed, as intended

    again = batch(session, out)
    assert again.returncode == 0, again.stderr
    entry = record.read(out / "portrait.jpg")
    assert entry["preset"]["digest"] == record.read(reference / "portrait.jpg")["preset"]["digest"]
    assert rows(out)["portrait.jpg"]["status"] == "done"              # redone, not "already done"
    assert np.abs(pixels(out / "portrait.jpg") - pixels(reference / "portrait.jpg")).mean() < 0.25
    units_whole(out)


# --- two batches at once ------------------------------------------------------------------------------------

@pytest.mark.timeout(600)
def test_a_second_batch_into_the_same_folder_is_refused_naming_the_first(tmp_path):
    session = session_of(tmp_path / "session", {"a.jpg": "astronaut", "b.jpg": "grace_hopper",
                                                "c.jpg": "astronaut"})
    out = tmp_path / "out"
    first = subprocess.Popen(command("batch", session, out, "--workers", "1", "--preset", PRESET),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
                             start_new_session=True)
    lock = out / files.LOCK_NAME
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().startswith("PID")):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = batch(session, out, timeout=120)
    assert second.returncode == 1
    assert f"a retouch batch is already writing here (PID {first.pid} on " in second.stderr
    assert second.stderr.count("retouch: error:") == 1 and "Traceback" not in second.stderr
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert report(out)["counts"]["done"] == 3
    units_whole(out)


# --- a full disk, an output folder that cannot be written ----------------------------------------------------

def _pages(size: int) -> int:
    return -(-size // 4096)


@pytest.mark.timeout(600)
def test_a_full_disk_stops_cleanly_and_leaves_whole_units(tmp_path):
    """One output fits, the second does not: the second fails with 'disk full', the third is not started,
    no image, sidecar or record is left without the others, the report is written, and the run ends with
    a disk-full line and exit 1. apply and analyze then fail with one line and leave nothing."""
    measure = tmp_path / "measure"
    session = session_of(tmp_path / "session", {"a.jpg": "astronaut", "b.jpg": "astronaut", "c.jpg": "astronaut"})
    assert batch(session_of(tmp_path / "one", {"a.jpg": "astronaut"}), measure).returncode == 0
    unit = sum(_pages(path.stat().st_size) for path in measure.glob("a.jpg*"))
    room = (unit + unit // 2 + 8) * 4096                 # one unit, half of another, the lock and the report
    with tmpfs(tmp_path / "full", f"size={room}") as out:
        result = batch(session, out)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith("retouch: error: ")
        assert "the disk is full" in result.stderr.splitlines()[-1]
        found = rows(out)
        assert found["a.jpg"]["status"] == "done"
        assert found["b.jpg"]["status"] == "failed" and "disk is full" in found["b.jpg"]["reason"]
        assert found["c.jpg"]["status"] == "failed" and "not retouched: the disk is full" in found["c.jpg"]["reason"]
        units_whole(out)
        assert not (out / "b.jpg").exists() and not (out / "b.jpg.xmp").exists()

        filler = out / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        listing = sorted(path.name for path in out.iterdir())
        applied = subprocess.run(command("apply", session / "b.jpg", out / "b.jpg"), capture_output=True,
                                 text=True, timeout=300, env=environment())
        assert applied.returncode == 1 and "Traceback" not in applied.stderr
        assert applied.stderr.startswith("retouch: error: ") and "full" in applied.stderr
        analyzed = subprocess.run(command("analyze", session / "b.jpg", "--overlay", out / "overlays"),
                                  capture_output=True, text=True, timeout=300, env=environment())
        assert analyzed.returncode == 1 and "Traceback" not in analyzed.stderr
        assert analyzed.stderr.startswith("retouch: error: ")
        assert sorted(path.name for path in out.iterdir()) in (listing, sorted([*listing, "overlays"]))
        assert not [p for p in out.rglob("*") if files.is_temporary(p.name)]


@pytest.mark.timeout(300)
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    session = session_of(tmp_path / "session", {"a.jpg": "astronaut"})
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with tmpfs(tmp_path / "readonly", "ro,size=1m") as readonly:
        for out in (readonly / "out", readonly, blocker / "out"):
            result = batch(session, out, timeout=120)
            assert result.returncode == 1
            line = result.stderr.strip()
            assert line.startswith("retouch: error: ") and "cannot write here" in line and "\n" not in line
            assert "photos" not in result.stdout                        # nothing was retouched
            applied = subprocess.run(command("apply", session / "a.jpg", out / "a.jpg"), capture_output=True,
                                     text=True, timeout=120, env=environment())
            assert applied.returncode == 1 and "cannot write here" in applied.stderr
