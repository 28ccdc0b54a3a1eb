"""Synthetic hair with an exact, known alpha on a real head: the background edit's known answers (issue 14).

A scene is a real portrait's person (astronaut: light skin; obama: darker skin) cut out with a known soft
outline, with drawn hair in front of and around the head, composited over a wall in linear light:

    I = alpha * F + (1 - alpha) * wall

alpha and F (the person's own colour) are known exactly, so the ideal replacement onto any backdrop G is
known too: T = alpha * F + (1 - alpha) * G. Hair is many anti-aliased strands 1-3 px wide, drawn at SUPER
times the resolution and area-averaged (its coverage is its alpha):

- coils: afro-textured, tight looping coils standing out from the head in a wide, sparse-edged volume;
- curls: loose curls falling out and down from the head;
- straight: long straight strands falling from the crown past the shoulders, with a few flyaways.

`score` compares a replacement with the ideal in the hair band (the hair's envelope, gaps included):
alpha error, mean dE2000, the share of band pixels that keep the old wall's colour (`wall_left`, by the
edge measure's own rule, retouch/edge.py's left_behind, here against the TRUE ideal) and how
background-like the gaps between strands came out.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from retouch.color import delta_e_rgb, to_linear, to_srgb
from retouch.edge import left_behind
from retouch.face import person
from retouch.face.landmarks import to_uint8
from retouch.resample import proxy_pixels
from retouch.photo import Photo

from portraits import faces, photo

HAIR_TYPES = ("coils", "curls", "straight")
WALLS = {"white": (0.94, 0.94, 0.92), "coloured": (0.28, 0.55, 0.62)}    # sRGB: a white and a teal wall
HEADS = ("astronaut", "obama")
NEW = "#808080"                        # mid-grey: the backdrop every known answer is replaced onto
SUPER = 4                              # hair is drawn at this many times the resolution, then area-averaged
CORE_INSET = 0.02                      # the cut-out lies this share of the frame width inside the model's matte
PAD = 0.3                              # room above the head for the hair: this share of the photo's height
GRAIN = 1.0 / 255                      # sensor noise on the composite (sRGB units)
SHADES = 6                             # hair shades per scene (each strand takes one)
GAP_CLEARANCE = 2.0                    # a gap pixel is at least this far (px) from any strand
LEFT_DE = 5.0                          # a gap pixel within this (dE2000) of the new backdrop is clear
SEED = 14


@dataclass
class Scene:
    """A synthetic portrait and its truth (all HxW or HxWx3 float32, sRGB unless said)."""
    name: str
    pixels: np.ndarray         # the composite over the wall (8-bit levels, with grain)
    alpha: np.ndarray          # the exact alpha (person and hair)
    foreground: np.ndarray     # the person's own colour F (where alpha > 0)
    wall: np.ndarray           # the old wall
    hair: np.ndarray           # the hair's own alpha (drawn strands only)
    band: np.ndarray           # bool: the hair band (the hair's envelope outside the head's core)
    gaps: np.ndarray           # bool: band pixels clear of every strand (background showing through)
    core: np.ndarray           # bool: the head's core, well inside the cut-out (must stay untouched)

    def ideal(self, backdrop: np.ndarray) -> np.ndarray:
        """T = alpha * F + (1 - alpha) * backdrop, composited in linear light, sRGB."""
        alpha = self.alpha[..., None]
        return to_srgb(alpha * to_linear(self.foreground) + (1 - alpha) * to_linear(
            np.broadcast_to(backdrop, self.pixels.shape)))


def hair_colours(hair: str, head: str) -> np.ndarray:
    """SHADES sRGB shades: near-black and dark brown on obama, lighter brown and dark blond on astronaut."""
    base = {"obama": (0.09, 0.07, 0.06), "astronaut": (0.42, 0.30, 0.19)}[head]
    if hair == "straight" and head == "astronaut":
        base = (0.62, 0.50, 0.33)
    levels = np.linspace(0.7, 1.4, SHADES, dtype=np.float32)[:, None]
    return np.clip(np.asarray(base, np.float32)[None] * levels, 0, 1)


def head_outline(core: np.ndarray, box, lowest: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Points (x, y) on the core's outline above `lowest` (a share of the face box's height from its top),
    their outward normals, and the face width."""
    contours, _ = cv2.findContours(core.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = max(contours, key=len)[:, 0, :].astype(np.float32)
    x0, y0, x1, y1 = box
    width = float(x1 - x0)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2], np.float32)
    keep = (points[:, 1] < y0 + lowest * (y1 - y0)) & (np.abs(points[:, 0] - centre[0]) < 1.1 * width)
    points = points[keep]
    normals = points - centre
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return points, normals, width


def rotated(vector: np.ndarray, degrees: float) -> np.ndarray:
    """A 2-vector turned by `degrees`."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]], np.float32)


def strand_paths(hair: str, roots: np.ndarray, normals: np.ndarray, width: float, rng) -> list:
    """(polyline N x 2 px, width px, shade) per strand. Each strand follows a centre line out of the head
    (coils and curls: straight out, curls falling; straight hair: out a little, then down) with a
    trochoid around it: loops where the coil turns back on itself (coils), open curls, or a slight wave."""
    paths = []
    down = np.array([0.0, 1.0], np.float32)
    for _ in range({"coils": 1400, "curls": 600, "straight": 900}[hair]):
        i = rng.integers(len(roots))
        root, normal = roots[i], normals[i]
        flyaway = rng.random() < 0.05
        if hair == "coils":
            length, radius, period, loops = width * rng.uniform(0.1, 0.55), rng.uniform(2.5, 5.0), \
                rng.uniform(5.0, 9.0), 1.6
            out = rotated(normal, rng.normal(0, 25))
        elif hair == "curls":
            length, radius, period, loops = width * rng.uniform(0.3, 0.8), rng.uniform(7.0, 14.0), \
                rng.uniform(18.0, 34.0), 0.9
            out = normal + 0.8 * down
            out = rotated(out / np.linalg.norm(out), rng.normal(0, 20))
        else:       # flyaways stand out farther from the head than the rest
            length, radius, period, loops = width * rng.uniform(0.8, 1.7), rng.uniform(0.5, 2.0), \
                rng.uniform(60.0, 140.0), 0.0
            out = rotated(normal, rng.normal(0, 15))
            spread = width * (rng.uniform(0.3, 0.5) if flyaway else rng.uniform(0.08, 0.3))
        s = np.arange(0.0, length, 0.5, dtype=np.float32)
        centre = root[None] - normal[None] * rng.uniform(2.0, 0.06 * width)      # rooted inside the head
        if hair == "straight":
            centre = (centre + out[None] * (spread * (1 - np.exp(-s / (0.15 * width))))[:, None]
                      + down[None] * s[:, None])
            tangent = np.gradient(centre, axis=0)
            tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
        else:
            centre = centre + out[None] * s[:, None]
            tangent = np.broadcast_to(out, centre.shape)
        across = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        angle = 2 * math.pi * s / period + rng.uniform(0, 2 * math.pi)
        path = (centre + tangent * (loops * radius * np.cos(angle))[:, None]
                + across * (radius * np.sin(angle))[:, None])
        paths.append((path, rng.uniform(1.0, 3.0), int(rng.integers(SHADES))))
    return paths


def draw_hair(paths: list, shape: tuple[int, int], colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hair's exact alpha and alpha-premultiplied linear colour: strands drawn at SUPER x in labels
    (later strands in front), each shade's coverage area-averaged back."""
    height, width = shape
    labels = np.zeros((height * SUPER, width * SUPER), np.uint8)
    shift = 4                                          # sub-pixel vertex precision for cv2.polylines
    for path, thickness, shade in paths:
        points = np.round((path * SUPER + (SUPER - 1) / 2) * (1 << shift)).astype(np.int32)
        cv2.polylines(labels, [points], False, shade + 1, max(1, round(thickness * SUPER)), cv2.LINE_8,
                      shift)
    alpha = np.zeros(shape, np.float32)
    premultiplied = np.zeros(shape + (3,), np.float32)
    linear = to_linear(colours)
    for shade in range(len(colours)):
        cover = cv2.resize((labels == shade + 1).astype(np.float32), (width, height),
                           interpolation=cv2.INTER_AREA)
        alpha += cover
        premultiplied += cover[..., None] * linear[shade]
    return np.clip(alpha, 0, 1), premultiplied


def segmentation(head: str) -> np.ndarray:
    """The portrait's refined person segmentation (before any matting: the cut-out must not depend on the
    matte under test)."""
    pixels, found = photo(head).pixels, faces(head)
    height, width = pixels.shape[:2]
    grids = person.Grids.for_frame(width, height)
    proxy = to_uint8(proxy_pixels(Photo(pixels))[0])
    return person.refined_matte(pixels, person.model_matte(proxy, found.items, (width, height), grids), grids)


@functools.lru_cache(maxsize=None)
def scene(head: str, hair: str, wall: str) -> Scene:
    """The synthetic portrait of `head` with `hair` over `wall` (cached: treat it as read-only)."""
    rng = np.random.default_rng([SEED, HEADS.index(head), HAIR_TYPES.index(hair)])
    source, found = photo(head).pixels, faces(head)
    pad = round(PAD * source.shape[0])
    height, width = source.shape[0] + pad, source.shape[1]
    segmented = np.zeros((height, width), np.float32)
    segmented[pad:] = segmentation(head)
    colour = np.zeros((height, width, 3), np.float32)
    colour[pad:] = source
    inset = max(2, round(CORE_INSET * width))
    inside = cv2.erode((segmented > 0.5).astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * inset + 1, 2 * inset + 1)))
    core_alpha = np.clip(cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.8), 0, 1)
    core_alpha[core_alpha < 0.02] = 0.0
    x0, y0, x1, y1 = found.items[0].box
    roots, normals, face_width = head_outline(inside.astype(bool), (x0, y0 + pad, x1, y1 + pad),
                                               0.4 if hair == "straight" else 0.9)
    hair_alpha, hair_premultiplied = draw_hair(strand_paths(hair, roots, normals, face_width, rng),
                                               (height, width), hair_colours(hair, head))

    # the head in front of the hair that grows behind it ("over" operator), all in linear light
    alpha = core_alpha + (1 - core_alpha) * hair_alpha
    premultiplied = core_alpha[..., None] * to_linear(colour) + (1 - core_alpha)[..., None] * hair_premultiplied
    foreground = to_srgb(premultiplied / np.maximum(alpha, 1e-6)[..., None])
    rows = np.linspace(1.02, 0.96, height, dtype=np.float32)[:, None, None]     # a wall lit from above
    backdrop = np.clip(np.asarray(WALLS[wall], np.float32)[None, None] * rows, 0, 1) * np.ones(
        (1, width, 1), np.float32)
    composite = to_srgb(premultiplied + (1 - alpha)[..., None] * to_linear(backdrop))
    composite += rng.normal(0, GRAIN, composite.shape).astype(np.float32)
    pixels = np.round(np.clip(composite, 0, 1) * 255).astype(np.float32) / 255

    strands = (hair_alpha > 0).astype(np.uint8)
    envelope = cv2.morphologyEx(strands, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
    envelope = cv2.dilate(envelope, np.ones((5, 5), np.uint8)).astype(bool)
    band = envelope & (core_alpha < 0.999)
    clearance = cv2.distanceTransform(1 - strands, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    gaps = band & (alpha == 0) & (clearance >= GAP_CLEARANCE) & (cv2.dilate(strands, np.ones((31, 31))) > 0)
    deep = cv2.erode(inside, np.ones((2 * inset + 1, 2 * inset + 1), np.uint8)).astype(bool)
    deep[pad + y1:] = False              # the head and neck: below, a white helmet on a white wall is ambiguous
    return Scene(f"{head}_{hair}_{wall}", pixels, alpha, foreground, backdrop, hair_alpha, band, gaps, deep)


def score(scene: Scene, result: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray) -> dict[str, float]:
    """The replacement `result` (sRGB) and the `alpha` it used, against the truth, in the hair band."""
    band, gaps = scene.band, scene.gaps
    ideal = scene.ideal(backdrop)
    target = np.broadcast_to(backdrop, result.shape)
    return {
        "alpha_error": float(np.abs(alpha[band] - scene.alpha[band]).mean()),
        "de_mean": float(delta_e_rgb(result[band], ideal[band]).mean()),
        "wall_left": float(left_behind(result[band], ideal[band], scene.wall[band], target[band]).mean()),
        "gaps_background": float((delta_e_rgb(result[gaps], target[gaps]) <= LEFT_DE).mean()),
        "gap_alpha": float(alpha[gaps].mean()),
        "core_de_max": float(delta_e_rgb(result[scene.core], scene.pixels[scene.core]).max()),
    }
