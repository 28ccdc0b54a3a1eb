"""Safety with odd files (issue 19, sections 2-4): FIFOs where a file is expected, preset fields of the wrong
type, deep nesting, NaN, float and multi-frame TIFFs, tiny and malformed photos, long names, leftovers, long
comments, overlays with the same name, and galleries that must not take over a user's folder.

Real files throughout (FIFOs made with mkfifo); the commands run as real processes where a hang or a
traceback is what is being ruled out.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from retouch import files, io, presets, record, review, staging
from retouch.cli import main
from retouch.params import Param, ParamError
from retouch.photo import Photo

REPO = Path(__file__).resolve().parent.parent


def retouch_cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """`retouch ARGS` as a separate process (a hang shows as a timeout, a traceback in stderr)."""
    return subprocess.run([sys.executable, "-c", "import sys; from retouch.cli import main; sys.exit(main())",
                           *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def one_error_line(result) -> str:
    """The single `retouch: error:` line a refusal prints (and no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("retouch: error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def small_photo(path: Path, size: tuple[int, int] = (64, 64), **save) -> Path:
    """A small noise photo (no face): enough for the file-handling paths."""
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, **save)
    return path


# --- 2. FIFOs: refused at once, by the one helper --------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["preset.toml", "photo.jpg", "out.jpg.retouch.json", "decisions.json"])
def test_a_fifo_is_refused_not_waited_on(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    with pytest.raises((files.FileReadError, io.PhotoError, presets.PresetError, review.ReviewError),
                       match="FIFO"):
        if name.endswith(".toml"):
            presets.load(path)
        elif name.endswith(".jpg"):
            io.read(path)
        elif name.endswith(".retouch.json"):
            record.read(tmp_path / "out.jpg")
        else:
            review.read_decisions(path, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_fifo_preset_and_decisions_on_the_command_line(tmp_path, fifo):
    preset = fifo.rename(tmp_path / "mine.toml")
    result = retouch_cli("presets", "show", preset, timeout=60)           # a preset is a usage error: exit 2
    assert result.returncode == 2 and f"{preset}: not a file (a FIFO" in result.stderr
    assert "Traceback" not in result.stderr
    os.mkfifo(tmp_path / "decisions.json")
    result = retouch_cli("review", "import", tmp_path / "decisions.json", tmp_path, timeout=60)
    assert result.returncode == 1 and "FIFO" in one_error_line(result)


def test_sha256_refuses_a_fifo(fifo):
    with pytest.raises(files.FileReadError, match="FIFO"):
        staging.sha256_file(fifo)


# --- 3. presets of the wrong shape, deep nesting, NaN -----------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ('schema = 2\n[[steps]]\nedit = "skin"\nparams = 5\n', "x.toml:4: steps[1].params: expected a table"),
    ('schema = 2\nsteps = [1, 2]\n', "x.toml:2: steps[1]: expected a table"),
    ('schema = 2\nsteps = "skin"\n', "x.toml:2: steps: expected an array of tables"),
    ('schema = 2\nlimits = 0.5\n', "x.toml:2: limits: expected a table"),
    ('schema = 2\nbudget = "strict"\n', "x.toml:2: budget: expected a table"),
    ('schema = 2\noutput = ["jpeg"]\n', "x.toml:2: output: expected a table"),
    ('schema = 2\n[[steps]]\nedit = 5\n', "x.toml:3: steps[1].edit: expected an edit's name"),
    ('schema = 2\n[output]\nsuffix = "/../x"\n', "must not contain a folder separator"),
    ('schema = 2\nx = ' + "[" * 50_000 + "]" * 50_000 + "\n", "x.toml: nested too deeply"),
])
def test_preset_of_the_wrong_shape_is_one_line(text, message):
    with pytest.raises(presets.PresetError) as error:
        presets.parse(text, name="x", source="x.toml")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_deeply_nested_record_is_a_clear_error(tmp_path):
    output = tmp_path / "a.jpg"
    record.sidecar_paths(output)[0].write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        record.read(output)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_as_numbers(tmp_path, value):
    result = CliRunner().invoke(main, ["analyze", str(small_photo(tmp_path / "a.jpg")), "--max-megapixels", value])
    assert result.exit_code == 2
    assert "finite" in result.output or "range" in result.output


def test_a_fraction_for_a_whole_number_says_so():
    count = Param(3, 0, 10, kind=int)
    for value in ("5.5", 5.5):
        with pytest.raises(ParamError, match="is not a whole number"):
            count.check(value, "blemish.count")
    assert count.check("5", "blemish.count") == 5


# --- 3/4. photos refused before any work, naming the input -----------------------------------------------

def test_thin_photos_are_refused_as_too_small(tmp_path):
    for size in ((2, 300), (300, 1)):
        photo = small_photo(tmp_path / f"thin{size[0]}.png", size)
        result = CliRunner().invoke(main, ["apply", str(photo), str(tmp_path / f"out{size[0]}.jpg")])
        assert result.exit_code == 1
        assert "too small" in result.stderr and str(photo) in result.stderr
        assert "Traceback" not in result.output
        result = CliRunner().invoke(main, ["analyze", str(photo)])
        assert result.exit_code == 1 and result.stderr.startswith("retouch: error: ") and "too small" in result.stderr


def test_malformed_exif_is_refused_before_the_work_naming_the_input(tmp_path):
    photo = tmp_path / "bad_exif.jpg"
    small_photo(photo, exif=b"Exif\x00\x00II*\x00\xff\xff\x00\x00")      # IFD0 offset points nowhere
    assert io.read(photo).exif                                          # read as analyze reads it
    target = tmp_path / "out.jpg"
    result = CliRunner().invoke(main, ["apply", str(photo), str(target), "--only", "light"])
    assert result.exit_code == 1
    assert f"{photo}: the photo's EXIF block is malformed" in result.stderr
    assert not any(tmp_path.glob("out.jpg*"))


def test_float_tiff_is_refused_by_name(tmp_path):
    path = tmp_path / "hdr.tif"
    tifffile.imwrite(path, np.random.default_rng(1).random((64, 64, 3), dtype=np.float32) * 4, photometric="rgb")
    with pytest.raises(io.PhotoError, match="32-bit floating-point TIFF is not supported"):
        io.read(path)


@pytest.mark.parametrize("kind", ["tiff", "webp", "png"])
def test_frames_left_out_are_noted(tmp_path, kind):
    rng = np.random.default_rng(3)
    frames = [Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(3)]
    path = tmp_path / f"many.{'tif' if kind == 'tiff' else kind}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    photo = io.read(path)
    assert photo.notes and "3 frames" in photo.notes[0] and "only the first" in photo.notes[0]
    assert np.array_equal(photo.pixels, io.unit_float(np.asarray(frames[0]))) or kind == "webp"
    assert not io.read(small_photo(tmp_path / "one.png")).notes


# --- 3. writability and names checked before any work ----------------------------------------------------

def test_output_under_a_regular_file_is_refused_at_once(tmp_path):
    photo = small_photo(tmp_path / "a.jpg")
    (tmp_path / "file").write_text("not a folder")
    result = CliRunner().invoke(main, ["apply", str(photo), str(tmp_path / "file" / "out" / "a.jpg")])
    assert result.exit_code == 1 and "cannot write here" in result.stderr
    result = CliRunner().invoke(main, ["apply", str(photo), str(tmp_path / "a.gif")])
    assert result.exit_code == 1 and "cannot write format" in result.stderr


def test_temporary_names_fit_a_255_byte_name(tmp_path):
    longest = tmp_path / ("n" * 251 + ".jpg")
    io.write(Photo(np.zeros((32, 32, 3), np.float32)), longest)
    assert longest.is_file() and not [p for p in tmp_path.iterdir() if files.is_temporary(p.name)]
    photo = small_photo(tmp_path / "a.jpg")
    result = CliRunner().invoke(main, ["apply", str(photo), str(tmp_path / ("m" * 251 + ".jpg"))])
    assert result.exit_code == 1 and "too long to keep an edit record" in result.stderr


def test_sweep_removes_only_our_stale_temporaries(tmp_path):
    (tmp_path / "sub").mkdir()
    ours = [files.temporary_for(tmp_path / "a.jpg"), files.temporary_for(tmp_path / "sub" / ("x" * 250))]
    for path in ours:
        path.write_bytes(b"half")
    theirs = [tmp_path / ".notes.tmp", tmp_path / "a.jpg", tmp_path / ".a.jpg.draft.tmp"]
    for path in theirs:
        path.write_bytes(b"keep")
    assert sorted(files.sweep(tmp_path)) == sorted(ours)
    assert all(path.exists() for path in theirs)


def test_a_failed_stage_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), staging.staged() as stage:
        stage.data(tmp_path / "a.json", b"{}")
        stage.data(tmp_path / "b.json", b"{}")
        raise RuntimeError("the third file could not be made")
    assert not list(tmp_path.iterdir())


# --- 4. review: long comments, user folders, all-or-nothing import ----------------------------------------

def _output_with_record(out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    output = small_photo(out_dir / name)
    entry = {"input": {"path": "", "sha256": ""}, "output": {"path": name}, "preset": {"name": "x", "digest": "d"},
             "steps": [], "summary": {}, "description": "Nothing.", "version": "0", "created": record.now(),
             "digital_source_type": record.DIGITAL_SOURCE_TYPE, "review": {"decision": None, "comment": ""}}
    record.write(entry, output)
    return output


@pytest.fixture
def gallery_folder(tmp_path) -> Path:
    out_dir = tmp_path / "out"
    for name in ("a.jpg", "b.jpg"):
        _output_with_record(out_dir, name)
    review.build_gallery(out_dir, tmp_path / "gallery")
    return out_dir


def _decisions_file(tmp_path: Path, out_dir: Path, photos: list[dict]) -> Path:
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps({"gallery_id": review.gallery_id(out_dir), "photos": photos}))
    return path


def test_import_is_all_or_nothing_when_a_record_is_corrupt(tmp_path, gallery_folder):
    record.sidecar_paths(gallery_folder / "b.jpg")[0].write_text("{ not json")
    before = record.sidecar_paths(gallery_folder / "a.jpg")[0].read_bytes()
    decisions = _decisions_file(tmp_path, gallery_folder, [
        {"file": "a.jpg", "decision": "approved", "comment": "", "time": None},
        {"file": "b.jpg", "decision": "approved", "comment": "", "time": None}])
    result = CliRunner().invoke(main, ["review", "import", str(decisions), str(gallery_folder)])
    assert result.exit_code == 1
    assert "b.jpg.retouch.json" in result.stderr and "no decision was written" in result.stderr
    assert record.sidecar_paths(gallery_folder / "a.jpg")[0].read_bytes() == before


def test_long_comments_are_refused_and_never_echoed_in_full(tmp_path, gallery_folder):
    huge = _decisions_file(tmp_path, gallery_folder, [
        {"file": "a.jpg", "decision": "approved", "comment": "x" * 100_000, "time": None}])
    result = CliRunner().invoke(main, ["review", "import", str(huge), str(gallery_folder)])
    assert result.exit_code == 1 and "100,000 characters" in result.stderr and len(result.stderr) < 500
    assert record.read(gallery_folder / "a.jpg")["review"]["decision"] is None
    long = _decisions_file(tmp_path, gallery_folder, [
        {"file": "a.jpg", "decision": "needs changes", "comment": "softer " * 600, "time": None}])
    result = CliRunner().invoke(main, ["review", "import", str(long), str(gallery_folder)])
    assert result.exit_code == 0
    assert max(map(len, result.output.splitlines())) < 120
    assert record.read(gallery_folder / "a.jpg")["review"]["comment"] == "softer " * 600


def test_gallery_never_takes_over_a_users_folder(tmp_path, gallery_folder):
    theirs = tmp_path / "website"
    (theirs / "images").mkdir(parents=True)
    (theirs / "index.html").write_text("<p>my portfolio</p>")
    (theirs / "images" / "0001.after.jpg").write_bytes(b"my photo")
    result = CliRunner().invoke(main, ["review", str(gallery_folder), "--out", str(theirs)])
    assert result.exit_code == 1 and "not made by retouch review" in result.stderr
    assert (theirs / "index.html").read_text() == "<p>my portfolio</p>"
    assert (theirs / "images" / "0001.after.jpg").read_bytes() == b"my photo"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert review.build_gallery(gallery_folder, empty).index == empty / "index.html"
    assert review.build_gallery(gallery_folder, empty).index.is_file()          # its own folder: rebuilt


def test_replaced_outputs_are_not_in_the_gallery(tmp_path, gallery_folder):
    _output_with_record(gallery_folder / ".retouch-replaced" / "20260101-000000", "a.jpg")
    assert [p.name for p in record.find_outputs(gallery_folder, recursive=True)] == ["a.jpg", "b.jpg"]


# --- 4. analyze: errors on stderr, one overlay per input ---------------------------------------------------

@pytest.mark.timeout(120)
def test_analyze_errors_on_stderr_and_distinct_overlays(tmp_path):
    (tmp_path / "sub").mkdir()
    first, second = small_photo(tmp_path / "a.png"), small_photo(tmp_path / "sub" / "a.jpg", (80, 64))
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a photo")
    overlays = tmp_path / "overlays"
    result = CliRunner().invoke(main, ["analyze", str(first), str(second), str(broken), "--overlay", str(overlays)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"retouch: error: {broken}") and "broken" not in result.stdout
    written = sorted(overlays.iterdir())
    assert len(written) == 2
    assert {Image.open(path).size for path in written} == {(64, 64), (80, 64)}
    assert sorted(json.loads(CliRunner().invoke(main, ["analyze", str(first), "--json"]).stdout)[0]) == [
        "faces", "file", "notes", "person_matte", "size"]
