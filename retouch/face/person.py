"""A soft person matte for background work: mediapipe SelfieSegmentation refined along its edge.

SelfieSegmentation's general model (model_selection=0, 256x256 input) is used. Its landscape model (1,
256x144 input, meant for 16:9 video calls) is cheaper but was worse on stills even where it should fit:
on a whole 5:3 composite of five portraits it merged two people and dropped one, where the general model
outlined all five; on a reflected 2:1 astronaut it also bled between figures.

The model is made for one person near the camera and also answers for things that are not people
(matte maximum 1.0 on skimage's coffee, chelsea and hubble_deep_field). So it runs once per detected
face, on a crop around that face and the body below it, and only the parts of its matte that hold a
face are kept: no face, no person (None). A group shot is then several single portraits.

The model's matte is blocky (it comes from a 256 px input), so it is upsampled and refined by a guided
filter (cv2.ximgproc) with the photo as guide, only in a band around its edge: hair and shoulders get a
soft, image-aligned edge while the inside and the far background stay exactly 1 and 0. The filter runs at
about GUIDE_PIXELS (measured on 2 shared CPU cores: 0.18 s at 2.5 MP against 5.5 s at 24 MP) and the
result is resized to full resolution: the whole matte of a 6000x4000 photo takes ~0.3-0.7 s.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..photo import Box, Face
from .landmarks import run_graph, to_uint8

PERSON_THRESHOLD = 0.5       # the model's probability from which a pixel belongs to a person
PERSON_REACH = 3.0           # a person's crop spans this many face-box widths either side of the face centre
GUIDE_PIXELS = 2.5e6         # the guided filter's working size
RADIUS = 0.008               # guided filter window radius, as a share of the working long side
GUIDED_EPS = 1e-4            # guided filter regularisation in (0..1 guide units)^2: smaller follows colour more


def segment(proxy: np.ndarray) -> np.ndarray:
    """SelfieSegmentation's person probability (float32, proxy size) of a uint8-able RGB proxy."""
    return np.asarray(run_graph("selfie", to_uint8(proxy)).segmentation_mask, np.float32)


def segment_people(proxy: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Person probability (float32, proxy size) from one model run per face box (proxy pixels).

    Each crop reaches PERSON_REACH face widths either side of the face and from one face height above it
    down to the frame's bottom: one person near the camera, which is what the model is made for."""
    height, width = proxy.shape[:2]
    matte = np.zeros((height, width), np.float32)
    for x0, y0, x1, y1 in boxes:
        centre, reach = (x0 + x1) / 2, PERSON_REACH * (x1 - x0)
        cx0, cx1 = max(0, math.floor(centre - reach)), min(width, math.ceil(centre + reach))
        cy0 = max(0, y0 - (y1 - y0))
        window = matte[cy0:, cx0:cx1]
        np.maximum(window, segment(proxy[cy0:, cx0:cx1]), out=window)
    return matte


def refine(guide: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """Snap the edge of `matte` (float32 0..1, guide's size) to the colour edges of RGB `guide` (float32 0..1).

    The thresholded matte is guided-filtered and the result used only within two filter radii of its edge.
    The guide is handed over in 0..255: with a 0..1 float guide, OpenCV 5.0's guidedFilter ignores small
    eps and just box-blurs (checked on astronaut's hair edge)."""
    radius = max(2, round(RADIUS * max(matte.shape)))
    inside = (matte > PERSON_THRESHOLD).astype(np.uint8)
    # distance to the edge from either side (a distance transform is linear time; a 60 px dilation is not)
    to_edge = np.minimum(cv2.distanceTransform(inside, cv2.DIST_L2, 3),
                         cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3))
    weight = cv2.GaussianBlur((to_edge <= 2 * radius).astype(np.float32), (0, 0), radius / 2)
    inside = inside.astype(np.float32)
    filtered = np.clip(cv2.ximgproc.guidedFilter(guide * 255.0, inside, radius, GUIDED_EPS * 255.0 ** 2), 0.0, 1.0)
    return inside * (1.0 - weight) + filtered * weight


def keep_people(matte: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """`matte` with every connected part that overlaps none of the face `boxes` (matte pixels) removed."""
    parts = (matte > PERSON_THRESHOLD).astype(np.uint8)
    _, labels = cv2.connectedComponents(parts)
    kept = set()
    for x0, y0, x1, y1 in boxes:
        kept.update(np.unique(labels[y0:y1, x0:x1]).tolist())
    kept.discard(0)
    keep = np.isin(labels, sorted(kept)).astype(np.uint8)
    edge = max(1, round(0.01 * max(matte.shape)))         # keep the soft fringe around each kept part
    keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1, 2 * edge + 1)))
    return matte * keep


def person_matte(pixels: np.ndarray, proxy: np.ndarray, faces: list[Face]) -> np.ndarray | None:
    """Soft matte (float32 HxW 0..1, full resolution) of the people whose `faces` were found in float RGB
    `pixels`, or None if there are none. `proxy` is the same frame downscaled; the model runs on it."""
    height, width = pixels.shape[:2]
    to_proxy = proxy.shape[1] / width, proxy.shape[0] / height
    boxes = [(math.floor(f.box[0] * to_proxy[0]), math.floor(f.box[1] * to_proxy[1]),
              math.ceil(f.box[2] * to_proxy[0]), math.ceil(f.box[3] * to_proxy[1])) for f in faces]
    coarse = keep_people(segment_people(proxy, boxes), boxes)
    if coarse.max() <= PERSON_THRESHOLD:
        return None
    scale = min(1.0, math.sqrt(GUIDE_PIXELS / (width * height)))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    guide = pixels if scale == 1.0 else cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    matte = cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)
    refined = refine(np.ascontiguousarray(guide, np.float32), matte)
    if scale < 1.0:
        refined = cv2.resize(refined, (width, height), interpolation=cv2.INTER_LINEAR)
    return refined.astype(np.float32, copy=False)
