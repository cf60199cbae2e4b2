"""YOLOX raw head: one output [1, N, 5 + C] that still needs the grid decode.

Each row is (x, y, w, h, objectness, C class scores). x, y are offsets inside
the grid cell and w, h are log-scale, both in units of the level's stride.
Rows are ordered by stride (smallest first), then row-major over the grid.
Objectness and class scores are already sigmoid-activated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head, single_output

DEFAULT_STRIDES = (8, 16, 32)


def grid_size(input_hw: tuple[int, int], strides) -> int:
    return sum((input_hw[0] // s) * (input_hw[1] // s) for s in strides)


def make_grid(input_hw: tuple[int, int], strides) -> tuple[np.ndarray, np.ndarray]:
    """Return per-row cell coordinates [N, 2] (gx, gy) and strides [N] as float32."""
    cells, steps = [], []
    for stride in strides:
        rows, cols = input_hw[0] // stride, input_hw[1] // stride
        gy, gx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        cells.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        steps.append(np.full(rows * cols, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(steps).astype(np.float32)


@register_head
class YoloxHead(HeadKind):
    name = "yolox"
    description = "one raw output [1, N, 5+C]: grid offsets, log sizes, objectness, C class scores"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        found = single_output(info, rank=3)
        if found is None:
            return None
        name, (_, rows, channels) = found
        strides = tuple(params.get("strides", DEFAULT_STRIDES))
        if rows != grid_size(input_hw, strides) or channels < 6:
            return None
        if num_labels is not None and channels != 5 + num_labels:
            return None
        return Binding(outputs={"predictions": name}, params={"strides": list(strides)}, num_classes=channels - 5)

    def decode(self, outputs, params: dict[str, Any], input_hw):
        predictions = outputs["predictions"][0].astype(np.float32, copy=False)
        cells, strides = make_grid(input_hw, params["strides"])
        center = (predictions[:, 0:2] + cells) * strides[:, None]
        size = np.exp(predictions[:, 2:4]) * strides[:, None]
        half = size * np.float32(0.5)
        boxes = np.concatenate([center - half, center + half], axis=1)
        scores = predictions[:, 4:5] * predictions[:, 5:]
        return Decoded(boxes.astype(np.float32), scores.astype(np.float32))
