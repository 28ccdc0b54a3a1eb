"""Marks planted on the real test portraits, differing in kind, not size, for the judgement tests.

Two kinds, both at radii of PLANT_SIZES inter-ocular distances, planted in linear light as absorbers
layered over the skin (Beer-Lambert: the skin's light is multiplied by exp(-density)), so each reads
right relative to the skin around it on every skin tone:
- an inflamed spot (temporary): blood. Haemoglobin absorbs green strongly, blue less and red hardly
  at all, so on light skin the spot is red, on dark skin darker and violet-red. Its edge fades out
  (Gaussian falloff, half density at the radius) and half of them carry a faint highlight (raised).
- a mole (permanent): melanin, brown, near-black on dark skin, its spectrum between the textbook one and
  the one a photographed mole reads (MELANIN). Uniformly pigmented, with a sharp edge (the lens blurs it
  by about half a pixel).
Each mark's absorption spectrum is jittered and its depth drawn from a range, so a rule cannot lean
on one exact colour. Marks are placed on clean skin only: inside the skin mask away from its edge,
off the most textured tenth of the skin (creases, highlights), and apart from each other by more than
the freckle grouping's reach, so the clean photo under a mark can be predicted from around it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.special import erfc

from retouch.color import to_lab, to_linear, to_srgb
from retouch.photo import Faces

import portraits

PLANT_SIZES = (0.015, 0.035)      # mark radii, inter-ocular distances (the range)
SMALLEST_PX = 1.0                 # below a pixel's radius a mark is no longer visible as one
# Relative optical densities (red, green, blue) of the absorbers: haemoglobin, and melanin as the
# textbook spectrum has it (absorbing more the shorter the wavelength) and as a photographed mole reads
# (Obama's, against the skin around it: a near-neutral darkening, less yellow than the skin); each mole
# lies somewhere between the two.
HAEMOGLOBIN = (0.22, 1.0, 0.62)
MELANIN = ((1.0, 1.4, 2.0), (1.0, 1.05, 0.9))
INFLAMED_DEPTH = (0.45, 0.85)     # the green density at an inflamed spot's centre
MOLE_DEPTH = (0.45, 1.1)          # the red density inside a mole (near-black at the top)
JITTER = 0.12                     # each channel's relative density varies by this share (uniform +-)
LENS_BLUR_PX = 0.45               # sigma of a mole edge's blur in the photo
HIGHLIGHT = 0.06                  # a raised spot's highlight: this share of light added at its peak
SPACING = 0.12                    # inter-ocular distances between mark edges (freckle grouping reaches 0.1)
COUNT = 14                        # marks of each kind per face, where the clean skin has room
FEWEST = 10                       # and at least this many


@dataclass(frozen=True)
class Planted:
    x: float
    y: float
    radius: float
    kind: str                      # "inflamed" or "mole"
    density: tuple[float, float, float]
    highlight: float = 0.0

    @property
    def temporary(self) -> bool:
        return self.kind == "inflamed"

    def disc(self, shape: tuple[int, int], grow: float = 0.0) -> np.ndarray:
        ys, xs = np.mgrid[:shape[0], :shape[1]]
        return np.hypot(xs - self.x, ys - self.y) <= self.radius + grow

    def profile(self, distance: np.ndarray) -> np.ndarray:
        """The absorber's share of full density at `distance` px from the centre."""
        if self.temporary:
            return np.exp(-np.log(2) * (distance / self.radius) ** 2)
        return 0.5 * erfc((distance - self.radius) / (np.sqrt(2) * LENS_BLUR_PX))


@dataclass
class Scene:
    name: str
    clean: np.ndarray
    planted: np.ndarray
    faces: Faces
    skin: np.ndarray               # full-frame soft skin mask of the face
    marks: list[Planted]

    @property
    def interocular(self) -> float:
        return self.faces.items[0].interocular

    def photo(self, pixels: np.ndarray | None = None):
        return portraits.photo(self.name).with_pixels(self.planted if pixels is None else pixels)


def plant(pixels: np.ndarray, marks: list[Planted]) -> np.ndarray:
    """`pixels` (sRGB 0..1) with the marks layered over them in linear light."""
    linear = to_linear(pixels)
    height, width = pixels.shape[:2]
    for mark in marks:
        reach = int(np.ceil(3 * mark.radius + 3))
        y0, y1 = max(0, int(mark.y) - reach), min(height, int(mark.y) + reach + 1)
        x0, x1 = max(0, int(mark.x) - reach), min(width, int(mark.x) + reach + 1)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        share = mark.profile(np.hypot(xs - mark.x, ys - mark.y))
        window = linear[y0:y1, x0:x1]
        window *= np.exp(-share[..., None] * np.array(mark.density, np.float32))
        if mark.highlight:
            shine = np.exp(-0.5 * (np.hypot(xs - mark.x + 0.3 * mark.radius, ys - mark.y + 0.3 * mark.radius)
                                   / (0.35 * mark.radius)) ** 2)
            window += (mark.highlight * shine)[..., None]
    return to_srgb(linear)


def clean_skin(pixels: np.ndarray, skin: np.ndarray, margin: int) -> np.ndarray:
    """Skin at least `margin` px inside the mask whose local lightness varies less than most of the skin's."""
    inner = cv2.erode((skin > 0.5).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    lightness = to_lab(pixels)[..., 0]
    spread = np.sqrt(np.maximum(cv2.blur(lightness ** 2, (5, 5)) - cv2.blur(lightness, (5, 5)) ** 2, 0))
    return inner & (spread <= np.percentile(spread[inner], 60))


def _density(base: tuple[float, float, float], depth: float, rng: np.random.Generator) -> tuple[float, ...]:
    jitter = 1.0 + rng.uniform(-JITTER, JITTER, 3)
    return tuple(float(depth * b * j) for b, j in zip(base, jitter))


def marks_for(name: str, seed: int = 13, count: int = COUNT) -> list[Planted]:
    """Up to `count` inflamed spots and as many moles (at least FEWEST) on clean skin of portrait `name`'s
    face, kinds alternating, each kind's radii spread evenly over PLANT_SIZES (floored at SMALLEST_PX)."""
    photo, face = portraits.photo(name), portraits.faces(name).items[0]
    interocular = face.interocular
    skin = face.regions["skin"].full(photo.pixels.shape[:2])
    largest = max(SMALLEST_PX, PLANT_SIZES[1] * interocular)
    ys, xs = np.nonzero(clean_skin(photo.pixels, skin, int(np.ceil(largest)) + 2))
    rng = np.random.default_rng(seed)
    radii = np.maximum(SMALLEST_PX, np.linspace(*PLANT_SIZES, count) * interocular)[rng.permutation(count)]
    marks: list[Planted] = []
    for index in rng.permutation(len(xs)):
        if len(marks) == 2 * count:
            break
        kind = ("inflamed", "mole")[len(marks) % 2]
        radius = float(radii[len(marks) // 2])
        x, y = float(xs[index]) + rng.uniform(-0.5, 0.5), float(ys[index]) + rng.uniform(-0.5, 0.5)
        gap = SPACING * interocular + 2 * radius
        if any(np.hypot(x - m.x, y - m.y) < gap + m.radius for m in marks):
            continue
        if kind == "inflamed":
            density = _density(HAEMOGLOBIN, rng.uniform(*INFLAMED_DEPTH), rng)
            shine = HIGHLIGHT * rng.uniform(0.5, 1.0) if len(marks) % 4 == 0 else 0.0
            marks.append(Planted(x, y, radius, kind, density, shine))
        else:
            spectrum = tuple(np.interp(rng.uniform(), (0.0, 1.0), pair) for pair in zip(*MELANIN))
            marks.append(Planted(x, y, radius, kind, _density(spectrum, rng.uniform(*MOLE_DEPTH), rng)))
    marks = marks[:len(marks) // 2 * 2]
    assert len(marks) >= 2 * FEWEST, f"{name}: room for only {len(marks)} marks on clean skin"
    return marks


def scene(name: str, seed: int = 13, count: int = COUNT) -> Scene:
    """Portrait `name` with planted marks, its clean copy, analysis and skin mask."""
    photo, faces = portraits.photo(name), portraits.faces(name)
    marks = marks_for(name, seed, count)
    skin = faces.items[0].regions["skin"].full(photo.pixels.shape[:2])
    return Scene(name, photo.pixels, plant(photo.pixels, marks), faces, skin, marks)


def mean_de(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    from retouch.color import delta_e
    return float(delta_e(to_lab(a[where]), to_lab(b[where])).mean())


@dataclass(frozen=True)
class Outcome:
    """How one planted mark came out: its dE to the clean photo inside it, before and after, and whether
    it was healed (inflamed: mean dE2000 to clean <= 3) or kept (mole: contrast within 20%)."""

    mark: Planted
    planted_de: float
    result_de: float

    @property
    def healed(self) -> bool:
        return self.result_de <= 3.0

    @property
    def kept(self) -> bool:
        return abs(self.result_de - self.planted_de) <= 0.2 * self.planted_de

    @property
    def right(self) -> bool:
        return self.healed if self.mark.temporary else self.kept


def outcomes(scene: Scene, result: np.ndarray) -> list[Outcome]:
    shape = scene.clean.shape[:2]
    return [Outcome(mark, mean_de(scene.planted, scene.clean, mark.disc(shape)),
                    mean_de(result, scene.clean, mark.disc(shape))) for mark in scene.marks]


def rates(found: list[Outcome]) -> dict[str, float]:
    """Share of inflamed spots healed and of moles kept."""
    spots = [o for o in found if o.mark.temporary]
    moles = [o for o in found if not o.mark.temporary]
    return {"spots_healed": sum(o.healed for o in spots) / len(spots),
            "moles_kept": sum(o.kept for o in moles) / len(moles)}


def with_marks(scene: Scene, marks: list[Planted]) -> Scene:
    return dataclasses.replace(scene, marks=marks, planted=plant(scene.clean, marks))
