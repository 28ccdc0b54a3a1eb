"""The client review gallery: what `build_gallery` writes, and `import_decisions` refusing bad files whole."""
from __future__ import annotations

import html
import json
import re
import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms
from skimage.color import deltaE_ciede2000, rgb2lab

from retouch import record, review, samples
from retouch.cli import main
from retouch.io import unit_float, write
from retouch.photo import Photo

HOSTILE = '"><img src=x onerror=alert(1)>.jpg'
LIFT = 0.12        # the stand-in retouch: a visible, even brightening
RESULT = {
    "preset": "natural", "preset_digest": "ab" * 32, "faces": 1,
    "steps": [{"edit": "blemish", "requested": 1.0, "applied": 1.0, "status": "applied",
               "bound_by": [], "metrics": {}, "note": ""},
              {"edit": "skin", "requested": 0.5, "applied": 0.31, "status": "backed off",
               "bound_by": ["texture"], "metrics": {}, "note": "lowered"}],
    "metrics": {"faces": [{"identity": 0.97}], "frame": {"spill": 0.0}},
    "summary": {"identity": 0.97, "skin_de_mean": 0.41, "texture": 0.86, "spill": 0.0, "drift": None},
    "budget": {"identity_min": 0.9}, "warnings": [],
}


def _retouched(rgb: np.ndarray) -> np.ndarray:
    return unit_float(rgb) * (1 - LIFT) + LIFT


def _add_output(out_dir: Path, name: str, original: Path, rgb: np.ndarray) -> Path:
    """A retouched JPEG in OUT_DIR with its edit record naming `original`."""
    output = out_dir / name
    output.parent.mkdir(parents=True, exist_ok=True)
    write(Photo(_retouched(rgb)), output, quality=92)
    entry = record.build(RESULT, input_path=original, input_sha256="cd" * 32, output_path=output,
                         preset_summary={"name": "natural"})
    record.write(entry, output)
    return output


def make_review_folder(root: Path) -> Path:
    """An OUT_DIR as `retouch batch` leaves it, with originals in root/originals:
    astronaut (PNG original), a 2048x2400 Grace Hopper (bigger than the web size), the hostile name,
    and extra/lost.jpg whose original is gone."""
    originals, out_dir = root / "originals", root / "out"
    originals.mkdir(parents=True)
    astronaut = samples.astronaut_rgb()
    big = np.asarray(Image.fromarray(samples.grace_hopper_rgb()).resize((2048, 2400), Image.Resampling.BICUBIC))
    crop = astronaut[40:400, 100:460]
    photos = {"astronaut.jpg": ("astronaut.png", astronaut), "grace_hopper.jpg": ("grace_hopper.jpg", big),
              HOSTILE: (HOSTILE, crop), "extra/lost.jpg": ("lost.png", crop)}
    for output, (original, rgb) in photos.items():
        write(Photo(unit_float(rgb)), originals / original, quality=95)
        _add_output(out_dir, output, originals / original, rgb)
    (originals / "lost.png").unlink()
    return out_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, review.Gallery]:
    root = tmp_path_factory.mktemp("review")
    out_dir = make_review_folder(root)
    return out_dir, review.build_gallery(out_dir, root / "gallery", title="Smith family, June")


@pytest.fixture
def folder(built, tmp_path) -> Path:
    """A private copy of the built OUT_DIR (records and gallery id) for tests that import into it."""
    out_dir, _ = built
    return shutil.copytree(out_dir, tmp_path / "out")


def _photo(gallery: review.Gallery, file: str) -> review.GalleryPhoto:
    return next(photo for photo in gallery.photos if photo.file == file)


def _image(gallery: review.Gallery, photo: review.GalleryPhoto, kind: str) -> Path:
    return gallery.index.parent / review.IMAGES / f"{photo.number:04d}.{kind}.jpg"


def _mean_de(a: np.ndarray, b: np.ndarray) -> float:
    return float(deltaE_ciede2000(rgb2lab(a), rgb2lab(b)).mean())


def _records(out_dir: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in out_dir.rglob("*.retouch.json")}


# ------------------------------------------------------------------------------------------------ gallery

def test_every_photo_is_in_the_gallery_in_order(built):
    out_dir, gallery = built
    assert [p.file for p in gallery.photos] == sorted(["astronaut.jpg", "grace_hopper.jpg", HOSTILE, "extra/lost.jpg"])
    assert gallery.skipped == []
    assert all(p.description == "Blemishes removed, skin gently evened; identity check: same person."
               for p in gallery.photos)


def test_web_images_are_progressive_srgb_and_at_most_2048(built):
    _, gallery = built
    big = _photo(gallery, "grace_hopper.jpg")
    assert (big.width, big.height) == (1748, 2048)
    for photo in gallery.photos:
        for kind in ("after", "thumb") + (("before",) if photo.has_before else ()):
            with Image.open(_image(gallery, photo, kind)) as image:
                assert image.format == "JPEG" and image.info.get("progressive")
                profile = ImageCms.ImageCmsProfile(BytesIO(image.info["icc_profile"]))
                assert "sRGB" in ImageCms.getProfileDescription(profile)
                limit = review.THUMB_LONG_SIDE if kind == "thumb" else review.WEB_LONG_SIDE
                assert max(image.size) <= limit
                if kind != "thumb":
                    assert image.size == (photo.width, photo.height)


def test_before_is_the_original_and_after_the_retouch(built):
    """The web images match what they stand for within JPEG error (mean dE2000 below one just-noticeable
    difference; 1.54 measured at quality 85, 4:4:4, on astronaut's saturated flag), and differ from each other."""
    out_dir, gallery = built
    photo = _photo(gallery, "astronaut.jpg")
    before = np.asarray(Image.open(_image(gallery, photo, "before")).convert("RGB")) / 255.0
    after = np.asarray(Image.open(_image(gallery, photo, "after")).convert("RGB")) / 255.0
    original = unit_float(samples.astronaut_rgb())
    assert _mean_de(before, original) < 2.0
    assert _mean_de(after, np.clip(_retouched(samples.astronaut_rgb()), 0, 1)) < 2.0
    assert _mean_de(before, after) > 4.0


def test_missing_original_shows_the_retouch_only_with_a_note(built):
    _, gallery = built
    lost = _photo(gallery, "extra/lost.jpg")
    assert not lost.has_before and "original photo was not available" in lost.note
    assert not _image(gallery, lost, "before").exists()
    page = gallery.index.read_text(encoding="utf-8")
    card = page[page.index(f'id="photo-{lost.number}"'):]
    card = card[:card.index("</article>")]
    assert "original photo was not available" in card and 'role="slider"' not in card


def test_hostile_names_are_escaped_in_html_and_json(built):
    _, gallery = built
    page = gallery.index.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    block = re.search(r'<script type="application/json" id="gallery-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and "\\u003cimg src=x" in block
    assert HOSTILE in [p["file"] for p in json.loads(block)["photos"]]


def test_page_is_self_contained(built):
    """Only relative links to files the gallery holds; a CSP forbids everything else."""
    _, gallery = built
    page = gallery.index.read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    files = [link for link in links if not link.startswith("#")]
    assert len(files) == 4 * 2 + 3     # after + thumb for each, before for the three with an original
    for link in files:
        assert "://" not in link and not link.startswith("/")
        assert (gallery.index.parent / link).is_file()
    assert "<link" not in page and "@import" not in page and "url(" not in page
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp


def test_rebuild_keeps_the_gallery_id_and_clears_only_its_own_stale_images(built, tmp_path):
    """A rebuild removes the images an earlier build wrote that are no longer used, and nothing else
    (a file named like ours but put there by someone else stays)."""
    out_dir, gallery = built
    smaller, copy = tmp_path / "smaller", tmp_path / "gallery"
    shutil.copytree(out_dir, smaller)
    shutil.copytree(gallery.index.parent, copy)
    images = copy / review.IMAGES
    last = gallery.photos[-1]
    for path in (smaller / last.file, *record.sidecar_paths(smaller / last.file)):
        path.unlink()
    (images / "0099.after.jpg").write_bytes(b"someone else's")
    (images / "notes.txt").write_text("not ours")
    rebuilt = review.build_gallery(smaller, copy, title="Smith family, June")
    assert rebuilt.gallery_id == gallery.gallery_id == review.gallery_id(out_dir)
    assert len(rebuilt.photos) == len(gallery.photos) - 1
    assert not (images / f"{last.number:04d}.after.jpg").exists()
    assert (images / "0099.after.jpg").exists() and (images / "notes.txt").exists()
    other = tmp_path / "other"
    _add_output(other, "one.jpg", tmp_path / "missing.png", samples.astronaut_rgb()[:64, :64])
    assert review.build_gallery(other, tmp_path / "g").gallery_id != gallery.gallery_id


def test_a_folder_without_records_is_refused(tmp_path):
    with pytest.raises(review.ReviewError, match=r"no retouched photos with edit records") as error:
        review.build_gallery(tmp_path, tmp_path / "gallery")
    assert "\n" not in str(error.value)


def test_an_unreadable_output_is_left_out_and_named(tmp_path):
    out_dir = tmp_path / "out"
    _add_output(out_dir, "good.jpg", tmp_path / "missing.png", samples.astronaut_rgb()[:64, :64])
    broken = _add_output(out_dir, "broken.jpg", tmp_path / "missing.png", samples.astronaut_rgb()[:64, :64])
    broken.write_bytes(b"not a jpeg")
    gallery = review.build_gallery(out_dir, tmp_path / "gallery")
    assert [p.file for p in gallery.photos] == ["good.jpg"]
    assert len(gallery.skipped) == 1 and "broken.jpg" in gallery.skipped[0]


# ------------------------------------------------------------------------------------------------ import

def _decisions(out_dir: Path, photos: list, **overrides) -> dict:
    return {"gallery_id": review.gallery_id(out_dir), "title": "t", "exported": "2026-11-23T10:00:00.000Z",
            "photos": photos, **overrides}


def _save(tmp_path: Path, data) -> Path:
    path = tmp_path / "decisions.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


GOOD = {"file": "astronaut.jpg", "decision": "approved", "comment": "", "time": "2026-11-23T09:58:01.250Z"}


def test_import_writes_client_decisions_into_the_records(folder, tmp_path):
    photos = [GOOD, {"file": HOSTILE, "decision": "needs changes", "comment": "Softer <b>shadow</b>",
                     "time": "2026-11-23T09:59:00.000Z"},
              {"file": "extra/lost.jpg", "decision": None, "comment": "Where is the original?", "time": None}]
    imported = review.import_decisions(_save(tmp_path, _decisions(folder, photos)), folder)
    assert [d.file for d in imported] == ["astronaut.jpg", HOSTILE, "extra/lost.jpg"]
    approved = record.read(folder / "astronaut.jpg")["review"]
    assert approved == {"decision": "approved", "comment": "", "source": "client",
                        "time": "2026-11-23T09:58:01.250000+00:00"}
    changes = record.read(folder / HOSTILE)["review"]
    assert (changes["decision"], changes["comment"], changes["source"]) == ("needs changes", "Softer <b>shadow</b>",
                                                                             "client")
    assert record.read(folder / "extra/lost.jpg")["review"]["comment"] == "Where is the original?"
    assert record.read(folder / "grace_hopper.jpg")["review"]["decision"] is None


def _outside(folder: Path) -> str:
    """A real output with a record, one folder above OUT_DIR."""
    _add_output(folder.parent, "outside.jpg", folder / "x.png", samples.astronaut_rgb()[:32, :32])
    return "../outside.jpg"


@pytest.mark.parametrize("case, make, message", [
    ("other gallery", lambda f: _decisions(f, [GOOD], gallery_id="0" * 32), "are for gallery '0000"),
    ("no gallery id", lambda f: _decisions(f, [GOOD], gallery_id=None), "are for gallery None"),
    ("unknown file", lambda f: _decisions(f, [GOOD, {**GOOD, "file": "nobody.jpg"}]), "'nobody.jpg' is not in"),
    ("a record, not a photo", lambda f: _decisions(f, [GOOD, {**GOOD, "file": "astronaut.jpg.retouch.json"}]),
     "is not in"),
    ("climbs out", lambda f: _decisions(f, [GOOD, {**GOOD, "file": _outside(f)}]), "'../outside.jpg' is not in"),
    ("absolute", lambda f: _decisions(f, [GOOD, {**GOOD, "file": str(f / "grace_hopper.jpg")}]), "is not in"),
    ("twice", lambda f: _decisions(f, [GOOD, GOOD]), "appears more than once"),
    ("rejected", lambda f: _decisions(f, [GOOD, {**GOOD, "file": HOSTILE, "decision": "rejected"}]),
     "decision 'rejected'"),
    ("comment not text", lambda f: _decisions(f, [GOOD, {**GOOD, "file": HOSTILE, "comment": 3}]), "not text"),
    ("bad time", lambda f: _decisions(f, [GOOD, {**GOOD, "file": HOSTILE, "time": "yesterday"}]),
     "time 'yesterday'"),
    ("no file name", lambda f: _decisions(f, [GOOD, {"decision": "approved"}]), "entry 2: expected an object"),
    ("not a list", lambda f: _decisions(f, {"astronaut.jpg": "approved"}), "not a decisions file"),
    ("not JSON", lambda f: '{"gallery_id": ', "not valid JSON"),
])
def test_import_refuses_a_bad_file_whole(folder, tmp_path, case, make, message):
    path = _save(tmp_path, make(folder))
    before = _records(folder)
    with pytest.raises(review.ReviewError) as error:
        review.import_decisions(path, folder)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)
    assert _records(folder) == before


def test_import_refuses_a_folder_without_a_gallery(folder, tmp_path):
    (folder / review.GALLERY_ID_FILE).unlink()
    path = _save(tmp_path, {"gallery_id": "abc", "photos": [GOOD]})
    with pytest.raises(review.ReviewError, match=r"no review gallery was built for this folder"):
        review.import_decisions(path, folder)


# ----------------------------------------------------------------------------------------------------- CLI

def test_cli_builds_and_imports(built, folder, tmp_path):
    runner = CliRunner()
    gallery_dir = tmp_path / "gallery"
    result = runner.invoke(main, ["review", str(folder), "--out", str(gallery_dir), "--title", "Proofs"])
    assert result.exit_code == 0, result.output
    assert f"{gallery_dir / 'index.html'}: 4 photos" in result.output
    assert "<title>Proofs</title>" in (gallery_dir / "index.html").read_text(encoding="utf-8")
    decisions = _save(tmp_path, _decisions(folder, [GOOD]))
    result = runner.invoke(main, ["review", "import", str(decisions), str(folder)])
    assert result.exit_code == 0, result.output
    assert "astronaut.jpg: approved" in result.output
    assert record.read(folder / "astronaut.jpg")["review"]["source"] == "client"


def test_cli_refusal_is_one_line_and_exit_1(folder, tmp_path):
    decisions = _save(tmp_path, _decisions(folder, [GOOD], gallery_id="elsewhere"))
    result = CliRunner().invoke(main, ["review", "import", str(decisions), str(folder)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("retouch: error: ")
    assert "'elsewhere'" in result.stderr


def test_cli_folder_named_like_a_subcommand(folder, tmp_path, monkeypatch):
    """`review ./import --out G` builds from a folder called import (plain `import` is the subcommand)."""
    monkeypatch.chdir(tmp_path)
    folder.rename(tmp_path / "import")
    result = CliRunner().invoke(main, ["review", "./import", "--out", "gallery"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gallery" / "index.html").is_file()
