"""What the guard costs on a 24 MP portrait (issue 4): the reference, each measure per call, and the
guarded pipeline (natural preset) over the unguarded one. Measuring should work on face crops and cost
far less than editing. Prints JSON; progress goes to stderr.

    python benchmarks/bench_guard.py                    # 6000x4000 astronaut portrait, median of 3
    python benchmarks/bench_guard.py --size 3000 --repeat 5

The photo is analysed once and the same Faces are handed to every run. Each measure is timed on the
unguarded pipeline's result (a realistic retouch) with its touched mask (the union of the steps' masks,
built by pipeline.run_step without a reference). One more guarded run is instrumented: pipeline's
reference() and measure() are wrapped to count the calls and the time spent in them, so the guard's
overhead splits into reference + measure calls + the rest (back-off's extra blends; one in-place blend
of the skin step, a face edit, is timed alone: it costs the face's box, not the frame). A last instrumented run uses a
budget no step meets at its requested strength (STRICT_LIMITS), so every step bisects: the worst case.
Times are medians of wall and CPU seconds; memory is tracemalloc's peak for one call (numpy/OpenCV
arrays).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import _portrait as bench
from retouch import edits, io, pipeline, presets
from retouch.face import analyse
from retouch.measure import FACE_MEASURES, FRAME_MEASURES, FaceView, FrameView, measure, reference

PRESET = "natural"
# Limits no step can keep at its requested strength, so every step bisects: the guard's worst case.
STRICT_LIMITS = {"identity": 0.999, "texture": 0.999}


def strict(preset):
    """`preset` with STRICT_LIMITS in its budget."""
    text = Path(preset.source).read_text(encoding="utf-8")
    for key, value in STRICT_LIMITS.items():
        text, count = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        if count != 1:
            raise SystemExit(f"bench_guard: {preset.source} has no single {key} line to tighten")
    return presets.parse(text, name=f"{preset.name}-strict", source=preset.source)


def unguarded_run(photo, faces, preset) -> pipeline.Canvas:
    """The preset's result without the guard: its pixels, touched mask and changed box."""
    canvas = pipeline.Canvas.of(photo.pixels)
    for step in preset.steps:
        pipeline.run_step(step, photo, canvas, faces, None, preset)
    return canvas


@contextlib.contextmanager
def counted(module, *names: str) -> Iterator[dict[str, dict]]:
    """Wrap module attributes `names` (functions) to count calls and their wall seconds; restored after."""
    tally = {name: {"calls": 0, "wall_s": 0.0} for name in names}
    originals = {name: getattr(module, name) for name in names}

    def wrapped(name):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return originals[name](*args, **kwargs)
            finally:
                tally[name]["calls"] += 1
                tally[name]["wall_s"] += time.perf_counter() - start
        return call

    for name in names:
        setattr(module, name, wrapped(name))
    try:
        yield tally
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


def time_measures(ref, canvas: pipeline.Canvas, repeat: int) -> dict[str, dict]:
    """Per registered measure, one call's median seconds and tracemalloc peak (face measures: first face)."""
    current, touched, box = canvas.pixels, canvas.touched, canvas.dirty
    calls = {name: (lambda f=entry.fn: f(ref.faces[0], FaceView(ref.faces[0], current)))
             for name, entry in FACE_MEASURES.items()}
    calls.update({name: (lambda f=entry.fn: f(FrameView(ref, current, touched, box)))
                  for name, entry in FRAME_MEASURES.items()})
    calls["measure (all, one call)"] = lambda: measure(ref, current, touched=touched, changed_box=box)
    found = {}
    for name, call in calls.items():
        seconds, value = bench.median_seconds(call, repeat)
        peak, _ = bench.peak_bytes(call)
        found[name] = {"s": seconds, "tracemalloc_peak_mb": bench.mb(peak),
                       "value": value if name != "measure (all, one call)" else None}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="long side of the test portrait (px)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bench.log(f"writing and analysing the {args.size} px portrait ...")
        photo = io.read(bench.portrait(Path(folder), args.size))
    faces = analyse(photo)
    preset = presets.load(PRESET)
    if not len(faces):
        raise SystemExit("bench_guard: no face found in the test portrait")

    bench.log("reference ...")
    reference_s, ref = bench.median_seconds(lambda: reference(photo.pixels, faces), args.repeat)
    reference_peak, _ = bench.peak_bytes(lambda: reference(photo.pixels, faces))
    bench.log("measures, one by one ...")
    canvas = unguarded_run(photo, faces, preset)
    measures = time_measures(ref, canvas, args.repeat)
    skin_change = edits.get("skin").apply(photo, faces, preset.step("skin").params)
    scratch = photo.pixels.copy()
    blend_s, _ = bench.median_seconds(lambda: pipeline.blend_into(scratch, skin_change, 0.5), args.repeat)

    bench.log("pipeline without the guard ...")
    unguarded_s, _ = bench.median_seconds(lambda: pipeline.retouch(photo, preset, faces=faces, guard=False),
                                          args.repeat)
    bench.log("pipeline with the guard ...")
    guarded_s, result = bench.median_seconds(lambda: pipeline.retouch(photo, preset, faces=faces, guard=True),
                                             args.repeat)
    bench.log("pipeline with the guard, instrumented ...")
    with counted(pipeline, "reference", "measure") as tally:
        pipeline.retouch(photo, preset, faces=faces, guard=True)
    bench.log("pipeline with the guard and a budget that makes every step back off, instrumented ...")
    strict_preset = strict(preset)
    with counted(pipeline, "reference", "measure") as strict_tally:
        strict_s, strict_result = bench.median_seconds(
            lambda: pipeline.retouch(photo, strict_preset, faces=faces, guard=True), 1)

    edit_s = unguarded_s
    measure_s = measures["measure (all, one call)"]["s"]
    face = faces.items[0]
    x0, y0, x1, y1 = face.box
    print(json.dumps({
        "benchmark": "guard",
        "preset": PRESET,
        "repeat": args.repeat,
        "photo": {"width": photo.size[0], "height": photo.size[1], "faces": len(faces),
                  "face_box": [x0, y0, x1, y1], "face_box_mpx": round((x1 - x0) * (y1 - y0) / 1e6, 3),
                  "touched_share": round(float((canvas.touched > 1e-3).mean()), 4)},
        "reference_s": reference_s,
        "reference_tracemalloc_peak_mb": bench.mb(reference_peak),
        "measures": measures,
        "blend_one_face_edit_s": blend_s,
        "pipeline_unguarded_s": unguarded_s,
        "pipeline_guarded_s": guarded_s,
        "guarded_over_unguarded": bench.ratio(guarded_s, unguarded_s),
        "one_measure_call_over_unguarded_edits": bench.ratio(measure_s, edit_s),
        "guarded_run_breakdown": _rounded(tally),
        "guarded_steps": _steps(result),
        "worst_case_every_step_backs_off": {
            "budget": STRICT_LIMITS, "pipeline_s": strict_s,
            "over_unguarded": bench.ratio(strict_s, unguarded_s), "breakdown": _rounded(strict_tally),
            "steps": _steps(strict_result)},
        "max_rss_mb": bench.max_rss_mb(),
    }, indent=2, default=_plain))


def _rounded(tally: dict) -> dict:
    return {name: {"calls": t["calls"], "wall_s": round(t["wall_s"], 3)} for name, t in tally.items()}


def _steps(result) -> list[dict]:
    return [{key: step.as_dict()[key] for key in ("edit", "requested", "applied", "status", "bound_by")}
            for step in result.steps]


def _plain(value):
    """JSON for numpy scalars in measure values."""
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    main()
