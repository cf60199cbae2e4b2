"""Heads whose graph already ran NMS: decode only, never a second NMS.

Two layouts: one output [1, K, 6] of (x1, y1, x2, y2, score, class), or four
outputs boxes [1, K, 4], scores [1, K], classes [1, K] and a detection count [1]
or [1, 1] (the TensorRT/ONNX "EfficientNMS" form). Boxes are xyxy in input pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head, single_output, static_dims


@register_head
class EndToEndHead(HeadKind):
    name = "end2end"
    description = "NMS inside the graph: [1, K, 6] (x1, y1, x2, y2, score, class) or boxes/scores/classes/count"
    applies_nms = False

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        found = single_output(info, rank=3)
        if found is not None and found[1][2] == 6:
            return Binding(outputs={"detections": found[0]}, params={}, num_classes=num_labels or 0)
        if len(info.outputs) != 4:
            return None
        roles: dict[str, str] = {}
        for tensor in info.outputs:
            shape = static_dims(tensor.shape) or tuple(tensor.shape)
            if len(shape) == 3 and shape[2] == 4:
                roles["boxes"] = tensor.name
            elif len(shape) in (1, 2) and all(isinstance(d, int) and d == 1 for d in shape):
                roles["count"] = tensor.name
            elif len(shape) == 2 and "score" in tensor.name.lower():
                roles["scores"] = tensor.name
            elif len(shape) == 2:
                roles["classes"] = tensor.name
        if sorted(roles) != ["boxes", "classes", "count", "scores"]:
            return None
        return Binding(outputs=roles, params={}, num_classes=num_labels or 0)

    def recognizes(self, info: ModelInfo) -> bool:
        # Ultralytics writes end2end: True for exports with NMS in the graph.
        return info.metadata.get("end2end", "").lower() == "true"

    def decode(self, outputs, params: dict[str, Any], input_hw) -> Decoded:
        if "detections" in outputs:
            rows = outputs["detections"][0].astype(np.float32, copy=False)
            return Decoded(rows[:, 0:4], rows[:, 4], class_ids=rows[:, 5].astype(np.int64))
        count = int(np.asarray(outputs["count"]).ravel()[0])
        boxes = outputs["boxes"][0][:count].astype(np.float32, copy=False)
        scores = outputs["scores"][0][:count].astype(np.float32, copy=False)
        classes = outputs["classes"][0][:count].astype(np.int64)
        return Decoded(boxes, scores, class_ids=classes)
