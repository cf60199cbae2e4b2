"""Ultralytics YOLOv8/YOLO11 raw head: one output of (cx, cy, w, h) plus C class scores.

The output is [1, 4 + C, N] as Ultralytics exports it, or [1, N, 4 + C] when
transposed. Box values are in model-input pixels; class scores are already
sigmoid-activated and there is no objectness column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inspection import ModelInfo
from ..onnx_graph import nodes_after_weighted_layers
from .base import Binding, Decoded, HeadKind, register_head, single_output


@register_head
class YoloV8Head(HeadKind):
    name = "yolov8"
    description = "one output [1, 4+C, N] or [1, N, 4+C]: cx, cy, w, h in input pixels, then C class scores"

    def bind(self, info: ModelInfo, input_hw, num_labels, params) -> Binding | None:
        found = single_output(info, rank=3)
        if found is None:
            return None
        name, (_, dim1, dim2) = found
        if num_labels is not None:
            if dim1 == 4 + num_labels and dim2 != 4 + num_labels:
                channels_first = True
            elif dim2 == 4 + num_labels and dim1 != 4 + num_labels:
                channels_first = False
            else:
                return None
        else:
            # Without labels, the smaller dimension is the 4 + C channels.
            channels_first = dim1 < dim2
        channels, candidates = (dim1, dim2) if channels_first else (dim2, dim1)
        # Real heads have far more candidates than channels (8400 vs 84 at 640 px).
        if channels < 5 or candidates <= channels:
            return None
        params = {"channels_first": channels_first, **params}
        return Binding(outputs={"predictions": name}, params=params, num_classes=channels - 4)

    def recognizes(self, info: ModelInfo) -> bool:
        # Ultralytics writes 'names' and 'stride' into the metadata of every export.
        metadata = info.metadata
        if metadata.get("end2end", "").lower() == "true":
            return False  # NMS is inside the graph: the end2end head kind reads it
        return "names" in metadata and "stride" in metadata and metadata.get("task", "detect") == "detect"

    def decode(self, outputs, params: dict[str, Any], input_hw):
        predictions = outputs["predictions"][0]
        if params.get("channels_first", True):
            predictions = predictions.T
        predictions = predictions.astype(np.float32, copy=False)
        cx, cy, w, h = (predictions[:, i] for i in range(4))
        half_w = w * np.float32(0.5)
        half_h = h * np.float32(0.5)
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        return Decoded(boxes, predictions[:, 4:])

    def decode_nodes(self, model) -> list[str]:
        """Return the decode nodes, including the DFL convolution and the softmax that feeds it.

        The DFL convolution has fixed weights 0..reg_max that turn each softmax
        over distance bins into its expected value, in stride units, so it is part
        of the box arithmetic, not a trained layer. The head's other convolutions
        stay quantizable.
        """
        return nodes_after_weighted_layers(model, passes_through=_is_dfl_convolution)


def _is_dfl_convolution(node, producers: dict) -> bool:
    """Return True for a Conv whose input comes straight from a Softmax (the DFL expectation)."""
    source = producers.get(node.input[0])
    return node.op_type == "Conv" and source is not None and source.op_type == "Softmax"
