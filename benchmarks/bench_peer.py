"""One 24 MP portrait, whole processes side by side: `retouch apply` (natural preset) against darktable-cli's
plain export of the same JPEG (no edits: decode, darktable's default pipe, encode). Prints JSON: both
medians, their ratio (target <= 1.2), peak memory, and our start-up alone (`retouch apply` on a 64x64
photo, see bench_startup.py).

darktable runs with `--core --library :memory:` and a config folder of its own that one untimed export
has warmed (its first run writes its configuration and kernel caches). Both programs are run once
untimed, then take turns REPEAT times, so a burst of load from other work falls on both alike. Outputs
are unsigned (--no-sign): the comparison is the retouching, not the studio's Content Credentials.

Installs nothing: without darktable-cli on PATH it says how to get it and times only retouch.

    python benchmarks/bench_peer.py                 # 4 turns each
    python benchmarks/bench_peer.py --repeat 6
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_startup import apply_command, machine, medians, run_process, tiny_photo

TARGET_RATIO = 1.2
LONG_SIDE = 6000          # 6000x4000: 24 MP
INSTALL_HINT = ("darktable-cli not found: install darktable (Debian/Ubuntu: `sudo apt-get install darktable`; "
                "Fedora: `sudo dnf install darktable`; macOS: `brew install --cask darktable`) and run again")


def darktable_command(source: Path, target: Path, config: Path) -> list[str]:
    return [shutil.which("darktable-cli"), str(source), str(target), "--core", "--library", ":memory:",
            "--configdir", str(config)]


def portrait(folder: Path) -> Path:
    """The 24 MP portrait, made in a process of its own: a child's peak memory counts its parent's at the
    moment it was started (Linux), so this process must stay small while it times the others."""
    made = subprocess.run([sys.executable, "-c", "import sys, _portrait; from pathlib import Path; "
                           f"print(_portrait.portrait(Path(sys.argv[1]), {LONG_SIDE}))", str(folder)],
                          cwd=Path(__file__).resolve().parent, check=True, capture_output=True, text=True)
    return Path(made.stdout.strip())


def fresh(target: Path) -> Path:
    """`target` with nothing at it (darktable-cli numbers its output rather than replace a file)."""
    target.unlink(missing_ok=True)
    for sidecar in target.parent.glob(f"{target.name}.*"):
        sidecar.unlink()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4, help="timed runs of each program (default 4)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_peer_") as tmp:
        folder = Path(tmp)
        host = machine()
        source = portrait(folder)
        tiny = tiny_photo(folder)
        config = folder / "darktable-config"
        ours_line = apply_command(source, folder / "retouched.jpg")
        tiny_line = apply_command(tiny, folder / "tiny_out.png")
        peer = shutil.which("darktable-cli") is not None
        lines = {"retouch": ours_line, "retouch_tiny": tiny_line}
        if peer:
            lines["darktable"] = darktable_command(source, folder / "exported.jpg", config)
        for name, line in lines.items():           # untimed: warms darktable's config, file caches, bytecode
            fresh(folder / "exported.jpg")
            run_process(line)
        runs: dict[str, list] = {name: [] for name in lines}
        for _ in range(options.repeat):
            for name, line in lines.items():
                fresh(folder / "exported.jpg")
                runs[name].append(run_process(line))
        found = {name: medians(times) for name, times in runs.items()}
        result = {"machine": host, "photo": f"{LONG_SIDE}x{LONG_SIDE * 2 // 3} JPEG (benchmarks/_portrait.py)",
                  "repeat": options.repeat, "retouch_apply_natural": found["retouch"],
                  "retouch_startup_tiny_apply": found["retouch_tiny"]}
        if peer:
            result["darktable_cli_export"] = found["darktable"]
            result["ratio_wall"] = round(found["retouch"]["wall"] / found["darktable"]["wall"], 2)
            result["ratio_cpu"] = round(found["retouch"]["cpu"] / found["darktable"]["cpu"], 2)
            result["target_ratio"] = TARGET_RATIO
        else:
            result["darktable_cli_export"] = None
            result["missing"] = INSTALL_HINT
        result["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
