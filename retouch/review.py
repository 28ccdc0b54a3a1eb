"""The client review gallery: a static page to compare, approve and comment, and the import of its decisions.

`build_gallery(out_dir, gallery_dir)` turns a batch's output folder (retouched files, each with its edit
record) into a folder a client opens from disk: `index.html` with its CSS, script and photo list inline, and
`images/` with web-sized (long side 2048 px) progressive sRGB JPEGs of each original and retouched photo plus
thumbnails. Nothing is fetched from the network, so it works from file:// and can be zipped and sent. The
client's decisions are kept in the browser and downloaded as `decisions.json`;
`import_decisions(decisions_json, out_dir)` writes them into the edit records.

The gallery id (stored in OUT_DIR/.gallery-id, made once and reused on rebuilds) ties a decisions file to its
folder: a file from another gallery, or naming photos that are not in the folder, is refused as a whole, and
a valid one is written into every record it names together (staging.staged) or not at all.
All text from files reaches the page escaped (HTML) or as JSON with `<`, `>` and `&` escaped.

A gallery is only written into a new or empty folder, or into one it made itself: GALLERY_DIR/.retouch-gallery
lists the files the gallery wrote there, and a rebuild removes only files on that list. It also remembers
what each photo's images were made from (record, output and original, by content and modification time), so
a rebuild makes again only the images of photos that changed or moved in the list (`retouch watch`
rebuilds after every few frames of a shoot).
"""
from __future__ import annotations

import base64
import datetime as _dt
import functools
import hashlib
import html
import io
import json
import re
import string
import uuid
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from PIL import Image, ImageCms

from . import __version__, files, provenance, record
from .io import PhotoError, read
from .staging import staged, write_bytes_atomic

GALLERY_ID_FILE = ".gallery-id"
WEB_LONG_SIDE = 2048
THUMB_LONG_SIDE = 320
WEB_QUALITY = 85
THUMB_QUALITY = 80
CLIENT_DECISIONS = ("approved", "needs changes")
IMAGES = "images"
INDEX = "index.html"
MARKER = ".retouch-gallery"       # in a gallery folder: the files the gallery wrote there (JSON)
DECISIONS_MAX_BYTES = 64 << 20    # thousands of photos with long comments stay far below this
_OUR_FILE = re.compile(rf"{INDEX}|{IMAGES}/\d{{4}}\.(before|after|thumb)\.jpg")


class ReviewError(ValueError):
    """A gallery that cannot be built or a decisions file that cannot be used; one line naming it."""


@dataclass(frozen=True)
class GalleryPhoto:
    """One photo as shown in the gallery."""

    number: int            # 1-based position, used for element ids and image names
    file: str              # the output's path relative to OUT_DIR, POSIX separators
    description: str       # the record's plain-language sentence
    width: int             # web image size
    height: int
    has_before: bool       # False when the original could not be read
    note: str              # shown to the client, e.g. why there is no before image
    credentials: str = ""  # the output's Content Credentials in a sentence (provenance.Verification.note)


@dataclass(frozen=True)
class Gallery:
    index: Path
    gallery_id: str
    photos: list[GalleryPhoto]
    skipped: list[str]     # one line per output left out, naming it and why


@dataclass(frozen=True)
class Decision:
    """A client's decision on one photo, from a decisions file."""

    file: str
    decision: str | None
    comment: str
    time: str | None


# ---------------------------------------------------------------------------------------------- gallery id

def gallery_id(out_dir: str | Path, *, create: bool = False) -> str | None:
    """The gallery id of OUT_DIR (from its .gallery-id), made and stored on first use when `create`."""
    path = Path(out_dir) / GALLERY_ID_FILE
    try:
        stored = files.read_text(path, limit=1024, what="gallery id").strip()
    except FileNotFoundError:
        stored = ""
    except files.FileReadError as error:
        raise ReviewError(str(error)) from None
    if stored or not create:
        return stored or None
    new = uuid.uuid4().hex
    write_bytes_atomic(path, (new + "\n").encode("ascii"))
    return new


# ----------------------------------------------------------------------------------------------- images

def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled down so the long side is at most `long_side` (never scaled up)."""
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def web_image(pixels: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """A read photo's pixels (io.read: the sRGB working space, whatever the file's profile) area-resized to
    `size` as an 8-bit sRGB image; colours beyond sRGB are clipped to it, as a browser shows them."""
    if pixels.shape[1::-1] != size:
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return Image.fromarray((np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def jpeg_bytes(image: Image.Image, *, quality: int) -> bytes:
    """A progressive JPEG tagged with the sRGB profile, colour kept at full resolution (4:4:4): the
    client judges skin tones, and 4:2:0 costs astronaut 1.88 mean dE2000 at quality 85 against 1.54."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=0, progressive=True, optimize=True,
               icc_profile=_srgb().tobytes())
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------- page

@functools.cache
def _asset(name: str) -> str:
    return resources.files("retouch").joinpath("review_assets", name).read_text(encoding="utf-8")


def _fill(template: str, *, raw: dict[str, str] | None = None, **text) -> str:
    """A template with `text` values HTML-escaped and `raw` values (already built markup) as they are."""
    values = {key: html.escape(str(value), quote=True) for key, value in text.items()}
    return string.Template(_asset(template)).substitute(values, **(raw or {}))


def json_for_script(data) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can end it or open a comment."""
    return (json.dumps(data, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _photo_markup(photo: GalleryPhoto) -> str:
    images = dict(name=photo.file, width=photo.width, height=photo.height)
    compare = _fill("compare.html", before=f"{IMAGES}/{photo.number:04d}.before.jpg", **images)
    return _fill("photo.html", number=photo.number, description=photo.description, credentials=photo.credentials,
                 after=f"{IMAGES}/{photo.number:04d}.after.jpg", **images,
                 raw=dict(compare=compare if photo.has_before else "",
                          toggle=_asset("toggle.html") if photo.has_before else "",
                          note=_fill("note.html", text=photo.note) if photo.note else ""))


def render_page(title: str, gallery_id: str, photos: list[GalleryPhoto],
                thumb_sizes: list[tuple[int, int]]) -> str:
    """The gallery's index.html: one self-contained page (inline CSS and script, locked by a CSP)."""
    style, script = _asset("review.css"), _asset("review.js")
    if "</" in style or "</script" in script.lower():
        raise ValueError("review_assets: inline CSS/JS must not contain '</'")
    csp = (f"default-src 'none'; img-src 'self' file:; style-src {_sha256_source(style)}; "
           f"script-src {_sha256_source(script)}; base-uri 'none'; form-action 'none'")
    data = {"gallery_id": gallery_id, "title": title,
            "photos": [{"number": p.number, "file": p.file, "before": p.has_before} for p in photos]}
    nav = "".join(_fill("nav_item.html", number=p.number, name=p.file, thumb=f"{IMAGES}/{p.number:04d}.thumb.jpg",
                        width=w, height=h) for p, (w, h) in zip(photos, thumb_sizes))
    count = f"{len(photos)} photo{'s' if len(photos) != 1 else ''}"
    return _fill("page.html", title=title, csp=csp, version=__version__, count=count,
                 raw=dict(style=style, script=script, data=json_for_script(data), nav=nav,
                          photos="".join(_photo_markup(p) for p in photos)))


# ---------------------------------------------------------------------------------------------- outputs

def _gallery_photo(number: int, output: Path, out_dir: Path, images: Path) -> tuple[GalleryPhoto, tuple[int, int]]:
    """Write one photo's web images and thumbnail; returns it and its thumbnail size.

    Raises ReviewError when the output or its record cannot be read; a missing original only adds a note."""
    try:
        entry = record.read(output)
        after = read(output)
    except (FileNotFoundError, ValueError, PhotoError) as error:
        raise ReviewError(str(error)) from None
    if not isinstance(entry, dict):
        raise ReviewError(f"{record.sidecar_paths(output)[0]}: edit record is not a JSON object")
    size = fit_size(*after.size, WEB_LONG_SIDE)
    after_image = web_image(after.pixels, size)
    write_bytes_atomic(images / f"{number:04d}.after.jpg", jpeg_bytes(after_image, quality=WEB_QUALITY))
    thumb = after_image.resize(fit_size(*size, THUMB_LONG_SIDE), Image.Resampling.LANCZOS)
    write_bytes_atomic(images / f"{number:04d}.thumb.jpg", jpeg_bytes(thumb, quality=THUMB_QUALITY))
    note = ""
    original = record.original_of(entry, output)
    try:
        if original is None:
            raise PhotoError("the edit record does not name the original")
        before = read(original)
        write_bytes_atomic(images / f"{number:04d}.before.jpg",
                           jpeg_bytes(web_image(before.pixels, size), quality=WEB_QUALITY))
    except PhotoError:
        note = "The original photo was not available, so only the retouched version is shown."
    description = entry.get("description") if isinstance(entry.get("description"), str) else ""
    photo = GalleryPhoto(number, output.relative_to(out_dir).as_posix(), description, *size, not note, note,
                         provenance.verify(output).note())
    return photo, thumb.size


def _written_before(gallery_dir: Path) -> set[str]:
    """The files an earlier build wrote into GALLERY_DIR (from its marker), or none for a new or empty
    folder; ReviewError for a folder with anything else in it: a gallery never takes over a user's folder."""
    if not gallery_dir.exists():
        return set()
    if not gallery_dir.is_dir():
        raise ReviewError(f"{gallery_dir}: not a folder")
    marker = gallery_dir / MARKER
    if not marker.exists() and any(gallery_dir.iterdir()):
        raise ReviewError(f"{gallery_dir}: this folder has files in it and was not made by retouch review "
                          f"(no {MARKER}); choose a new or empty folder for the gallery")
    try:
        listed = files.load_json(marker, limit=1 << 20, what="gallery marker") if marker.exists() else {}
    except (FileNotFoundError, files.FileReadError) as error:
        raise ReviewError(str(error)) from None
    names = listed.get("files") if isinstance(listed, dict) else None
    return {name for name in names if isinstance(name, str) and _OUR_FILE.fullmatch(name)} if names else set()


def _mark(gallery_dir: Path, names: set[str], made: dict[str, dict] | None = None) -> None:
    write_bytes_atomic(gallery_dir / MARKER, json.dumps({"tool": "retouch review", "files": sorted(names),
                                                         "made": made or {}}, indent=1).encode("utf-8"))


def _made_before(gallery_dir: Path) -> dict[str, dict]:
    """What an earlier complete build made, per image number ("0001": {"from", "photo", "thumb"}); none
    when it cannot be read (then every image is made again)."""
    try:
        listed = files.load_json(gallery_dir / MARKER, limit=64 << 20, what="gallery marker")
    except (FileNotFoundError, files.FileReadError):
        return {}
    made = listed.get("made") if isinstance(listed, dict) else None
    return made if isinstance(made, dict) else {}


def _made_from(output: Path) -> str:
    """What a photo's gallery images depend on: its record's content, and the output's and the original's
    size and modification time ("" when something cannot be read: then they are made again)."""
    try:
        entry_bytes = files.read_bytes(record.sidecar_paths(output)[0], limit=record.RECORD_MAX_BYTES)
        original = record.original_of(json.loads(entry_bytes), output)
        stats = [(path.stat().st_size, path.stat().st_mtime_ns)
                 for path in (output, original) if path is not None and path.exists()]
    except (OSError, ValueError, AttributeError):
        return ""
    return hashlib.sha256(entry_bytes + repr((output.name, stats)).encode()).hexdigest()


def _reused(made: dict, number: int, source: str, images: Path) -> tuple[GalleryPhoto, tuple[int, int]] | None:
    """The photo an earlier build made at `number` from the same `source`, if its images are still there."""
    earlier = made.get(f"{number:04d}")
    if not source or not isinstance(earlier, dict) or earlier.get("from") != source:
        return None
    try:
        photo = GalleryPhoto(**earlier["photo"])
        thumb = (int(earlier["thumb"][0]), int(earlier["thumb"][1]))
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    kinds = ("after", "thumb", "before") if photo.has_before else ("after", "thumb")
    if photo.number != number or not all((images / f"{number:04d}.{kind}.jpg").is_file() for kind in kinds):
        return None
    return photo, thumb


def build_gallery(out_dir: str | Path, gallery_dir: str | Path, *, title: str | None = None) -> Gallery:
    """Write the client gallery for OUT_DIR's retouched photos into GALLERY_DIR (see the module doc).

    GALLERY_DIR must be new, empty, or a gallery built before (ReviewError otherwise). Outputs whose file
    or record cannot be read are left out and listed in `skipped`; an OUT_DIR without any readable output
    raises ReviewError. Files an earlier build wrote that are no longer used are removed, and nothing
    else; index.html is written last, so an interrupted build leaves the old page whole.
    """
    out_dir, gallery_dir = Path(out_dir), Path(gallery_dir)
    if not out_dir.is_dir():
        raise ReviewError(f"{out_dir}: not a folder")
    outputs = record.find_outputs(out_dir, recursive=True)
    if not outputs:
        raise ReviewError(f"{out_dir}: no retouched photos with edit records (*{record.RECORD_SUFFIX}) found")
    before = _written_before(gallery_dir)
    made_before = _made_before(gallery_dir) if before else {}
    images = gallery_dir / IMAGES
    images.mkdir(parents=True, exist_ok=True)
    files.sweep(gallery_dir)
    ours = before | {INDEX} | {f"{IMAGES}/{number:04d}.{kind}.jpg" for number in range(1, len(outputs) + 1)
                               for kind in ("before", "after", "thumb")}
    _mark(gallery_dir, ours)       # first: whatever this build writes is known to be ours if it is cut short
    photos, thumb_sizes, skipped, made = [], [], [], {}
    for output in outputs:
        number, source = len(photos) + 1, _made_from(output)
        try:
            photo, thumb_size = (_reused(made_before, number, source, images)
                                 or _gallery_photo(number, output, out_dir, images))
        except ReviewError as error:
            skipped.append(str(error))
            continue
        photos.append(photo)
        thumb_sizes.append(thumb_size)
        made[f"{number:04d}"] = {"from": source, "photo": asdict(photo), "thumb": list(thumb_size)}
    if not photos:
        raise ReviewError(f"{out_dir}: none of the {len(outputs)} retouched photos could be read ({skipped[0]})")
    written = {f"{IMAGES}/{p.number:04d}.{kind}.jpg" for p in photos for kind in ("after", "thumb")}
    written |= {f"{IMAGES}/{p.number:04d}.before.jpg" for p in photos if p.has_before} | {INDEX}
    for stale in sorted(ours - written):
        (gallery_dir / stale).unlink(missing_ok=True)
    identifier = gallery_id(out_dir, create=True)
    page = render_page(title or f"Photos for review: {out_dir.resolve().name}", identifier, photos, thumb_sizes)
    index = write_bytes_atomic(gallery_dir / INDEX, page.encode("utf-8"))
    _mark(gallery_dir, written, made)
    return Gallery(index, identifier, photos, skipped)


# -------------------------------------------------------------------------------------------- decisions

def _inside(out_dir: Path, file: str) -> Path | None:
    """OUT_DIR/file if `file` is a relative POSIX path naming an output with a record inside OUT_DIR."""
    relative = PurePosixPath(file)
    if not file or "\\" in file or relative.is_absolute() or ".." in relative.parts or "\x00" in file:
        return None
    output = out_dir.joinpath(*relative.parts)
    json_path, _ = record.sidecar_paths(output)
    if not (output.is_file() and json_path.is_file()):
        return None
    return output if output.resolve().is_relative_to(out_dir.resolve()) else None


def _time(value) -> str | None:
    """An ISO 8601 time as written by the gallery, or None; anything else is refused by the caller."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError
    return _dt.datetime.fromisoformat(value).isoformat()


def _decision(entry, where: str, out_dir: Path, seen: set[str]) -> Decision:
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise ReviewError(f"{where}: expected an object with a \"file\" name")
    file = entry["file"]
    if _inside(out_dir, file) is None:
        raise ReviewError(f"{where}: photo {file!r} is not in {out_dir}")
    if file in seen:
        raise ReviewError(f"{where}: photo {file!r} appears more than once")
    seen.add(file)
    decision, comment = entry.get("decision"), entry.get("comment", "")
    if decision is not None and decision not in CLIENT_DECISIONS:
        raise ReviewError(f"{where}: decision {decision!r} for {file!r} is not one of "
                          f"{', '.join(CLIENT_DECISIONS)}")
    if not isinstance(comment, str):
        raise ReviewError(f"{where}: comment for {file!r} is not text")
    if len(comment) > record.COMMENT_MAX:
        raise ReviewError(f"{where}: comment for {file!r} is {len(comment):,} characters, more than the "
                          f"{record.COMMENT_MAX:,} a comment may be")
    try:
        time = _time(entry.get("time"))
    except ValueError:
        raise ReviewError(f"{where}: time {entry.get('time')!r} for {file!r} is not an ISO 8601 time") from None
    return Decision(file, decision, comment, time)


def read_decisions(decisions_json: str | Path, out_dir: str | Path) -> list[Decision]:
    """Every decision in a gallery's decisions file, all checked against OUT_DIR before any is used."""
    path, out_dir = Path(decisions_json), Path(out_dir)
    try:
        data = files.load_json(path, limit=DECISIONS_MAX_BYTES, what="decisions file")
    except FileNotFoundError:
        raise ReviewError(f"{path}: no such file") from None
    except files.FileReadError as error:
        raise ReviewError(str(error)) from None
    if not isinstance(data, dict) or not isinstance(data.get("photos"), list):
        raise ReviewError(f"{path}: not a decisions file (expected \"gallery_id\" and a \"photos\" list)")
    expected = gallery_id(out_dir)
    if expected is None:
        raise ReviewError(f"{out_dir}: no review gallery was built for this folder ({GALLERY_ID_FILE} "
                          "missing), so decisions cannot be matched to it")
    if data.get("gallery_id") != expected:
        raise ReviewError(f"{path}: decisions are for gallery {data.get('gallery_id')!r}, not for {out_dir}'s "
                          f"gallery {expected!r}")
    seen: set[str] = set()
    return [_decision(entry, f"{path}: entry {number}", out_dir, seen)
            for number, entry in enumerate(data["photos"], 1)]


def import_decisions(decisions_json: str | Path, out_dir: str | Path) -> list[Decision]:
    """Write a client's decisions into the edit records (source "client"): the whole file and every record
    it names are checked first (ReviewError otherwise), then all the records are written together
    (staging.staged): every decision lands, or none does."""
    decisions = read_decisions(decisions_json, out_dir)
    updated = []
    for decision in decisions:
        output = _inside(Path(out_dir), decision.file)
        try:
            entry = record.reviewed(record.read(output), output, decision.decision, decision.comment,
                                    source="client", time=decision.time)
        except (FileNotFoundError, ValueError) as error:
            raise ReviewError(f"{error}; no decision was written") from None
        updated.append((record.sidecar_paths(output)[0], record.encode(entry)))
    try:
        with staged() as stage:
            for json_path, data in updated:
                stage.data(json_path, data)
    except (PhotoError, OSError) as error:
        raise ReviewError(f"{error}; no decision was written") from None
    return decisions
