"""Read an ONNX model's description of itself: inputs, outputs, opset, metadata, operators."""

from __future__ import annotations

import ast
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidModelError

logger = logging.getLogger(__name__)

ONNX_ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 10: "float16", 11: "float64"}


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output. Dimensions are ints, or strings for symbolic ones."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str

    def describe(self) -> str:
        dims = ", ".join(str(d) for d in self.shape)
        return f"{self.name} [{dims}] {self.dtype}"


@dataclass(frozen=True)
class ModelInfo:
    """What the exporter needs to know about a model before resolving the contract."""

    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opset: int
    ir_version: int
    producer: str
    metadata: dict[str, str] = field(default_factory=dict)
    # Operator types used in the graph, with counts.
    operators: dict[str, int] = field(default_factory=dict)
    # Element types of the initializers (weights), sorted.
    weight_dtypes: tuple[str, ...] = ()

    @property
    def quantization(self) -> str:
        """Return 'int8-dynamic', 'int8-static', 'fp16' or 'none', read from the operators."""
        if "DynamicQuantizeLinear" in self.operators:
            return "int8-dynamic"
        if {"QuantizeLinear", "QLinearConv", "QLinearMatMul"} & set(self.operators):
            return "int8-static"
        if self.operators.get("Cast") and any(t.dtype == "float16" for t in self.inputs + self.outputs):
            return "fp16"
        if self.operators.get("Cast") and "float16" in self.weight_dtypes:
            return "fp16"  # converted with float32 inputs and outputs kept
        return "none"

    @property
    def image_input(self) -> TensorInfo:
        return find_image_input(self)

    def describe_io(self) -> str:
        ins = "; ".join(t.describe() for t in self.inputs)
        outs = "; ".join(t.describe() for t in self.outputs)
        return f"inputs: {ins}. outputs: {outs}"

    def output(self, name: str) -> TensorInfo:
        for tensor in self.outputs:
            if tensor.name == name:
                return tensor
        raise KeyError(name)


def load_onnx(path: Path):
    """Load an ONNX ModelProto, turning every loader failure into one clear error."""
    import onnx

    path = Path(path)
    if not path.exists():
        raise InvalidModelError(f"model file {str(path)!r} not found: check the path")
    if path.is_dir():
        raise InvalidModelError(f"model path {str(path)!r} is a folder: give the .onnx file inside it")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, ValueError and OSError subclasses
        raise InvalidModelError(
            f"model file {str(path)!r} could not be read as ONNX ({type(exc).__name__}): "
            "check that it is a complete .onnx file, not truncated or another format"
        ) from exc
    if len(model.graph.node) == 0 or len(model.graph.output) == 0:
        raise InvalidModelError(
            f"model file {str(path)!r} contains no ONNX graph: check that it is a complete .onnx file"
        )
    return model


def _tensor_info(value_info) -> TensorInfo:
    tensor_type = value_info.type.tensor_type
    dims: list[int | str] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    dtype = ONNX_ELEMENT_TYPES.get(tensor_type.elem_type, f"type{tensor_type.elem_type}")
    return TensorInfo(value_info.name, tuple(dims), dtype)


def inspect_model(path: Path) -> ModelInfo:
    """Inspect an ONNX file, or a TensorFlow SavedModel folder or Keras file (through the TF.js tools)."""
    from .reference.runners import model_format

    path = Path(path)
    if model_format(path) == "onnx":
        return inspect_onnx_model(path)
    if not path.exists():
        raise InvalidModelError(f"model file {str(path)!r} not found: check the path")
    return inspect_tensorflow_model(path)


def inspect_tensorflow_model(path: Path) -> ModelInfo:
    """Read a SavedModel's or Keras model's serving signature in the TF.js tool environment."""
    import json

    from .toolenv import TFJS_TOOLS

    result = TFJS_TOOLS.run("tfjs_tool.py", ["inspect", str(path)], timeout=600)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        raise InvalidModelError(f"TensorFlow could not load {str(path)!r}: {lines[-1] if lines else 'no message'}")
    found = json.loads(result.stdout.strip().splitlines()[-1])

    def tensor(item: dict) -> TensorInfo:
        # Keras signatures leave the batch open; the bundle always runs one image at a time.
        shape = list(item["shape"])
        if shape and shape[0] == "?":
            shape[0] = 1
        return TensorInfo(item["name"], tuple(shape), item["dtype"])

    info = ModelInfo(
        path=path,
        inputs=tuple(tensor(t) for t in found["inputs"]),
        outputs=tuple(tensor(t) for t in found["outputs"]),
        opset=0,
        ir_version=0,
        producer=found["producer"],
    )
    find_image_input(info)
    return info


def inspect_onnx_model(path: Path) -> ModelInfo:
    """Inspect an ONNX file. Initializers listed as graph inputs (old exporters) are skipped."""
    model = load_onnx(path)
    initializer_names = {init.name for init in model.graph.initializer}
    inputs = tuple(_tensor_info(v) for v in model.graph.input if v.name not in initializer_names)
    outputs = tuple(_tensor_info(v) for v in model.graph.output)
    opset = next((op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), 0)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    info = ModelInfo(
        path=Path(path),
        inputs=inputs,
        outputs=outputs,
        opset=int(opset),
        ir_version=int(model.ir_version),
        producer=f"{model.producer_name} {model.producer_version}".strip(),
        metadata=metadata,
        operators=dict(Counter(node.op_type for node in model.graph.node)),
        weight_dtypes=tuple(sorted({ONNX_ELEMENT_TYPES.get(init.data_type, f"type{init.data_type}") for init in model.graph.initializer})),
    )
    find_image_input(info)
    return info


def find_image_input(info: ModelInfo) -> TensorInfo:
    """Return the single 4-D float input with 1 or 3 channels, in NCHW or NHWC."""
    candidates = [t for t in info.inputs if len(t.shape) == 4 and t.dtype in ("float32", "float16")]
    candidates = [t for t in candidates if t.shape[1] in (1, 3) or t.shape[3] in (1, 3)]
    if len(info.inputs) != 1 or len(candidates) != 1:
        raise InvalidModelError(
            f"model {str(info.path)!r} has no single image input (a 4-D float tensor with 3 channels, "
            f"NCHW or NHWC); {info.describe_io()}. Export the model with one image input"
        )
    return candidates[0]


def input_layout(tensor: TensorInfo) -> str:
    """Return ``NCHW`` or ``NHWC`` for a 4-D image input."""
    return "NCHW" if tensor.shape[1] in (1, 3) else "NHWC"


def input_hw(tensor: TensorInfo) -> tuple[int | str, int | str]:
    """Return (height, width) of an image input; symbolic dims stay strings."""
    if input_layout(tensor) == "NCHW":
        return tensor.shape[2], tensor.shape[3]
    return tensor.shape[1], tensor.shape[2]


def metadata_labels(metadata: dict[str, str]) -> list[str] | None:
    """Read Ultralytics-style ``names`` (a Python dict or list literal) as a label list."""
    raw = metadata.get("names")
    if not raw:
        return None
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        logger.warning("ignoring metadata 'names': not a Python literal")
        return None
    if isinstance(names, dict):
        try:
            ordered = sorted((int(k), str(v)) for k, v in names.items())
        except (TypeError, ValueError):
            return None
        if [k for k, _ in ordered] != list(range(len(ordered))):
            logger.warning("ignoring metadata 'names': class ids are not 0..N-1")
            return None
        return [v for _, v in ordered]
    if isinstance(names, (list, tuple)):
        return [str(v) for v in names]
    return None


def metadata_imgsz(metadata: dict[str, str]) -> tuple[int, int] | None:
    """Read Ultralytics-style ``imgsz`` as (height, width)."""
    raw = metadata.get("imgsz")
    if not raw:
        return None
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, int):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    return None
