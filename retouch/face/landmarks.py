"""Find faces and their 478 FaceMesh landmarks (mediapipe 0.10.14, legacy solutions API).

FaceMesh's own detector is short-range: it misses faces smaller than about a fifth of the frame (group
shots, full-length portraits). So faces are found first, on a proxy, by two FaceDetection models:

- short range (model 0) on the whole proxy, padded with a grey border so extreme close-ups (a crop of just
  the face, which is what the drift measure re-detects on) still look like a face in a frame;
- full range (model 1) on the whole proxy and on overlapping tiles of TILE proxy pixels, because the
  full-range model only sees faces of at least MIN_FACE_SHARE of its 192 px input (it found astronaut's
  face from 13 px, on grey and on a textured photo; 16 are asked for);
- in big frames, the small-face pass: full range also on smaller tiles, sized so that faces SMALL_FACE
  full-resolution pixels wide get MIN_FACE_SHARE of the model's input. At the default proxy a face 128 px
  wide in a 6000 px frame is 32 px on the proxy, too small for the TILE tiles (from 53 px) but 16 px of
  the model's input on a 384 px tile (15 runs at 24 MP; astronaut's and Grace Hopper's faces
  were found from 110-120 px wide wherever they were pasted). The pass is skipped where TILE tiles
  already see such faces (frames up to 2.4x the proxy: 3600 px at the default), and its tiles never go
  below MIN_FINE_TILE (twice the model's input): in frames over 4x the proxy the smallest face found
  grows with the frame.

Each tile level overlaps its tiles by the smallest face the level above it (the whole proxy, then TILE
tiles) finds reliably, so every face is whole in some tile of a level that can see it; detections that
touch an inner tile edge are cut faces and dropped. Duplicates from the passes are merged by IoU (the
higher score wins). Each face is then meshed on its own crop taken from the FULL-resolution pixels (a
square of CROP_MARGIN x the detection, resized to MESH_INPUT px), so small faces get the mesh's full
precision and the points need no upscaling. A mesh is kept only if it is plausible: its eyes are apart,
its points lie in the crop, and it covers the detection.

FaceMesh is never run on the whole frame: a per-face crop gives the same mesh for big faces and a much
better one for small faces, and the detections supply each face's confidence (FaceMesh reports none).
Measured on astronaut pasted into larger frames: the full-range model finds the face down to ~12 px of its
input, the short-range one and FaceMesh's own detector only down to ~26 px.

Landmarks follow mediapipe's convention: x = normalised x * width, so a pixel's centre is at +0.5.
The mediapipe graphs (this module's and person.py's) are created once per process and shared behind a
lock each (they are not reentrant). The small-face pass has a full-range graph of its own, so it can run
on a helper thread beside the other passes (`alongside`: mediapipe and OpenCV release the GIL
while they compute, so two stages share two cores). Mediapipe's C++ start-up chatter ignores
GLOG_minloglevel, so file descriptor 2 is silenced while a graph is created and first run; protobuf's
deprecation warning from mediapipe's packet getters is filtered.

mediapipe is imported lean (`lean_mediapipe`, when this module is imported): its package's own start-up
imports every solution's drawing helpers (matplotlib.pyplot) and the whole Tasks API (audio included),
which cost a process that analyses a photo more CPU time and memory than everything it uses from mediapipe.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import math
import os
import sys
import threading
import types
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import cv2
import numpy as np

from ..resample import shrink
from ..photo import Box, Face

warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)

MIN_CONFIDENCE = 0.5          # FaceDetection score below which a detection is not a face
MIN_FACE_SHARE = 16 / 192     # smallest face the full-range model finds reliably, as a share of its input side
TILE = 640                    # proxy pixels per full-range tile side
SMALL_FACE = 128              # face width (full-resolution pixels) the small-face pass is sized to find
MIN_FINE_TILE = 384           # proxy pixels: the smallest tile side of the small-face pass
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
_SILENCE_LOCK = threading.Lock()
_HELPER = ThreadPoolExecutor(1, thread_name_prefix="retouch-analysis")
Result = TypeVar("Result")
LEAN_PACKAGES = ("mediapipe", "mediapipe.python.solutions")   # packages whose __init__ imports what we never use
_LEAN_LOCK = threading.RLock()       # an import under it may ask a lean package again


def lean_mediapipe() -> None:
    """Register mediapipe's package and its solutions package without running their __init__, unless
    mediapipe is imported already. The modules we use (face_detection, face_mesh, face_mesh_connections,
    selfie_segmentation) then import only the framework bindings and their protobufs: 0.15 s of CPU and
    56 MB against 0.8 s and 160 MB for `import mediapipe` (measured on this machine's 2 cores).

    Nothing is lost to other code: the first attribute asked of either package that it does not hold yet
    (`mediapipe.solutions`, `mediapipe.tasks`, `mediapipe.__version__`, a solution not imported yet) runs
    both packages' real __init__ then, and `import mediapipe` anywhere gets these same modules."""
    with _LEAN_LOCK:
        if "mediapipe" in sys.modules:
            return
        packages = []
        for name in LEAN_PACKAGES:
            parent, _, child = name.rpartition(".")
            if parent:
                importlib.import_module(parent)          # mediapipe.python: the framework bindings
            spec = importlib.util.find_spec(name)
            module = importlib.util.module_from_spec(spec)
            module.__getattr__ = functools.partial(_complete, module, packages)
            sys.modules[name] = module
            if parent:
                setattr(sys.modules[parent], child, module)
            packages.append(module)


def _complete(asked: types.ModuleType, packages: list[types.ModuleType], name: str):
    """`asked`'s attribute `name`: a solution module of the solutions package is imported alone (that is
    how `from mediapipe.python.solutions import face_mesh` asks for it); anything else runs the lean
    packages' real __init__ first (innermost first: the top package's __init__ imports the solutions
    package). Dunders other than __version__ are never there."""
    if name.startswith("__") and name != "__version__":
        raise AttributeError(f"module {asked.__name__!r} has no attribute {name!r}")
    if asked is packages[-1] and importlib.util.find_spec(f"{asked.__name__}.{name}") is not None:
        return importlib.import_module(f"{asked.__name__}.{name}")
    with _LEAN_LOCK:
        for module in reversed(packages):
            if module.__dict__.pop("__getattr__", None) is not None:
                module.__spec__.loader.exec_module(module)
    return getattr(asked, name)


lean_mediapipe()


def alongside(work: Callable[..., Result], *args) -> Callable[[], Result]:
    """Start `work(*args)` on the helper thread and return a function that waits for its result, when this
    process may use more than one thread (OpenCV's thread count, which the batch caps per worker);
    otherwise run it now. Analysis uses it to overlap stages that do not depend on each other; `work`
    must not wait on the helper itself (there is one helper thread)."""
    if cv2.getNumThreads() < 2:
        result = work(*args)
        return lambda: result
    return _HELPER.submit(work, *args).result


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: mediapipe's C++ logs bypass Python and GLOG_minloglevel.
    One thread at a time (the descriptor is the process's: two overlapping redirections would leave
    stderr silenced for good)."""
    with _SILENCE_LOCK:
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
        "detect_small": lambda: face_detection.FaceDetection(model_selection=1,
                                                             min_detection_confidence=MIN_CONFIDENCE),
        "selfie": lambda: selfie_segmentation.SelfieSegmentation(model_selection=0),
    }
    if name not in factories:
        raise KeyError(f"retouch/face/landmarks.py: unknown mediapipe graph {name!r}")
    return factories[name]()


def run_graph(name: str, image: np.ndarray):
    """Run the process-wide mediapipe graph `name` on uint8 RGB `image`; created (quietly) on first use.

    The first run of a graph is where mediapipe prints its start-up chatter, so it is made with stderr
    silenced: on the caller's image (the graphs keep no state between images: static mode), not on a
    blank one first, which made every process pay one more run per graph.
    """
    with _REGISTRY_LOCK:
        lock = _LOCKS.setdefault(name, threading.Lock())
    with lock:
        image = np.ascontiguousarray(image)
        if name not in _GRAPHS:
            with _stderr_silenced():
                _GRAPHS[name] = _create(name)
                return _GRAPHS[name].process(image)
        return _GRAPHS[name].process(image)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """float 0..1 RGB -> uint8 RGB (what mediapipe takes), rounded and saturated in one OpenCV pass
    (rather than numpy's clip, scale and cast)."""
    if pixels.dtype == np.uint8:
        return pixels
    flat = np.ascontiguousarray(pixels, np.float32).reshape(pixels.shape[0], -1)   # OpenCV's channel limit
    return cv2.multiply(flat, 255.0, dtype=cv2.CV_8U).reshape(pixels.shape)


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


def _tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile origins along one axis: `tile` wide, overlapping by at least `overlap`, the last flush with the end."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _tile_runs(shape: tuple[int, ...], tile: int, overlap: float) -> int:
    """How many model runs _tiled_detections makes on a proxy of `shape` (none when one tile is the whole)."""
    runs = len(_tile_starts(shape[1], tile, overlap)) * len(_tile_starts(shape[0], tile, overlap))
    return 0 if runs == 1 else runs


def _tiled_detections(proxy: np.ndarray, tile: int, overlap: float,
                      graph: str = "detect_full") -> list[tuple[np.ndarray, float]]:
    """Full-range detections (by `graph`) on `tile`-wide tiles overlapping by `overlap`; those touching an
    inner tile edge are cut faces, dropped (every face up to `overlap` wide lies wholly inside some tile)."""
    height, width = proxy.shape[:2]
    xs, ys = _tile_starts(width, tile, overlap), _tile_starts(height, tile, overlap)
    if len(xs) == 1 and len(ys) == 1:
        return []
    found = []
    for y in ys:
        for x in xs:
            part = proxy[y:y + tile, x:x + tile]
            th, tw = part.shape[:2]
            for box, score in _detections(run_graph(graph, part), (x, y), (tw, th)):
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


def small_face_tile(frame: tuple[int, ...], proxy: tuple[int, ...]) -> int | None:
    """The small-face pass's tile side (proxy pixels) for a frame of shape `frame` analysed on a proxy of
    shape `proxy`, or None where TILE tiles already see faces SMALL_FACE wide."""
    scale = max(frame[:2]) / max(proxy[:2])
    tile = round(SMALL_FACE / (MIN_FACE_SHARE * scale))
    return None if tile >= TILE else max(tile, MIN_FINE_TILE)


def small_face_detections(proxy: np.ndarray, tile: int,
                          overlap: float = MIN_FACE_SHARE * TILE) -> list[tuple[np.ndarray, float]]:
    """The small-face pass: full-range detections on `tile`-wide tiles of a uint8 RGB proxy, overlapping by
    `overlap` (by default the smallest face the TILE tiles find), on a graph of its own, so it may run
    beside the other passes."""
    return _tiled_detections(proxy, tile, overlap, "detect_small")


def detect_boxes(proxy: np.ndarray, *, fine_tile: int | None = None) -> list[tuple[np.ndarray, float]]:
    """Every face detection on a uint8 RGB proxy, duplicates merged, best score first; `fine_tile` adds
    the small-face pass on tiles that wide (see small_face_tile and the module's docstring), alongside
    the others. The TILE tiles are there for faces too small for the whole proxy; where the small-face
    tiles, overlapping as much, take fewer runs than both levels together, they do that job alone (a
    square 24 MP frame: 16 runs instead of 25)."""
    height, width = proxy.shape[:2]
    unseen = min(TILE / 2, MIN_FACE_SHARE * max(width, height))     # widest face the whole proxy may miss
    tile_level, small_faces = True, list
    if fine_tile:
        fine_overlap = MIN_FACE_SHARE * TILE
        tile_level = _tile_runs(proxy.shape, fine_tile, unseen) > (
            _tile_runs(proxy.shape, fine_tile, fine_overlap) + _tile_runs(proxy.shape, TILE, unseen))
        small_faces = alongside(small_face_detections, proxy, fine_tile, fine_overlap if tile_level else unseen)
    candidates = (_close_up_detections(proxy)
                  + _detections(run_graph("detect_full", proxy), (0, 0), (width, height))
                  + (_tiled_detections(proxy, TILE, unseen) if tile_level else [])
                  + small_faces())
    kept: list[tuple[np.ndarray, float]] = []
    for box, score in sorted(candidates, key=lambda c: -c[1]):
        if all(iou(box, other) <= DUPLICATE_IOU for other, _ in kept):
            kept.append((box, score))
    return kept


def _crop_square(pixels: np.ndarray, centre: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A side x side square of `pixels` around `centre` (black beyond the frame) resized to MESH_INPUT.

    Only the part inside the frame is resampled, then padded (padding first would copy a big face's whole
    square at full resolution). Returns (uint8 crop, full-res pixels per crop pixel (x, y), the crop's
    corner in full-res pixels): the exact mapping of the resampling done, pads rounded to whole pixels."""
    height, width = pixels.shape[:2]
    x0, y0 = int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2))
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
    scale = MESH_INPUT / side
    left, top = round((cx0 - x0) * scale), round((cy0 - y0) * scale)
    size = (max(1, round((cx1 - x0) * scale) - left), max(1, round((cy1 - y0) * scale) - top))
    inside, extent = shrink(pixels[cy0:cy1, cx0:cx1], size)
    crop = cv2.copyMakeBorder(to_uint8(inside), top, MESH_INPUT - top - size[1], left, MESH_INPUT - left - size[0],
                              cv2.BORDER_CONSTANT, value=(0, 0, 0))
    step = np.array(extent, np.float32) / np.array(size, np.float32)
    return crop, step, np.array([cx0, cy0], np.float32) - np.array([left, top], np.float32) * step


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
    detection_in_crop = (detection - np.tile(origin, 2)) / np.tile(step, 2)
    best = None
    for mesh in result.multi_face_landmarks or []:
        points = np.array([(p.x, p.y) for p in mesh.landmark], np.float32) * MESH_INPUT
        if len(points) != LANDMARK_COUNT or not _plausible(points, detection_in_crop):
            continue
        distance = np.linalg.norm(points.mean(0) - crop_centre)
        if best is None or distance < best[0]:
            best = (distance, points)
    return None if best is None else best[1] * step + origin


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
    fine_tile = small_face_tile(pixels.shape, proxy.shape)
    for box, score in detect_boxes(to_uint8(proxy), fine_tile=fine_tile):
        landmarks = mesh_face(pixels, box * scale)
        if landmarks is None:
            continue
        extent = np.concatenate([landmarks.min(0), landmarks.max(0)])
        if any(iou(extent, np.concatenate([f.landmarks.min(0), f.landmarks.max(0)])) > DUPLICATE_IOU
               for f in faces):
            continue
        faces.append(Face(face_box(landmarks, (width, height)), score, landmarks))
    return sorted(faces, key=lambda f: (f.box[0], f.box[1]))
