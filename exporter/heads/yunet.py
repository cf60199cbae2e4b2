"""YuNet face head: per stride, cls [1, N, 1], obj [1, N, 1], bbox [1, N, 4] and kps [1, N, 10].

Anchors sit at (gx * s, gy * s), row-major over an (H / s) x (W / s) grid. The box
centre is ``bbox[:2] * s + anchor``, its size ``exp(bbox[2:]) * s``, landmark i is
``kps[2i:2i+2] * s + anchor``. The score is cls * obj (both already sigmoid).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..inspection import ModelInfo
from .base import Binding, Decoded, HeadKind, register_head

OUTPUT_NAME = re.compile(r"^(cls|obj|bbox|kps)_(\d+)$")
PARTS = ("cls", "obj", "bbox", "kps")


def anchors(input_hw: tuple[int, int], stride: int) -> np.ndarray:
    rows, cols = input_hw[0] // stride, input_hw[1] // stride
    gy, gx = np.meshgrid(np.arange(rows, dtype=np.float32), np.arange(cols, dtype=np.float32), indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1) * np.float32(stride)


@register_head
class YunetHead(HeadKind):
    name = "yunet"
    description = "12 outputs cls_S, obj_S, bbox_S, kps_S for strides S = 8, 16, 32; boxes and 5 landmarks"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        found: dict[int, dict[str, str]] = {}
        for tensor in info.outputs:
            match = OUTPUT_NAME.match(tensor.name)
            if match is None:
                return None
            found.setdefault(int(match.group(2)), {})[match.group(1)] = tensor.name
        if not found or any(sorted(parts) != sorted(PARTS) for parts in found.values()):
            return None
        if any(input_hw[0] % s or input_hw[1] % s for s in found):
            return None
        if num_labels not in (None, 1):
            return None
        outputs = {f"{part}_{stride}": name for stride, parts in sorted(found.items()) for part, name in parts.items()}
        return Binding(outputs=outputs, params={"strides": sorted(found)}, num_classes=1)

    def decode(self, outputs, params: dict[str, Any], input_hw) -> Decoded:
        boxes, scores, keypoints = [], [], []
        for stride in params["strides"]:
            step = np.float32(stride)
            anchor = anchors(input_hw, stride)
            bbox = outputs[f"bbox_{stride}"][0].astype(np.float32, copy=False)
            center = bbox[:, :2] * step + anchor
            half = np.exp(bbox[:, 2:4]) * step * np.float32(0.5)
            boxes.append(np.concatenate([center - half, center + half], axis=1))
            kps = outputs[f"kps_{stride}"][0].astype(np.float32, copy=False).reshape(-1, 5, 2)
            keypoints.append(kps * step + anchor[:, None, :])
            scores.append(outputs[f"cls_{stride}"][0] * outputs[f"obj_{stride}"][0])
        return Decoded(np.concatenate(boxes), np.concatenate(scores).astype(np.float32), np.concatenate(keypoints))
