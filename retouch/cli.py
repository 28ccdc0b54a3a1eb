"""The `retouch` command line. It only parses input, calls the library and shows or saves results.

Exit codes: 0 when every file was handled, 1 when some file failed, 2 for usage errors (bad options,
out-of-range values, unknown presets). Errors are one line naming the file or value and the reason.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")   # signed TIFFs carry the C2PA tag, which OpenCV warns of

import click  # noqa: E402

from . import __version__  # noqa: E402
from .output_options import Output  # noqa: E402
from .params import ParamError  # noqa: E402


class UsageProblem(click.UsageError):
    """A bad value on the command line: exit 2 with a one-line message."""


def fail(message: str, code: int = 1) -> None:
    click.echo(f"retouch: error: {message}", err=True)
    sys.exit(code)


def warn(message: str) -> None:
    click.echo(f"retouch: warning: {message}", err=True)


def shortened(text: str, length: int = 60) -> str:
    """`text` on one line, cut to `length` characters (client comments are echoed, never in full)."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[:length - 1] + "\u2026"


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses NaN (which passes every range comparison) and infinities."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or "." not in key:
            raise UsageProblem(f"--set {pair!r}: expected EDIT.PARAM=VALUE, e.g. skin.strength=0.4")
        settings[key.strip()] = value.strip()
    return settings


def _load_preset(name: str, only: tuple[str, ...] = (), settings: tuple[str, ...] = (),
                 background: str | None = None):
    """The preset with the command line's changes applied; bad values are usage errors (exit 2)."""
    from . import presets
    try:
        preset = presets.load(name)
        changes = _parse_settings(settings)
        if background:
            changes.update(_background_settings(background))
        return presets.with_changes(preset, only=only, settings=changes)
    except ParamError as error:
        raise UsageProblem(str(error)) from None


def _background_settings(value: str) -> dict[str, str]:
    """--background COLOR|IMAGE -> background edit settings (an existing file means an image)."""
    if Path(value).is_file():
        return {"background.mode": "image", "background.image": value}
    return {"background.mode": "color", "background.color": value}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="retouch")
def main() -> None:
    """Offline portrait retouching: every edit bounded and measured against the original."""


NO_SIGN = click.option("--no-sign", is_flag=True,
                       help="Leave outputs unsigned (no Content Credentials), even with studio credentials.")
NOT_SIGNED = "not signed: no studio credentials (`retouch credentials init` sets them up)"

def declared_option(flag: str, dest: str, params_type: type, name: str, help_text: str):
    """A click option whose values are checked by a declared parameter (retouch.params): a number's range
    becomes an IntRange/FloatRange up to its hard maximum, a choice a click.Choice. Declared once."""
    from .params import Choice, declarations, settings
    declared = (declarations(params_type) | settings(params_type))[name]
    if isinstance(declared, Choice):
        kind = click.Choice(list(declared.options))
    elif declared.kind is int:
        kind = click.IntRange(int(declared.lo), int(declared.limit))
    else:
        kind = FiniteFloatRange(declared.lo, declared.limit)
    return click.option(flag, dest, type=kind, help=f"{declared.doc[:1].upper()}{declared.doc[1:]}; {help_text}.")


def session_options(command):
    """OUT_DIR and the options `batch` and `watch` share: the preset, workers, subfolders, output format."""
    for option in reversed([
            click.argument("out_dir", type=click.Path(path_type=Path)),
            click.option("--preset", default="natural", show_default=True, help="Preset name or .toml file."),
            click.option("--workers", type=click.IntRange(1),
                         help="Worker processes (default: one per CPU, memory allowing)."),
            click.option("--recursive", is_flag=True,
                         help="Include subfolders (their structure is kept in OUT_DIR)."),
            declared_option("--format", "fmt", Output, "format", "default: the preset's")]):
        command = option(command)
    return command


MAX_MEGAPIXELS = click.option(
    "--max-megapixels", type=FiniteFloatRange(1, 2000), default=250, show_default=True,
    help="Refuse larger images (decompression-bomb guard).")


def overlay_names(photos: tuple[Path, ...]) -> dict[Path, str]:
    """Each photo's overlay file name, NAME.overlay.png; where photos from different folders or with
    different suffixes share a NAME (a.png, sub/a.jpg), a short hash of the photo's path tells them apart."""
    full = {path: Path(os.path.abspath(path)) for path in photos}
    shared = Counter(path.stem.lower() for path in set(full.values()))
    return {path: f"{absolute.stem}-{hashlib.sha256(os.fsencode(absolute)).hexdigest()[:8]}.overlay.png"
            if shared[absolute.stem.lower()] > 1 else f"{absolute.stem}.overlay.png"
            for path, absolute in full.items()}


@main.command()
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--overlay", type=click.Path(file_okay=False, path_type=Path),
              help="Write a PNG per photo with landmarks and region masks drawn.")
@MAX_MEGAPIXELS
def analyze(photos: tuple[Path, ...], as_json: bool, overlay: Path | None, max_megapixels: float) -> None:
    """Find faces: box, confidence and landmarks per face, and whether a person matte was found."""
    from .face import analyse, draw_overlay
    from .io import PhotoError, read, write_pixels
    from .staging import check_folder
    from .job import check_size
    if overlay:
        try:
            check_folder(overlay)
        except PhotoError as error:
            fail(str(error))
    names = overlay_names(photos)
    rows, failed = [], False
    for path in photos:
        try:
            photo = read(path, max_pixels=int(max_megapixels * 1e6))
            check_size(photo)
            faces = analyse(photo, identity=False)
            row = {"file": str(path), "size": list(photo.size), "person_matte": faces.person is not None,
                   "faces": [{"box": list(f.box), "confidence": round(f.confidence, 3),
                              "landmarks": len(f.landmarks)} for f in faces], "notes": list(photo.notes)}
            if overlay:
                row["overlay"] = str(write_pixels(draw_overlay(photo.pixels, faces) / 255.0, overlay / names[path]))
        except PhotoError as error:
            click.echo(f"retouch: error: {error}", err=True)
            rows.append({"file": str(path), "error": str(error)})
            failed = True
            continue
        rows.append(row)
    if as_json:
        _echo_json(rows)
    else:
        for row in rows:
            if "error" in row:
                continue
            faces = row["faces"]
            click.echo(f"{row['file']}: {len(faces)} face{'s' if len(faces) != 1 else ''}, "
                       f"person matte {'found' if row['person_matte'] else 'not found'}")
            for number, face in enumerate(faces, 1):
                click.echo(f"  face {number}: box {face['box']}, confidence {face['confidence']:.2f}, "
                           f"{face['landmarks']} landmarks")
            for note in row["notes"]:
                click.echo(f"  note: {note}")
            if "overlay" in row:
                click.echo(f"  overlay: {row['overlay']}")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--preset", default="natural", show_default=True, help="Preset name or .toml file.")
@click.option("--only", multiple=True, metavar="EDIT", help="Run only these edits (repeatable).")
@click.option("--set", "settings", multiple=True, metavar="EDIT.PARAM=VALUE",
              help="Change one parameter or strength within its limits (repeatable).")
@click.option("--background", metavar="COLOR|IMAGE", help="Replace the background (#rrggbb, a name, or an image).")
@declared_option("--quality", "quality", Output, "quality", "default: the preset's")
@click.option("--overwrite", is_flag=True, help="Allow writing over an existing output file.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@NO_SIGN
@MAX_MEGAPIXELS
def apply(source: Path, target: Path, preset: str, only, settings, background, quality, overwrite,
          as_json: bool, no_sign: bool, max_megapixels: float) -> None:
    """Retouch SOURCE into TARGET with the guard on, and write the edit record beside it."""
    from .credentials import CredentialsError
    from .io import PhotoError
    from .job import retouch_file
    chosen = _load_preset(preset, only, settings, background)
    try:
        outcome = retouch_file(source, target, chosen, quality=quality, overwrite=overwrite,
                               max_pixels=int(max_megapixels * 1e6), sign=not no_sign)
    except (PhotoError, FileExistsError, CredentialsError) as error:
        fail(str(error))
    if as_json:
        _echo_json(outcome.record)
        return
    click.echo(f"{source} -> {target} (preset {chosen.name})")
    for step in outcome.record["steps"]:
        line = f"  {step['edit']:<11} {step['requested']:.2f} -> {step['applied']:.2f}  {step['status']}"
        if step["bound_by"]:
            line += f" (bound by {', '.join(step['bound_by'])})"
        elif step["note"] and step["status"] == "skipped":
            line += f" ({step['note']})"
        click.echo(line)
    for warning in outcome.record["warnings"]:
        click.echo(f"  warning: {warning}")
    click.echo(f"  {outcome.record['description']}")
    click.echo(f"  record: {outcome.record_path}")
    signed = outcome.record.get("credentials")
    click.echo(f"  Content Credentials: signed by {signed['signed_by']}" if signed
               else "  not signed (--no-sign)" if no_sign else f"  {NOT_SIGNED}")


@main.command(name="edits")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_edits(as_json: bool) -> None:
    """List every edit with its parameters, ranges and hard maxima."""
    from . import edits
    table = {}
    for name, edit in edits.load_all().items():
        table[name] = {"doc": edit.doc, "words": edit.words, "needs_face": edit.needs_face,
                       "version": edit.version, "strength": _declaration(edit.strength),
                       "params": {p: _declaration(d) for p, d in edit.declarations.items()},
                       "settings": {p: _setting(d) for p, d in edit.settings.items()}}
    if as_json:
        _echo_json(table)
        return
    for name, entry in table.items():
        click.echo(f"{name}: {entry['doc']}")
        for pname, d in [("strength", entry["strength"])] + list(entry["params"].items()):
            click.echo(f"  {name}.{pname:<16} default {d['default']:<6g} range {d['lo']:g}..{d['hi']:g}"
                       f"  hard max {d['hard_max']:g}   {d['doc']}")
        for pname, d in entry["settings"].items():
            click.echo(f"  {name}.{pname:<16} default {str(d['default']) or '(none)':<6} {d['allowed']}   {d['doc']}")


def _declaration(declaration) -> dict:
    return {"default": declaration.default, "lo": declaration.lo, "hi": declaration.hi,
            "hard_max": declaration.limit, "doc": declaration.doc}


def _setting(declaration) -> dict:
    return {"kind": type(declaration).__name__.lower(), "default": declaration.default,
            "allowed": declaration.describe(), "doc": declaration.doc}


@main.command(name="measure")
@click.argument("original", type=click.Path(path_type=Path))
@click.argument("retouched", type=click.Path(path_type=Path))
@click.option("--preset", default="natural", show_default=True, help="Whose budget to judge by.")
@click.option("--json", "as_json", is_flag=True, help="Print every measure as JSON.")
def measure_command(original: Path, retouched: Path, preset: str, as_json: bool) -> None:
    """Measure any RETOUCHED file against its ORIGINAL (even one retouched elsewhere)."""
    from .io import PhotoError
    from .job import compare_files
    chosen = _load_preset(preset)
    try:
        report = compare_files(original, retouched, chosen.budget)
    except PhotoError as error:
        fail(str(error))
    if as_json:
        _echo_json(report)
        return
    for number, face in enumerate(report["metrics"]["faces"], 1):
        values = ", ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}" for k, v in face.items())
        click.echo(f"face {number}: {values}")
    frame = report["metrics"]["frame"]
    click.echo(f"changed area: {frame['changed_area']:.1%}")
    click.echo(report["verdict"])
    sys.exit(0 if report["within_budget"] else 1)


@main.group(invoke_without_command=True)
@click.pass_context
def presets(context: click.Context) -> None:
    """List the built-in presets (or `presets show NAME`)."""
    if context.invoked_subcommand is None:
        from . import presets as library
        for name in library.builtin_names():
            click.echo(f"{name:<12} {library.load(name).description}")


@presets.command()
@click.argument("name")
def show(name: str) -> None:
    """Print a preset's effective settings (NAME or a .toml file)."""
    _echo_json(_load_preset(name).summary())


class _DefaultCommandGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to the `build` subcommand:
    `retouch review OUT_DIR --out DIR` is `retouch review build OUT_DIR --out DIR`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["build", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_DefaultCommandGroup, no_args_is_help=True)
def review() -> None:
    """Client gallery: `review OUT_DIR --out DIR`, then `review import DECISIONS.json OUT_DIR`.

    A folder literally named "import" or "build" must be written ./import or ./build.
    """


@review.command(name="build")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "gallery_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the gallery into (index.html and images/).")
@click.option("--title", help="Page title shown to the client (default: OUT_DIR's name).")
def review_build(out_dir: Path, gallery_dir: Path, title: str | None) -> None:
    """Write a static before/after gallery of OUT_DIR's retouched photos for a client (works offline)."""
    from .review import ReviewError, build_gallery
    try:
        gallery = build_gallery(out_dir, gallery_dir, title=title)
    except ReviewError as error:
        fail(str(error))
    for problem in gallery.skipped:
        click.echo(f"retouch: warning: left out {problem}", err=True)
    click.echo(f"{gallery.index}: {len(gallery.photos)} photo{'s' if len(gallery.photos) != 1 else ''}, "
               f"gallery id {gallery.gallery_id}")
    sys.exit(1 if gallery.skipped else 0)


@review.command(name="import")
@click.argument("decisions_json", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def review_import(decisions_json: Path, out_dir: Path) -> None:
    """Write a client's DECISIONS.json from the gallery into OUT_DIR's edit records (all or nothing)."""
    from .review import ReviewError, import_decisions
    try:
        decisions = import_decisions(decisions_json, out_dir)
    except ReviewError as error:
        fail(str(error))
    for decision in decisions:
        comment = f" ({shortened(decision.comment)})" if decision.comment else ""
        click.echo(f"{decision.file}: {decision.decision or 'no decision'}{comment}")
    click.echo(f"{len(decisions)} decision{'s' if len(decisions) != 1 else ''} written into the edit records "
               f"in {out_dir}")


class ProgressLine:
    """A batch's progress (batch.Progress): count, rate and ETA on one stderr line (redrawn on a terminal,
    every few seconds otherwise), and one line per failure."""

    def __init__(self, total: int, *, stream: TextIO | None = None, every: float = 5.0):
        self.total, self.stream, self.every = total, stream or sys.stderr, every
        self.count = self.worked = 0
        self.start = self.shown = time.monotonic()
        self.live = self.stream.isatty()
        if self.live:
            self._write(self._line(), keep=False)

    def _line(self) -> str:
        elapsed = time.monotonic() - self.start
        rate = self.worked / elapsed if elapsed > 0 else 0.0
        left = self.total - self.count
        eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "--:--:--"
        return f"{self.count}/{self.total} photos  {rate * 60:.1f}/min  ETA {eta}"

    def _write(self, text: str, *, keep: bool) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text + ("\n" if keep else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def advance(self, row: dict) -> None:
        self.count += 1
        self.worked += row["status"] != "skipped"
        if row["status"] == "failed":
            self._write(f"failed: {row['file']}: {row['reason']}", keep=True)
        now = time.monotonic()
        if self.live or now - self.shown >= self.every or self.count == self.total:
            self.shown = now
            self._write(self._line(), keep=not self.live)

    def close(self) -> None:
        if self.live and self.count:
            self.stream.write("\n")
            self.stream.flush()


@main.command()
@click.argument("session_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@session_options
@click.option("--dry-run", is_flag=True, help="List what would be done or skipped; write nothing.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Worker processes on this machine, or a Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local Dask cluster).")
@click.option("--overwrite", is_flag=True,
              help="Replace outputs made from other photos, carrying review decisions, or not made by retouch "
                   "(each is moved into OUT_DIR/.retouch-replaced/ first).")
@NO_SIGN
def batch(session_dir: Path, out_dir: Path, preset: str, workers: int | None, recursive: bool,
          fmt: str | None, dry_run: bool, executor: str, scheduler: str | None, overwrite: bool,
          no_sign: bool) -> None:
    """Retouch every photo of SESSION_DIR into OUT_DIR, resumably; writes report.json and report.csv.

    Re-running the same command skips photos already done with the same preset. An output that retouch
    did not make from the same photo, or that carries a review decision, is never replaced without
    --overwrite.
    """
    from . import batch as session
    from .files import FolderError
    from .io import PhotoError
    if scheduler and executor != "dask":
        raise UsageProblem("--scheduler needs --executor dask")
    chosen = _load_preset(preset)
    identity = None if no_sign or dry_run else _studio_identity()
    try:
        plan = session.plan(session_dir, out_dir, chosen, recursive=recursive, fmt=fmt, overwrite=overwrite,
                            sign=identity or False)
    except session.SessionError as error:
        raise UsageProblem(str(error)) from None
    if dry_run:
        words = {"none": "do", "done": "skip", "ours": "redo", "conflict": "replace" if overwrite else "conflict"}
        for task, found in session.preview(plan):
            line = f"{words[found.state] + ' ':<5}{task.file} -> {task.output}"
            click.echo(line + (f": {found.reason}" if found.state == "conflict" else ""))
        return
    if not plan.tasks:
        fail(f"{session_dir}: no supported photos found" + ("" if recursive else " (try --recursive)"))
    try:
        session.check_output(plan)
        runner = session.make_executor(executor, workers=workers, scheduler=scheduler)
        report = session.run(plan, runner, progress=ProgressLine(len(plan.tasks)))
    except (session.EngineError, FolderError, PhotoError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; outputs finished so far are kept: run the same command again to resume", 130)
    for line in session.summary_lines(report):
        click.echo(line)
    if identity is None and not no_sign:
        click.echo(f"outputs {NOT_SIGNED}")
    if report.stopped:
        fail(report.stopped)
    if report.unsaved:
        fail(f"the report could not be written: {report.unsaved}")
    sys.exit(report.exit_code)


@main.command(name="watch")
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@session_options
@click.option("--gallery", type=click.Path(file_okay=False, path_type=Path),
              help="Where the client gallery is kept up to date (default: OUT_DIR/gallery).")
@click.option("--title", help="The gallery's title (default: the output folder's name).")
@click.option("--settle", type=FiniteFloatRange(0.2, 60), default=2.0, show_default=True,
              help="Seconds a file must stay unchanged before it is taken (it must also decode).")
@NO_SIGN
def watch_command(in_dir: Path, out_dir: Path, preset: str, workers: int | None, recursive: bool,
                  fmt: str | None, gallery: Path | None, title: str | None, settle: float, no_sign: bool) -> None:
    """Retouch each frame a tethered shoot writes into IN_DIR as it arrives, into OUT_DIR, and keep the
    client gallery up to date. Ctrl-C stops; running it again resumes as `batch` does.

    A file is taken once it has stayed unchanged for --settle seconds and decodes; a RAW + JPEG pair is
    one frame, retouched from the RAW."""
    from . import batch as session
    from . import watch
    from .files import FolderError
    from .io import PhotoError
    chosen = _load_preset(preset)
    identity = None if no_sign else _studio_identity()
    board = watch.Board(sys.stderr)
    click.echo(f"watching {in_dir} -> {out_dir} (preset {chosen.name}); Ctrl-C stops", err=True)
    try:
        report, incomplete = watch.watch(in_dir, out_dir, chosen, workers=workers, fmt=fmt, recursive=recursive,
                                         settle=settle, gallery=gallery, title=title, sign=identity or False,
                                         show=board)
    except session.SessionError as error:
        raise UsageProblem(str(error)) from None
    except (FolderError, PhotoError) as error:
        fail(str(error))
    finally:
        board.close()
    for line in session.summary_lines(report):
        click.echo(line)
    if incomplete:
        click.echo(f"{len(incomplete)} file{'s' if len(incomplete) != 1 else ''} still incomplete (not taken; "
                   f"they are taken when they next change): {', '.join(incomplete)}")
    if identity is None and not no_sign:
        click.echo(f"outputs {NOT_SIGNED}")
    if report.unsaved:
        fail(f"the report could not be written: {report.unsaved}")
    sys.exit(report.exit_code)


@main.command(name="gui")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--preset", default="natural", show_default=True, help="Preset name or .toml file.")
def gui_command(folder: Path | None, preset: str) -> None:
    """Open the desktop review app (on FOLDER: a session or a `retouch batch` output folder)."""
    from gui.app import run
    _load_preset(preset)                     # a bad preset is a usage error here, before any window
    sys.exit(run(folder, preset=preset))


# ------------------------------------------------------------------------------- Content Credentials

def _studio_identity():
    """The studio's signing identity (None without one); a broken one ends the command, nothing written."""
    from .credentials import CredentialsError, load
    try:
        return load()
    except CredentialsError as error:
        fail(str(error))


@main.group(name="credentials", no_args_is_help=True)
def credentials_group() -> None:
    """The studio's signing identity for Content Credentials: `init`, then `show`."""


@credentials_group.command(name="init")
@click.option("--name", help="The studio's name, as signatures show it (default: your name on this computer; "
                             "with --cert, the certificate's organisation).")
@click.option("--cert", type=click.Path(dir_okay=False, path_type=Path),
              help="Use a certificate chain you already have (PEM) instead of making one; needs --key.")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path), help="The private key of --cert (PEM).")
@click.option("--force", is_flag=True, help="Replace existing credentials (the old ones are kept aside).")
def credentials_init(name: str | None, cert: Path | None, key: Path | None, force: bool) -> None:
    """Set up the studio's signing identity: a certificate authority of its own and a signing certificate
    under it (or your own certificate with --cert/--key). Every output is signed with it from then on.

    Running it again changes nothing unless --force is given."""
    from . import credentials
    if (cert is None) != (key is None):
        raise UsageProblem("--cert and --key go together")
    try:
        if cert is not None:
            identity, moved = credentials.use(cert, key, name=name, replace=force)
        else:
            identity, moved = credentials.create(name or credentials.default_name(), replace=force)
    except credentials.AlreadySetUp as error:
        click.echo(str(error))
        return
    except credentials.CredentialsError as error:
        fail(str(error))
    where = credentials.folder()
    click.echo(f"Studio credentials for {identity.name!r} are in {where}")
    click.echo(f"  signing certificate: {identity.cert_path}")
    click.echo(f"  fingerprint (SHA-256): {identity.fingerprint}")
    click.echo(f"  valid until: {identity.expires:%Y-%m-%d}")
    click.echo(f"  private key: {identity.key_path} (only you can read it; never send it to anyone)")
    if moved:
        click.echo(f"The previous credentials were moved to {moved}; outputs they signed still verify here.")
    if cert is None:
        click.echo(f"Give {where / 'ca.pem'} to anyone who should trust your signatures "
                   "(`retouch verify --trust ca.pem FILE`).")
    click.echo("Back up this folder now and keep the copy offline (it holds your private keys):")
    click.echo(f"  tar czf retouch-credentials.tgz -C {where.parent} {where.name}")
    click.echo("Without it, new outputs cannot be signed as this studio.")


@credentials_group.command(name="show")
def credentials_show() -> None:
    """Print the studio name, the certificate's fingerprint and expiry (never the key)."""
    from . import credentials
    identity = _studio_identity()
    if identity is None:
        fail(f"no studio credentials in {credentials.folder()}; `retouch credentials init` sets them up", 2)
    click.echo(f"studio: {identity.name}")
    click.echo(f"certificate: {identity.cert_path}")
    click.echo(f"fingerprint (SHA-256): {identity.fingerprint}")
    click.echo(f"valid until: {identity.expires:%Y-%m-%d}")
    click.echo(f"signing algorithm: {identity.alg.upper()}")
    if credentials.loose_key(identity):
        warn(credentials.loose_key(identity))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust", "trusted", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Also trust signatures under this root certificate (PEM, e.g. a studio's ca.pem); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify(files: tuple[Path, ...], trusted: tuple[Path, ...], as_json: bool) -> None:
    """Check the Content Credentials of each FILE: who signed it and whether that signer is trusted, what
    was done step by step with the measures, and whether the pixels changed after signing.

    Exit 0: every file valid; 1: any invalid or changed after signing (or unreadable); 2: any without
    Content Credentials (and none invalid). Works on files signed by any C2PA tool."""
    from cryptography import x509

    from .io import PhotoError
    from .provenance import verify as check
    anchors = []
    for path in trusted:
        try:
            anchors.append(path.read_bytes())
            x509.load_pem_x509_certificates(anchors[-1])
        except (OSError, ValueError) as error:
            raise UsageProblem(f"--trust {path}: not a readable PEM certificate ({error})") from None
    findings, codes = [], set()
    for path in files:
        try:
            found = check(path, anchors=b"".join(anchors))
        except PhotoError as error:
            click.echo(f"retouch: error: {error}", err=True)
            codes.add(1)
            continue
        findings.append(found)
        codes.add(found.exit_code)
        if not as_json:
            click.echo("\n".join(found.lines()))
    if as_json:
        _echo_json([found.as_dict() for found in findings])
    sys.exit(1 if 1 in codes else 2 if 2 in codes else 0)
