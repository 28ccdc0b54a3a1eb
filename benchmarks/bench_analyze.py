"""Analysis against decoding (issue 2): what finding and analysing the faces of a 24 MP photo costs next
to reading it. Target: analysis < decode. Prints JSON; progress goes to stderr.

    python benchmarks/bench_analyze.py                  # 6000x4000 astronaut portrait, median of 3
    python benchmarks/bench_analyze.py --size 3000 --repeat 5
    python benchmarks/bench_analyze.py --profile        # also cProfile one analyse() (top 25 to stderr)

Stages are timed by calling what retouch.face.analyse composes, one at a time, on the decoded photo:
proxy (area downscale, to uint8), landmarks (face detection on the proxy + FaceMesh on full-resolution
crops; detection alone and its small-face pass alone are also reported), regions (every face's masks),
identity (every face's embedding) and person (the matte); analyse(person=False), all but the matte, is
timed too. Times are medians of wall and CPU seconds (CPU: all threads of the process; the steadier
number when other work shares the machine). The mediapipe graphs and the identity model
are built by a first, untimed analyse (its time is reported as cold_analyse_s). Memory: tracemalloc's
peak per stage (numpy and OpenCV output arrays, above what was allocated before the stage) from one
extra traced run, and the process's peak RSS after the imports, after warm-up (one decode + analyse),
after decoding and at the end.
"""
from __future__ import annotations

import argparse
import cProfile
import io as text_io
import json
import pstats
import tempfile
import time
from pathlib import Path

import _portrait as bench
from retouch import io, resample
from retouch.face import analyse, identity
from retouch.face.landmarks import detect_boxes, find_faces, small_face_detections, small_face_tile, to_uint8
from retouch.face.person import person_matte
from retouch.face.regions import face_regions
from retouch.photo import Photo

PROXY_LONG_SIDE = 1500   # analyse()'s default


def stages(pixels) -> dict:
    """Zero-argument callables for analyse()'s stages, in its order, each fed by the ones before it."""
    state: dict = {}

    def proxy():
        state["proxy"] = to_uint8(resample.proxy_pixels(Photo(pixels), PROXY_LONG_SIDE)[0])

    def detection():
        return detect_boxes(state["proxy"], fine_tile=small_face_tile(pixels.shape, state["proxy"].shape))

    def small_faces():
        tile = small_face_tile(pixels.shape, state["proxy"].shape)
        return small_face_detections(state["proxy"], tile) if tile else []

    def landmarks():
        state["faces"] = find_faces(pixels, state["proxy"])

    def regions():
        for face in state["faces"]:
            face.regions = face_regions(pixels, face)

    def embeddings():
        for face in state["faces"]:
            face.embedding = identity.embed(pixels, face.landmarks)

    def person():
        return person_matte(pixels, state["proxy"], state["faces"])

    return {"proxy": proxy, "landmarks_detection_only": detection, "landmarks_small_face_pass_only": small_faces,
            "landmarks": landmarks, "regions": regions, "identity": embeddings, "person": person}


def profile(photo, top: int = 25) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(analyse, photo)
    out = text_io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    bench.log(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="long side of the test portrait (px)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per stage (median reported)")
    parser.add_argument("--profile", action="store_true", help="cProfile one analyse() to stderr")
    args = parser.parse_args()
    rss_imports = bench.max_rss_mb()

    with tempfile.TemporaryDirectory() as folder:
        bench.log(f"writing the {args.size} px portrait ...")
        path = bench.portrait(Path(folder), args.size)
        bench.log("warming up (mediapipe graphs, identity model) ...")
        warm_photo = io.read(path)
        start = time.perf_counter()
        analyse(warm_photo)
        cold = time.perf_counter() - start
        del warm_photo
        rss_warm = bench.max_rss_mb()

        bench.log("decoding ...")
        decode_s, photo = bench.median_seconds(lambda: io.read(path), args.repeat)
        decode_peak, photo = bench.peak_bytes(lambda: io.read(path))
        rss_decoded = bench.max_rss_mb()

        bench.log("analysing, stage by stage ...")
        seconds, peaks = {}, {}
        for name, run in stages(photo.pixels).items():
            seconds[name], _ = bench.median_seconds(run, args.repeat)
        for name, run in stages(photo.pixels).items():
            peaks[name], _ = bench.peak_bytes(run)
        bench.log("analysing, whole ...")
        analyse_s, faces = bench.median_seconds(lambda: analyse(photo), args.repeat)
        analyse_peak, _ = bench.peak_bytes(lambda: analyse(photo))
        no_person_s, _ = bench.median_seconds(lambda: analyse(photo, person=False), args.repeat)
        if args.profile:
            profile(photo)

    staged = {key: round(sum(v[key] for k, v in seconds.items() if not k.endswith("_only")), 5)
              for key in ("wall", "cpu")}
    print(json.dumps({
        "benchmark": "analyze",
        "photo": {"width": photo.size[0], "height": photo.size[1],
                  "megapixels": round(photo.size[0] * photo.size[1] / 1e6, 1), "faces": len(faces),
                  "face_boxes": [list(f.box) for f in faces]},
        "repeat": args.repeat,
        "decode_s": decode_s,
        "analyse_s": analyse_s,
        "analyse_over_decode": bench.ratio(analyse_s, decode_s),
        "target_met": {key: analyse_s[key] < decode_s[key] for key in ("wall", "cpu")},
        "analyse_without_person_s": no_person_s,
        "analyse_without_person_over_decode": bench.ratio(no_person_s, decode_s),
        "stages_s": seconds,
        "stages_sum_s": staged,
        "cold_analyse_s": round(cold, 3),
        "tracemalloc_peak_mb": {"decode": bench.mb(decode_peak), **{k: bench.mb(v) for k, v in peaks.items()},
                                "analyse": bench.mb(analyse_peak)},
        "max_rss_mb": {"after_imports": rss_imports, "after_warm_up": rss_warm, "after_decode": rss_decoded,
                       "end": bench.max_rss_mb()},
    }, indent=2))


if __name__ == "__main__":
    main()
