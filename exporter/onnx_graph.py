"""Queries on an ONNX graph's structure: producers, consumers and backward walks.

The quantizers use these to find the nodes that must stay float: a head's decode
and the arithmetic that computes shapes and scales.
"""

from __future__ import annotations

from typing import Callable, Iterable

# Operators whose weight input (index 1) makes them a trained layer.
WEIGHTED_OPERATORS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
# Operators that read only their input's shape, so a backward walk stops there.
SHAPE_READERS = frozenset({"Shape", "Size"})


def producers(graph) -> dict[str, object]:
    """Map each tensor name to the node that outputs it (graph inputs and initializers have none)."""
    return {output: node for node in graph.node for output in node.output if output}


def constant_names(graph) -> set[str]:
    """Return the names of initializers and Constant-node outputs."""
    names = {initializer.name for initializer in graph.initializer}
    names.update(node.output[0] for node in graph.node if node.op_type == "Constant")
    return names


def is_weighted_layer(node, constants: set[str]) -> bool:
    """Return True for a Conv, ConvTranspose, MatMul or Gemm whose weight is a constant tensor."""
    return node.op_type in WEIGHTED_OPERATORS and len(node.input) > 1 and node.input[1] in constants


def walk_back(graph, start: Iterable[str], stop: Callable[[object], bool]) -> list[str]:
    """Return the names of nodes that produce ``start`` tensors, transitively, in graph order.

    A node for which ``stop(node)`` is True is neither returned nor walked
    through. Shape and Size nodes are returned but their input is not followed,
    because they read only a shape.
    """
    by_output = producers(graph)
    found: set[int] = set()
    pending = [name for name in start if name in by_output]
    while pending:
        node = by_output[pending.pop()]
        if id(node) in found or stop(node):
            continue
        found.add(id(node))
        if node.op_type not in SHAPE_READERS:
            pending.extend(name for name in node.input if name in by_output)
    return [node.name for node in graph.node if id(node) in found]


def nodes_after_weighted_layers(model, passes_through: Callable[[object, dict], bool] | None = None) -> list[str]:
    """Return the nodes between the last weighted layers and the graph outputs, in graph order.

    The walk starts at the graph outputs and stops at each weighted layer (see
    :func:`is_weighted_layer`), unless ``passes_through(node, producers)`` is
    True for it, in which case that layer is returned and walked through.
    """
    graph = model.graph
    constants = constant_names(graph)
    by_output = producers(graph)

    def stop(node) -> bool:
        if not is_weighted_layer(node, constants):
            return False
        return passes_through is None or not passes_through(node, by_output)

    return walk_back(graph, [output.name for output in graph.output], stop)


def name_unnamed_nodes(model) -> int:
    """Give every unnamed node a unique name (``{op_type}_{index}``); return how many were named.

    The quantizers select nodes to keep float by name, so every node needs one.
    """
    taken = {node.name for node in model.graph.node if node.name}
    named = 0
    for index, node in enumerate(model.graph.node):
        if node.name:
            continue
        name = f"{node.op_type}_{index}"
        while name in taken:
            name += "_"
        node.name = name
        taken.add(name)
        named += 1
    return named
