"""Test photos and small measuring helpers shared by the benchmarks (not part of the library).

The photos are skimage's astronaut (NASA, public domain, 512x512), made into what a camera would give:

- `portrait`: cropped to 3:2 (the top 512x341, head and shoulders), upscaled to `long_side` (6000 -> 24 MP,
  6000x4000) and given a little grain, so the skin is not unrealistically smooth, then written as a JPEG;
- `proxy_of`: the same photo area-downscaled to about 2 MP (the face and the frame shrink alike);
- `small_face`: the 512 px original at native size in the middle of a grey long_side x 2/3 canvas (the
  face is as big as in the original, the frame ~91x bigger), next to the original itself.

Timing helpers: `median_seconds` (median wall and CPU time of repeats), `ratio`, and `peak_bytes`
(tracemalloc's peak, which sees numpy's and OpenCV's output arrays, not OpenCV's internal scratch buffers).
"""
from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

ASPECT = 3 / 2
GRAIN_SIGMA = 2.0 / 255      # per-pixel Gaussian grain (sRGB units): ISO 200-400 look, no visible noise
CANVAS_GREY = 128
PROXY_MEGAPIXELS = 2.0
JPEG_QUALITY = 92


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def astronaut() -> np.ndarray:
    """skimage's astronaut, uint8 RGB 512x512."""
    from skimage import data
    return data.astronaut()


def save_jpeg(rgb: np.ndarray, path: Path) -> Path:
    """uint8 RGB as a 4:4:4 JPEG (what retouch.io.write makes), without a float round trip."""
    Image.fromarray(rgb).save(path, quality=JPEG_QUALITY, subsampling=0)
    return path


def with_grain(rgb: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """uint8 RGB with Gaussian grain of GRAIN_SIGMA added (mostly luminance, a little chroma)."""
    rng = np.random.default_rng(seed)
    height, width = rgb.shape[:2]
    luma = rng.standard_normal((height, width, 1), np.float32)
    chroma = rng.standard_normal((height, width, 3), np.float32)
    grain = (0.8 * luma + 0.35 * chroma) * np.float32(GRAIN_SIGMA * 255)
    return np.clip(rgb + grain, 0, 255).astype(np.uint8)


def portrait_rgb(long_side: int = 6000) -> np.ndarray:
    """Astronaut cropped to 3:2 (head and shoulders), upscaled to long_side x long_side/1.5, with grain."""
    source = astronaut()
    crop = source[: round(source.shape[1] / ASPECT)]
    size = (long_side, round(long_side / ASPECT))
    return with_grain(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC))


def portrait(folder: Path, long_side: int = 6000) -> Path:
    """The big portrait as a JPEG in `folder`."""
    return save_jpeg(portrait_rgb(long_side), folder / f"portrait_{long_side}.jpg")


def proxy_of(path: Path, folder: Path, megapixels: float = PROXY_MEGAPIXELS) -> Path:
    """The photo at `path` area-downscaled to about `megapixels`, as a JPEG in `folder`."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    scale = min(1.0, (megapixels * 1e6 / (rgb.shape[0] * rgb.shape[1])) ** 0.5)
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return save_jpeg(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), folder / f"{path.stem}_proxy.jpg")


def small_face_offset(long_side: int = 6000) -> tuple[int, int]:
    """(x, y) of the 512 px astronaut's top left corner in small_face's canvas."""
    return (long_side - 512) // 2, (round(long_side / ASPECT) - 512) // 2


def small_face(folder: Path, long_side: int = 6000) -> tuple[Path, Path]:
    """(the 512 px astronaut centred in a grey long_side x long_side/1.5 canvas, the 512 px original)."""
    source = astronaut()
    canvas = np.full((round(long_side / ASPECT), long_side, 3), CANVAS_GREY, np.uint8)
    x, y = small_face_offset(long_side)
    canvas[y:y + source.shape[0], x:x + source.shape[1]] = source
    return (save_jpeg(canvas, folder / f"small_face_{long_side}.jpg"),
            save_jpeg(source, folder / "astronaut_512.jpg"))


def median_seconds(function: Callable[[], object], repeat: int) -> tuple[dict[str, float], object]:
    """Median wall and CPU seconds (all threads of this process) of `repeat` calls of `function`, and the
    last call's result. CPU time is the steadier number on a machine shared with other work."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": round(statistics.median(walls), 5), "cpu": round(statistics.median(cpus), 5)}, result


def ratio(a: dict[str, float], b: dict[str, float]) -> dict[str, float | None]:
    """a / b for wall and CPU time alike (None where b is 0)."""
    return {key: round(a[key] / b[key], 2) if b[key] > 0 else None for key in ("wall", "cpu")}


def peak_bytes(function: Callable[[], object]) -> tuple[int, object]:
    """tracemalloc's peak above the starting level during one call of `function`, and its result."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return peak - base, result


def max_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def mb(count: int) -> float:
    return round(count / 2 ** 20, 1)
