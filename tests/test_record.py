"""The edit record: JSON sidecar and an XMP packet a standard XMP reader (exiftool) parses."""
import json
import shutil
import subprocess

import pytest

from retouch import record

RESULT = {
    "preset": "natural", "preset_digest": "ab" * 32, "faces": 1,
    "steps": [{"edit": "skin", "requested": 0.5, "applied": 0.31, "status": "backed off",
               "bound_by": ["texture"], "metrics": {}, "note": "lowered"},
              {"edit": "blemish", "requested": 1.0, "applied": 1.0, "status": "applied",
               "bound_by": [], "metrics": {}, "note": ""}],
    "metrics": {"faces": [{"identity": 0.97}], "frame": {"spill": 0.0}},
    "summary": {"identity": 0.97, "skin_de_mean": 0.41, "texture": 0.86, "spill": 0.0, "drift": None},
    "budget": {"identity_min": 0.9}, "warnings": [],
}


@pytest.fixture
def written(tmp_path):
    output = tmp_path / 'portrait <"&>.jpg'
    output.write_bytes(b"stand-in")
    entry = record.build(RESULT, input_path="/session/portrait.jpg", input_sha256="cd" * 32,
                         output_path=output, preset_summary={"name": "natural"})
    record.write(entry, output)
    return output, entry


def test_record_states_what_was_done(written):
    output, entry = written
    stored = record.read(output)
    assert stored == json.loads(json.dumps(entry))
    assert stored["digital_source_type"] == record.DIGITAL_SOURCE_TYPE
    assert stored["input"]["sha256"] == "cd" * 32
    assert [s["applied"] for s in stored["steps"]] == [0.31, 1.0]
    assert stored["description"] == "Skin gently evened, blemishes removed; identity check: same person."


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool (Debian libimage-exiftool-perl) missing")
def test_xmp_sidecar_parses_with_exiftool(written):
    output, _ = written
    _, xmp = record.sidecar_paths(output)
    out = subprocess.run(["exiftool", "-j", "-struct", "-XMP:all", str(xmp)], capture_output=True, text=True,
                         check=True)
    tags = json.loads(out.stdout)[0]
    assert tags["DigitalSourceType"] == record.DIGITAL_SOURCE_TYPE
    assert tags["CreatorTool"].startswith("retouch ")
    assert tags["Preset"] == "natural" and tags["InputSHA256"] == "cd" * 32
    assert [s["Edit"] for s in tags["Steps"]] == ["skin", "blemish"]
    assert str(tags["Steps"][0]["Applied"]) == "0.31"


def test_review_decision_is_stored_and_validated(written):
    output, _ = written
    record.set_review(output, "approved", "lovely", source="client")
    assert record.read(output)["review"]["decision"] == "approved"
    with pytest.raises(ValueError, match="'maybe' is not one of"):
        record.set_review(output, "maybe", source="client")


def test_missing_record_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no edit record next to x.jpg"):
        record.read(tmp_path / "x.jpg")
