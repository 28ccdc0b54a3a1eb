"""How well blemish judges marks by kind (issue 13): inflamed spots and moles planted at the same sizes
(0.015-0.035 of the eye distance) on every test portrait (tests/_planted.py), the default params.
Prints JSON: per photo and per skin tone (light: astronaut, biden; dark: obama; grace_hopper apart:
an old print with an orange cast), the share of spots judged temporary and healed, their dE2000 to the
clean photo before and after (and how many end within dE 3), the share of moles kept (contrast within
20%), the confusion table (planted kind -> recorded class, kind and action), Obama's real mole as
recorded, the guard's `marks` value, and the edit's time per face (median wall seconds).

    python benchmarks/bench_judgement.py
    python benchmarks/bench_judgement.py --repeat 5 --seed 7
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import _planted  # noqa: E402
import portraits  # noqa: E402
from retouch import marks  # noqa: E402
from retouch.edits import blemish  # noqa: E402
from retouch.pipeline import blend  # noqa: E402

SKIN_TONES = {"light": ("astronaut", "biden"), "dark": ("obama",), "print": ("grace_hopper",)}


def entry_at(details: dict, x: float, y: float, reach: float) -> dict | None:
    near = [e for e in details["marks"] if np.hypot(e["x"] - x, e["y"] - y) <= reach]
    return min(near, key=lambda e: np.hypot(e["x"] - x, e["y"] - y)) if near else None


def judge(name: str, seed: int, repeat: int) -> dict:
    scene = _planted.scene(name, seed)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        change = blemish.apply(scene.photo(), scene.faces, blemish.Params())
        seconds.append(time.perf_counter() - start)
    result = blend(scene.planted, change, blemish.STRENGTH.default)
    outcomes = _planted.outcomes(scene, result)
    table = collections.Counter()
    healed, kept = [], []
    for outcome in outcomes:
        entry = entry_at(change.details, outcome.mark.x, outcome.mark.y, outcome.mark.radius + 2)
        said = "not found" if entry is None else f"{entry['class']} {entry['kind']}: {entry['action']}"
        table[f"{outcome.mark.kind} -> {said}"] += 1
        if outcome.mark.temporary and entry is not None and entry["action"] == "healed":
            healed.append(outcome)
        if not outcome.mark.temporary:
            kept.append(outcome.kept)
    spots = sum(m.temporary for m in scene.marks)
    face = scene.faces.items[0]
    guard = marks.find(scene.planted, face.box, face.regions["skin"].crop(face.box) > 0.5, face.interocular)
    report = {"interocular_px": round(scene.interocular, 1), "spots": spots, "moles": len(kept),
              "spots_healed": round(len(healed) / spots, 3), "moles_kept": round(float(np.mean(kept)), 3),
              "healed_de_before": round(float(np.mean([o.planted_de for o in healed])), 2) if healed else None,
              "healed_de_after": round(float(np.mean([o.result_de for o in healed])), 2) if healed else None,
              "healed_within_de3": sum(o.healed for o in healed),
              "marks_measure": round(marks.kept_share(guard, result), 3),
              "seconds_per_face": round(statistics.median(seconds), 4),
              "confusion": dict(sorted(table.items()))}
    if name == "obama":
        x, y = portraits.OBAMA_MOLE
        photo = portraits.photo(name)
        report["real_mole"] = entry_at(blemish.apply(photo, scene.faces, blemish.Params()).details, x, y, 6)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per face (median)")
    parser.add_argument("--seed", type=int, default=13, help="where the marks are planted")
    args = parser.parse_args()
    photos = {}
    for name in portraits.NAMES:
        print(f"judging {name} ...", file=sys.stderr)
        photos[name] = judge(name, args.seed, args.repeat)
    tones = {}
    for tone, names in SKIN_TONES.items():
        spots = sum(photos[n]["spots"] for n in names)
        moles = sum(photos[n]["moles"] for n in names)
        tones[tone] = {"photos": list(names),
                       "spots_healed": round(sum(photos[n]["spots_healed"] * photos[n]["spots"] for n in names) / spots, 3),
                       "moles_kept": round(sum(photos[n]["moles_kept"] * photos[n]["moles"] for n in names) / moles, 3)}
    spots = sum(p["spots"] for p in photos.values())
    overall = {"spots_healed": round(sum(p["spots_healed"] * p["spots"] for p in photos.values()) / spots, 3),
               "moles_kept": round(sum(p["moles_kept"] * p["moles"] for p in photos.values())
                                   / sum(p["moles"] for p in photos.values()), 3)}
    print(json.dumps({"seed": args.seed, "overall": overall, "skin_tones": tones, "photos": photos}, indent=2))


if __name__ == "__main__":
    main()
