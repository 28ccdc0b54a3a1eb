"""`retouch-edit-in FILE...`: the external editor of Lightroom Classic ("Edit In") and Capture One ("Edit With").

The host writes a copy of the photo (a TIFF, usually 16-bit, in ProPhoto RGB or Adobe RGB with its profile
embedded), starts the external editor with its path and picks the file up again when it changes. This is
the one place retouch changes a file in place: the host made that copy for us to change, and its original
(the RAW, the catalogue's master) is never touched. The record beside the file keeps the sha256 of the file
as it was handed over, so what retouch started from stays provable.

By default each file is retouched with the preset chosen in the settings file (CONFIG/edit-in.toml, CONFIG
as in credentials.config_dir; `natural` when there is none) and written back; with `review` (the settings'
`review = true` or `--review`) the desktop app opens on the files and its Export writes back instead. The
write-back is one unit (outputs.write): the image is staged beside the file and renamed over it, so a crash
leaves the host's file whole, old or new. The file keeps its format, bit depth, ICC profile and EXIF; its
XMP is the host's with our steps added to its history (xmp_history.merged); the JSON record and an XMP
sidecar go beside it as for any output. A file already retouched (its XMP history or its record says so)
is left as it is unless `again`. A photo with no face, for a preset that only edits faces, is left as it
is too: nothing would change.

A host starts the editor without a terminal, so every outcome is also appended, one line each, to
CONFIG/edit-in.log. Exit codes: 0 when every file was retouched or left as it is for a reason given, 1
when any failed, 2 for usage errors (unknown preset, unreadable settings).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import click  # noqa: E402

from . import __version__, credentials, files, record  # noqa: E402
from .errors import PhotoError  # noqa: E402
from .staging import write_bytes_atomic  # noqa: E402

SETTINGS_FILE = "edit-in.toml"
LOG_FILE = "edit-in.log"
SETTINGS_MAX_BYTES = 64 << 10


class SettingsError(ValueError):
    """A settings file that cannot be used; one line naming it and the key."""


class AlreadyRetouched(PhotoError):
    """The file was retouched before; it is left as it is unless asked again."""


class FileBusy(PhotoError):
    """Another retouch-edit-in is writing this file now."""


# ---------------------------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    """What Edit-In does when the host starts it (the host passes nothing but the file paths)."""

    preset: str = "natural"      # a built-in preset's name or a preset file's path
    review: bool = False         # open the app on the files instead of retouching them at once


def settings_path() -> Path:
    return credentials.config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """The settings in `path` (default: settings_path()); the defaults when there is no file. SettingsError
    naming the file for one that is not TOML, has unknown keys or values of the wrong kind."""
    path = path or settings_path()
    try:
        data = tomllib.loads(files.read_text(path, limit=SETTINGS_MAX_BYTES, what="settings file"))
    except FileNotFoundError:
        return Settings()
    except (files.FileReadError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{path}: {error}") from None
    unknown = sorted(set(data) - {"preset", "review"})
    if unknown:
        raise SettingsError(f"{path}: unknown setting {unknown[0]!r} (known: preset, review)")
    if not isinstance(data.get("preset", ""), str) or not isinstance(data.get("review", False), bool):
        raise SettingsError(f"{path}: preset must be a text (a preset's name or file) and review true or false")
    return Settings(**data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write `settings` to `path` (default: settings_path()) atomically; returns the path."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ("# retouch-edit-in: what Lightroom's \"Edit In\" and Capture One's \"Edit With\" do\n"
            f"preset = {json.dumps(settings.preset)}   # a built-in preset's name or a preset file's path\n"
            f"review = {'true' if settings.review else 'false'}   # true: open the app; its Export writes back\n")
    return write_bytes_atomic(path, text.encode("utf-8"))


# -------------------------------------------------------------------------------------------- one file

def embedded_xmp(path: Path) -> bytes | None:
    """The XMP packet embedded in a JPEG, PNG, TIFF or WebP (None when there is none or it cannot be read)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            packet = image.info.get("xmp")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return None
    return packet.encode("utf-8") if isinstance(packet, str) else packet or None


def earlier_retouch(path: Path, packet: bytes | None, sha256: str) -> str:
    """Why `path` counts as retouched already ("" when it does not): an "edited" event of ours in its XMP
    history, or a record beside it made for exactly these bytes."""
    from . import xmp_history
    found = xmp_history.events(packet)
    if found:
        return f"already retouched ({found[-1]['softwareAgent']}, {found[-1]['when']})"
    try:
        entry = record.read(path)
    except (FileNotFoundError, ValueError):
        return ""
    made = entry.get("output") if isinstance(entry.get("output"), dict) else {}
    if made.get("sha256") == sha256:
        return f"already retouched (retouch {entry.get('version', '?')}, {entry.get('created', '?')})"
    return ""


@contextlib.contextmanager
def _only_writer(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (flock; advisory, among retouch processes) while it is retouched:
    a host that starts the editor twice on one file gets FileBusy for the second, not two write-backs."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise PhotoError(f"{path}: cannot be opened ({error.strerror or error})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileBusy(f"{path}: another retouch-edit-in is retouching this file now") from None
        yield
    finally:
        os.close(fd)


def write_back(source: Path, target: Path, preset, *, input_sha256: str | None = None, note: str = "",
               sign=True, progress: Callable[[str, int, int], None] | None = None):
    """Retouch `source` and write it over `target` in place, as one unit with its record (job.Outcome).

    `target` is the host's file; `source` is the same file, or the app's copy of it as it was handed over
    (review: a second export starts from the same pixels). The record names `target` as the input with
    `source`'s sha256 (`input_sha256` when the caller has it). `note` goes into the record's warnings.
    job.NoFaceError, writing nothing, when the preset only edits faces and there is none."""
    from . import outputs, provenance, xmp_history
    from .batch import needs_a_face
    from .exif import upright_exif
    from .io import read
    from .job import NoFaceError, Outcome, check_size
    from .pipeline import retouch
    from .staging import sha256_file
    outputs.check_target(target)
    files.sweep(target.parent, names=(target.name, *(path.name for path in record.sidecar_paths(target))))
    sha = input_sha256 or sha256_file(source)
    identity = provenance.resolve(sign)
    photo = read(source)
    check_size(photo)
    upright_exif(photo)                # a malformed EXIF block is refused now, not after the work
    result = retouch(photo, preset, progress=progress, in_place=True)
    if not len(result.faces) and needs_a_face(preset):
        raise NoFaceError(f"{target}: no face found: left as it is")
    done = result.as_dict()
    done["warnings"] = [*photo.notes, *([note] if note else []), *done["warnings"]]
    entry = record.build(done, input_path=target, input_sha256=sha, output_path=target,
                         preset_summary=preset.summary())
    entry, signing = provenance.prepare(identity, entry, source, target)
    host = embedded_xmp(source)
    words = f"{preset.name} preset: {entry['description']}"
    try:
        packet = xmp_history.merged(host, record.xmp_packet(entry), when=entry["created"], parameters=words)
    except ValueError as error:
        entry["warnings"].append(f"the host's XMP could not be read ({error}); written with retouch's alone")
        packet = xmp_history.merged(None, record.xmp_packet(entry), when=entry["created"], parameters=words)
    entry, json_path = outputs.write(photo.with_pixels(result.pixels), target, entry,
                                     quality=preset.output.quality, previous=sha, sign=signing, xmp=packet)
    return Outcome(target, entry, json_path, result)


def retouch_in_place(path: str | Path, preset, *, again: bool = False, sign=True,
                     progress: Callable[[str, int, int], None] | None = None):
    """Retouch the host's file at `path` in place (write_back), unless it was retouched before
    (AlreadyRetouched, nothing written) or `again`. FileBusy when another retouch-edit-in holds it."""
    from .staging import sha256_file
    path = Path(path)
    try:
        files.regular(path)
    except (FileNotFoundError, files.FileReadError) as error:
        raise PhotoError(str(error)) from None
    with _only_writer(path):
        sha = sha256_file(path)
        earlier = earlier_retouch(path, embedded_xmp(path), sha)
        if earlier and not again:
            raise AlreadyRetouched(f"{path}: {earlier}; left as it is (--again retouches it once more)")
        return write_back(path, path, preset, input_sha256=sha, sign=sign, progress=progress,
                          note=f"retouched again: it was {earlier}" if earlier else "")


# ------------------------------------------------------------------------------------------- the command

def _log(lines: list[str]) -> None:
    """Append outcome lines to CONFIG/edit-in.log (the host shows no terminal); a log that cannot be
    written is no reason to fail."""
    with contextlib.suppress(OSError):
        path = credentials.config_dir() / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.writelines(f"{record.now()} {line}\n" for line in lines)


def _say(line: str, lines: list[str], *, err: bool = False) -> None:
    click.echo(f"retouch-edit-in: {line}", err=err)
    lines.append(line)


def retouch_files(paths: tuple[Path, ...], preset, *, again: bool, sign: bool) -> int:
    """Retouch each file in place; one line each; the exit status (1 when any failed)."""
    from .credentials import CredentialsError
    from .job import NoFaceError
    lines, failed = [], False
    for path in paths:
        try:
            outcome = retouch_in_place(path, preset, again=again, sign=sign)
        except (AlreadyRetouched, NoFaceError) as notice:
            _say(str(notice), lines)
            continue
        except (PhotoError, CredentialsError, OSError) as error:
            _say(f"error: {error}", lines, err=True)
            failed = True
            continue
        _say(f"{path}: retouched in place with {preset.name}: {outcome.record['description']}", lines)
    _log(lines)
    return 1 if failed else 0


def review_files(paths: tuple[Path, ...], preset_name: str, *, again: bool) -> int:
    """Open the app on the files; its Export writes each back in place (write_back) from a copy of the file
    as it was handed over, kept in a temporary folder while the app is open."""
    from gui import app
    from gui.photo_folder import Entry
    from .staging import sha256_file
    lines, entries = [], []
    with tempfile.TemporaryDirectory(prefix="retouch-edit-in-") as folder:
        for number, path in enumerate(paths):
            try:
                sha = sha256_file(path)
                earlier = earlier_retouch(path, embedded_xmp(path), sha)
                if earlier and not again:
                    raise AlreadyRetouched(f"{path}: {earlier}; left as it is (--again opens it once more)")
                handed = Path(folder) / str(number) / path.name
                handed.parent.mkdir()
                shutil.copyfile(path, handed)
            except AlreadyRetouched as notice:
                _say(str(notice), lines)
                continue
            except (PhotoError, OSError, ValueError) as error:
                _say(f"error: {error}", lines, err=True)
                continue
            entries.append(Entry(handed, target=path.resolve()))
        _log(lines)
        if not entries:
            return 1 if any(line.startswith("error:") for line in lines) else 0
        status = app.run(entries=entries, preset=preset_name)
    return status or (1 if any(line.startswith("error:") for line in lines) else 0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="FILE...", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", help="Preset name or .toml file (default: the settings', else natural).")
@click.option("--review/--no-review", default=None,
              help="Open the app on the files; its Export writes each back (default: the settings').")
@click.option("--again", is_flag=True, help="Retouch files that were retouched before once more.")
@click.option("--no-sign", is_flag=True, help="Leave the files unsigned (no Content Credentials).")
@click.option("--save", is_flag=True, help="Save --preset and --review as what Edit-In does from now on.")
@click.version_option(__version__, prog_name="retouch-edit-in")
def command(paths: tuple[Path, ...], preset: str | None, review: bool | None, again: bool, no_sign: bool,
            save: bool) -> None:
    """Retouch each FILE in place: the external editor for Lightroom Classic (Edit In) and Capture One
    (Edit With). The host's copy keeps its format, bit depth, profile, EXIF and XMP; our steps are added
    to its XMP history and the edit record goes beside it."""
    from . import presets
    warnings.simplefilter("ignore", UserWarning)             # what matters per file is its one line
    logging.getLogger("tifffile").setLevel(logging.ERROR)
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.UsageError(str(error)) from None
    chosen = Settings(preset if preset is not None else settings.preset,
                      review if review is not None else settings.review)
    try:
        loaded = presets.load(chosen.preset)
    except presets.PresetError as error:
        raise click.UsageError(str(error)) from None
    if save:
        click.echo(f"retouch-edit-in: saved to {save_settings(chosen)}: preset {loaded.name}, "
                   f"review {'on' if chosen.review else 'off'}")
    elif not paths:
        raise click.UsageError(f"no FILE given (settings: preset {loaded.name}, review "
                               f"{'on' if chosen.review else 'off'}, in {settings_path()})")
    if not paths:
        sys.exit(0)
    if chosen.review:
        sys.exit(review_files(paths, chosen.preset, again=again))
    sys.exit(retouch_files(paths, loaded, again=again, sign=not no_sign))


def main(argv: list[str] | None = None) -> None:
    """The `retouch-edit-in` console script."""
    command.main(args=argv, prog_name="retouch-edit-in")
