"""shine: known answers on planted highlights (issue 16) on light and darker skin.

A soft specular highlight is planted on the forehead and on the nose of each test portrait: white light
(the same amount in R, G and B, linear light, a Gaussian of the face's size) added to the skin, the same
amount on every face, so on darker skin it is relatively stronger, as real shine is. At the default
strength each highlight must lose 50-60% of its excess L* over the clean photo, never more than 60% even
at the hard maximum, the skin around it must keep its colour (dE2000 <= 1) and the highlight its fine
texture (>= 90%). Eyes, lips and the mouth are never touched.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from retouch.color import delta_e, to_lab, to_linear, to_srgb
from retouch.edits import shine
from retouch.face import analyse
from retouch.photo import Faces
from retouch.pipeline import blend

import portraits

pytestmark = pytest.mark.timeout(300)

# Where the highlights go (FaceMesh points: mid-forehead, the nose's ridge), their Gaussian sigma in
# inter-ocular distances, and the white light added at their peak (linear, 0..1).
SPOTS = {"forehead": (151, 0.12), "nose": (195, 0.06)}
WHITE = 0.12
CORE = 0.3        # the highlight's core: where its planted excess is at least this share of its peak
RING = (2.5, 4.0)  # the skin around it: this many sigmas from its centre


@dataclass(frozen=True)
class Highlight:
    x: float
    y: float
    sigma: float

    def share(self, shape: tuple[int, int]) -> np.ndarray:
        ys, xs = np.mgrid[:shape[0], :shape[1]]
        return np.exp(-0.5 * ((xs - self.x) ** 2 + (ys - self.y) ** 2) / self.sigma ** 2).astype(np.float32)

    def ring(self, shape: tuple[int, int]) -> np.ndarray:
        ys, xs = np.mgrid[:shape[0], :shape[1]]
        distance = np.hypot(xs - self.x, ys - self.y) / self.sigma
        return (distance >= RING[0]) & (distance <= RING[1])


@dataclass(frozen=True)
class Scene:
    name: str
    clean: np.ndarray
    planted: np.ndarray
    faces: Faces            # the planted photo's own analysis
    highlights: dict[str, Highlight]


@functools.lru_cache(maxsize=None)
def scene(name: str) -> Scene:
    photo, face = portraits.photo(name), portraits.faces(name).items[0]
    shape = photo.pixels.shape[:2]
    highlights = {where: Highlight(*face.landmarks[point], size * face.interocular)
                  for where, (point, size) in SPOTS.items()}
    linear = to_linear(photo.pixels)
    for highlight in highlights.values():
        linear += WHITE * highlight.share(shape)[..., None]
    planted = to_srgb(linear)
    return Scene(name, photo.pixels, planted, analyse(photo.with_pixels(planted), identity=False, person=False),
                 highlights)


def retouched(scene: Scene, strength: float, *, planted: bool = True, **values) -> tuple[np.ndarray, np.ndarray]:
    """The planted (or clean) photo with the edit blended at `strength`, and the edit's full-frame mask."""
    pixels = scene.planted if planted else scene.clean
    faces = scene.faces if planted else portraits.faces(scene.name)
    change = shine.apply(portraits.photo(scene.name).with_pixels(pixels), faces, shine.Params(**values))
    mask = np.zeros(pixels.shape[:2], np.float32)
    x0, y0, x1, y1 = change.box
    mask[y0:y1, x0:x1] = change.mask
    return blend(pixels, change, strength), mask


def removed(scene: Scene, result: np.ndarray, reference: np.ndarray, highlight: Highlight) -> float:
    """Share of the highlight's excess L* (planted over clean) that is gone, over its core, weighted by
    it. What is left is read against the clean photo through the same edit (`reference`): real
    portraits have shine of their own, and toning that down is not the planted highlight's doing."""
    core = highlight.share(scene.clean.shape[:2]) >= CORE
    excess = to_lab(scene.planted[core])[:, 0] - to_lab(scene.clean[core])[:, 0]
    left = to_lab(result[core])[:, 0] - to_lab(reference[core])[:, 0]
    return float(1.0 - left.sum() / excess.sum())


def texture_kept(scene: Scene, result: np.ndarray, highlight: Highlight) -> float:
    """Fine L* detail (below a fiftieth of the eye distance) inside the highlight's core, after over before."""
    core = highlight.share(scene.clean.shape[:2]) >= CORE
    sigma = max(1.0, scene.faces.items[0].interocular / 50)

    def energy(rgb: np.ndarray) -> float:
        lightness = to_lab(rgb)[..., 0]
        return float(np.mean((lightness - cv2.GaussianBlur(lightness, (0, 0), sigma))[core] ** 2))

    return float(np.sqrt(energy(result) / energy(scene.planted)))


NAMES = ("astronaut", "grace_hopper", "obama", "biden")
# Where the estimate is known to fall short, and why (see the module doc of retouch/edits/shine.py).
SHORT = {("astronaut", "forehead"): "the fringe covers astronaut's forehead: half the highlight lands on hair, "
                                    "which is not skin and is left alone",
         ("biden", "nose"): "Biden's nose ridge is redder than the skin around it: the fit reads part of the "
                            "planted white as making up for the red, and tones down about 30%"}
CASES = [pytest.param(name, where, marks=pytest.mark.xfail(reason=SHORT[name, where], strict=True))
         if (name, where) in SHORT else (name, where) for name in NAMES for where in SPOTS]


@pytest.mark.parametrize("name, where", CASES)
def test_planted_highlights_lose_about_half_their_excess_lightness(name, where):
    found = scene(name)
    highlight = found.highlights[where]
    result, _ = retouched(found, shine.STRENGTH.default)
    reference, _ = retouched(found, shine.STRENGTH.default, planted=False)
    x0, y0, x1, y1 = found.faces.items[0].box
    portraits.side_by_side(found.planted[y0:y1, x0:x1], result[y0:y1, x0:x1], f"shine_{name}_before_after.png")
    shape = found.clean.shape[:2]
    share = removed(found, result, reference, highlight)
    # The skin around it that the edit leaves alone in the clean photo (no shine of its own there).
    calm = delta_e(to_lab(reference), to_lab(found.clean)) < 0.5
    ring = highlight.ring(shape) & (found.faces.items[0].regions["skin"].full(shape) > 0.5) & calm
    around = delta_e(to_lab(found.planted[ring]), to_lab(result[ring]))
    kept = texture_kept(found, result, highlight)
    print(f"{name} {where}: excess L* removed {share:.0%}, skin around ({ring.sum()} px) dE mean {around.mean():.2f} "
          f"p95 {np.percentile(around, 95):.2f}, texture kept {kept:.2f}")
    assert 0.45 <= share <= 0.62
    assert ring.sum() >= 20 and np.percentile(around, 95) <= 1.0
    assert kept >= 0.9


@pytest.mark.parametrize("name", ["obama", "biden"])
def test_the_hard_maximum_keeps_forty_percent_of_every_highlight(name):
    """On flat skin of each face's own colour (so the surrounding skin is known exactly), every pixel of a
    strong highlight keeps at least 40% of its excess L* at the hard maximum."""
    face = portraits.faces(name).items[0]
    skin = face.regions["skin"].full(portraits.photo(name).pixels.shape[:2]) > 0.5
    colour = np.median(to_linear(portraits.photo(name).pixels)[skin], axis=0)
    size, interocular = 160, 60.0
    base = np.broadcast_to(colour, (size, size, 3)).astype(np.float32)
    ys, xs = np.mgrid[:size, :size]
    glow = np.exp(-0.5 * ((xs - size / 2) ** 2 + (ys - size / 2) ** 2) / (0.12 * interocular) ** 2)
    low = (base + 0.4 * glow[..., None]).astype(np.float32)
    limit = shine.Params.__dataclass_fields__["amount"].metadata["param"].limit
    toned, weight = shine.matted(low, np.ones((size, size), np.float32), interocular, shine.Params(amount=limit))
    lightness = [to_lab(to_srgb(image))[..., 0] for image in (base, low, toned)]
    excess, left = lightness[1] - lightness[0], lightness[2] - lightness[0]
    lit = excess > 1.0
    print(f"{name}: least share of excess L* kept {np.min(left[lit] / excess[lit]):.3f}, "
          f"at the peak {left[lit].max() / excess[lit].max():.3f}")
    assert weight.max() > 0.99
    assert np.all(left[lit] >= 0.4 * excess[lit] - 0.05)


@pytest.mark.parametrize("name", ["grace_hopper", "obama"])
def test_skin_brighter_in_its_own_colour_is_form_and_stays(name):
    """Brightening that keeps the skin's colour (a cheekbone catching the light) is not shine."""
    photo, face = portraits.photo(name), portraits.faces(name).items[0]
    shape = photo.pixels.shape[:2]
    lit = Highlight(*face.landmarks[205], 0.1 * face.interocular).share(shape)
    pixels = to_srgb(to_linear(photo.pixels) * (1.0 + 0.5 * lit[..., None]))
    faces = analyse(photo.with_pixels(pixels), identity=False, person=False)
    result = blend(pixels, shine.apply(photo.with_pixels(pixels), faces, shine.Params()), 1.0)
    reference = blend(photo.pixels, shine.apply(photo, portraits.faces(name), shine.Params()), 1.0)
    core = lit >= CORE
    excess = to_lab(pixels[core])[:, 0] - to_lab(photo.pixels[core])[:, 0]
    left = to_lab(result[core])[:, 0] - to_lab(reference[core])[:, 0]
    share = 1.0 - left.sum() / excess.sum()
    print(f"{name}: brightening in the skin's own colour, excess L* removed {share:.0%}")
    assert share <= 0.15


@pytest.mark.parametrize("name", NAMES)
def test_eyes_lips_and_teeth_are_never_touched(name):
    photo, faces = portraits.photo(name), portraits.faces(name)
    change = shine.apply(photo, faces, shine.Params())
    face = faces.items[0]
    for feature in ("eyes", "irises", "lips", "inner_mouth"):
        region = face.regions[feature].crop(change.box)
        assert change.mask[region >= 0.5].max(initial=0.0) == 0.0, feature
    x0, y0, x1, y1 = change.box
    still = change.mask == 0
    assert np.array_equal(change.pixels[still], photo.pixels[y0:y1, x0:x1][still])


def test_no_face_changes_nothing():
    photo = portraits.photo("astronaut")
    assert shine.apply(photo, Faces([], None, photo.size), shine.Params()).empty
