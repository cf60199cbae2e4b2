"""GFL / distribution-focal heads (NanoDet, PP-PicoDet): per-stride class maps and box distributions.

For each stride s there is a class-score output [1, cells, C] (sigmoid already
applied) and a distribution output [1, cells, 4 * (reg_max + 1)]: for each side
(left, top, right, bottom) a softmax over reg_max + 1 bins whose expectation,
times s, is the distance from the cell centre ``(g + 0.5) * s + center_shift``.
Cells are row-major over a ceil(H / s) x ceil(W / s) grid.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head, static_dims

DEFAULT_REG_MAX = 7
# NanoDet and PicoDet place cell centres at g * s + (s - 1) / 2, which is (g + 0.5) * s - 0.5.
DEFAULT_CENTER_SHIFT = -0.5


def grid_shape(input_hw: tuple[int, int], stride: int) -> tuple[int, int]:
    return math.ceil(input_hw[0] / stride), math.ceil(input_hw[1] / stride)


def cell_centers(input_hw: tuple[int, int], stride: int, shift: float) -> np.ndarray:
    """Return [cells, 2] (x, y) centres in input pixels, row-major."""
    rows, cols = grid_shape(input_hw, stride)
    gy, gx = np.meshgrid(np.arange(rows, dtype=np.float32), np.arange(cols, dtype=np.float32), indexing="ij")
    centers = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return (centers + np.float32(0.5)) * np.float32(stride) + np.float32(shift)


def softmax_expectation(distribution: np.ndarray, bins: int) -> np.ndarray:
    """Return the expected bin index per side: [cells, 4 * bins] -> [cells, 4]."""
    logits = distribution.reshape(-1, 4, bins).astype(np.float32)
    exp = np.exp(logits - logits.max(axis=2, keepdims=True))
    probabilities = exp / exp.sum(axis=2, keepdims=True)
    return (probabilities * np.arange(bins, dtype=np.float32)).sum(axis=2)


def _default_strides(count: int) -> list[int]:
    return [8 * 2**i for i in range(count)]


@register_head
class GflHead(HeadKind):
    name = "gfl"
    description = "per stride: class scores [1, cells, C] and box distributions [1, cells, 4*(reg_max+1)]"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        reg_max = int(params.get("reg_max", DEFAULT_REG_MAX))
        bins = 4 * (reg_max + 1)
        shapes = {t.name: static_dims(t.shape) for t in info.outputs}
        if len(shapes) < 2 or len(shapes) % 2 or any(s is None or len(s) != 3 or s[0] != 1 for s in shapes.values()):
            return None
        strides = list(params.get("strides") or _default_strides(len(shapes) // 2))
        outputs: dict[str, str] = {}
        num_classes = None
        for stride in strides:
            rows, cols = grid_shape(input_hw, stride)
            same_level = [n for n, s in shapes.items() if s[1] == rows * cols]
            distributions = [n for n in same_level if shapes[n][2] == bins]
            scores = [n for n in same_level if shapes[n][2] != bins]
            if len(same_level) == 2 and len(distributions) == 2:
                # C happens to equal 4 * (reg_max + 1): tell the two apart by name.
                scores = [n for n in same_level if re.search(r"cls|score", n)]
                distributions = [n for n in same_level if n not in scores]
            if len(scores) != 1 or len(distributions) != 1:
                return None
            outputs[f"scores_{stride}"] = scores[0]
            outputs[f"distributions_{stride}"] = distributions[0]
            classes = shapes[scores[0]][2]
            if num_classes not in (None, classes):
                return None
            num_classes = classes
        if len(outputs) != len(shapes) or (num_labels is not None and num_labels != num_classes):
            return None
        params = {"strides": strides, "reg_max": reg_max, "center_shift": params.get("center_shift", DEFAULT_CENTER_SHIFT)}
        return Binding(outputs=outputs, params=params, num_classes=num_classes)

    def decode(self, outputs, params: dict[str, Any], input_hw) -> Decoded:
        bins = params["reg_max"] + 1
        boxes, scores = [], []
        for stride in params["strides"]:
            centers = cell_centers(input_hw, stride, params["center_shift"])
            distances = softmax_expectation(outputs[f"distributions_{stride}"][0], bins) * np.float32(stride)
            boxes.append(np.concatenate([centers - distances[:, :2], centers + distances[:, 2:]], axis=1))
            scores.append(outputs[f"scores_{stride}"][0].astype(np.float32, copy=False))
        return Decoded(np.concatenate(boxes).astype(np.float32), np.concatenate(scores))
