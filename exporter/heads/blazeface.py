"""MediaPipe BlazeFace head: SSD anchors from a side-car table, box and keypoint offsets, logits.

``preds`` [1, A, 4 + 2K] contains (x, y, w, h) offsets and K keypoint offsets in units
of ``1 / scale`` of an anchor; ``conf`` [1, A, 1] contains logits. ``anchors`` is the
[A, 4] table of (x_center, y_center, w, h), normalised to the input size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head, static_dims

DEFAULT_SCALE = 128.0


@register_head
class BlazeFaceHead(HeadKind):
    name = "blazeface"
    description = "preds [1, A, 4+2K] anchor offsets and conf [1, A, 1] logits; needs the anchor table"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        shapes = {t.name: static_dims(t.shape) for t in info.outputs}
        if len(shapes) != 2 or any(s is None or len(s) != 3 for s in shapes.values()):
            return None
        conf = [n for n, s in shapes.items() if s[2] == 1]
        preds = [n for n, s in shapes.items() if s[2] >= 4 and s[2] % 2 == 0 and s[2] != 1]
        if len(conf) != 1 or len(preds) != 1 or num_labels not in (None, 1):
            return None
        anchor_table = params.get("anchors")
        if anchor_table is None or len(anchor_table) != shapes[preds[0]][1]:
            return None
        out = {
            "anchors": [[float(v) for v in row] for row in anchor_table],
            "scale": float(params.get("scale", DEFAULT_SCALE)),
            "num_keypoints": (shapes[preds[0]][2] - 4) // 2,
        }
        return Binding(outputs={"preds": preds[0], "conf": conf[0]}, params=out, num_classes=1)

    def decode(self, outputs, params: dict[str, Any], input_hw) -> Decoded:
        height, width = input_hw
        table = np.asarray(params["anchors"], dtype=np.float32)
        scale = np.float32(params["scale"])
        preds = outputs["preds"][0].astype(np.float32, copy=False)
        size = np.array([width, height], dtype=np.float32)
        anchor_xy, anchor_wh = table[:, 0:2], table[:, 2:4]
        center = (preds[:, 0:2] / scale * anchor_wh + anchor_xy) * size
        half = preds[:, 2:4] / scale * anchor_wh * size * np.float32(0.5)
        boxes = np.concatenate([center - half, center + half], axis=1)
        count = params["num_keypoints"]
        offsets = preds[:, 4 : 4 + 2 * count].reshape(-1, count, 2)
        keypoints = (offsets / scale * anchor_wh[:, None, :] + anchor_xy[:, None, :]) * size
        logits = np.clip(outputs["conf"][0].astype(np.float32), -100, 100)
        with np.errstate(over="ignore"):  # exp(100) overflows float32 to inf, giving a score of exactly 0
            scores = np.float32(1) / (np.float32(1) + np.exp(-logits))
        return Decoded(boxes.astype(np.float32), scores.astype(np.float32), keypoints.astype(np.float32))
