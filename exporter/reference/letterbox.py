"""Letterbox and stretch resizing, specified once for Python and the browser.

The resize is a separable triangle filter (bilinear) whose support grows with the
downscale factor, as Pillow's ``Image.resize(..., BILINEAR)`` does, so strong
downscales are antialiased. Output pixel ``i`` samples input coordinate
``(i + 0.5) * in_size / out_size``. Unlike Pillow, the arithmetic is float64 with
no rounding to 8 bits between or after the passes: the JavaScript twin
(``preprocess.js``) repeats it operation for operation, so both produce the same
float32 tensor.

Letterbox geometry: ``r = min(W / w, H / h)``, resized size
``floor(w * r + 0.5)`` by ``floor(h * r + 0.5)``, padding placed at the top-left
or split with ``floor(pad / 2)`` on the left/top. The inverse mapping uses the
same rounded size and padding, so boxes map back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import PreprocessSpec


@dataclass(frozen=True)
class LetterboxGeometry:
    """Where the resized image sits in the model input, in input pixels."""

    src_w: int
    src_h: int
    resized_w: int
    resized_h: int
    pad_left: int
    pad_top: int

    @property
    def scale_x(self) -> float:
        return self.resized_w / self.src_w

    @property
    def scale_y(self) -> float:
        return self.resized_h / self.src_h


def round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def compute_geometry(src_w: int, src_h: int, spec: PreprocessSpec) -> LetterboxGeometry:
    """Compute the resized size and padding of a ``src_w`` x ``src_h`` image."""
    if spec.resize == "stretch":
        return LetterboxGeometry(src_w, src_h, spec.width, spec.height, 0, 0)
    ratio = min(spec.width / src_w, spec.height / src_h)
    resized_w = min(spec.width, max(1, round_half_up(src_w * ratio)))
    resized_h = min(spec.height, max(1, round_half_up(src_h * ratio)))
    if spec.pad_position == "center":
        pad_left, pad_top = (spec.width - resized_w) // 2, (spec.height - resized_h) // 2
    else:
        pad_left, pad_top = 0, 0
    return LetterboxGeometry(src_w, src_h, resized_w, resized_h, pad_left, pad_top)


def filter_taps(in_size: int, out_size: int, antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return tap start indices [out] and normalised weights [out, K] for one axis.

    Rows with fewer than K taps are padded with zero weights; their start index
    is clamped so that every tap index stays inside the input.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0) if antialias else 1.0
    support = filter_scale  # the triangle filter has radius 1, widened when downscaling
    starts, rows = [], []
    for i in range(out_size):
        center = (i + 0.5) * scale
        first = max(int(math.floor(center - support + 0.5)), 0)
        last = min(int(math.floor(center + support + 0.5)), in_size)
        weights = [max(0.0, 1.0 - abs((j + 0.5 - center) / filter_scale)) for j in range(first, last)]
        total = sum(weights)
        starts.append(first)
        rows.append([w / total for w in weights] if total > 0 else [1.0])
    taps = max(len(r) for r in rows)
    weight_matrix = np.zeros((out_size, taps), dtype=np.float64)
    start_index = np.zeros(out_size, dtype=np.int64)
    for i, (first, row) in enumerate(zip(starts, rows)):
        first = min(first, in_size - taps) if in_size >= taps else 0
        offset = starts[i] - first
        weight_matrix[i, offset : offset + len(row)] = row
        start_index[i] = first
    return start_index, weight_matrix


def _resize_axis(image: np.ndarray, out_size: int, axis: int, antialias: bool) -> np.ndarray:
    in_size = image.shape[axis]
    starts, weights = filter_taps(in_size, out_size, antialias)
    taps = weights.shape[1]
    result = None
    # Accumulate tap by tap, in the same order as the JavaScript loop.
    for k in range(taps):
        index = np.minimum(starts + k, in_size - 1)
        gathered = np.take(image, index, axis=axis)
        shape = [1] * image.ndim
        shape[axis] = out_size
        term = gathered * weights[:, k].reshape(shape)
        result = term if result is None else result + term
    return result


def resize_bilinear(image: np.ndarray, out_w: int, out_h: int, antialias: bool = True) -> np.ndarray:
    """Resize an [H, W, C] image to [out_h, out_w, C] as float64, horizontal pass first."""
    pixels = image.astype(np.float64)
    if pixels.shape[1] != out_w:
        pixels = _resize_axis(pixels, out_w, axis=1, antialias=antialias)
    if pixels.shape[0] != out_h:
        pixels = _resize_axis(pixels, out_h, axis=0, antialias=antialias)
    return pixels


def preprocess(image_rgb: np.ndarray, spec: PreprocessSpec) -> tuple[np.ndarray, LetterboxGeometry]:
    """Turn an RGB uint8 [H, W, 3] image into the model's float32 input tensor (batch 1)."""
    src_h, src_w = image_rgb.shape[:2]
    geometry = compute_geometry(src_w, src_h, spec)
    antialias = spec.interpolation == "bilinear-antialias"
    resized = resize_bilinear(image_rgb, geometry.resized_w, geometry.resized_h, antialias)

    canvas = np.empty((spec.height, spec.width, 3), dtype=np.float64)
    canvas[:, :] = np.asarray(spec.pad_value, dtype=np.float64)
    top, left = geometry.pad_top, geometry.pad_left
    canvas[top : top + geometry.resized_h, left : left + geometry.resized_w] = resized

    if spec.channel_order == "BGR":
        canvas = canvas[:, :, ::-1]
    mean = np.asarray(spec.mean, dtype=np.float64)
    std = np.asarray(spec.std, dtype=np.float64)
    tensor = ((canvas * spec.scale - mean) / std).astype(np.float32)
    if spec.layout == "NCHW":
        tensor = tensor.transpose(2, 0, 1)
    return np.ascontiguousarray(tensor[None]), geometry


def unletterbox_points(points: np.ndarray, geometry: LetterboxGeometry, clip: bool) -> np.ndarray:
    """Map (x, y) pairs in the last axis from model-input pixels back to original-image pixels."""
    out = points.astype(np.float64, copy=True)
    out[..., 0] = (out[..., 0] - geometry.pad_left) / geometry.scale_x
    out[..., 1] = (out[..., 1] - geometry.pad_top) / geometry.scale_y
    if clip:
        out[..., 0] = out[..., 0].clip(0, geometry.src_w)
        out[..., 1] = out[..., 1].clip(0, geometry.src_h)
    return out


def unletterbox_boxes(boxes: np.ndarray, geometry: LetterboxGeometry, clip: bool) -> np.ndarray:
    """Map xyxy boxes from model-input pixels back to original-image pixels."""
    corners = unletterbox_points(boxes.reshape(-1, 2, 2), geometry, clip)
    return corners.reshape(-1, 4)
