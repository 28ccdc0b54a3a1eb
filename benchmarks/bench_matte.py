"""The person matte and background replacement on synthetic hair with a known alpha (issue 14). Prints JSON;
progress goes to stderr.

    python benchmarks/bench_matte.py                 # every head x hair type x wall
    python benchmarks/bench_matte.py --head obama --hair coils --save out/

Each scene (tests/_hair.py) is a real head (astronaut, obama) with drawn hair of exact alpha (afro-textured
coils, loose curls, long straight hair) over a white and a teal wall, analysed as any photo is, then put
on mid-grey by the background edit (light wrap off: the ideal composite has none). Per scene, in the hair
band: alpha error (mean absolute difference from the truth), mean dE2000 against the ideal composite,
`wall_left` (share of band pixels that keep the old wall's colour: see tests/_hair.py), how many gaps
between strands came out as background, the face core's largest change, and the seconds the matte
(analysis' person matte) and the edit took.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import _hair  # noqa: E402
import _portrait as bench  # noqa: E402
from retouch.edits import background  # noqa: E402
from retouch.face import analyse  # noqa: E402
from retouch.face.landmarks import to_uint8  # noqa: E402
from retouch.face.person import person_matte  # noqa: E402
from retouch.resample import proxy_pixels# noqa: E402
from retouch.photo import Faces, Photo  # noqa: E402


def run_scene(scene: _hair.Scene, repeat: int, save: Path | None) -> dict:
    """Matte, replace, score and time one scene."""
    picture = Photo(scene.pixels.copy())
    found = analyse(picture, identity=False, person=False)
    proxy = to_uint8(proxy_pixels(picture)[0])
    matte_time, matte = bench.median_seconds(lambda: person_matte(picture.pixels, proxy, found.items), repeat)
    faces = Faces(found.items, matte, picture.size)
    params = background.Params(color=_hair.NEW, light_wrap=0.0)
    edit_time, change = bench.median_seconds(lambda: background.apply(picture, faces, params), repeat)
    result = change.pixels
    new = background.backdrop(params, *picture.size)
    scores = _hair.score(scene, result, background.matte_alpha(matte), new)
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        from PIL import Image
        import numpy as np
        pair = np.concatenate([scene.pixels, result, scene.ideal(new)], axis=1)
        Image.fromarray((np.clip(pair, 0, 1) * 255 + 0.5).astype(np.uint8)).save(save / f"{scene.name}.png")
    return {**{k: round(v, 4) for k, v in scores.items()}, "band_px": int(scene.band.sum()),
            "size": list(picture.size), "matte_s": matte_time, "edit_s": edit_time}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--head", choices=_hair.HEADS, action="append", help="only these heads")
    parser.add_argument("--hair", choices=_hair.HAIR_TYPES, action="append", help="only these hair types")
    parser.add_argument("--wall", choices=tuple(_hair.WALLS), action="append", help="only these walls")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs (median reported)")
    parser.add_argument("--save", type=Path, help="write original | result | ideal PNGs here")
    args = parser.parse_args()

    results = {}
    for head in args.head or _hair.HEADS:
        for hair in args.hair or _hair.HAIR_TYPES:
            for wall in args.wall or tuple(_hair.WALLS):
                scene = _hair.scene(head, hair, wall)
                bench.log(f"{scene.name} ...")
                results[scene.name] = run_scene(scene, args.repeat, args.save)
    print(json.dumps({"benchmark": "matte", "backdrop": _hair.NEW, "repeat": args.repeat,
                      "scenes": results, "max_rss_mb": bench.max_rss_mb()}, indent=2))


if __name__ == "__main__":
    main()
