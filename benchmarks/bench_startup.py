"""Start-up: what a photographer waits for before any pixel is touched. Prints JSON.

- whole processes (median wall, CPU and peak memory of REPEAT runs each): `retouch --help`, `edits`,
  `presets`, and `retouch apply` on a 64x64 PNG (no face: start-up, reading, analysis that finds
  nothing, writing), target <= 1.2 s wall;
- stages, in one fresh process per repeat, in the order `apply` meets them: importing the command line,
  the job (io, pipeline, measures, presets, provenance), the edits, face analysis (mediapipe's bindings),
  building mediapipe's graphs (a first analysis), reading the identity model;
- a resident helper: in one process, the tiny photo retouched a first time and then again (with
  --resident, also the 24 MP portrait of bench_peer): the second run is what each photo would cost
  an Edit-In or `watch` helper that stays loaded.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --repeat 7 --resident
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

TARGET_TINY_APPLY_S = 1.2
TINY_SIDE = 64
# The console script's own code (pyproject's [project.scripts]): the same process a user starts.
RETOUCH = [sys.executable, "-c", "import sys; from retouch.cli import main; sys.exit(main())"]

STAGES = """
import json, sys, time
marks = [("python", time.perf_counter(), time.process_time())]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
import retouch.cli
mark("import_cli")
import retouch.job
mark("import_job")
from retouch import edits
edits.load_all()
mark("import_edits")
from retouch.face import analyse, identity
mark("import_face")
import numpy as np
from retouch.photo import Photo
analyse(Photo(np.zeros((64, 64, 3), np.float32)), identity=False)
mark("mediapipe_graphs")
identity.load_model()
mark("identity_model")
json.dump({name: [round(wall - marks[i][1], 4), round(cpu - marks[i][2], 4)]
           for i, (name, wall, cpu) in enumerate(marks[1:])}, sys.stdout)
"""

RESIDENT = """
import json, sys, time
from pathlib import Path
from retouch import job, presets
preset = presets.load("natural")
source, folder = Path(sys.argv[1]), Path(sys.argv[2])
runs = []
for index in range(3):
    wall, cpu = time.perf_counter(), time.process_time()
    job.retouch_file(source, folder / f"{index}{source.suffix}", preset, sign=False)
    runs.append([round(time.perf_counter() - wall, 4), round(time.process_time() - cpu, 4)])
json.dump(runs, sys.stdout)
"""


def run_process(command: list[str], *, cwd: Path | None = None) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident MB of one whole process (Linux counts
    this process's resident memory at the start into a child's peak: keep it small)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[-4:])}: exit {process.returncode}: {error.strip()[-500:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def tiny_photo(folder: Path) -> Path:
    """A 64x64 PNG of noise: no face, so apply measures start-up, reading, analysis and writing."""
    pixels = np.random.default_rng(0).integers(0, 256, (TINY_SIDE, TINY_SIDE, 3), dtype=np.uint8)
    path = folder / "tiny.png"
    Image.fromarray(pixels).save(path)
    return path


def apply_command(source: Path, target: Path) -> list[str]:
    return [*RETOUCH, "apply", str(source), str(target), "--no-sign", "--overwrite"]


def commands(folder: Path) -> dict[str, list[str]]:
    """Each timed command line."""
    tiny = tiny_photo(folder)
    return {"help": [*RETOUCH, "--help"], "edits": [*RETOUCH, "edits"], "presets": [*RETOUCH, "presets"],
            "apply_tiny": apply_command(tiny, folder / "tiny_out.png")}


def time_commands(folder: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Median whole-process numbers per command, the commands taking turns (a burst of load from other
    work then falls on all of them alike)."""
    lines = commands(folder)
    for line in lines.values():       # warm the file cache and bytecode
        run_process(line)
    runs: dict[str, list] = {name: [] for name in lines}
    for _ in range(repeat):
        for name, line in lines.items():
            runs[name].append(run_process(line))
    return {name: medians(found) for name, found in runs.items()}


def stages(repeat: int) -> dict[str, dict[str, float]]:
    """Median [wall, cpu] seconds of each start-up stage, each repeat in a fresh process."""
    found = [json.loads(subprocess.run([sys.executable, "-c", STAGES], check=True, capture_output=True,
                                       text=True).stdout) for _ in range(repeat)]
    return {name: {"wall": round(statistics.median(run[name][0] for run in found), 3),
                   "cpu": round(statistics.median(run[name][1] for run in found), 3)} for name in found[0]}


def resident(source: Path, folder: Path) -> dict[str, object]:
    """One process retouching `source` three times: the first run pays the start-up a helper pays once."""
    runs = json.loads(subprocess.run([sys.executable, "-c", RESIDENT, str(source), str(folder)], check=True,
                                     capture_output=True, text=True).stdout)
    return {"first": {"wall": runs[0][0], "cpu": runs[0][1]},
            "later": {"wall": round(statistics.median(r[0] for r in runs[1:]), 3),
                      "cpu": round(statistics.median(r[1] for r in runs[1:]), 3)}}


def machine() -> dict[str, object]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"cpu": model, "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--resident", action="store_true",
                        help="also retouch the 24 MP portrait three times in one process")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        folder = Path(tmp)
        result = {"machine": machine(), "commands": time_commands(folder, options.repeat),
                  "target_apply_tiny_wall_s": TARGET_TINY_APPLY_S, "stages": stages(options.repeat),
                  "resident_tiny": resident(tiny_photo(folder), folder)}
        if options.resident:
            from bench_peer import portrait
            result["resident_24mp"] = resident(portrait(folder), folder)
        result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
