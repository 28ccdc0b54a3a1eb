"""Edit-In (`retouch-edit-in`): the host's TIFF retouched in place, keeping depth, profile, EXIF and XMP.

The host file is made the way Lightroom Classic and Capture One write one: a 16-bit RGB TIFF (ZIP
compressed), an ICC profile, EXIF with camera details, and the host's XMP (caption, rating, keywords,
develop settings and a history). Real portraits, light and darker skin, scaled down to keep the run short.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")     # before Qt is first imported (the review test)

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from portraits import photo
from retouch import edit_in, presets, record, xmp_history
from retouch.exif import append_tiff_exif
from retouch.io import read
from retouch.staging import sha256_file

HOST_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.0 (Macintosh)" xmp:Rating="4"
   xmp:ModifyDate="2026-11-21T10:00:00+01:00" xmpMM:InstanceID="xmp.iid:host-1" crs:Exposure2012="+0.35">
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Smith family, garden</rdf:li></rdf:Alt></dc:description>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>clients|Smith</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <xmpMM:History><rdf:Seq>
     <rdf:li stEvt:action="derived" stEvt:parameters="converted from image/x-canon-cr2 to image/tiff"/>
     <rdf:li stEvt:action="saved" stEvt:instanceID="xmp.iid:host-1" stEvt:when="2026-11-21T10:00:00+01:00"
      stEvt:softwareAgent="Adobe Photoshop Lightroom Classic 13.0 (Macintosh)" stEvt:changed="/"/>
   </rdf:Seq></xmpMM:History>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode("utf-8")
PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
SKINS = ["obama", "grace_hopper"]      # darker and light skin


def host_exif() -> bytes:
    exif = Image.Exif()
    exif.update({271: "Canon", 272: "EOS R5", 315: "A. Photographer"})
    exif.get_ifd(0x8769).update({34855: 200, 33434: 1 / 160})
    return exif.tobytes()


def host_tiff(path: Path, name: str, *, scale: float = 0.6) -> Path:
    """A 16-bit TIFF as Lightroom's Edit In writes it, of a test portrait scaled by `scale`."""
    pixels = photo(name).pixels
    height, width = (round(side * scale) for side in pixels.shape[:2])
    small = np.asarray(Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).resize((width, height),
                                                                                     Image.Resampling.LANCZOS))
    sixteen = small.astype(np.uint16) * 257
    with open(path, "w+b") as fh:
        tifffile.imwrite(fh, sixteen, photometric="rgb", compression="zlib", iccprofile=PROFILE,
                         extratags=[(700, "B", len(HOST_XMP), HOST_XMP, True)], software=False, metadata=None)
        append_tiff_exif(fh, host_exif())
    return path


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch) -> Path:
    """A config folder of this test's own: no studio credentials (outputs unsigned), no settings."""
    folder = tmp_path / "config"
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(folder))
    return folder


def _xmp(path: Path) -> bytes:
    return edit_in.embedded_xmp(path)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", SKINS)
def test_retouched_in_place_keeping_depth_profile_exif_and_host_xmp(tmp_path, name):
    path = host_tiff(tmp_path / f"{name}-Edit.tif", name)
    handed_sha = sha256_file(path)
    before = read(path)
    outcome = edit_in.retouch_in_place(path, presets.load("natural"))
    after = read(path)
    assert after.bit_depth == 16 and after.icc == PROFILE and after.size == before.size
    with tifffile.TiffFile(path) as tiff:
        assert tiff.pages[0].dtype == np.uint16 and tiff.pages[0].samplesperpixel == 3
    exif = Image.open(path).getexif()
    assert (exif[271], exif[272], exif[315]) == ("Canon", "EOS R5", "A. Photographer")
    assert exif.get_ifd(0x8769)[34855] == 200
    changed = np.abs(after.pixels - before.pixels).max(axis=2) > 2 / 255
    assert 0 < changed.mean() < 0.5                     # retouched, not replaced
    packet = _xmp(path).decode("utf-8")
    for kept in ("Smith family, garden", "clients|Smith", 'xmp:Rating="4"', "Exposure2012",
                 "Adobe Photoshop Lightroom Classic 13.0 (Macintosh)", "converted from image/x-canon-cr2"):
        assert kept in packet
    events = xmp_history.events(_xmp(path))
    assert len(events) == 1 and events[0]["softwareAgent"] == "retouch 0.1.0" and events[0]["when"]
    entry = record.read(path)
    assert entry["input"] == {"path": str(path), "sha256": handed_sha}      # the file as it was handed over
    assert entry["output"]["sha256"] == sha256_file(path) == outcome.record["output"]["sha256"]
    assert entry["output"]["previous_sha256"] == handed_sha
    assert record.sidecar_paths(path)[1].read_bytes() == _xmp(path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool (Debian libimage-exiftool-perl) missing")
@pytest.mark.timeout(240)
def test_exiftool_reads_the_history_in_order_and_the_hosts_fields(tmp_path):
    path = host_tiff(tmp_path / "obama-Edit.tif", "obama", scale=0.4)
    edit_in.retouch_in_place(path, presets.load("natural"))
    found = json.loads(subprocess.run(["exiftool", "-j", "-struct", "-XMP:all", "-EXIF:Model", str(path)],
                                      capture_output=True, text=True, timeout=60, check=True).stdout)[0]
    assert [event["Action"] for event in found["History"]] == ["derived", "saved", "edited"]
    ours = found["History"][-1]
    assert ours["SoftwareAgent"] == "retouch 0.1.0" and ours["Changed"] == "/"
    assert ours["Parameters"].startswith("natural preset: ")
    assert found["InstanceID"] == ours["InstanceID"]
    assert found["Description"] == "Smith family, garden" and found["Rating"] == 4
    assert found["CreatorTool"] == "Adobe Photoshop Lightroom Classic 13.0 (Macintosh)"
    assert found["DigitalSourceType"].endswith("algorithmicallyEnhanced") and found["Model"] == "EOS R5"


@pytest.mark.timeout(240)
def test_a_second_run_says_already_retouched_and_changes_nothing_unless_again(tmp_path):
    path = host_tiff(tmp_path / "grace-Edit.tif", "grace_hopper", scale=0.5)
    natural = presets.load("natural")
    edit_in.retouch_in_place(path, natural)
    once = path.read_bytes()
    with pytest.raises(edit_in.AlreadyRetouched, match="already retouched .*retouch 0.1.0.*left as it is"):
        edit_in.retouch_in_place(path, natural)
    assert path.read_bytes() == once
    record.sidecar_paths(path)[0].unlink()            # the XMP history alone still tells
    with pytest.raises(edit_in.AlreadyRetouched):
        edit_in.retouch_in_place(path, natural)
    again = edit_in.retouch_in_place(path, natural, again=True)
    assert len(xmp_history.events(_xmp(path))) == 2
    assert any(w.startswith("retouched again: it was already retouched") for w in again.record["warnings"])


def test_a_crash_while_writing_back_leaves_the_hosts_file_whole(tmp_path, monkeypatch):
    path = host_tiff(tmp_path / "astronaut-Edit.tif", "astronaut", scale=0.5)
    handed = path.read_bytes()
    from retouch import outputs

    def crash(*args, **kwargs):
        raise OSError("simulated power cut while staging")

    monkeypatch.setattr(outputs.staging.Stage, "commit", crash)
    with pytest.raises(OSError, match="simulated"):
        edit_in.retouch_in_place(path, presets.load("natural"))
    assert path.read_bytes() == handed
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]     # no record, no sidecar, no temporary


def test_a_file_another_edit_in_is_writing_is_refused(tmp_path):
    import fcntl
    path = host_tiff(tmp_path / "astronaut-Edit.tif", "astronaut", scale=0.3)
    with open(path, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(edit_in.FileBusy, match="another retouch-edit-in"):
            edit_in.retouch_in_place(path, presets.load("natural"))


def test_settings_default_saved_and_refused(config):
    assert edit_in.load_settings() == edit_in.Settings("natural", False)
    edit_in.save_settings(edit_in.Settings("corporate", True))
    assert edit_in.load_settings() == edit_in.Settings("corporate", True)
    (config / edit_in.SETTINGS_FILE).write_text('preset = "natural"\ncolour = "red"\n')
    with pytest.raises(edit_in.SettingsError, match="edit-in.toml: unknown setting 'colour'"):
        edit_in.load_settings()
    (config / edit_in.SETTINGS_FILE).write_text("review = 'yes'\n")
    with pytest.raises(edit_in.SettingsError, match="review true or false"):
        edit_in.load_settings()


def _command(*args: str, env_dir: Path, timeout: int = 200) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("retouch-edit-in")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "RETOUCH_CONFIG_DIR": str(env_dir)})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_command_as_a_host_starts_it(tmp_path, config):
    good = host_tiff(tmp_path / "obama-Edit.tif", "obama", scale=0.4)
    broken = tmp_path / "broken-Edit.tif"
    broken.write_bytes(good.read_bytes()[:5000])
    unsupported = tmp_path / "layers.psd"
    unsupported.write_bytes(b"8BPS")
    done = _command(str(good), env_dir=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"retouch-edit-in: {good}: retouched in place with natural: ")
    again = _command(str(good), env_dir=config)
    assert again.returncode == 0 and "already retouched" in again.stdout
    failed = _command(str(broken), str(unsupported), env_dir=config)
    assert failed.returncode == 1
    errors = failed.stderr.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("retouch-edit-in: error: ") for line in errors)
    assert str(broken) in errors[0] and str(unsupported) in errors[1]
    log = (config / edit_in.LOG_FILE).read_text().splitlines()
    assert len(log) == 4 and "retouched in place" in log[0] and "already retouched" in log[1]
    saved = _command("--preset", "nonesuch", "--save", env_dir=config)
    assert saved.returncode == 2 and "nonesuch" in saved.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_review_exports_write_back_from_the_file_as_handed_over(qtbot, tmp_path):
    """--review: the app opens on a copy of the host's file; each Export writes back over the host's file,
    always from the pixels handed over, so exporting twice retouches once."""
    from gui.photo_folder import Entry
    from gui.window import ReviewWindow
    path = host_tiff(tmp_path / "grace-Edit.tif", "grace_hopper", scale=0.5)
    handed_sha = sha256_file(path)
    handed = tmp_path / "handed" / path.name
    handed.parent.mkdir()
    shutil.copyfile(path, handed)
    window = ReviewWindow()
    try:
        with qtbot.waitSignal(window.measuresShown, timeout=120_000):
            window.show_entries([Entry(handed, target=path)], tmp_path)
        for export in range(2):
            window.export()
            qtbot.waitUntil(lambda: window.entry.output == path and not window.exports, timeout=120_000)
            entry = record.read(path)
            assert entry["input"] == {"path": str(path), "sha256": handed_sha}
            assert entry["output"]["sha256"] == sha256_file(path)
            assert len(xmp_history.events(_xmp(path))) == 1 and "Smith family, garden" in _xmp(path).decode()
            assert read(path).bit_depth == 16
        window.approve()
        qtbot.waitUntil(lambda: record.read(path)["review"]["decision"] == "approved", timeout=10_000)
    finally:
        window.close()
    assert handed.read_bytes() != path.read_bytes() and sha256_file(handed) == handed_sha


def test_review_leaves_files_already_retouched_without_opening_the_app(tmp_path, capsys):
    path = host_tiff(tmp_path / "astronaut-Edit.tif", "astronaut", scale=0.3)
    packet = xmp_history.merged(HOST_XMP, record.xmp_packet(_record_for_packet()), when="2026-12-01T10:00:00+00:00",
                                parameters="natural preset")
    assert len(xmp_history.events(packet)) == 1
    with open(path, "w+b") as fh:       # the host's file, as retouch left it some days ago
        tifffile.imwrite(fh, np.zeros((40, 40, 3), np.uint16), photometric="rgb",
                         extratags=[(700, "B", len(packet), packet, True)], software=False, metadata=None)
    assert edit_in.review_files((path,), "natural", again=False) == 0
    assert "already retouched (retouch 0.1.0, 2026-12-01T10:00:00+00:00); left as it is" in capsys.readouterr().out


def _record_for_packet() -> dict:
    return {"steps": [], "summary": {}, "digital_source_type": record.DIGITAL_SOURCE_TYPE, "version": "0.1.0",
            "created": "2026-12-01T10:00:00+00:00", "preset": {"name": "natural", "digest": "0" * 64},
            "input": {"sha256": "0" * 64}, "description": "No changes needed; identity check: no face measured."}


def test_a_real_photoshop_history_is_kept_in_order_with_ours_appended():
    """biden.jpg carries the XMP Photoshop CS4 wrote (history, caption, creator): all of it is kept."""
    from retouch import samples
    host = edit_in.embedded_xmp(samples.portrait_path("biden"))
    packet = xmp_history.merged(host, record.xmp_packet(_record_for_packet()), when="2026-12-01T10:00:00+00:00",
                                parameters="natural preset")
    before, after = xmp_history.history(host), xmp_history.history(packet)
    assert after[:-1] == before and len(before) >= 3 and before[0]["softwareAgent"] == "Adobe Photoshop CS4 Macintosh"
    text = packet.decode("utf-8")
    assert "Pete Souza" in text and "Blue Room of the White House" in text
    assert xmp_history.events(packet) == [{"action": "edited", "when": "2026-12-01T10:00:00+00:00",
                                           "softwareAgent": "retouch 0.1.0", "parameters": "natural preset"}]

