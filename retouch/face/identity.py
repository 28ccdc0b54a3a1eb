"""Face identity embeddings: OpenCV Zoo's SFace recogniser, rebuilt in torch from its ONNX file.

A face is aligned onto SFace's 112x112 five-point template (the least-squares similarity transform that
OpenCV's FaceRecognizerSF.alignCrop uses), fed to the network as RGB 0..255 (what OpenCV's
FaceRecognizerSF.feature passes after blobFromImage(..., swapRB=True); the graph itself subtracts 127.5 and
multiplies by 1/128) and the 128-d output is L2-normalised. Cosine similarity of two embeddings says how
alike two faces are: OpenCV's same-person threshold is 0.363.

The network is translated op by op from the ONNX graph, a plain chain of Conv, BatchNormalization, PRelu,
Dropout, Flatten and Gemm with int8 block-quantised weights (DequantizeLinear), dequantised at load.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from retouch.face.fetch_model import model_path
from retouch.io import shrink

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


_CPU_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run torch's CPU ops on one thread for the duration, then restore the process's setting.

    SFace on a 112x112 crop is too small to gain from intra-op threads, and its OpenMP threads wait for
    each other whenever another process holds a core: measured on 2 shared cores, 0.5-0.7 s per face
    with 2 threads against 0.035-0.08 s with 1. The lock keeps concurrent callers from restoring each
    other's value out of order."""
    if device.type != "cpu":
        yield
        return
    with _CPU_THREADS_LOCK:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


@torch.inference_mode()
def embed_batch(crops: np.ndarray, *, model: nn.Module | None = None) -> np.ndarray:
    """L2-normalised embeddings (N, 128) float32 of aligned uint8 RGB crops (N, 112, 112, 3)."""
    if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"identity.embed_batch: crops shape {crops.shape}, expected (N, 112, 112, 3)")
    model = model if model is not None else load_model()
    device = next(model.parameters()).device
    batch = torch.from_numpy(np.ascontiguousarray(crops)).to(device).permute(0, 3, 1, 2).float()
    with _one_cpu_thread(device):
        return F.normalize(model(batch), dim=1).cpu().numpy()


def embed(pixels: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The L2-normalised float32 (128,) identity embedding of the face with these 478 landmarks."""
    return embed_batch(align(pixels, five_points(landmarks))[None])[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings: 1 same image, >0.363 same person by OpenCV's threshold."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def load_model(path: str | Path | None = None) -> nn.Module:
    """The SFace network in torch, in eval mode, on CUDA when torch sees a GPU; built once per process."""
    return _load(Path(path) if path is not None else model_path())


@functools.cache
def _load(path: Path) -> nn.Module:
    if not path.is_file():
        raise ModelMissingError(f"identity model missing: {path}; run `make models` "
                                "(or `python -m retouch.face.fetch_model`)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return sface_from_onnx(path).to(device).eval()


# ONNX -> torch ------------------------------------------------------------------------------------------


def _attributes(node: onnx.NodeProto) -> dict:
    return {attribute.name: onnx.helper.get_attribute_value(attribute) for attribute in node.attribute}


def _dequantize(quantized: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, *,
                axis: int = 1, block_size: int = 0) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero_point) * scale, per tensor, per axis, or in blocks along `axis`."""
    zero_point = np.zeros_like(scale) if zero_point is None else zero_point
    axis = axis % quantized.ndim
    if scale.size > 1 and block_size:
        length = quantized.shape[axis]
        scale = np.repeat(scale, block_size, axis).take(range(length), axis)
        zero_point = np.repeat(zero_point, block_size, axis).take(range(length), axis)
    elif scale.size > 1:
        shape = [1] * quantized.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((quantized.astype(np.float32) - zero_point.astype(np.float32)) * scale).astype(np.float32)


_FOLDABLE = {
    "Constant": lambda node, inputs: numpy_helper.to_array(_attributes(node)["value"]),
    "Reshape": lambda node, inputs: inputs[0].reshape(inputs[1]),
    "DequantizeLinear": lambda node, inputs: _dequantize(
        inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None,
        axis=_attributes(node).get("axis", 1), block_size=_attributes(node).get("block_size", 0)),
}


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every tensor computable without the input: initializers plus folded Constant/Reshape/Dequantize."""
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    for node in graph.node:
        if node.op_type in _FOLDABLE and all(name in constants for name in node.input if name):
            inputs = [constants[name] for name in node.input if name]
            constants[node.output[0]] = _FOLDABLE[node.op_type](node, inputs)
    return constants


class _ConstantOp(nn.Module):
    """x (op) constant, for the graph's Sub/Mul/Add by a fixed tensor (SFace's input normalisation)."""

    def __init__(self, op: str, constant: np.ndarray):
        super().__init__()
        self.op = {"Sub": torch.sub, "Mul": torch.mul, "Add": torch.add}[op]
        self.register_buffer("constant", torch.from_numpy(constant.copy()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x, self.constant)


class _BatchNorm(nn.Module):
    """Inference BatchNormalization over dim 1 of an input of any rank (after Conv and after Gemm)."""

    def __init__(self, gamma, beta, mean, variance, epsilon: float):
        super().__init__()
        self.epsilon = epsilon
        for name, value in (("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", variance)):
            self.register_buffer(name, torch.from_numpy(value.copy()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=False, eps=self.epsilon)


def _conv(node, constants, attributes) -> nn.Module:
    weight = constants[node.input[1]]
    pads = attributes.get("pads", [0] * (2 * (weight.ndim - 2)))
    if pads[: len(pads) // 2] != pads[len(pads) // 2:]:
        raise ValueError(f"asymmetric Conv pads {pads} in {node.name}")
    group = attributes.get("group", 1)
    conv = nn.Conv2d(weight.shape[1] * group, weight.shape[0], weight.shape[2:], groups=group,
                     stride=attributes.get("strides", 1), padding=pads[: len(pads) // 2],
                     dilation=attributes.get("dilations", 1), bias=len(node.input) > 2)
    conv.weight = nn.Parameter(torch.from_numpy(weight.copy()), requires_grad=False)
    if conv.bias is not None:
        conv.bias = nn.Parameter(torch.from_numpy(constants[node.input[2]].copy()), requires_grad=False)
    return conv


def _prelu(node, constants, attributes) -> nn.Module:
    slope = constants[node.input[1]].ravel()
    prelu = nn.PReLU(slope.size)
    prelu.weight = nn.Parameter(torch.from_numpy(slope.copy()), requires_grad=False)
    return prelu


def _gemm(node, constants, attributes) -> nn.Module:
    if attributes.get("transA", 0):
        raise ValueError(f"Gemm with transA in {node.name}")
    weight = constants[node.input[1]] if attributes.get("transB", 0) else constants[node.input[1]].T
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=len(node.input) > 2)
    alpha, beta = np.float32(attributes.get("alpha", 1.0)), np.float32(attributes.get("beta", 1.0))
    linear.weight = nn.Parameter(torch.from_numpy(weight * alpha), requires_grad=False)
    if linear.bias is not None:
        linear.bias = nn.Parameter(torch.from_numpy(constants[node.input[2]] * beta), requires_grad=False)
    return linear


def _flatten(node, constants, attributes) -> nn.Module:
    if attributes.get("axis", 1) != 1:
        raise ValueError(f"Flatten axis {attributes['axis']} in {node.name}")
    return nn.Flatten()


_LAYERS = {
    "Conv": _conv,
    "PRelu": _prelu,
    "Gemm": _gemm,
    "Flatten": _flatten,
    "BatchNormalization": lambda node, constants, attributes: _BatchNorm(
        *(constants[name] for name in node.input[1:5]), attributes.get("epsilon", 1e-5)),
    **{op: lambda node, constants, attributes: _ConstantOp(node.op_type, constants[node.input[1]])
       for op in ("Sub", "Mul", "Add")},
    "Dropout": lambda node, constants, attributes: None,  # identity at inference
}


def sface_from_onnx(path: Path) -> nn.Sequential:
    """Translate the ONNX graph at `path`, a single chain from its input to its output, into nn.Sequential."""
    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # a truncated or foreign file: say which one
        raise RuntimeError(f"{path}: not a readable ONNX model ({type(error).__name__}); "
                           "run `make models` to fetch it again") from error
    constants = _constants(graph)
    current = next(tensor.name for tensor in graph.input if tensor.name not in constants)
    layers = []
    for node in graph.node:
        if node.output[0] in constants:
            continue
        if node.op_type not in _LAYERS or node.input[0] != current:
            raise RuntimeError(f"{path}: cannot translate ONNX node {node.name or node.op_type} "
                               f"({node.op_type} on {list(node.input)}); expected a chain from {current}")
        try:
            layer = _LAYERS[node.op_type](node, constants, _attributes(node))
        except (KeyError, ValueError) as error:
            raise RuntimeError(f"{path}: cannot translate ONNX node {node.name or node.op_type}: "
                               f"{error}") from None
        if layer is not None:
            layers.append(layer)
        current = node.output[0]
    if current != graph.output[0].name:
        raise RuntimeError(f"{path}: chain ends at {current}, not at the graph output {graph.output[0].name}")
    return nn.Sequential(*layers)
