"""Session throughput: photos per minute with 1 and 2 local workers, and the natural preset's time per photo
over decoding + encoding that photo alone (target <= 2.5x); with --executor dask, the local pool against a
Dask LocalCluster of the same size. Prints JSON.

natural_over_decode_encode is the fewest workers' time per photo in a worker over the floor; each run also
reports its own (over_decode_encode): a worker gets the cores shared out, so one worker on two cores
works with two threads and two workers with one each, while decoding and encoding use one either way.

    python benchmarks/bench_batch.py                       # 20 photos of 24 MP (slow: minutes)
    python benchmarks/bench_batch.py --count 4 --size 6    # a quick run
    python benchmarks/bench_batch.py --executor dask --workers 2

The photos are the public-domain portraits (astronaut, grace_hopper) upscaled to SIZE megapixels and saved
as JPEG (quality 92) in a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from retouch import batch, io, presets, samples
from retouch.photo import Photo

PRESET = Path(__file__).resolve().parent.parent / "presets" / "natural.toml"


def write_photos(folder: Path, count: int, megapixels: float) -> list[Path]:
    """`count` JPEGs alternating astronaut and grace_hopper, each upscaled to `megapixels`."""
    portraits = [samples.astronaut_rgb(), samples.grace_hopper_rgb()]
    paths = []
    for index in range(count):
        rgb = portraits[index % 2]
        scale = (megapixels * 1e6 / (rgb.shape[0] * rgb.shape[1])) ** 0.5
        size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
        paths.append(io.write(Photo(io.unit_float(big)), folder / f"portrait_{index:03d}.jpg", quality=92))
    return paths


def decode_encode_seconds(path: Path, scratch: Path) -> float:
    """Reading `path` and writing it back as JPEG: the floor any retouching tool pays per photo (timed
    with the allocator set up as in a worker, batch.keep_freed_memory, after one warm-up)."""
    start = time.perf_counter()
    io.write(io.read(path), scratch / path.name, quality=92, allow_overwrite=True)
    return time.perf_counter() - start


def peak_worker_rss_mb() -> float:
    """Largest resident memory of any finished child process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def make(kind: str, workers: int) -> batch.Executor:
    return batch.LocalExecutor(workers) if kind == "local" else batch.DaskExecutor(None, workers)


def timed_run(session: Path, out: Path, executor: batch.Executor) -> dict:
    plan = batch.plan(session, out, presets.load(PRESET))
    start = time.perf_counter()
    report = batch.run(plan, executor)
    wall = time.perf_counter() - start
    seconds = [row["seconds"] for row in report.rows if row["status"] == "done"]
    return {"executor": executor.name, "photos": len(report.rows), "failed": report.counts["failed"],
            "wall_s": round(wall, 2), "photos_per_minute": round(60 * len(report.rows) / wall, 2),
            "seconds_per_photo_in_worker": round(statistics.mean(seconds), 3) if seconds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="photos in the session (default 20)")
    parser.add_argument("--size", type=float, default=24.0, help="megapixels per photo (default 24)")
    parser.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="dask: also time a Dask LocalCluster against the local pool")
    options = parser.parse_args()
    workers = [int(n) for n in options.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = Path(tmp)
        session, scratch = root / "session", root / "scratch"
        session.mkdir()
        scratch.mkdir()
        photos = write_photos(session, options.count, options.size)
        batch.keep_freed_memory()
        decode_encode_seconds(photos[0], scratch)
        floor = statistics.mean(decode_encode_seconds(p, scratch) for p in photos[:2])
        kinds = ("local", "dask") if options.executor == "dask" else ("local",)
        runs = [{"workers": count} | timed_run(session, root / f"{kind}_{count}", make(kind, count))
                for count in workers for kind in kinds]
        by_run = {(run["executor"], run["workers"]): run for run in runs}
        per_photo = by_run["local", min(workers)]["seconds_per_photo_in_worker"]
        for run in runs:      # each worker's threads are the cores shared out: 1 worker on 2 cores has 2
            seconds = run["seconds_per_photo_in_worker"]
            run["over_decode_encode"] = round(seconds / floor, 2) if seconds else None
        result = {
            "count": options.count, "megapixels": options.size,
            "size": list(io.read(photos[0]).size),
            "decode_encode_s": round(floor, 3),
            "natural_over_decode_encode": round(per_photo / floor, 2) if per_photo else None,
            "target_ratio": 2.5,
            "peak_worker_rss_mb": round(peak_worker_rss_mb(), 1),
            "runs": runs,
        }
        if options.executor == "dask":
            result["dask_over_local_wall"] = {
                str(count): round(by_run["dask", count]["wall_s"] / by_run["local", count]["wall_s"], 2)
                for count in workers}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
