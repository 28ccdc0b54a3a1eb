"""What Content Credentials cost per photo at 24 MP (issue 17): signing an output against the natural
preset's whole time for the photo (target: at most 5%). Prints JSON; progress goes to stderr.

    python benchmarks/bench_sign.py                         # 6000x4000 astronaut portrait, median of 3
    python benchmarks/bench_sign.py --size 3000 --repeat 5 --formats jpeg

Per output format the natural preset is timed end to end, unsigned (job.retouch_file with sign=False:
read, analyse, retouch under the guard, write the output unit), from a JPEG for JPEG and PNG outputs and
from a 16-bit TIFF for 16-bit TIFF outputs. Signing is then timed alone on that output: provenance.prepare
(the manifest from the record) plus Signing on a staged copy (the original read as the ingredient, c2pa
hashing the whole file and writing it again with the manifest), which is what signing adds to a photo.
Verifying (provenance.verify) is timed too. The identity is made in a temporary config folder; nothing
of the user's is read.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import _portrait as bench
from retouch import credentials, io, presets, provenance
from retouch.job import retouch_file

TARGET_SHARE = 0.05
FORMATS = {"jpeg": (".jpg", 8), "png": (".png", 8), "tiff16": (".tif", 16)}


def median_wall(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="long side of the portrait (6000 = 24 MP)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ", ".join(FORMATS))
    args = parser.parse_args()
    kinds = [kind for kind in args.formats.split(",") if kind]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        os.environ[credentials.CONFIG_ENV] = str(scratch / "config")
        identity, _ = credentials.create("Benchmark Studio")
        jpeg = bench.portrait(scratch, args.size)
        preset = presets.load("natural")
        report = {"megapixels": None, "repeat": args.repeat, "target_share": TARGET_SHARE, "formats": {}}
        for kind in kinds:
            suffix, depth = FORMATS[kind]
            source = jpeg if depth == 8 else io.write(io.read(jpeg), scratch / "portrait16.tif", bit_depth=16)
            target = scratch / f"out{suffix}"
            bench.log(f"{kind}: natural preset, unsigned, {args.repeat} runs")
            outcome = retouch_file(source, target, preset, sign=False, overwrite=True)       # warm-up
            natural = median_wall(lambda: retouch_file(source, target, preset, sign=False, overwrite=True),
                                  args.repeat)
            staged = scratch / f".staged{suffix}"

            def sign() -> None:
                _, signing = provenance.prepare(identity, outcome.record, source, target)
                signing(staged)
            times = []
            for _ in range(args.repeat):
                shutil.copyfile(target, staged)          # not timed: the write path stages the file anyway
                times.append(median_wall(sign, 1))
            seconds = sorted(times)[len(times) // 2]
            plain_bytes = target.stat().st_size
            shutil.copyfile(staged, target)
            checked = median_wall(lambda: provenance.verify(target), args.repeat)
            bench.log(f"{kind}: natural {natural:.2f} s, sign {seconds:.3f} s, verify {checked:.3f} s")
            height, width = outcome.result.pixels.shape[:2]
            report["megapixels"] = round(width * height / 1e6, 1)
            report["formats"][kind] = {
                "bits": depth, "file_mb": round(plain_bytes / 1e6, 2), "natural_seconds": round(natural, 3),
                "sign_seconds": round(seconds, 4), "share_of_natural": round(seconds / natural, 4),
                "within_target": seconds / natural <= TARGET_SHARE,
                "bytes_added": target.stat().st_size - plain_bytes,
                "verify_seconds": round(checked, 4), "state": provenance.verify(target).state}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
