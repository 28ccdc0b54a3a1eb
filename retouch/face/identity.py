"""Face identity embeddings: OpenCV Zoo's SFace recogniser, run from its ONNX file by OpenCV's dnn module.

A face is aligned onto SFace's 112x112 five-point template (the least-squares similarity transform that
OpenCV's FaceRecognizerSF.alignCrop uses), fed to the network as RGB 0..255 (what OpenCV's
FaceRecognizerSF.feature passes after blobFromImage(..., swapRB=True); the graph itself subtracts 127.5 and
multiplies by 1/128) and the 128-d output is L2-normalised. Cosine similarity of two embeddings says how
alike two faces are: OpenCV's same-person threshold is 0.363.

The graph is a plain chain of Conv, BatchNormalization, PRelu, Dropout, Flatten and Gemm with int8
block-quantised weights (DequantizeLinear). OpenCV's dnn reads it as it is, and OpenCV is loaded anyway:
a torch port of the same graph gave the same embeddings (cosine 1.0000001, largest difference 4e-7) but
made every process that measured a face import torch and onnx first, the largest part of start-up and
over 200 MB of memory per batch worker.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import cv2
import numpy as np

from retouch.face.fetch_model import model_path
from retouch.resample import shrink

INPUT_SIZE = 112
# SFace's alignment template in the 112x112 crop: the subject's right eye, left eye, nose tip,
# right and left mouth corners (the right eye and mouth corner are on the image's left).
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
# FaceMesh indices for those points. Eye centres are the midpoints of the eye corners rather than the irises:
# corners do not move with gaze, and against YuNet's own points they gave the closer embeddings
# (cosine 0.96-0.97 vs 0.94-0.97 on astronaut and grace_hopper).
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
NOSE_TIP = 1
MOUTH_CORNERS = (61, 291)
LANDMARK_COUNT = 478


class ModelMissingError(RuntimeError):
    """The SFace ONNX file is not where retouch looks for it."""


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The five alignment points (5, 2) from FaceMesh's 478 landmarks, in TEMPLATE's order."""
    landmarks = np.asarray(landmarks, np.float32)
    if landmarks.shape != (LANDMARK_COUNT, 2):
        raise ValueError(f"identity.five_points: landmarks shape {landmarks.shape}, "
                         f"expected ({LANDMARK_COUNT}, 2)")
    return np.stack([landmarks[list(RIGHT_EYE_CORNERS)].mean(0), landmarks[list(LEFT_EYE_CORNERS)].mean(0),
                     landmarks[NOSE_TIP], landmarks[MOUTH_CORNERS[0]], landmarks[MOUTH_CORNERS[1]]])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation mapping `source` points onto `target` by least squares.

    Closed form (Umeyama's, written with complex numbers), deterministic, the same as OpenCV's alignCrop;
    cv2.estimateAffinePartial2D would use RANSAC and could drop one of only five points.
    """
    src = source[:, 0].astype(np.float64) + 1j * source[:, 1]
    dst = target[:, 0].astype(np.float64) + 1j * target[:, 1]
    src_centred, dst_centred = src - src.mean(), dst - dst.mean()
    rotation_scale = (dst_centred * src_centred.conj()).sum() / (np.abs(src_centred) ** 2).sum()
    shift = dst.mean() - rotation_scale * src.mean()
    return np.array([[rotation_scale.real, -rotation_scale.imag, shift.real],
                     [rotation_scale.imag, rotation_scale.real, shift.imag]])


def _shrink_to_template_scale(pixels: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area-average the face's neighbourhood down to crop scale and adjust `matrix` to match.

    A bilinear warp that shrinks a big face samples only a few source pixels per output pixel and aliases,
    so the embedding would react to fine texture (exactly what retouching changes). Faces at or below crop
    scale pass through untouched.
    """
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if scale >= 1.0:
        return pixels, matrix
    height, width = pixels.shape[:2]
    crop_corners = np.array([[0, 0, 1], [INPUT_SIZE, 0, 1], [0, INPUT_SIZE, 1], [INPUT_SIZE, INPUT_SIZE, 1]])
    corners = crop_corners @ cv2.invertAffineTransform(matrix).T
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - 2, 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 2, 0, [width, height])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return pixels, matrix
    small_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    small, extent = shrink(pixels[y0:y1, x0:x1], small_size)       # by whole blocks first: the fast path
    fx, fy = small_size[0] / extent[0], small_size[1] / extent[1]
    # centre of small pixel (u, v) sits at source ((u + 0.5) / fx - 0.5 + x0, (v + 0.5) / fy - 0.5 + y0)
    small_to_source = np.array([[1 / fx, 0, 0.5 / fx - 0.5 + x0], [0, 1 / fy, 0.5 / fy - 0.5 + y0]])
    linear = matrix[:, :2]
    shift = linear @ small_to_source[:, 2] + matrix[:, 2]
    return small, np.hstack([linear @ small_to_source[:, :2], shift[:, None]])


def align(pixels: np.ndarray, five: np.ndarray) -> np.ndarray:
    """The uint8 112x112x3 RGB face crop SFace expects, from float RGB 0..1 pixels and five_points()."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"identity.align: pixels shape {pixels.shape}, expected (height, width, 3)")
    matrix = similarity_transform(np.asarray(five, np.float64), TEMPLATE)
    source, matrix = _shrink_to_template_scale(np.asarray(pixels, np.float32), matrix)
    crop = cv2.warpAffine(source, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    return np.clip(np.rint(crop * 255.0), 0, 255).astype(np.uint8)


class Model:
    """The SFace network in OpenCV's dnn. A dnn Net holds its input and buffers between setInput and
    forward, so one caller at a time runs it (the lock)."""

    def __init__(self, net: cv2.dnn.Net):
        self.net = net
        self.lock = threading.Lock()

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """Raw 128-d features (N, 128) of aligned uint8 RGB crops (N, 112, 112, 3)."""
        blob = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), np.float32)    # NCHW, RGB as the graph wants
        with self.lock:
            self.net.setInput(blob, "data")
            return np.array(self.net.forward(), np.float32).reshape(len(crops), -1)   # ours, not the net's buffer


def embed_batch(crops: np.ndarray, *, model: Model | None = None) -> np.ndarray:
    """L2-normalised embeddings (N, 128) float32 of aligned uint8 RGB crops (N, 112, 112, 3)."""
    if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"identity.embed_batch: crops shape {crops.shape}, expected (N, 112, 112, 3)")
    features = (model if model is not None else load_model())(crops)
    return (features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def embed(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The L2-normalised float32 (128,) identity embedding of the face with these 478 landmarks."""
    return embed_batch(align(pixels, five_points(landmarks))[None])[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings: 1 same image, >0.363 same person by OpenCV's threshold."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def load_model(path: str | Path | None = None) -> Model:
    """The SFace network, read once per process (on first use: a photo without faces never reads it)."""
    return _load(Path(path) if path is not None else model_path())


@functools.cache
def _load(path: Path) -> Model:
    if not path.is_file():
        raise ModelMissingError(f"identity model missing: {path}; run `make models` "
                                "(or `python -m retouch.face.fetch_model`)")
    try:
        net = cv2.dnn.readNetFromONNX(str(path))
    except cv2.error:  # a truncated or foreign file: say which one (OpenCV's message repeats the path)
        raise RuntimeError(f"{path}: not a readable ONNX model (OpenCV's dnn could not parse it); "
                           "run `make models` to fetch it again") from None
    return Model(net)
