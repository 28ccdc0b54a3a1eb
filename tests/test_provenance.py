"""Content Credentials on real outputs (issue 17): the app's export, `apply` and `batch` sign JPEG, PNG and
16-bit TIFF outputs; `retouch verify` and c2pa-python's own Reader (called here directly, not through
retouch) read back every step and measure; a changed pixel and a stripped manifest are caught; key
problems stop before anything is written; a batch resumes the same whether or not its outputs are signed.

obama (darker skin, tight curly hair) and grace_hopper (light skin) are retouched for real with the
natural preset. Every test runs with RETOUCH_CONFIG_DIR in its own temporary folder.
"""
from __future__ import annotations

import hashlib
import io as _io
import json
import shutil
from pathlib import Path

import c2pa
import cv2
import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from retouch import __version__, credentials, io, outputs, presets, provenance, record, samples, staging
from retouch.cli import main
from retouch.measure import MEASURES

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "presets" / "natural.toml"
STUDIO = "Northlight Studio"
ALGORITHMICALLY_ENHANCED = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicallyEnhanced"
MIME = {".jpg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff"}


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio's identity, made in a config folder of this module's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(credentials.CONFIG_ENV, str(tmp_path_factory.mktemp("config")))
        identity, _ = credentials.create(STUDIO)
        yield identity


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("originals")
    shutil.copy(samples.portrait_path("obama"), folder / "obama.jpg")
    shutil.copy(samples.grace_hopper_path(), folder / "grace.jpg")
    tifffile.imwrite(folder / "obama16.tif", samples.portrait_rgb("obama").astype(np.uint16) * 257,
                     photometric="rgb")
    return folder


def apply(*args, **kwargs):
    return CliRunner().invoke(main, ["apply", *map(str, args), "--preset", str(PRESET)], **kwargs)


@pytest.fixture(scope="module")
def signed(studio, originals, tmp_path_factory) -> dict[str, Path]:
    """One signed output per format: JPEG through the app's export, PNG and 16-bit TIFF through `apply`."""
    from gui import jobs
    out = tmp_path_factory.mktemp("signed")
    [(_, outcome)] = jobs.export(originals / "grace.jpg", out / "grace.jpg", presets.load(str(PRESET)))
    assert outcome.record["credentials"]["signed_by"] == STUDIO
    made = {"jpeg": out / "grace.jpg"}
    for kind, source, name in (("png", "obama.jpg", "obama.png"), ("tiff16", "obama16.tif", "obama16.tif")):
        result = apply(originals / source, out / name)
        assert result.exit_code == 0, result.output
        assert f"Content Credentials: signed by {STUDIO}" in result.output
        made[kind] = out / name
    return made


FORMATS = ["jpeg", "png", "tiff16"]


def applied_steps(entry: dict) -> list[dict]:
    return [step for step in entry["steps"] if step["applied"] > 0]


# --- round trip --------------------------------------------------------------------------------------

@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", FORMATS)
def test_verify_reads_back_every_step_and_measure(signed, kind):
    output = signed[kind]
    entry = record.read(output)
    found = provenance.verify(output)
    assert found.state == "valid" and found.trusted and found.signer == STUDIO and found.exit_code == 0
    assert found.generator == f"retouch {__version__}"
    assert found.steps[0].startswith(f"opened {Path(entry['input']['path']).name}")
    steps = applied_steps(entry)
    assert steps and len(found.steps) == 1 + len(steps)
    for step, line in zip(steps, found.steps[1:]):
        assert f"({step['edit']})" in line
        assert f"{step['requested']:.2f} requested, {step['applied']:.2f} applied" in line
    assert len(found.measures) == len(entry["summary"]) >= len(MEASURES) - 1
    for line, (name, value) in zip(found.measures, entry["summary"].items()):
        assert line.startswith(f"{MEASURES[name].label}: {MEASURES[name].show(value)}")
    result = CliRunner().invoke(main, ["verify", str(output)])
    assert result.exit_code == 0
    assert f"signed by: {STUDIO} (trusted)" in result.output and "unchanged since signing" in result.output


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", FORMATS)
def test_an_independent_reader_sees_the_manifest(signed, studio, kind):
    """c2pa-python's own Reader, trusting the studio's CA file, finds what the record says."""
    output = signed[kind]
    entry = record.read(output)
    ca = (credentials.folder() / "ca.pem").read_text()
    context = c2pa.Context(c2pa.Settings.from_dict({"trust": {"user_anchors": ca},
                                                    "verify": {"remote_manifest_fetch": False}}))
    with open(output, "rb") as stream, c2pa.Reader(MIME[output.suffix], stream, None, context) as reader:
        assert reader.get_validation_state() == "Trusted"
        manifest = reader.get_active_manifest()
    assert manifest["claim_generator_info"][0]["name"] == "retouch"
    assert manifest["claim_generator_info"][0]["version"] == __version__
    assert manifest["signature_info"]["common_name"] == STUDIO
    [parent] = [i for i in manifest["ingredients"] if i["relationship"] == "parentOf"]
    assert parent["title"] == Path(entry["input"]["path"]).name
    assert parent["metadata"]["org.retouch-photo.sha256"] == entry["input"]["sha256"]
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    actions = assertions["c2pa.actions.v2"]["actions"]
    assert actions[0]["action"] == "c2pa.opened"
    edited = actions[1:]
    assert [a["action"] for a in edited] == ["c2pa.edited"] * len(applied_steps(entry))
    for action, step in zip(edited, applied_steps(entry)):
        assert action["digitalSourceType"] == ALGORITHMICALLY_ENHANCED
        assert action["parameters"]["org.retouch-photo.step"] == {
            key: step[key] for key in ("edit", "requested", "applied", "bound_by")}
    measures = assertions["org.retouch-photo.measures"]
    # CBOR keeps the numbers; c2pa's JSON prints some with 15 significant digits
    assert {row["name"]: row["value"] for row in measures["measures"]} == pytest.approx(entry["summary"], rel=1e-12)
    assert {row["name"]: row["limit"] for row in measures["measures"] if row["limit"] is not None} == pytest.approx(
        {name: limit for name, limit in entry["budget"].items() if name in entry["summary"]}, rel=1e-12)
    assert measures["preset"]["digest"] == entry["preset"]["digest"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", FORMATS)
def test_the_record_names_the_signed_file(signed, studio, kind):
    entry = record.read(signed[kind])
    assert entry["output"]["sha256"] == staging.sha256_file(signed[kind])
    assert entry["credentials"] == {"standard": "C2PA", "signed_by": STUDIO,
                                    "certificate_sha256": studio.fingerprint}


@pytest.mark.timeout(600)
def test_sixteen_bits_survive_signing(signed):
    photo = io.read(signed["tiff16"])
    assert photo.bit_depth == 16 and tifffile.imread(signed["tiff16"]).dtype == np.uint16


@pytest.mark.timeout(600)
def test_a_signature_changes_no_pixel(signed, originals, tmp_path):
    unsigned = tmp_path / "obama.png"
    result = apply(originals / "obama.jpg", unsigned, "--no-sign")
    assert result.exit_code == 0 and "not signed (--no-sign)" in result.output
    assert provenance.verify(unsigned).state == "none" and record.read(unsigned)["credentials"] is None
    assert np.array_equal(io.read(unsigned).pixels, io.read(signed["png"]).pixels)


# --- tampering ---------------------------------------------------------------------------------------

def _change_one_pixel(path: Path) -> None:
    """Add 1 to one 16-bit sample of an uncompressed TIFF, in place: the manifest stays, one pixel changes."""
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        assert page.compression == 1 and page.dtype == np.uint16 and page.is_contiguous
        offset = page.dataoffsets[0]
        width = page.shape[1]
    y, x = 200, 300
    position = offset + ((y * width + x) * 3 + 1) * 2
    with open(path, "r+b") as fh:
        fh.seek(position)
        value = int.from_bytes(fh.read(2), "little")
        fh.seek(position)
        fh.write(((value + 1) % 65536).to_bytes(2, "little"))


@pytest.mark.timeout(600)
def test_one_changed_pixel_is_caught(signed, tmp_path):
    changed = tmp_path / "obama16.tif"
    shutil.copy(signed["tiff16"], changed)
    _change_one_pixel(changed)
    difference = np.abs(io.read(changed).pixels - io.read(signed["tiff16"]).pixels).max(axis=2) > 0
    assert difference.sum() == 1
    found = provenance.verify(changed)
    assert found.state == "changed" and found.exit_code == 1
    result = CliRunner().invoke(main, ["verify", str(changed), str(signed["png"])])
    assert result.exit_code == 1
    assert "CHANGED after signing" in result.output and "no longer matches its signature" in result.output


@pytest.mark.timeout(600)
def test_a_stripped_manifest_means_no_credentials(signed, tmp_path):
    stripped = tmp_path / "obama.png"
    pixels = cv2.imread(str(signed["png"]), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(stripped), pixels)            # the same pixels, re-encoded without the manifest
    result = CliRunner().invoke(main, ["verify", str(stripped)])
    assert result.exit_code == 2 and "no Content Credentials" in result.output
    both = CliRunner().invoke(main, ["verify", str(stripped), str(signed["jpeg"])])
    assert both.exit_code == 2


def resign(output: Path, original: Path, target: Path, identity: credentials.Credentials) -> Path:
    """`output`'s pixels and record written again as `target`, signed by `identity` as made from `original`."""
    entry, signing = provenance.prepare(identity, record.read(output), original, target)
    outputs.write(io.read(output), target, entry, quality=92, previous=None, sign=signing)
    return target


@pytest.mark.timeout(600)
def test_another_signer_is_shown_as_unknown_until_trusted(signed, originals, tmp_path):
    """A file signed by someone else (here: another studio's chain) still verifies, as an unknown signer."""
    ca, _, chain, key = credentials.make_chain("Elsewhere Photo")
    other = credentials.Credentials("Elsewhere Photo", chain, key, "es256", ca, Path("chain.pem"), Path("key.pem"))
    target = resign(signed["png"], originals / "obama.jpg", tmp_path / "elsewhere.png", other)
    found = provenance.verify(target)
    assert found.state == "valid" and not found.trusted and found.who == "Elsewhere Photo (unknown signer)"
    result = CliRunner().invoke(main, ["verify", str(target)])
    assert result.exit_code == 0 and "Elsewhere Photo (unknown signer)" in result.output
    (tmp_path / "their-ca.pem").write_bytes(ca)
    trusted = CliRunner().invoke(main, ["verify", str(target), "--trust", str(tmp_path / "their-ca.pem")])
    assert trusted.exit_code == 0 and "Elsewhere Photo (trusted)" in trusted.output


@pytest.mark.timeout(600)
def test_an_original_c2pa_cannot_read_is_named_with_its_hash(signed, studio, tmp_path):
    """A camera RAW c2pa has no reader for (a Fujifilm .raf here) is described, not read: its name and sha256."""
    original = tmp_path / "DSCF0001.raf"
    samples.write_dng(samples.grace_hopper_rgb(), original)        # only its bytes and name matter here
    target = resign(signed["jpeg"], original, tmp_path / "from-raw.jpg", studio)
    found = provenance.verify(target)
    sha = record.read(signed["jpeg"])["input"]["sha256"]
    assert found.state == "valid" and found.steps[0] == f"opened DSCF0001.raf (sha256 {sha[:16]}\u2026)"


# --- key problems: one line, nothing written -----------------------------------------------------------

@pytest.mark.parametrize("damage, words", [
    (lambda where: (where / "signing.key").unlink(), "missing"),
    (lambda where: (where / "signing.key").write_bytes(
        credentials.make_chain("Someone")[3]), "does not belong"),
])
def test_a_missing_or_wrong_key_stops_before_anything_is_written(originals, session, tmp_path, monkeypatch,
                                                                  damage, words):
    monkeypatch.setenv(credentials.CONFIG_ENV, str(tmp_path / "config"))
    credentials.create(STUDIO)
    damage(credentials.folder())
    out = tmp_path / "out"
    out.mkdir()
    for result in (apply(originals / "obama.jpg", out / "obama.jpg"), batch(session, out / "session")):
        assert result.exit_code == 1
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
        assert "signing.key" in result.stderr
    assert list(out.iterdir()) == []


# --- batch ---------------------------------------------------------------------------------------------

def batch(*args):
    return CliRunner().invoke(main, ["batch", *map(str, args), "--preset", str(PRESET), "--workers", "1"],
                              catch_exceptions=False)


def contents(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(("report.", "."))}


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("session")
    shutil.copy(samples.portrait_path("obama"), folder / "obama.jpg")
    shutil.copy(samples.grace_hopper_path(), folder / "grace.jpg")
    return folder


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_batch_signs_resumes_and_a_signature_alone_changes_nothing(session, tmp_path, monkeypatch):
    monkeypatch.setenv(credentials.CONFIG_ENV, str(tmp_path / "config"))
    unsigned_out, signed_out = tmp_path / "unsigned", tmp_path / "signed"

    first = batch(session, unsigned_out)                      # no credentials yet: unsigned, said once
    assert first.exit_code == 0, first.output
    assert first.output.count("not signed") == 1
    made = contents(unsigned_out)
    assert all(provenance.verify(unsigned_out / name).state == "none" for name in ("obama.jpg", "grace.jpg"))

    credentials.create(STUDIO)
    again = batch(session, unsigned_out)                      # a signature alone is no reason to redo
    assert again.exit_code == 0 and "2 photos: 0 done, 2 already done" in again.output
    assert contents(unsigned_out) == made

    signed_run = batch(session, signed_out)
    assert signed_run.exit_code == 0 and "not signed" not in signed_run.output
    signed_files = contents(signed_out)
    for name in ("obama.jpg", "grace.jpg"):
        found = provenance.verify(signed_out / name)
        assert found.state == "valid" and found.signer == STUDIO and found.trusted
        assert np.array_equal(io.read(signed_out / name).pixels, io.read(unsigned_out / name).pixels)
    resumed = batch(session, signed_out)
    assert resumed.exit_code == 0 and "2 photos: 0 done, 2 already done" in resumed.output
    assert contents(signed_out) == signed_files

    verified = CliRunner().invoke(main, ["verify", *(str(signed_out / n) for n in ("obama.jpg", "grace.jpg"))])
    assert verified.exit_code == 0

    gallery = CliRunner().invoke(main, ["review", str(signed_out), "--out", str(tmp_path / "gallery")])
    assert gallery.exit_code == 0, gallery.output
    page = (tmp_path / "gallery" / "index.html").read_text()
    assert page.count(f"Content Credentials: signed by {STUDIO} (trusted), unchanged since.") == 2
    plain = CliRunner().invoke(main, ["review", str(unsigned_out), "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0
    assert (tmp_path / "plain" / "index.html").read_text().count("Content Credentials: none") == 2


# --- the app -------------------------------------------------------------------------------------------

def test_the_measures_panel_says_whose_credentials_exports_carry(qtbot, tmp_path, monkeypatch):
    from gui.panels import MeasuresPanel
    from retouch.budget import Budget
    monkeypatch.setenv(credentials.CONFIG_ENV, str(tmp_path / "config"))
    panel = MeasuresPanel()
    qtbot.addWidget(panel)
    panel.show_result({"identity": 0.98}, Budget(), [], "same person")
    assert "not signed" in panel.credentials.text() and "credentials init" in panel.credentials.text()
    credentials.create(STUDIO)
    panel.show_result({"identity": 0.98}, Budget(), [], "same person")
    assert f"signed by {STUDIO}" in panel.credentials.text()
    panel.clear("")
    assert panel.credentials.text() == ""
