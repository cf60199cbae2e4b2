"""YOLOv5-style decoded head: one output [1, N, 5 + C] of (cx, cy, w, h, objectness, C class scores).

Boxes are already grid-decoded, in input pixels; the score of class c is
objectness * class score. With 3 anchors per cell, N is 3x the cell count of
strides 8, 16 and 32, which distinguishes it from the raw YOLOX layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo, input_hw as model_input_hw
from .base import Binding, Decoded, HeadKind, register_head, single_output
from .yolox import grid_size

ANCHORS_PER_CELL = 3
STRIDES = (8, 16, 32)


@register_head
class YoloV5Head(HeadKind):
    name = "yolov5"
    description = "one output [1, N, 5+C]: cx, cy, w, h in input pixels, objectness, C class scores"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        found = single_output(info, rank=3)
        if found is None:
            return None
        name, (_, rows, channels) = found
        if channels < 6 or rows <= channels or (num_labels is not None and channels != 5 + num_labels):
            return None
        return Binding(outputs={"predictions": name}, params={}, num_classes=channels - 5)

    def recognizes(self, info: ModelInfo) -> bool:
        found = single_output(info, rank=3)
        height, width = model_input_hw(info.image_input)
        if found is None or not isinstance(height, int) or not isinstance(width, int):
            return False
        _, (_, rows, channels) = found
        return channels >= 6 and rows == ANCHORS_PER_CELL * grid_size((height, width), STRIDES)

    def decode(self, outputs, params: dict[str, Any], input_hw) -> Decoded:
        predictions = outputs["predictions"][0].astype(np.float32, copy=False)
        center, half = predictions[:, 0:2], predictions[:, 2:4] * np.float32(0.5)
        boxes = np.concatenate([center - half, center + half], axis=1)
        return Decoded(boxes, predictions[:, 4:5] * predictions[:, 5:])
