"""Time per edit against face area and frame area (issue 3): face edits must scale with the face, not the
frame; background, the one full-frame edit, is reported on its own. Prints JSON; progress goes to stderr.

    python benchmarks/bench_edits.py                    # 24 MP portrait and its pairs, median of 3
    python benchmarks/bench_edits.py --size 3000 --repeat 5

Each registered edit's apply() runs with its default params on an analysed photo (analysis untimed) in
two pairs of photos:

- same_photo: the 24 MP astronaut portrait against its ~2 MP proxy: face and frame shrink alike, so
  this alone cannot tell face-bound work from frame-bound work;
- small_face: the 512 px astronaut at native size in a grey 24 MP canvas against the 512 px original:
  face-area ratio 1, frame-area ratio ~91, so a face edit's time ratio must stay near 1.

For each pair: the time ratio (big / small, wall and CPU medians) per edit next to the face-area and
frame-area ratios. Also per photo and edit: the megapixels of the box the edit returned (its Change)
and tracemalloc's peak (numpy/OpenCV arrays allocated during one call).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import _portrait as bench
from retouch import edits, io
from retouch.face import analyse

FULL_FRAME_EDITS = ("background",)


def face_area(faces) -> int:
    """Pixels in all the face boxes."""
    return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in (face.box for face in faces))


def photos(folder: Path, size: int) -> dict[str, Path]:
    big = bench.portrait(folder, size)
    small_face, original = bench.small_face(folder, size)
    return {"portrait_24mp": big, "portrait_2mp": bench.proxy_of(big, folder),
            "small_face_24mp": small_face, "small_face_512": original}


def time_edits(photo, faces, repeat: int) -> dict[str, dict]:
    """Per registered edit: median seconds, the returned box's megapixels, tracemalloc peak (MB)."""
    found = {}
    for name, edit in edits.load_all().items():
        params = edit.params()
        seconds, change = bench.median_seconds(lambda: edit.apply(photo, faces, params), repeat)
        peak, _ = bench.peak_bytes(lambda: edit.apply(photo, faces, params))
        x0, y0, x1, y1 = change.box
        found[name] = {"s": seconds, "change_box_mpx": round((x1 - x0) * (y1 - y0) / 1e6, 3),
                       "empty": change.empty, "tracemalloc_peak_mb": bench.mb(peak)}
    return found


def compare(big: dict, small: dict) -> dict:
    """Ratios big / small: face area, frame area, and time per edit (face edits, then background)."""
    times = {name: bench.ratio(big["edits"][name]["s"], small["edits"][name]["s"]) for name in big["edits"]}
    return {"face_area_ratio": round(big["face_area_px"] / max(small["face_area_px"], 1), 2),
            "frame_area_ratio": round(big["frame_area_px"] / small["frame_area_px"], 2),
            "face_edit_time_ratio": {k: v for k, v in times.items() if k not in FULL_FRAME_EDITS},
            "background_time_ratio": {k: v for k, v in times.items() if k in FULL_FRAME_EDITS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="long side of the big photos (px)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per edit (median reported)")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        bench.log("writing the photos ...")
        for label, path in photos(Path(folder), args.size).items():
            photo = io.read(path)
            faces = analyse(photo)
            width, height = photo.size
            bench.log(f"{label}: {width}x{height}, {len(faces)} face(s); timing the edits ...")
            results[label] = {"width": width, "height": height, "faces": len(faces),
                              "face_boxes": [list(face.box) for face in faces],
                              "face_area_px": face_area(faces), "frame_area_px": width * height,
                              "edits": time_edits(photo, faces, args.repeat)}
            del photo, faces

    by_edit = lambda keep: {label: {name: timing for name, timing in photo["edits"].items() if keep(name)}
                            for label, photo in results.items()}
    print(json.dumps({
        "benchmark": "edits",
        "repeat": args.repeat,
        "photos": {label: {k: v for k, v in photo.items() if k != "edits"} for label, photo in results.items()},
        "face_edits": by_edit(lambda name: name not in FULL_FRAME_EDITS),
        "background": by_edit(lambda name: name in FULL_FRAME_EDITS),
        "same_photo_24mp_over_2mp": compare(results["portrait_24mp"], results["portrait_2mp"]),
        "small_face_24mp_over_512": compare(results["small_face_24mp"], results["small_face_512"]),
        "max_rss_mb": bench.max_rss_mb(),
    }, indent=2))


if __name__ == "__main__":
    main()
