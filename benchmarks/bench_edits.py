"""Time per edit against face area and frame area (issue 3): face edits must scale with the face, not the
frame; background and backdrop, the full-frame edits, are reported on their own. Prints JSON; progress
goes to stderr.

    python benchmarks/bench_edits.py                    # 24 MP portrait and its pairs, median of 3
    python benchmarks/bench_edits.py --size 3000 --repeat 5

Each registered edit's apply() runs with its default params on an analysed photo (analysis untimed) in
two pairs of photos:

- same_photo: the 24 MP astronaut portrait against its ~2 MP proxy: face and frame shrink alike, so
  this alone cannot tell face-bound work from frame-bound work;
- small_face: the 512 px astronaut at native size in a grey 24 MP canvas against the 512 px original:
  face-area ratio 1, frame-area ratio ~91, so a face edit's time ratio must stay near 1. The canvas gets
  the original's analysis moved to where the original was pasted (the same landmarks, masks and matte,
  so only the frame differs); whether analyse() finds the face on the canvas by itself is reported too.

For each pair: the time ratio (big / small, wall and CPU medians) per edit next to the face-area and
frame-area ratios. Also per photo and edit: the megapixels of the box the edit returned (its Change)
and tracemalloc's peak (numpy/OpenCV arrays allocated during one call).

Every registered edit is timed, issue 16's shine, tone and backdrop included (backdrop's time on the
benchmark portrait is its search: that backdrop has no dust to heal).

`background_24mp`: the background edit on the 24 MP portrait INCLUDING its person matte (the analysis'
costliest part, made only for background work: segmentation refined, then alpha-matted along the hair),
next to a decode of the same JPEG timed in the same run, so a loaded machine shows in both (issue 14).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import _portrait as bench
from retouch import edits, io
from retouch.face import analyse
from retouch.face.landmarks import to_uint8
from retouch.face.person import person_matte
from retouch.photo import Face, Faces, Region
from retouch.resample import proxy_pixels

FULL_FRAME_EDITS = ("background", "backdrop")


def face_area(faces) -> int:
    """Pixels in all the face boxes."""
    return sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in (face.box for face in faces))


def moved(faces: Faces, offset: tuple[int, int], size: tuple[int, int]) -> Faces:
    """`faces` of a photo pasted at `offset` (x, y) into a frame of `size` (width, height)."""
    dx, dy = offset

    def box(b):
        return b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy

    items = [Face(box(f.box), f.confidence, f.landmarks + np.array([dx, dy], np.float32),
                  {name: Region(box(r.box), r.mask) for name, r in f.regions.items()}, f.embedding)
             for f in faces]
    person = None
    if faces.person is not None:
        person = np.zeros((size[1], size[0]), np.float32)
        height, width = faces.person.shape
        person[dy:dy + height, dx:dx + width] = faces.person
    return Faces(items, person, size)


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


def background_with_matte(photo, faces: Faces, decode: dict, repeat: int) -> dict:
    """Median seconds of the person matte plus the background edit (default params) on `photo`, and
    their ratio to `decode` (the same file's decode, timed alike)."""
    params = edits.get("background").params()
    proxy = to_uint8(proxy_pixels(photo)[0])

    def matte_and_edit():
        matte = person_matte(photo.pixels, proxy, faces.items)
        return edits.get("background").apply(photo, Faces(faces.items, matte, photo.size), params)

    seconds, _ = bench.median_seconds(matte_and_edit, repeat)
    return {"matte_and_edit_s": seconds, "decode_s": decode, "over_decode": bench.ratio(seconds, decode)}


def compare(big: dict, small: dict) -> dict:
    """Ratios big / small: face area, frame area, and time per edit (face edits, then background)."""
    times = {name: bench.ratio(big["edits"][name]["s"], small["edits"][name]["s"]) for name in big["edits"]}
    return {"face_area_ratio": round(big["face_area_px"] / max(small["face_area_px"], 1), 2),
            "frame_area_ratio": round(big["frame_area_px"] / small["frame_area_px"], 2),
            "face_edit_time_ratio": {k: v for k, v in times.items() if k not in FULL_FRAME_EDITS},
            "background_time_ratio": {k: v for k, v in times.items() if k in FULL_FRAME_EDITS}}


def by_edit(results: dict, *, full_frame: bool) -> dict:
    """Per photo, the timings of the full-frame edits (or of the face edits)."""
    return {label: {name: timing for name, timing in photo["edits"].items()
                    if (name in FULL_FRAME_EDITS) == full_frame}
            for label, photo in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="long side of the big photos (px)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per edit (median reported)")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        bench.log("writing the photos ...")
        big = bench.portrait(Path(folder), args.size)
        canvas, original = bench.small_face(Path(folder), args.size)
        decode, _ = bench.median_seconds(lambda: io.read(big), args.repeat)
        photos = {"portrait_24mp": io.read(big), "portrait_2mp": io.read(bench.proxy_of(big, Path(folder))),
                  "small_face_512": io.read(original), "small_face_24mp": io.read(canvas)}
    analysed = {label: analyse(photo) for label, photo in photos.items()}
    found_alone = len(analysed["small_face_24mp"])
    analysed["small_face_24mp"] = moved(analysed["small_face_512"], bench.small_face_offset(args.size),
                                        photos["small_face_24mp"].size)
    for label, photo in photos.items():
        faces = analysed[label]
        width, height = photo.size
        bench.log(f"{label}: {width}x{height}, {len(faces)} face(s); timing the edits ...")
        results[label] = {"width": width, "height": height, "faces": len(faces),
                          "face_boxes": [list(face.box) for face in faces],
                          "face_area_px": face_area(faces), "frame_area_px": width * height,
                          "edits": time_edits(photo, faces, args.repeat)}
    results["small_face_24mp"]["faces_found_by_analyse"] = found_alone
    bench.log("portrait_24mp: timing the person matte with the background edit ...")
    with_matte = background_with_matte(photos["portrait_24mp"], analysed["portrait_24mp"], decode, args.repeat)

    print(json.dumps({
        "benchmark": "edits",
        "repeat": args.repeat,
        "photos": {label: {k: v for k, v in photo.items() if k != "edits"} for label, photo in results.items()},
        "face_edits": by_edit(results, full_frame=False),
        "background": by_edit(results, full_frame=True),
        "background_24mp": with_matte,
        "same_photo_24mp_over_2mp": compare(results["portrait_24mp"], results["portrait_2mp"]),
        "small_face_24mp_over_512": compare(results["small_face_24mp"], results["small_face_512"]),
        "max_rss_mb": bench.max_rss_mb(),
    }, indent=2))


if __name__ == "__main__":
    main()
