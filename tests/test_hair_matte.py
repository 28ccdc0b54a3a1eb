"""Hair that stays hair (issue 14): synthetic hair with an exact alpha (tests/_hair.py: tight coils, loose
curls, long straight hair, on astronaut's and obama's heads, over a white and a teal wall) put on mid-grey
by the background edit and compared with the ideal composite in the hair band; and obama's real short
hair against his red curtain. Before | after | ideal PNGs and 100% crops go to test-output/hair_*.png.

The cases that still miss one of the issue's targets are marked xfail (strict) with their measured value,
so the day they pass the marker must go."""
import functools

import cv2
import numpy as np
import pytest

import _hair
from retouch.color import delta_e_rgb
from retouch.edits import background
from retouch.face import analyse
from retouch.photo import Photo

from portraits import faces, photo, save_png

ALPHA_ERROR = 0.08      # mean absolute alpha error in the hair band
DE_MEAN = 3.0           # mean dE2000 against the ideal composite in the band
WALL_LEFT = 0.01        # share of band pixels that keep the old wall's colour
GAPS_CLEAR = 0.9        # share of gap pixels that come out as the new backdrop (dE2000 <= 5)
CORE_DE = 0.5           # the head's core: largest change
CURTAIN_RED = 0.3       # red minus the larger of green and blue: obama's curtain (~0.35), not his skin (<0.27)

CASES = [(head, hair, wall) for head in _hair.HEADS for hair in _hair.HAIR_TYPES for wall in _hair.WALLS]
# measured on this machine when the matte landed: what still misses a target (the numbers are the misses)
MISSES = {
    ("astronaut", "curls", "white"): {"wall_left": 0.052},
    ("astronaut", "curls", "coloured"): {"wall_left": 0.038},
    ("astronaut", "straight", "white"): {"wall_left": 0.022},
    ("astronaut", "straight", "coloured"): {"wall_left": 0.020},
    ("obama", "curls", "white"): {"alpha_error": 0.104, "de_mean": 4.2, "wall_left": 0.025, "gaps": 0.886},
    ("obama", "curls", "coloured"): {"alpha_error": 0.092, "de_mean": 3.5, "wall_left": 0.017},
    ("obama", "straight", "white"): {"wall_left": 0.0104},
    ("obama", "straight", "coloured"): {"wall_left": 0.0118},
}


def case(head, hair, wall, *names):
    """A parameter set, xfail (strict) where MISSES lists one of `names` for it."""
    missed = {name: value for name, value in MISSES.get((head, hair, wall), {}).items() if name in names}
    marks = [pytest.mark.xfail(strict=True, reason=f"still missed: {missed}")] if missed else []
    return pytest.param(head, hair, wall, marks=marks, id=f"{head}-{hair}-{wall}")


@functools.lru_cache(maxsize=None)
def replaced(head: str, hair: str, wall: str):
    """The scene, the alpha the edit used, the result on mid-grey and the scores (saved as PNGs)."""
    scene = _hair.scene(head, hair, wall)
    picture = Photo(scene.pixels.copy())
    found = analyse(picture, identity=False)
    params = background.Params(color=_hair.NEW, light_wrap=0.0)
    result = background.apply(picture, found, params).pixels
    new = background.backdrop(params, *picture.size)
    alpha = background.matte_alpha(found.person)
    scores = _hair.score(scene, result, alpha, new)
    ideal = scene.ideal(new)
    save_png(np.concatenate([scene.pixels, result, ideal], axis=1), f"hair_{scene.name}.png")
    ys, xs = np.nonzero(scene.band)
    y, x = int(ys.min()) + 40, int(np.median(xs))         # where the hair stands highest: its sparse edge
    crop = (slice(max(y - 60, 0), y + 60), slice(max(x - 90, 0), x + 90))
    zoom = np.concatenate([scene.pixels[crop], result[crop], ideal[crop]], axis=1)
    save_png(cv2.resize(zoom, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST), f"hair_{scene.name}_zoom.png")
    print(f"\n{scene.name}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return scene, alpha, result, scores


@pytest.mark.timeout(300)
@pytest.mark.parametrize("head, hair, wall", [case(*c, "alpha_error", "de_mean") for c in CASES])
def test_alpha_and_colour_match_the_ideal_composite_in_the_hair_band(head, hair, wall):
    scores = replaced(head, hair, wall)[3]
    assert scores["alpha_error"] <= ALPHA_ERROR
    assert scores["de_mean"] <= DE_MEAN


@pytest.mark.timeout(300)
@pytest.mark.parametrize("head, hair, wall", [case(*c, "wall_left") for c in CASES])
def test_old_wall_colour_left_in_the_band_is_rare(head, hair, wall):
    assert replaced(head, hair, wall)[3]["wall_left"] <= WALL_LEFT


@pytest.mark.timeout(300)
@pytest.mark.parametrize("head, hair, wall", [case(*c, "gaps") for c in CASES])
def test_gaps_between_strands_are_backdrop_and_the_head_is_untouched(head, hair, wall):
    scores = replaced(head, hair, wall)[3]
    assert scores["gaps_background"] >= GAPS_CLEAR
    assert scores["core_de_max"] < CORE_DE


@pytest.mark.timeout(300)
def test_obama_short_hair_before_his_red_curtain():
    """Real short cropped hair before a busy backdrop: the face is untouched and the curtain's red does
    not stay in the hair's edge (above the brows, where the band is hair, not skin)."""
    picture, found = photo("obama"), faces("obama")
    params = background.Params(color=_hair.NEW, light_wrap=0.0)
    result = background.apply(picture, found, params).pixels
    alpha = background.matte_alpha(found.person)
    skin = found.items[0].regions["skin"].full(alpha.shape) > 0.99
    assert float(delta_e_rgb(result[skin & (alpha >= 1)], picture.pixels[skin & (alpha >= 1)]).max()) < CORE_DE
    assert (alpha[skin] >= 1).mean() > 0.99
    x0, y0, x1, y1 = found.items[0].box
    head = np.zeros(alpha.shape, bool)
    head[max(0, y0 - (y1 - y0) // 2):y0 + (y1 - y0) // 6, max(0, x0 - (x1 - x0) // 3):x1 + (x1 - x0) // 3] = True
    edge = head & (alpha > 0) & (alpha < 1)
    red = picture.pixels[..., 0] - picture.pixels[..., 1:].max(axis=-1)          # how red the curtain is
    curtain = head & (alpha == 0) & (red > CURTAIN_RED)
    assert curtain.sum() > 1000 and edge.sum() > 500
    left = (result[edge][:, 0] - result[edge][:, 1:].max(axis=-1)) > CURTAIN_RED     # curtain-red in the edge
    print(f"\nobama: edge px {int(edge.sum())}, red left {left.mean():.4f}")
    crop = (slice(0, y0 + (y1 - y0) // 3), slice(max(0, x0 - (x1 - x0) // 4), x1 + (x1 - x0) // 4))
    zoom = np.concatenate([picture.pixels[crop], result[crop]], axis=1)
    save_png(cv2.resize(zoom, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST), "hair_obama_real_zoom.png")
    assert left.mean() <= WALL_LEFT
