"""SSD-style head whose priors are already decoded in the graph (UltraFace and similar).

Two outputs: ``boxes`` [1, N, 4] as xyxy normalised to 0..1 of the model input,
and ``scores`` [1, N, K] already softmax-activated. With ``background_class`` set,
that score column is dropped and the remaining columns are classes 0..K-2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head, static_dims


@register_head
class SsdDecodedHead(HeadKind):
    name = "ssd_decoded"
    description = "two outputs: boxes [1, N, 4] normalised xyxy and scores [1, N, K] (NMS only)"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        if len(info.outputs) != 2:
            return None
        shapes = {t.name: static_dims(t.shape) for t in info.outputs}
        if any(s is None or len(s) != 3 or s[0] != 1 for s in shapes.values()):
            return None
        box_names = [n for n, s in shapes.items() if s[2] == 4]
        score_names = [n for n, s in shapes.items() if s[2] != 4]
        if "boxes" in shapes and "scores" in shapes:
            box_name, score_name = "boxes", "scores"
        elif len(box_names) == 1 and len(score_names) == 1:
            box_name, score_name = box_names[0], score_names[0]
        else:
            return None
        if shapes[box_name][1] != shapes[score_name][1]:
            return None
        background = params.get("background_class", 0)
        columns = shapes[score_name][2]
        num_classes = columns - 1 if background is not None else columns
        if num_classes < 1 or (num_labels is not None and num_labels != num_classes):
            return None
        return Binding(
            outputs={"boxes": box_name, "scores": score_name},
            params={"background_class": background},
            num_classes=num_classes,
        )

    def decode(self, outputs, params: dict[str, Any], input_hw):
        height, width = input_hw
        scale = np.array([width, height, width, height], dtype=np.float32)
        boxes = outputs["boxes"][0].astype(np.float32, copy=False) * scale
        scores = outputs["scores"][0].astype(np.float32, copy=False)
        background = params.get("background_class")
        if background is not None:
            scores = np.delete(scores, background, axis=1)
        return Decoded(boxes, scores)
