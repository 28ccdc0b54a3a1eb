"""What colour management costs per photo (issue 18): converting a frame from Adobe RGB and ProPhoto RGB into
the working space and back (retouch.profiles), against LittleCMS's own float transform of the same frame
one way (reached through ctypes, as tests/test_colour_management.py does). Prints JSON; progress to stderr.

    python benchmarks/bench_colour.py                  # 6000x4000 (24 MP) random colours, median of 3
    python benchmarks/bench_colour.py --size 3000 --repeat 5
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import _portrait as bench
from retouch import profiles

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_colour_management import from_srgb, icc  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6000, help="long side in pixels (the frame is 3:2)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    width, height = args.size, args.size * 2 // 3
    frame = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    results = {"megapixels": round(width * height / 1e6, 1)}
    for space in ("adobe", "prophoto"):
        bench.log(f"{space} ...")
        conversion = profiles.conversion(icc(space))
        working = conversion.to_working(frame)
        results[space] = {
            "into_working_s": bench.median_seconds(lambda: conversion.to_working(frame), args.repeat)[0],
            "back_s": bench.median_seconds(lambda: conversion.from_working(working), args.repeat)[0],
            "littlecms_float_one_way_s": bench.median_seconds(lambda: from_srgb(frame, icc(space)), args.repeat)[0],
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
