"""Shared fixtures: paths to the pretrained test models and photos, and small synthetic models."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# Pretrained models and photos live outside the repository (their licenses forbid shipping
# some of them); VISION_EXPORT_TEST_DATA points at that folder, default: ../shared.
TEST_DATA = Path(os.environ.get("VISION_EXPORT_TEST_DATA", REPO.parent / "shared"))
MODELS = TEST_DATA / "models"
PHOTOS = TEST_DATA / "images"
EXAMPLES = REPO / "examples"


def _require(path: Path) -> Path:
    if path.exists():
        return path
    message = f"test data {path} not found: set VISION_EXPORT_TEST_DATA to the folder with models/ and images/"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI must never silently skip the real-model tests
    pytest.skip(message)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return _require(MODELS)


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    return _require(PHOTOS)


def make_image_model(path: Path, output_shapes: dict[str, list[int]], input_shape=(1, 3, 64, 64), metadata=None, opset=17) -> Path:
    """Write a tiny ONNX model whose outputs are constants of the given shapes (values 0.5).

    The image input feeds a ReduceMean so the graph stays connected; outputs do not
    depend on it. Good for testing inspection, resolution and error paths.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    nodes.append(helper.make_node("ReduceMean", ["images"], ["pooled"], keepdims=0))
    outputs_info = []
    for name, shape in output_shapes.items():
        const = numpy_helper.from_array(np.full(shape, 0.5, dtype=np.float32), name=f"{name}_value")
        initializers.append(const)
        nodes.append(helper.make_node("Identity", [f"{name}_value"], [name]))
        outputs_info.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(nodes, "synthetic", [image], outputs_info, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_yolov8(tmp_path: Path) -> Path:
    """A synthetic YOLOv8-layout model with 2 classes and Ultralytics metadata."""
    return make_image_model(
        tmp_path / "tiny_yolov8.onnx",
        {"output0": [1, 6, 84]},
        metadata={"names": "{0: 'scratch', 1: 'dent'}", "stride": "32", "imgsz": "[64, 64]", "task": "detect"},
    )
