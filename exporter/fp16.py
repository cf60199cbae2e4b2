"""Convert a float32 ONNX model to float16, keeping what must stay float32.

The conversion is ``onnxconverter_common.float16.convert_float_to_float16`` with
float32 graph inputs and outputs. Three groups of nodes are kept float32 on top
of the converter's own block list (Resize, Range, TopK, NonMaxSuppression, ...):

- the arithmetic that computes shapes, sizes, scales and indices (the inputs
  listed in :data:`SHAPE_INPUTS`, walked back to their ``Shape`` reads): onnxruntime
  rejects a float16 Resize ``scales`` input, and float16 represents integers
  exactly only up to 2048;
- ``Cast`` nodes that produce float32, because the converter retypes their output
  to float16 without changing the node, and onnxruntime then rejects the model;
- the caller's nodes (a head's decode and the user's exclusions).

The converter runs a kept node between float16 casts. Two of its rough edges are
handled here: a kept node that writes a graph output makes its cast clean-up raise
ValueError, so such an output gets an Identity first, and a chain of kept nodes
passes through float16 between nodes, which :func:`bypass_float16_round_trips` undoes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Iterable

from .onnx_graph import SHAPE_READERS, walk_back

logger = logging.getLogger(__name__)

FLOAT32 = 1
FLOAT16 = 10

# Inputs, by operator and input index, that carry shapes, sizes, scales, axes or indices.
SHAPE_INPUTS = {
    "Reshape": (1,),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Expand": (1,),
    "Tile": (1,),
    "Slice": (1, 2, 3, 4),
    "ConstantOfShape": (0,),
    "Range": (0, 1, 2),
    "Pad": (1, 3),
    "TopK": (1,),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Split": (1,),
    "OneHot": (1,),
    "Gather": (1,),
    "GatherElements": (1,),
    "ScatterND": (1,),
    "NonMaxSuppression": (2, 3, 4),
}


def shape_computation_nodes(model) -> list[str]:
    """Return the nodes that compute the inputs listed in :data:`SHAPE_INPUTS`, in graph order.

    Shape and Size nodes are left out: they output int64 whatever their input's
    type, and keeping them float32 would cast a whole feature map to read its shape.
    """
    graph = model.graph
    starts = [
        node.input[index]
        for node in graph.node
        for index in SHAPE_INPUTS.get(node.op_type, ())
        if index < len(node.input) and node.input[index]
    ]
    readers = {node.name for node in graph.node if node.op_type in SHAPE_READERS}
    return [name for name in walk_back(graph, starts, stop=lambda node: False) if name not in readers]


def float32_casts(model) -> list[str]:
    """Return the Cast nodes whose ``to`` is float32."""
    return [node.name for node in model.graph.node if node.op_type == "Cast" and _cast_target(node) == FLOAT32]


def convert_to_float16(model, keep_float32: Iterable[str]):
    """Return ``model`` with float16 weights and activations; ``keep_float32`` names nodes kept float32.

    Shape arithmetic and float32 casts are kept float32 whether listed or not.
    Raises ValueError when the converter rejects the graph.
    """
    from onnxconverter_common.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    kept = set(keep_float32) | set(shape_computation_nodes(model)) | set(float32_casts(model))
    _separate_kept_outputs(model, kept)
    # Some exporters write two value_info entries for one tensor. The converter retypes only
    # the first, and onnxruntime rejects the model because of the stale float32 one. The
    # converter runs shape inference itself, so dropping them all loses nothing.
    del model.graph.value_info[:]
    converted = convert_float_to_float16(
        model,
        keep_io_types=True,
        op_block_list=list(DEFAULT_OP_BLOCK_LIST),
        node_block_list=sorted(kept),
    )
    bypassed = bypass_float16_round_trips(converted.graph)
    _drop_stale_value_info(converted.graph)
    logger.info("float16: %d nodes kept float32, %d float16 round trips removed", len(kept), bypassed)
    return converted


def _separate_kept_outputs(model, kept: set[str]) -> None:
    """Put an Identity between each kept node and the graph output it writes."""
    from onnx import helper

    graph = model.graph
    outputs = {output.name for output in graph.output}
    for node in list(graph.node):
        if node.name not in kept:
            continue
        for index, name in enumerate(node.output):
            if name in outputs:
                inner = f"{name}_float32"
                node.output[index] = inner
                graph.node.append(helper.make_node("Identity", [inner], [name], name=f"{name}_output_identity"))


def bypass_float16_round_trips(graph) -> int:
    """Remove the float16 step of Cast(float16) -> Identity... -> Cast(any other type) chains; return how many.

    The first cast and every cast to float32 become Identity nodes, and casts to
    other types (int64 in shape arithmetic) read the float32 value. A kept node's
    output then reaches the next kept node, an integer cast or a graph output
    without float16 rounding.
    """
    consumers = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    graph_outputs = {output.name for output in graph.output}
    value_infos = {info.name: info for info in graph.value_info}
    bypassed = 0
    for node in list(graph.node):
        if node.op_type != "Cast" or _cast_target(node) != FLOAT16:
            continue
        tensors, ends = _follow_identities(node.output[0], consumers)
        if not ends or any(end.op_type != "Cast" or _cast_target(end) == FLOAT16 for end in ends):
            continue
        if any(tensor in graph_outputs for tensor in tensors):
            continue
        for cast in (node, *[end for end in ends if _cast_target(end) == FLOAT32]):
            cast.op_type = "Identity"
            del cast.attribute[:]
        for tensor in tensors:
            if tensor in value_infos:
                value_infos[tensor].type.tensor_type.elem_type = FLOAT32
        bypassed += 1
    return bypassed


def _drop_stale_value_info(graph) -> None:
    """Remove value_info entries of tensors that no node outputs any more (the converter leaves them behind)."""
    produced = {name for node in graph.node for name in node.output}
    kept = [info for info in graph.value_info if info.name in produced]
    del graph.value_info[:]
    graph.value_info.extend(kept)


def _follow_identities(tensor: str, consumers) -> tuple[list[str], list]:
    """Return the tensors reached from ``tensor`` through Identity nodes, and the other nodes that read them."""
    tensors, ends, pending = [], [], [tensor]
    while pending:
        name = pending.pop()
        tensors.append(name)
        for reader in consumers.get(name, []):
            if reader.op_type == "Identity":
                pending.append(reader.output[0])
            else:
                ends.append(reader)
    return tensors, ends


def _cast_target(node) -> int | None:
    return next((attribute.i for attribute in node.attribute if attribute.name == "to"), None)
