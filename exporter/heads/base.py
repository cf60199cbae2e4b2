"""Head-kind base class and registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import Registry
from ..inspection import ModelInfo
from ..onnx_graph import nodes_after_weighted_layers

HEADS: Registry["HeadKind"] = Registry("head kind")


@dataclass
class Decoded:
    """Raw outputs turned into candidates, all in model-input pixels.

    ``scores`` is [N, C] per-class scores, or [N] when the head already chose a
    class per row, in which case ``class_ids`` [N] is set. ``keypoints`` is
    [N, K, 2] (x, y) for heads that predict landmarks.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray | None = None
    class_ids: np.ndarray | None = None


@dataclass(frozen=True)
class Binding:
    """A head kind fitted to one model: output names per role, parameters, class count."""

    outputs: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 0


class HeadKind:
    """One detector output family.

    Subclasses set ``name`` and ``description`` and implement :meth:`bind` and
    :meth:`decode`. ``decode`` returns float32 xyxy boxes [N, 4] and scores.
    ``applies_nms`` is False for heads whose graph already ran NMS.
    """

    name: str = ""
    description: str = ""
    applies_nms: bool = True

    def bind(self, info: ModelInfo, input_hw: tuple[int, int], num_labels: int | None, params: dict[str, Any]) -> Binding:
        """Match this head kind to the model's outputs; return None when the shapes do not fit."""
        raise NotImplementedError

    def recognizes(self, info: ModelInfo) -> bool:
        """Return True when the model file identifies this head (no preset needed)."""
        return False

    def decode(self, outputs: dict[str, np.ndarray], params: dict[str, Any], input_hw: tuple[int, int]) -> Decoded:
        raise NotImplementedError

    def decode_nodes(self, model) -> list[str]:
        """Return the names of the graph nodes that decode the head's outputs, which ``--quantize`` keeps float.

        The default is every node between the last weighted layers (Conv,
        ConvTranspose, MatMul, Gemm with constant weights) and the graph outputs:
        reshapes, activations, box arithmetic and in-graph NMS. Their values are
        pixel coordinates and scores that one int8 scale per tensor cannot represent.
        """
        return nodes_after_weighted_layers(model)


def register_head(cls: type[HeadKind]) -> type[HeadKind]:
    """Class decorator that adds one instance of ``cls`` to :data:`HEADS`."""
    instance = cls()
    HEADS.add(instance.name, instance)
    return cls


def get_head(name: str) -> HeadKind:
    return HEADS.lookup(name)


def static_dims(shape: tuple[int | str, ...]) -> tuple[int, ...] | None:
    """Return the shape when every dimension is a number, else None."""
    return tuple(shape) if all(isinstance(d, int) for d in shape) else None


def single_output(info: ModelInfo, rank: int) -> tuple[str, tuple[int, ...]] | None:
    """Return (name, static shape) of the model's only output when it has ``rank`` dims."""
    if len(info.outputs) != 1:
        return None
    shape = static_dims(info.outputs[0].shape)
    if shape is None or len(shape) != rank or shape[0] != 1:
        return None
    return info.outputs[0].name, shape


