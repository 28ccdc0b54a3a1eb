"""`retouch-gui [FOLDER]` (also `retouch gui` and `python -m gui.app`): the desktop review app.

Keys: Left/Right (or K/J) previous/next photo, \\ or B before/after, S side by side, F fit, 1 100%,
V/H/P pan / heal-spot / protect tools (Shift+click: the other spot kind), A approve, X reject,
Ctrl+E export, Ctrl+O open a folder.

Hidden options for tests and demos: `--screenshot PATH` saves the screen (the real window under a
display server) once the first photo's measures are shown, then quits; `--quit-after MS` quits after
MS milliseconds whatever happened (taking the screenshot then if it was asked for and not yet taken).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from retouch import presets  # noqa: E402

SETTLE_MS = 300           # let the window paint the measures before the screenshot


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="retouch-gui", description="Review and retouch a folder of portraits.")
    parser.add_argument("folder", nargs="?", type=Path, help="a session folder or a `retouch batch` output folder")
    parser.add_argument("--preset", default=presets.DEFAULT, help="preset name or .toml file (default: natural)")
    parser.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def save_screenshot(app: QApplication, window, path: Path) -> bool:
    """The screen as the display server shows it (falls back to the window's own rendering offscreen)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    offscreen = app.platformName() == "offscreen"
    shot = window.grab() if offscreen else app.primaryScreen().grabWindow(0)
    return shot.save(str(path))


def run(folder: Path | None = None, *, preset: str = presets.DEFAULT, screenshot: Path | None = None,
        quit_after: int | None = None, entries: list | None = None) -> int:
    """Show the window (on `folder` if given, or on photo_folder `entries`: Edit-In's) and run until it is
    closed; the exit status."""
    from .window import ReviewWindow
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("retouch review")
    try:
        window = ReviewWindow(preset=preset)
    except presets.PresetError as error:
        print(f"retouch-gui: error: {error}", file=sys.stderr)
        return 2
    window.show()
    if folder is not None:
        window.open_folder(folder)
    elif entries:
        window.show_entries(entries, (entries[0].target or entries[0].original).parent)
    taken = []

    def finish() -> None:
        if screenshot is not None and not taken:
            taken.append(save_screenshot(app, window, screenshot))
        window.close()
        app.quit()

    if screenshot is not None:
        window.measuresShown.connect(lambda serial: QTimer.singleShot(SETTLE_MS, finish))
    if quit_after is not None:
        QTimer.singleShot(quit_after, finish)
    status = app.exec()
    if screenshot is not None and not any(taken):
        return 1
    return status


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    return run(options.folder, preset=options.preset, screenshot=options.screenshot,
               quit_after=options.quit_after)


if __name__ == "__main__":
    sys.exit(main())
