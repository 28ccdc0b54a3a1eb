"""Time from a slider change to the updated proxy on screen, per edit, in the review window (offscreen).

For every edit alone, and for the natural preset's first and last steps, a slider (the strength and the
first declared parameter) is moved and times are taken from the moment the slider changes:
  preview_ms  the unguarded proxy (edit + blend only) painted in the view (target: <= 100 ms);
  draft_ms    where the preview's edits are slow, the half-size draft painted before it (else null);
  guarded_ms  the guarded result (measured, backed off where needed) and the measures panel shown.
Also reported: the worker's own render time and how many earlier steps were kept whole from the last
render (a photo keeps the chain of its last render, so a change re-runs only the steps from the one
changed, and a strength-only change blends the kept edit output again without running the edit).
The portrait is the astronaut upscaled to the proxy size (1500 px), so the proxy is exactly that big.

Then, on a 24-megapixel portrait (--full-long-side; 0 skips it), the 100% view: the time from the 100%
action to the full-resolution before side on screen and to the full-resolution after side (retouched
at full size at the strengths the guard chose on the proxy), and at 100% from a strength change to the
proxy's preview and to the full-resolution after.

    python benchmarks/bench_gui.py [--repeats 3] [--long-side 1500] [--full-long-side 6000] > bench_gui.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from retouch import samples  # noqa: E402

import _portrait as bench  # noqa: E402

TARGET_MS = 100
TIMEOUT_S = 300


def _portrait(folder: Path, long_side: int) -> None:
    rgb = cv2.resize(samples.astronaut_rgb(), (long_side, long_side), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(rgb).save(folder / "astronaut.jpg", quality=95)


class Clock:
    """Times slider changes in one window: preview painted, guarded result shown, worker's own numbers."""

    def __init__(self, app: QApplication, window):
        self.app, self.window = app, window
        self.preview: dict[int, float] = {}
        self.draft: dict[int, float] = {}
        self.guarded: dict[int, float] = {}
        self.renders: dict[tuple[int, str], tuple[float, int]] = {}
        self.full: dict[int, float] = {}
        window.previewShown.connect(lambda serial: self._painted(self.preview, serial))
        window.fullShown.connect(lambda serial: self._painted(self.full, serial))
        window.draftShown.connect(lambda serial: self._painted(self.draft, serial))
        window.measuresShown.connect(lambda serial: self.guarded.setdefault(serial, time.perf_counter()))
        window.worker.produced.connect(self._rendered)

    def _painted(self, times: dict[int, float], serial: int) -> None:
        self.window.view.repaint()                  # synchronous paint: the pixels are on screen now
        times.setdefault(serial, time.perf_counter())

    def _rendered(self, kind: str, serial: int, stage: str, value) -> None:
        if kind == "render":
            self.renders[(serial, stage)] = (value.seconds, value.reused)

    def settle(self) -> None:
        self.until(lambda: self.window.idle() and self.window.result is not None)
        self.app.processEvents()

    def until(self, done) -> float:
        """Process events until `done()` (or the timeout); the time then."""
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline and not done():
            self.app.processEvents()
            time.sleep(0.001)
        return time.perf_counter()

    def full_resolution(self) -> dict:
        """The 100% action, then a strength change at 100%: when the full-resolution sides show."""
        view, start = self.window.view, time.perf_counter()
        view.actual_size()
        before = self.until(lambda: view.full_before is not None)
        view.repaint()
        self.until(lambda: self.full)
        after = min(self.full.values())
        self.settle()
        self.full.clear()
        moved = self.move(self.window.panel.sliders["skin"]["strength"])
        self.until(lambda: self.full)
        changed = min(self.full.values()) - moved.pop("started")
        self.settle()
        return {"full_scale": view.full_scale(), "before_ms": round((before - start) * 1000, 1),
                "after_ms": round((after - start) * 1000, 1),
                "strength_change": {"preview_ms": round(moved["preview_ms"], 1),
                                    "full_after_ms": round(changed * 1000, 1)}}

    def move(self, slider) -> dict:
        """Move `slider` a tenth of its range (down if it can, else up) and time what follows."""
        position = slider.slider.value()
        step = max(1, slider.slider.maximum() // 10)
        target = position - step if position - step >= slider.slider.minimum() else position + step
        start = time.perf_counter()
        slider.slider.setValue(target)
        serial = self.window.serials.last
        self.until(lambda: serial in self.guarded)
        self.settle()
        quick, reused = self.renders.get((serial, "preview"), (float("nan"), 0))
        guard, _ = self.renders.get((serial, "guarded"), (float("nan"), 0))
        draft = self.draft.get(serial)
        return {"preview_ms": (self.preview.get(serial, float("nan")) - start) * 1000,
                "draft_ms": None if draft is None else (draft - start) * 1000,
                "guarded_ms": (self.guarded.get(serial, float("nan")) - start) * 1000,
                "worker_preview_ms": quick * 1000, "worker_guarded_ms": guard * 1000, "steps_reused": reused,
                "started": start}


def _summary(runs: list[dict]) -> dict:
    keys = ("preview_ms", "guarded_ms", "worker_preview_ms", "worker_guarded_ms")
    out = {key: round(statistics.median(run[key] for run in runs), 1) for key in keys}
    drafts = [run["draft_ms"] for run in runs if run["draft_ms"] is not None]
    out["draft_ms"] = round(statistics.median(drafts), 1) if drafts else None
    out["steps_reused"] = runs[-1]["steps_reused"]
    out["preview_within_target"] = out["preview_ms"] <= TARGET_MS
    out["preview_runs_ms"] = [round(run["preview_ms"], 1) for run in runs]
    return out


def _only(window, enabled: set[str]) -> None:
    """Turn exactly the `enabled` edits on (one re-render), keeping every value."""
    states = window.panel.state()
    for name, state in states.items():
        state.enabled = name in enabled
    window.panel.set_state(states)
    window.panel.changed.emit()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-side", type=int, default=1500)
    parser.add_argument("--full-long-side", type=int, default=6000)
    options = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gui.window import ReviewWindow
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _portrait(folder, options.long_side)
        window = ReviewWindow()
        window.resize(1400, 900)
        window.show()
        clock = Clock(app, window)
        started = time.perf_counter()
        window.open_folder(folder)
        clock.settle()
        report = {"benchmark": "gui slider -> proxy on screen", "target_ms": TARGET_MS,
                  "proxy_size": list(window.prepared[folder / "astronaut.jpg"].proxy.size),
                  "open_and_first_guarded_render_ms": round((time.perf_counter() - started) * 1000, 1),
                  "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()],
                  "edits": {}, "natural_preset": {}}
        natural = {name for name, state in window.panel.state().items() if state.enabled}
        for name, sliders in window.panel.sliders.items():
            _only(window, {name})
            clock.settle()
            chosen = ["strength", next(key for key in sliders if key != "strength")]
            report["edits"][name] = {key: _summary([clock.move(sliders[key]) for _ in range(options.repeats)])
                                     for key in chosen}
        _only(window, natural)
        clock.settle()
        order = [name for name in window.panel.sliders if name in natural]
        for name in (order[0], order[-1]):
            runs = [clock.move(window.panel.sliders[name]["strength"]) for _ in range(options.repeats)]
            report["natural_preset"][f"{name}.strength"] = _summary(runs)
        if options.full_long_side:
            big = folder / "full"
            big.mkdir()
            bench.portrait(big, options.full_long_side)
            window.open_folder(big)
            clock.settle()
            report["full_resolution"] = {"size": list(window.prepared[window.entry.original].full_size)}
            report["full_resolution"] |= clock.full_resolution()
        report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        window.close()
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
