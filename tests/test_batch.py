"""The session batch: discovery, outputs, per-file failures, report, resume, and interruption.

One session folder is built for the module (small public-domain portraits in every kind of file the
batch meets, plus broken files) and run once with two local workers; the tests check outcomes (files,
statuses, records), not edit numbers.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import numpy as np
import psutil
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image
from skimage import data

from retouch import batch, presets, record, samples
from retouch.cli import main

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "presets" / "natural.toml"       # by path: the same file `--preset natural` names

FACES = ("astronaut.jpg", "grace_hopper.jpg", "hopper_raw.dng", "astronaut16.tif", "hopper_gray.jpg",
         "astronaut_cmyk.jpg", "hopper_rotated.jpg", "sub/hopper.png", "cutout.png")
NO_FACE = ("coffee.jpg",)
BROKEN = ("truncated.jpg", "empty.jpg", "notes.jpg")
ALL = FACES + NO_FACE + BROKEN


def write_session(folder: Path) -> Path:
    """Every kind of file a session holds: portraits as JPEG, DNG, 16-bit TIFF, grayscale, CMYK, an
    EXIF-rotated JPEG, a PNG in a subfolder and an RGBA cut-out PNG; a photo without a face; a truncated
    JPEG, an empty file and a text file named .jpg; and files discovery must leave alone."""
    folder.mkdir(parents=True, exist_ok=True)
    astronaut, hopper = samples.astronaut_rgb(), samples.grace_hopper_rgb()
    Image.fromarray(astronaut).save(folder / "astronaut.jpg", quality=92)
    shutil.copy(samples.grace_hopper_path(), folder / "grace_hopper.jpg")
    samples.write_dng(hopper, folder / "hopper_raw.dng")
    tifffile.imwrite(folder / "astronaut16.tif", astronaut.astype(np.uint16) * 257, photometric="rgb")
    Image.fromarray(hopper).convert("L").save(folder / "hopper_gray.jpg", quality=92)
    Image.fromarray(astronaut).convert("CMYK").save(folder / "astronaut_cmyk.jpg", quality=92)
    exif = Image.Exif()
    exif[274] = 6                                   # stored turned left: shown turned 90 degrees right
    Image.fromarray(np.ascontiguousarray(np.rot90(hopper))).save(folder / "hopper_rotated.jpg", exif=exif)
    (folder / "sub").mkdir(exist_ok=True)
    Image.fromarray(hopper).save(folder / "sub" / "hopper.png")
    Image.fromarray(cutout(astronaut)).save(folder / "cutout.png")
    Image.fromarray(data.coffee()).save(folder / "coffee.jpg", quality=92)
    whole = (folder / "astronaut.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo\n")
    (folder / ".hidden.jpg").write_bytes(whole)
    (folder / "astronaut.jpg.retouch.json").write_text("{}")
    (folder / "readme.txt").write_text("session notes\n")
    return folder


def cutout(rgb: np.ndarray) -> np.ndarray:
    """`rgb` as an RGBA cut-out: opaque in the middle, transparent along the left and right edges."""
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :40] = alpha[:, -40:] = 0
    return np.dstack([rgb, alpha])


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (hidden ones too), by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*args: str):
    return CliRunner().invoke(main, ["batch", *map(str, args), "--preset", str(PRESET)],
                              catch_exceptions=False)


def complete_outputs(out: Path) -> list[Path]:
    """Every image under `out`, each fully decoded (a truncated one raises); no temporary files left."""
    assert not [p for p in out.rglob(".*.tmp")], "temporary files were left behind"
    images = [p for p in out.rglob("*") if p.suffix in (".jpg", ".png", ".tif")]
    for path in images:
        with Image.open(path) as image:
            image.load()
        record.read(path)
    return images


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = write_session(tmp_path_factory.mktemp("batch") / "session")
    return folder, fingerprint(folder)


@pytest.fixture(scope="module")
def first_run(session, tmp_path_factory):
    """The session retouched once with two workers (and --recursive)."""
    folder, _ = session
    out = tmp_path_factory.mktemp("batch-out") / "retouched"
    result = cli(folder, out, "--recursive", "--workers", "2")
    report = json.loads((out / "report.json").read_text())
    return out, result, report


def rows_by_file(report: dict) -> dict[str, dict]:
    return {row["file"]: row for row in report["files"]}


# --- pure parts ---------------------------------------------------------------------------------------

def test_discovery_finds_photos_by_suffix_and_skips_hidden_and_sidecars(session):
    folder, _ = session
    found = [str(p) for p in batch.discover(folder, recursive=True)]
    assert found == sorted(ALL)
    assert "sub/hopper.png" not in map(str, batch.discover(folder))


@pytest.mark.parametrize("source, fmt, expected", [
    ("a/IMG_1.JPG", "jpeg", "a/IMG_1.jpg"),
    ("IMG_1.NEF", "same", "IMG_1.tif"),
    ("IMG_1.png", "same", "IMG_1.png"),
    ("IMG_1.jpeg", "same", "IMG_1.jpg"),
    ("IMG_1.webp", "same", "IMG_1.webp"),
    ("IMG_1.tif", "png", "IMG_1.png"),
])
def test_output_name_follows_format(source, fmt, expected):
    assert str(batch.output_names([PurePosixPath(source)], fmt, "")[PurePosixPath(source)]) == expected


def test_raw_plus_jpeg_pairs_get_distinct_outputs():
    pair = [PurePosixPath("IMG_1.CR2"), PurePosixPath("IMG_1.JPG"), PurePosixPath("IMG_2.jpg")]
    names = batch.output_names(pair, "jpeg", "_rt")
    assert [str(names[p]) for p in pair] == ["IMG_1-cr2_rt.jpg", "IMG_1-jpg_rt.jpg", "IMG_2_rt.jpg"]


def test_checklist_flags_lowest_identity_and_any_below_budget():
    rows = [{"file": f"{i:02d}.jpg", "measures": {"identity": 0.99 - i / 100}} for i in range(20)]
    rows.append({"file": "noface.jpg", "measures": {}})
    flagged = batch.checklist(rows, identity_min=0.805)           # the lowest 10%: 19 and 18
    assert [(item["file"], item["why"]) for item in flagged] == [
        ("19.jpg", "below the budget"), ("18.jpg", "lowest in the session")]
    below = batch.checklist(rows, identity_min=0.835)             # 16..19 below: all flagged
    assert [item["file"] for item in below] == ["19.jpg", "18.jpg", "17.jpg", "16.jpg"]
    assert batch.checklist(rows[:1], identity_min=0.5)[0]["file"] == "00.jpg"


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_output_folder_among_the_inputs_is_refused(session, where):
    folder, _ = session
    out = {"same": folder, "inside": folder / "retouched", "around": folder.parent}[where]
    result = cli(folder, out)
    assert result.exit_code == 2
    assert "output folder" in result.output and str(folder) in result.output


def test_dry_run_lists_and_writes_nothing(session, tmp_path):
    folder, _ = session
    out = tmp_path / "never"
    result = cli(folder, out, "--dry-run", "--format", "same")
    assert result.exit_code == 0
    assert not out.exists()
    lines = result.output.splitlines()
    assert "do   hopper_raw.dng -> hopper_raw.tif" in lines
    assert "do   astronaut16.tif -> astronaut16.tif" in lines
    assert not any("sub/" in line for line in lines)             # not --recursive


# --- one real run -------------------------------------------------------------------------------------

def test_exit_code_and_summary(first_run):
    _, result, _ = first_run
    assert result.exit_code == 1                    # some files failed
    assert f"{len(ALL)} photos: {len(FACES)} done, 1 no face" in result.output
    assert "lost what" not in result.output         # the default format ("same") drops nothing
    assert "check these first" in result.output
    for name in BROKEN:
        assert f"failed: {name}:" in result.output   # one line per failure, as it happens


def test_every_portrait_is_retouched_with_a_record(first_run, session):
    out, _, report = first_run
    rows = rows_by_file(report)
    for name in FACES:
        row = rows[name]
        assert row["status"] == "done", row
        output = out / row["output"]
        assert output.suffix == batch.output_suffix(PurePosixPath(name).suffix, "same")
        assert output.stem == PurePosixPath(name).stem
        assert output.parent == (out / name).parent                 # folder structure kept
        entry = record.read(output)
        assert entry["input"]["sha256"] == session[1][name]
        assert entry["preset"]["digest"] == presets.load(PRESET).digest
        assert row["faces"] >= 1 and row["measures"]["identity"] > 0.8
        assert row["steps"] and all(0 <= s["applied"] <= s["requested"] for s in row["steps"])


def test_orientation_bit_depth_and_alpha_reach_the_output(first_run, session):
    """Nothing downgraded by default: 16-bit TIFF and RAW become 16-bit TIFFs, the cut-out keeps its alpha."""
    out, _, report = first_run
    with Image.open(out / "hopper_rotated.jpg") as image:
        assert image.size == (512, 600)             # upright: the EXIF turn applied
    for name in ("hopper_raw.tif", "astronaut16.tif"):
        written = tifffile.imread(out / name)
        assert written.dtype == np.uint16 and written.shape[2] == 3
    assert tifffile.imread(out / "hopper_raw.tif").shape[:2] == (600, 512)
    with Image.open(out / "cutout.png") as image, Image.open(session[0] / "cutout.png") as source:
        assert image.mode == "RGBA"
        assert np.array_equal(np.asarray(image)[..., 3], np.asarray(source)[..., 3])
    assert not any(row["dropped"] for row in report["files"])


def test_a_photo_without_a_face_is_passed_through(first_run, session):
    """Not a failure: written unchanged (no step needs no face in this preset), its record says why."""
    out, _, report = first_run
    row = rows_by_file(report)["coffee.jpg"]
    assert row["status"] == "no face" and row["output"] == "coffee.jpg" and row["faces"] == 0
    assert "no face found: no face edits" in record.read(out / "coffee.jpg")["warnings"]
    with Image.open(out / "coffee.jpg") as after, Image.open(session[0] / "coffee.jpg") as before:
        assert np.abs(np.asarray(after, np.float32) - np.asarray(before, np.float32)).mean() < 1.5   # re-encoded only


@pytest.mark.parametrize("name, reason", [
    ("truncated.jpg", "truncated.jpg"), ("empty.jpg", "empty"), ("notes.jpg", "notes.jpg")])
def test_broken_files_fail_with_a_reason_and_leave_no_output(first_run, name, reason):
    out, _, report = first_run
    row = rows_by_file(report)[name]
    assert row["status"] == "failed" and reason in row["reason"]
    assert row["output"] == ""
    assert not list(out.glob(PurePosixPath(name).stem + "*"))


def test_report_json_and_csv_agree_sorted_by_path(first_run):
    out, _, report = first_run
    files = [row["file"] for row in report["files"]]
    assert files == sorted(ALL)
    assert report["counts"] == {"done": len(FACES), "no face": len(NO_FACE), "skipped": 0, "failed": len(BROKEN),
                                "total": len(ALL)}
    with open(out / "report.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["file"], r["status"]) for r in table] == [(r["file"], r["status"]) for r in report["files"]]
    lowest = min((r for r in report["files"] if r["measures"].get("identity") is not None),
                 key=lambda r: r["measures"]["identity"])
    assert report["checklist"][0]["file"] == lowest["file"]
    assert {r["file"] for r in table if r["flagged"] == "yes"} == {c["file"] for c in report["checklist"]}


def test_second_run_skips_everything_done(first_run, session):
    out, _, _ = first_run
    folder, _ = session
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}
    result = cli(folder, out, "--recursive", "--workers", "2")
    report = json.loads((out / "report.json").read_text())
    assert result.exit_code == 1
    assert {r["file"] for r in report["files"] if r["status"] == "skipped"} == set(FACES + NO_FACE)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")} == stamps
    assert rows_by_file(report)["astronaut.jpg"]["steps"] == rows_by_file(first_run[2])["astronaut.jpg"]["steps"]


def test_inputs_untouched_and_nothing_written_into_the_session(first_run, session):
    folder, before = session
    complete_outputs(first_run[0])
    assert fingerprint(folder) == before


def test_a_chosen_format_that_drops_depth_or_alpha_says_so_once(session, tmp_path):
    """--format jpeg on a 16-bit TIFF and an RGBA cut-out: both written, the summary says so in one line,
    each record names what was dropped."""
    folder = tmp_path / "masters"
    folder.mkdir()
    for name in ("astronaut16.tif", "cutout.png", "astronaut.jpg"):
        shutil.copy(session[0] / name, folder / name)
    out = tmp_path / "out"
    result = cli(folder, out, "--format", "jpeg", "--workers", "1")
    assert result.exit_code == 0, result.output
    lost = [line for line in result.output.splitlines() if "lost what" in line]
    assert lost == ['2 outputs lost what their format cannot hold: 16-bit depth (1), transparency (1); '
                    'output format "same" keeps it (each record\'s warnings name it)']
    expected = {"astronaut16.jpg": ["16-bit depth"], "cutout.jpg": ["transparency"], "astronaut.jpg": []}
    for name, dropped in expected.items():
        entry = record.read(out / name)
        assert entry["output"]["dropped"] == dropped
        assert any("dropped" in warning for warning in entry["warnings"]) == bool(dropped)


# --- interruption ------------------------------------------------------------------------------------

def _start(session_dir: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", "import sys; from retouch.cli import main; sys.exit(main())",
               "batch", str(session_dir), str(out), "--workers", "1", "--preset", str(PRESET)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def _wait_for_new_record(process: subprocess.Popen, out: Path, seen: set[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(out.glob("*.retouch.json")) - seen:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.kill()
    pytest.fail("no output appeared in time")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ctrl_c_then_kill_9_then_resume(session, tmp_path):
    """Ctrl-C stops with 130; kill -9 leaves no half file and no orphan worker; a re-run finishes."""
    source, _ = session
    folder = tmp_path / "session"
    folder.mkdir()
    photos = ("astronaut.jpg", "grace_hopper.jpg", "hopper_raw.dng", "astronaut16.tif")
    for name in photos:
        shutil.copy(source / name, folder / name)
    before = fingerprint(folder)
    out = tmp_path / "out"

    interrupted = _start(folder, out)
    _wait_for_new_record(interrupted, out, set())
    interrupted.send_signal(signal.SIGINT)
    _, stderr = interrupted.communicate(timeout=60)
    assert interrupted.returncode == 130
    assert "interrupted" in stderr and "resume" in stderr
    after_interrupt = len(complete_outputs(out))

    killed = _start(folder, out)
    _wait_for_new_record(killed, out, set(out.glob("*.retouch.json")))
    workers = psutil.Process(killed.pid).children(recursive=True)
    killed.kill()
    killed.communicate(timeout=30)
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, "worker processes outlived the killed batch"
    finished = len(complete_outputs(out))
    assert 1 <= after_interrupt < finished < len(photos)

    result = cli(folder, out, "--workers", "1")
    report = json.loads((out / "report.json").read_text())
    assert result.exit_code == 0
    assert report["counts"] == {"done": len(photos) - finished, "no face": 0, "skipped": finished, "failed": 0,
                                "total": len(photos)}
    assert len(complete_outputs(out)) == len(photos)
    assert fingerprint(folder) == before


# --- a worker that dies ---------------------------------------------------------------------------------

def die_on_coffee(task: batch.Task) -> dict:
    """A task function whose worker dies on one photo (as a decoder crash or the OOM killer would)."""
    if task.file == "coffee.jpg":
        os._exit(9)
    return {"file": task.file, "status": "done"}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_local_pool_survives_a_dying_worker(session, tmp_path):
    """The photo that kills its worker is named; the photos in flight beside it are not lost."""
    folder, _ = session
    preset = presets.load(PRESET)
    plan = batch.plan(folder, tmp_path, preset)
    tasks = [t for t in plan.tasks if t.file in ("astronaut.jpg", "coffee.jpg")]
    executor = batch.LocalExecutor(2)
    try:
        results = dict((task.file, result) for task, result in executor.map_unordered(die_on_coffee, tasks))
    finally:
        executor.close()
    assert set(results) == {t.file for t in tasks}
    assert isinstance(results.pop("coffee.jpg"), batch.WorkerDied)
    assert all(result["status"] == "done" for result in results.values())
