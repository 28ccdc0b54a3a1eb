"""`retouch watch`: a tethered shoot simulated: files copied in slowly, in chunks; a file dropped truncated
and completed later; a RAW + JPEG pair; a burst of 50 frames; a restart mid-way by Ctrl-C.

Frames are the four real test portraits (light and darker skin) scaled small, so a frame takes a fraction
of a second. Every wait is bounded. Timings are never asserted.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraits import NAMES, photo
from retouch import outputs, presets, record, samples, watch
from retouch.staging import sha256_file

SETTLE = 0.5


def frame_bytes(number: int, *, scale: float = 0.35) -> bytes:
    """JPEG bytes of a test portrait (cycling through all four), scaled; every number a different file."""
    pixels = photo(NAMES[number % len(NAMES)]).pixels
    height, width = (round(side * scale) for side in pixels.shape[:2])
    image = Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).resize((width, height), Image.Resampling.LANCZOS)
    data = io.BytesIO()
    image.save(data, format="JPEG", quality=90 - number % 7)
    return data.getvalue()


def copy_slowly(data: bytes, path: Path, *, chunks: int = 6, pause: float = 0.1) -> None:
    """Write `data` to `path` the way a tethering cable delivers it: in chunks, with pauses under SETTLE."""
    step = -(-len(data) // chunks)
    with open(path, "wb") as fh:
        for start in range(0, len(data), step):
            fh.write(data[start:start + step])
            fh.flush()
            time.sleep(pause)


class Watching:
    """retouch.watch.watch in a thread, with every status and result it shows kept."""

    def __init__(self, in_dir: Path, out_dir: Path, **options):
        self.stop = threading.Event()
        self.rows: list[dict] = []
        self.status: watch.Status | None = None
        self.outcome = None
        self.error: BaseException | None = None
        options = {"workers": 2, "fmt": "jpeg", "settle": SETTLE, "sign": False} | options

        def run() -> None:
            try:
                self.outcome = watch.watch(in_dir, out_dir, presets.load("natural"), stop=self.stop,
                                           show=self.show, **options)
            except BaseException as error:   # noqa: BLE001 - handed to the test
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def show(self, status: watch.Status, row: dict | None) -> None:
        self.status = status
        if row is not None:
            self.rows.append(row)

    def until(self, condition, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if self.error is not None:
                raise self.error
            assert time.monotonic() < end, f"timed out waiting for {what}; last status: {self.status}"
            time.sleep(0.1)

    def retouched(self) -> set[str]:
        return {row["file"] for row in self.rows if row["status"] == "done"}

    def finish(self, timeout: float = 120):
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "watch did not stop"
        if self.error is not None:
            raise self.error
        return self.outcome


def assert_whole_units(out_dir: Path) -> list[Path]:
    """Every output in OUT_DIR is a whole unit (image, sidecar and record matching) and no temporaries."""
    found = record.find_outputs(out_dir)
    for output in found:
        entry = record.read(output)
        assert outputs.examine(output, entry["input"]["sha256"], entry["preset"]["digest"]).state == "done"
    assert not [p for p in out_dir.rglob("*.tmp")]
    return found


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_tethered_shoot_slow_copies_a_truncated_file_and_a_raw_jpeg_pair(tmp_path):
    shoot, out = tmp_path / "capture", tmp_path / "retouched"
    shoot.mkdir()
    early = frame_bytes(0)
    (shoot / "IMG_0001.jpg").write_bytes(early)              # already there when the watch starts
    watching = Watching(shoot, out)
    for number in (2, 3):
        copy_slowly(frame_bytes(number), shoot / f"IMG_000{number}.jpg")
    whole = frame_bytes(1)
    (shoot / "IMG_0004.jpg").write_bytes(whole[:len(whole) // 2])          # the cable dropped mid-file
    watching.until(lambda: any(row["file"] == "IMG_0004.jpg" and row["status"] == "incomplete"
                               for row in watching.rows), 120, "the truncated file to be judged incomplete")
    raw = np.asarray(Image.open(io.BytesIO(frame_bytes(5))).convert("RGB"))
    samples.write_dng(raw, tmp_path / "IMG_0005.dng")
    copy_slowly((tmp_path / "IMG_0005.dng").read_bytes(), shoot / "IMG_0005.dng")
    (shoot / "IMG_0005.jpg").write_bytes(frame_bytes(5))                   # the camera's JPEG of that frame
    with open(shoot / "IMG_0004.jpg", "ab") as fh:                         # ... and the rest arrives later
        fh.write(whole[len(whole) // 2:])
    expected = {"IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg", "IMG_0004.jpg", "IMG_0005.dng"}
    watching.until(lambda: watching.retouched() >= expected, 300, "every frame to be retouched")
    report, incomplete = watching.finish()
    assert not [row for row in watching.rows if row["status"] == "failed"]
    assert incomplete == []
    assert report.counts == {"done": 5, "no face": 0, "skipped": 0, "failed": 0, "total": 5}
    assert sorted(row["file"] for row in report.rows) == sorted(expected)           # the pair's JPEG left out
    made = assert_whole_units(out)
    assert sorted(path.name for path in made) == [f"IMG_000{n}.jpg" for n in range(1, 6)]
    assert record.read(out / "IMG_0005.jpg")["input"]["sha256"] == sha256_file(shoot / "IMG_0005.dng")
    assert record.read(out / "IMG_0004.jpg")["input"]["sha256"] == sha256_file(shoot / "IMG_0004.jpg")
    assert (out / "report.json").is_file()
    gallery = (out / "gallery" / "index.html").read_text()
    assert all(f"IMG_000{n}.jpg" in gallery for n in range(1, 6))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_burst_of_50_frames(tmp_path):
    shoot, out = tmp_path / "capture", tmp_path / "retouched"
    shoot.mkdir()
    watching = Watching(shoot, out)
    names = {f"burst_{number:03d}.jpg" for number in range(50)}
    for number in range(50):
        (shoot / f"burst_{number:03d}.jpg").write_bytes(frame_bytes(number, scale=0.25))
    watching.until(lambda: watching.retouched() >= names, 500, "the burst to be retouched")
    report, incomplete = watching.finish()
    assert report.counts == {"done": 50, "no face": 0, "skipped": 0, "failed": 0, "total": 50} and incomplete == []
    assert len(assert_whole_units(out)) == 50
    assert len(list((out / "gallery" / "images").glob("*.after.jpg"))) == 50


def _watch_command(shoot: Path, out: Path, tmp_path: Path) -> subprocess.Popen:
    command = Path(sys.executable).with_name("retouch")
    return subprocess.Popen([str(command), "watch", str(shoot), str(out), "--workers", "1", "--format", "jpeg",
                             "--settle", str(SETTLE), "--no-sign"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "RETOUCH_CONFIG_DIR": str(tmp_path / "config")})


def _read_until_done(process: subprocess.Popen, count: int, timeout: float) -> list[str]:
    """stderr lines until `count` "done" lines (bounded by `timeout`)."""
    lines, found = [], 0
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            found += line.startswith("done ")
            if found >= count:
                return lines
    finally:
        timer.cancel()
    raise AssertionError(f"the watch ended before {count} frames were done: {lines}")


@pytest.mark.slow
@pytest.mark.timeout(500)
def test_ctrl_c_mid_way_leaves_whole_outputs_and_a_restart_resumes(tmp_path):
    shoot, out = tmp_path / "capture", tmp_path / "retouched"
    shoot.mkdir()
    for number in range(6):
        (shoot / f"IMG_{number:04d}.jpg").write_bytes(frame_bytes(number))
    first = _watch_command(shoot, out, tmp_path)
    _read_until_done(first, 2, 300)
    first.send_signal(signal.SIGINT)                          # a frame is in progress now: it is abandoned
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "6 photos" not in stdout and " done, 0 already done, 0 failed" in stdout
    kept = assert_whole_units(out)
    assert 2 <= len(kept) <= 3
    second = _watch_command(shoot, out, tmp_path)
    _read_until_done(second, 6 - len(kept), 300)
    second.send_signal(signal.SIGINT)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert f"6 photos: {6 - len(kept)} done, {len(kept)} already done, 0 failed" in stdout
    assert len(assert_whole_units(out)) == 6


def test_watch_refuses_an_output_folder_inside_the_shoot(tmp_path):
    shoot = tmp_path / "capture"
    shoot.mkdir()
    with pytest.raises(watch.batch.SessionError, match="must be outside the session folder"):
        watch.watch(shoot, shoot / "out", presets.load("natural"), sign=False)


def test_a_jpeg_whose_raw_is_there_is_not_a_frame_of_its_own(tmp_path):
    arrivals = watch.Arrivals(tmp_path, settle=0.0, recursive=False)
    for name in ("A.CR3", "a.JPG", "B.jpg", "notes.txt", ".hidden.jpg", "C.jpg.xmp"):
        (tmp_path / name).write_bytes(b"x")
    arrivals.saw([tmp_path / name for name in ("A.CR3", "a.JPG", "B.jpg", "notes.txt", ".hidden.jpg", "C.jpg.xmp")])
    settled = arrivals.settled(timeout=1.0)
    assert [str(relative) for relative, _ in settled] == ["A.CR3", "B.jpg", "a.JPG"]
    shoot = watch.Shoot(tmp_path, tmp_path / "out", presets.load("natural"), "jpeg", sign=False)
    tasks, refused = shoot.frames(settled, arrivals)
    assert [task.file for task in tasks] == ["A.CR3"] and not refused      # B.jpg waits for a RAW a while
    assert [str(relative) for relative in arrivals.pending] == ["B.jpg"]


@pytest.mark.timeout(300)
def test_the_gallery_rebuild_remakes_only_the_photos_that_changed(tmp_path):
    """A watch rebuilds the gallery after every few frames: photos already in it keep their images."""
    from retouch.job import retouch_file
    from retouch.review import build_gallery
    shoot, out, gallery = tmp_path / "capture", tmp_path / "retouched", tmp_path / "retouched" / "gallery"
    shoot.mkdir()
    natural = presets.load("natural")
    for number in range(3):
        (shoot / f"IMG_{number:04d}.jpg").write_bytes(frame_bytes(number, scale=0.25))
        retouch_file(shoot / f"IMG_{number:04d}.jpg", out / f"IMG_{number:04d}.jpg", natural, sign=False)
    first = build_gallery(out, gallery)
    images = {path.name: path.stat().st_mtime_ns for path in (gallery / "images").iterdir()}
    (shoot / "IMG_0003.jpg").write_bytes(frame_bytes(3, scale=0.25))
    retouch_file(shoot / "IMG_0003.jpg", out / "IMG_0003.jpg", natural, sign=False)
    record.set_review(out / "IMG_0001.jpg", "approved", source="photographer")
    second = build_gallery(out, gallery)
    again = {path.name: path.stat().st_mtime_ns for path in (gallery / "images").iterdir()}
    assert [photo.file for photo in second.photos] == [f"IMG_{n:04d}.jpg" for n in range(4)]
    assert second.photos[:1] == first.photos[:1] and second.photos[2] == first.photos[2]
    assert all(again[name] == images[name] for name in images if name.startswith(("0001.", "0003.")))
    assert all(again[name] != images[name] for name in images if name.startswith("0002."))   # its record changed
    assert {"0004.after.jpg", "0004.before.jpg", "0004.thumb.jpg"} <= set(again)
