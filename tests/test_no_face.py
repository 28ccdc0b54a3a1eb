"""A frame with no face is not a failure (issue 18, part 4): detail shots, hands, the back of a dress.

It is passed through with the steps that need no face where they apply, unchanged otherwise, so the delivery
folder is complete; its record says "no face found: no face edits"; the batch counts it as "no face", not as
failed, and exits 0 when nothing else failed. Photos: skimage's coffee cup (public domain) and obama's
portrait with the face covered by a dark oval (the back of a head).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from portraits import faces, photo as portrait
from retouch import presets, record, samples
from retouch.cli import main
from retouch.job import retouch_file

pytestmark = pytest.mark.timeout(300)

PRESETS = Path(__file__).resolve().parent.parent / "presets"
NO_FACE_WARNING = "no face found: no face edits"


def back_of_head() -> np.ndarray:
    """obama's portrait (uint8) with his face and hairline covered by a dark oval: a person, no face."""
    pixels = (np.clip(portrait("obama").pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    x0, y0, x1, y1 = faces("obama").items[0].box
    pad = (x1 - x0) // 4
    cv2.ellipse(pixels, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2 + pad, (y1 - y0) // 2 + pad), 0, 0, 360,
                (20, 15, 12), -1)
    return pixels


@pytest.mark.parametrize("preset", ["natural", "corporate"])
@pytest.mark.parametrize("picture", ["coffee", "back_of_head"])
def test_a_frame_without_a_face_is_written_unchanged_with_its_reason(tmp_path, preset, picture):
    """Every face step is skipped for want of a face; the steps that need none (corporate's backdrop and
    background) run and find no person to work on (the person matte keeps people with a face), so the
    output is the input, and the record says why."""
    source = tmp_path / f"{picture}.png"
    Image.fromarray(data.coffee() if picture == "coffee" else back_of_head()).save(source)
    outcome = retouch_file(source, tmp_path / "out.png", presets.load(PRESETS / f"{preset}.toml"), sign=False)
    entry = outcome.record
    assert entry["faces"] == 0 and NO_FACE_WARNING in entry["warnings"]
    assert entry["steps"] and all(step["status"] == "skipped" and step["applied"] == 0 for step in entry["steps"])
    faceless = {step["edit"] for step in entry["steps"] if step["note"] != "no face found"}
    steps = {step.edit for step in presets.load(PRESETS / f"{preset}.toml").steps}
    assert faceless == {"backdrop", "background"} & steps
    with Image.open(source) as before, Image.open(outcome.output) as after:
        assert np.array_equal(np.asarray(before), np.asarray(after))
    assert entry["description"].endswith("identity check: no face measured.")


def test_apply_says_so_and_exits_0(tmp_path):
    source = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(source)
    result = CliRunner().invoke(main, ["apply", str(source), str(tmp_path / "out.png"), "--no-sign"])
    assert result.exit_code == 0, result.output
    assert f"warning: {NO_FACE_WARNING}" in result.output


@pytest.mark.slow
def test_a_batch_counts_it_as_no_face_and_exits_0(tmp_path):
    session = tmp_path / "session"
    session.mkdir()
    Image.fromarray(samples.astronaut_rgb()).save(session / "astronaut.jpg", quality=92)
    Image.fromarray(data.coffee()).save(session / "cup.jpg", quality=92)
    Image.fromarray(back_of_head()).save(session / "back.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(session), str(out), "--workers", "1", "--no-sign",
                                       "--preset", str(PRESETS / "natural.toml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 photos: 1 done, 2 no face (passed through without face edits), 0 already done, 0 failed" in result.output
    assert "failed:" not in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["counts"] == {"done": 1, "no face": 2, "skipped": 0, "failed": 0, "total": 3}
    rows = {row["file"]: row for row in report["files"]}
    for name in ("cup.jpg", "back.png"):
        assert rows[name]["status"] == "no face" and (out / rows[name]["output"]).is_file()
        assert NO_FACE_WARNING in record.read(out / rows[name]["output"])["warnings"]
    assert [item["file"] for item in report["checklist"]] == ["astronaut.jpg"]   # nothing to check without a face
    again = CliRunner().invoke(main, ["batch", str(session), str(out), "--workers", "1", "--no-sign",
                                      "--preset", str(PRESETS / "natural.toml")], catch_exceptions=False)
    assert again.exit_code == 0 and "0 done, 3 already done, 0 failed" in again.output
