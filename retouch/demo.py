"""`make demo`: retouch the sample session with the natural preset and build the client gallery.

Writes samples/ (the public-domain portraits and a DNG made from one), runs the session batch into out/
exactly as `retouch batch samples out` would, builds the review gallery into out/gallery, and prints where
everything is.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import batch, presets
from .cli import ProgressLine
from .review import build_gallery
from .samples import write_sample_session

SESSION = Path("samples")
OUT = Path("out")


def main() -> int:
    written = write_sample_session(SESSION)
    print(f"sample session: {len(written)} photos in {SESSION.resolve()}")
    plan = batch.plan(SESSION, OUT, presets.load("natural"))
    report = batch.run(plan, batch.make_executor("local"), progress=ProgressLine(len(plan.tasks)))
    for line in batch.summary_lines(report):
        print(line)
    gallery = build_gallery(OUT, OUT / "gallery", title="retouch demo: the natural preset")
    print(f"client gallery: {gallery.index.resolve().as_uri()}")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
