"""Find faces and their 478 FaceMesh landmarks (mediapipe 0.10.14, legacy solutions API).

FaceMesh's own detector is short-range: it misses faces smaller than about a fifth of the frame (group
shots, full-length portraits). So faces are found first, on a proxy, by two FaceDetection models:

- short range (model 0) on the whole proxy, padded with a grey border so extreme close-ups (a crop of just
  the face, which is what the drift measure re-detects on) still look like a face in a frame;
- full range (model 1) on the whole proxy and on overlapping tiles of TILE proxy pixels (half a tile
  apart), because the full-range model stops seeing faces below ~12 px of its 192 px input.

Duplicates from the passes are merged by IoU (the higher score wins). Each face is then meshed on its own
crop taken from the FULL-resolution pixels (a square of CROP_MARGIN x the detection, resized to MESH_INPUT
px), so small faces get the mesh's full precision and the points need no upscaling. A mesh is kept only
if it is plausible: its eyes are apart, its points lie in the crop, and it covers the detection.

FaceMesh is never run on the whole frame: a per-face crop gives the same mesh for big faces and a much
better one for small faces, and the detections supply each face's confidence (FaceMesh reports none).
Measured on astronaut pasted into larger frames: the full-range model finds the face down to ~12 px of its
input, the short-range one and FaceMesh's own detector only down to ~26 px.

Landmarks follow mediapipe's convention: x = normalised x * width, so a pixel's centre is at +0.5.
The mediapipe graphs (this module's and person.py's) are created once per process and shared behind a
lock each (they are not reentrant). Mediapipe's C++ start-up chatter ignores GLOG_minloglevel, so file
descriptor 2 is silenced while a graph is created and first run; protobuf's deprecation warning from
mediapipe's packet getters is filtered.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings

import cv2
import numpy as np

from ..photo import Box, Face

warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)

MIN_CONFIDENCE = 0.5          # FaceDetection score below which a detection is not a face
TILE = 640                    # proxy pixels per full-range tile side
CLOSE_UP_PAD = 0.25           # grey border (fraction of each side) around the proxy for the short-range pass
DUPLICATE_IOU = 0.3           # detections (or meshes) overlapping more than this are the same face
CROP_MARGIN = 2.0             # mesh crop side = this x the detection's longer side
MESH_INPUT = 384              # crop side, in pixels, handed to FaceMesh
MIN_INSIDE = 0.9              # share of a mesh's points that must lie inside its crop
MIN_EYE_SPAN = 0.15           # inter-ocular distance over mesh width below which a mesh is degenerate
BOX_MARGIN = (0.10, 0.25, 0.10, 0.10)   # face box: landmark box grown left, top (forehead), right, bottom
LANDMARK_COUNT = 478

_GRAPHS: dict[str, object] = {}
_LOCKS: dict[str, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: mediapipe's C++ logs bypass Python and GLOG_minloglevel."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _create(name: str):
    from mediapipe.python.solutions import face_detection, face_mesh, selfie_segmentation
    factories = {
        "mesh": lambda: face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=3,
                                           min_detection_confidence=MIN_CONFIDENCE),
        "detect_short": lambda: face_detection.FaceDetection(model_selection=0,
                                                             min_detection_confidence=MIN_CONFIDENCE),
        "detect_full": lambda: face_detection.FaceDetection(model_selection=1,
                                                            min_detection_confidence=MIN_CONFIDENCE),
        "selfie": lambda: selfie_segmentation.SelfieSegmentation(model_selection=0),
    }
    if name not in factories:
        raise KeyError(f"retouch/face/landmarks.py: unknown mediapipe graph {name!r}")
    return factories[name]()


def run_graph(name: str, image: np.ndarray):
    """Run the process-wide mediapipe graph `name` on uint8 RGB `image`; created (quietly) on first use.

    The first run of a graph is where mediapipe prints its start-up chatter, so it is made on a blank
    image with stderr silenced.
    """
    with _REGISTRY_LOCK:
        lock = _LOCKS.setdefault(name, threading.Lock())
    with lock:
        if name not in _GRAPHS:
            with _stderr_silenced():
                graph = _create(name)
                graph.process(np.zeros((64, 64, 3), np.uint8))
            _GRAPHS[name] = graph
        return _GRAPHS[name].process(np.ascontiguousarray(image))


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """float 0..1 RGB -> uint8 RGB (what mediapipe takes)."""
    if pixels.dtype == np.uint8:
        return pixels
    return (np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _detections(result, offset: tuple[float, float], size: tuple[int, int]) -> list[tuple[np.ndarray, float]]:
    """FaceDetection output -> [(box x0,y0,x1,y1 in the caller's pixels, score)]."""
    found = []
    for detection in result.detections or []:
        rel = detection.location_data.relative_bounding_box
        x0, y0 = offset[0] + rel.xmin * size[0], offset[1] + rel.ymin * size[1]
        box = np.array([x0, y0, x0 + rel.width * size[0], y0 + rel.height * size[1]], np.float64)
        found.append((box, float(detection.score[0])))
    return found


def _tile_starts(length: int) -> list[int]:
    """Tile origins along one axis: TILE wide, at most TILE/2 apart, the last flush with the end."""
    if length <= TILE:
        return [0]
    count = math.ceil((length - TILE) / (TILE / 2)) + 1
    return [round(i * (length - TILE) / (count - 1)) for i in range(count)]


def _tiled_detections(proxy: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Full-range detections on overlapping tiles; those touching an inner tile edge are cut faces, dropped
    (with half-tile overlap every face up to TILE/2 lies wholly inside some tile)."""
    height, width = proxy.shape[:2]
    xs, ys = _tile_starts(width), _tile_starts(height)
    if len(xs) == 1 and len(ys) == 1:
        return []
    found = []
    for y in ys:
        for x in xs:
            tile = proxy[y:y + TILE, x:x + TILE]
            th, tw = tile.shape[:2]
            for box, score in _detections(run_graph("detect_full", tile), (x, y), (tw, th)):
                cut = ((box[0] <= x + 1 and x > 0) or (box[1] <= y + 1 and y > 0)
                       or (box[2] >= x + tw - 1 and x + tw < width) or (box[3] >= y + th - 1 and y + th < height))
                if not cut:
                    found.append((box, score))
    return found


def _close_up_detections(proxy: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Short-range detections on the proxy framed by a grey border."""
    height, width = proxy.shape[:2]
    px, py = round(width * CLOSE_UP_PAD), round(height * CLOSE_UP_PAD)
    framed = cv2.copyMakeBorder(proxy, py, py, px, px, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    return _detections(run_graph("detect_short", framed), (-px, -py), (framed.shape[1], framed.shape[0]))


def detect_boxes(proxy: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Every face detection on a uint8 RGB proxy, duplicates merged, best score first."""
    height, width = proxy.shape[:2]
    candidates = (_close_up_detections(proxy)
                  + _detections(run_graph("detect_full", proxy), (0, 0), (width, height))
                  + _tiled_detections(proxy))
    kept: list[tuple[np.ndarray, float]] = []
    for box, score in sorted(candidates, key=lambda c: -c[1]):
        if all(iou(box, other) <= DUPLICATE_IOU for other, _ in kept):
            kept.append((box, score))
    return kept


def _crop_square(pixels: np.ndarray, centre: np.ndarray, side: int) -> tuple[np.ndarray, float, np.ndarray]:
    """A side x side square of `pixels` around `centre` (black beyond the frame) resized to MESH_INPUT.

    Returns (uint8 crop, full-res pixels per crop pixel, crop origin in full-res pixels)."""
    height, width = pixels.shape[:2]
    x0, y0 = int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2))
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
    inside = pixels[cy0:cy1, cx0:cx1]
    crop = cv2.copyMakeBorder(inside, cy0 - y0, y0 + side - cy1, cx0 - x0, x0 + side - cx1,
                              cv2.BORDER_CONSTANT, value=(0, 0, 0))
    interpolation = cv2.INTER_AREA if side > MESH_INPUT else cv2.INTER_CUBIC
    crop = cv2.resize(crop, (MESH_INPUT, MESH_INPUT), interpolation=interpolation)
    return to_uint8(crop), side / MESH_INPUT, np.array([x0, y0], np.float32)


def _plausible(points: np.ndarray, detection: np.ndarray) -> bool:
    """A real face mesh: points in the crop, eyes apart, and covering the detection's centre."""
    inside = np.mean((points >= 0).all(1) & (points <= MESH_INPUT).all(1))
    span = points.max(0) - points.min(0)
    eyes = np.linalg.norm(points[468] - points[473])
    centre = (detection[:2] + detection[2:]) / 2
    covers = (points.min(0) <= centre).all() and (centre <= points.max(0)).all()
    return bool(inside >= MIN_INSIDE and eyes >= MIN_EYE_SPAN * span[0] and covers)


def mesh_face(pixels: np.ndarray, detection: np.ndarray) -> np.ndarray | None:
    """478 landmarks (float32, full-res pixels) of the face detected at `detection` (full-res box), or None."""
    centre = (detection[:2] + detection[2:]) / 2
    side = max(int(round(CROP_MARGIN * max(detection[2] - detection[0], detection[3] - detection[1]))), 16)
    crop, step, origin = _crop_square(pixels, centre, side)
    result = run_graph("mesh", crop)
    crop_centre = np.array([MESH_INPUT / 2, MESH_INPUT / 2])
    detection_in_crop = (detection - np.tile(origin, 2)) / step
    best = None
    for mesh in result.multi_face_landmarks or []:
        points = np.array([(p.x, p.y) for p in mesh.landmark], np.float32) * MESH_INPUT
        if len(points) != LANDMARK_COUNT or not _plausible(points, detection_in_crop):
            continue
        distance = np.linalg.norm(points.mean(0) - crop_centre)
        if best is None or distance < best[0]:
            best = (distance, points)
    return None if best is None else best[1] * np.float32(step) + origin


def face_box(landmarks: np.ndarray, size: tuple[int, int]) -> Box:
    """The landmarks' bounding box grown by BOX_MARGIN (the forehead above the mesh included), in the frame."""
    (x0, y0), (x1, y1) = landmarks.min(0), landmarks.max(0)
    w, h = x1 - x0, y1 - y0
    left, top, right, bottom = BOX_MARGIN
    return (max(0, math.floor(x0 - left * w)), max(0, math.floor(y0 - top * h)),
            min(size[0], math.ceil(x1 + right * w)), min(size[1], math.ceil(y1 + bottom * h)))


def find_faces(pixels: np.ndarray, proxy: np.ndarray) -> list[Face]:
    """Faces (box, confidence, landmarks; no regions) in full-res float RGB `pixels`, found on `proxy`.

    `proxy` is the same frame downscaled (any dtype to_uint8 accepts). Faces are ordered left to right.
    """
    height, width = pixels.shape[:2]
    scale = np.array([width / proxy.shape[1], height / proxy.shape[0]] * 2)
    faces: list[Face] = []
    for box, score in detect_boxes(to_uint8(proxy)):
        landmarks = mesh_face(pixels, box * scale)
        if landmarks is None:
            continue
        extent = np.concatenate([landmarks.min(0), landmarks.max(0)])
        if any(iou(extent, np.concatenate([f.landmarks.min(0), f.landmarks.max(0)])) > DUPLICATE_IOU
               for f in faces):
            continue
        faces.append(Face(face_box(landmarks, (width, height)), score, landmarks))
    return sorted(faces, key=lambda f: (f.box[0], f.box[1]))
