"""The command line as a photographer meets it: exit codes, one-line errors, outputs and records."""
import json
import shutil

import pytest
from click.testing import CliRunner

from retouch import record
from retouch.cli import main


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from retouch import samples
    folder = tmp_path_factory.mktemp("cli")
    samples.write_sample_session(folder)
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    return folder


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_analyze_reports_faces_and_writes_overlays(session, tmp_path):
    result = invoke("analyze", session / "astronaut.jpg", session / "grace_hopper.jpg", "--json",
                    "--overlay", tmp_path)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [len(r["faces"]) for r in rows] == [1, 1]
    assert rows[0]["faces"][0]["landmarks"] == 478 and rows[0]["person_matte"]
    assert all((tmp_path / f"{name}.overlay.png").stat().st_size > 0 for name in ("astronaut", "grace_hopper"))


def test_analyze_exit_1_when_a_file_fails_and_names_it(session):
    result = invoke("analyze", session / "astronaut.jpg", session / "broken.jpg")
    assert result.exit_code == 1
    assert "error: " in result.output and "broken.jpg" in result.output and "Traceback" not in result.output


def test_apply_writes_output_record_and_xmp(session, tmp_path):
    target = tmp_path / "out.jpg"
    result = invoke("apply", session / "astronaut.jpg", target, "--set", "skin.strength=0.3")
    assert result.exit_code == 0, result.output
    assert "skin" in result.output and "->" in result.output
    entry = record.read(target)
    assert entry["input"]["sha256"] and entry["steps"][[s["edit"] for s in entry["steps"]].index("skin")][
        "requested"] == 0.3
    assert record.sidecar_paths(target)[1].exists()
    again = invoke("apply", session / "astronaut.jpg", target)
    assert again.exit_code == 1 and "already exists" in again.output


def test_apply_refuses_values_above_the_hard_max_with_exit_2(session, tmp_path):
    result = invoke("apply", session / "astronaut.jpg", tmp_path / "x.jpg", "--set", "skin.strength=5")
    assert result.exit_code == 2
    assert "skin.strength" in result.output and "5" in result.output
    assert not (tmp_path / "x.jpg").exists()


def test_apply_never_writes_over_the_original(session, tmp_path):
    original = tmp_path / "a.jpg"
    shutil.copy(session / "astronaut.jpg", original)
    before = original.read_bytes()
    result = invoke("apply", original, original, "--overwrite")
    assert result.exit_code == 1 and "original" in result.output
    assert original.read_bytes() == before


def test_apply_on_a_corrupt_file_is_one_line(session, tmp_path):
    result = invoke("apply", session / "broken.jpg", tmp_path / "b.jpg")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "broken.jpg" in result.output


def test_edits_lists_every_declared_range():
    result = invoke("edits", "--json")
    table = json.loads(result.output)
    from retouch import edits
    assert set(table) == set(edits.edit_modules()) >= {"blemish", "skin", "light", "eyes", "teeth", "background"}
    assert all("hard_max" in table[name]["strength"] for name in table)
    assert table["background"]["settings"]["mode"]["allowed"] == "color | gradient | image"


def test_measure_gives_a_verdict(session):
    result = invoke("measure", session / "astronaut.jpg", session / "astronaut.jpg")
    assert result.exit_code == 0, result.output
    assert "same person" in result.output


def test_presets_list_and_show():
    listing = invoke("presets")
    assert "natural" in listing.output and "actor" in listing.output
    shown = json.loads(invoke("presets", "show", "natural").output)
    assert shown["name"] == "natural" and shown["steps"]


def test_pixel_limit_is_configurable_and_refuses_with_one_line(session, tmp_path):
    result = invoke("apply", session / "astronaut.jpg", tmp_path / "a.jpg", "--max-megapixels", "1")
    assert result.exit_code == 0, result.output
    small = invoke("analyze", session / "astronaut.jpg", "--max-megapixels", "1")
    assert small.exit_code == 0
    from PIL import Image
    Image.new("RGB", (1500, 1000)).save(tmp_path / "big.png")
    refused = invoke("analyze", tmp_path / "big.png", "--max-megapixels", "1")
    assert refused.exit_code == 1 and "big.png" in refused.output
