"""Small ONNX detectors with an upsampling Resize, and images to run them on, for the quantization tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_SIZE = 32
CLASSES = 2
# How the Resize gets its factor: a constant ``scales`` initializer, a Constant node, or
# ``sizes`` computed in float from the feature map's shape (Shape -> Cast -> Mul -> Cast).
# With the last form, the converter's default float16 conversion does not load in onnxruntime.
RESIZE_FORMS = ("scales-initializer", "scales-constant-node", "sizes-from-shape")


def _resize_nodes(form: str, helper, numpy_helper) -> tuple[list, list]:
    """Return (nodes, initializers) that upsample ``features`` by 2 into ``upsampled``."""
    if form == "scales-initializer":
        scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
        return [helper.make_node("Resize", ["features", "", "scales"], ["upsampled"], mode="nearest", name="upsample")], [scales]
    if form == "scales-constant-node":
        return [
            helper.make_node("Constant", [], ["scales"], value=numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32)), name="scales"),
            helper.make_node("Resize", ["features", "", "scales"], ["upsampled"], mode="nearest", name="upsample"),
        ], []
    if form == "sizes-from-shape":
        constants = [
            numpy_helper.from_array(np.array([0], np.int64), "batch_start"),
            numpy_helper.from_array(np.array([2], np.int64), "hw_start"),
            numpy_helper.from_array(np.array([4], np.int64), "hw_end"),
            numpy_helper.from_array(np.array([2.0], np.float32), "factor"),
        ]
        return [
            helper.make_node("Shape", ["features"], ["feature_shape"], name="feature_shape"),
            helper.make_node("Slice", ["feature_shape", "batch_start", "hw_start"], ["batch_channels"], name="batch_channels"),
            helper.make_node("Slice", ["feature_shape", "hw_start", "hw_end"], ["hw"], name="hw"),
            helper.make_node("Cast", ["hw"], ["hw_float"], to=1, name="hw_float"),
            helper.make_node("Mul", ["hw_float", "factor"], ["hw_scaled"], name="hw_scaled"),
            helper.make_node("Cast", ["hw_scaled"], ["hw_int"], to=7, name="hw_int"),
            helper.make_node("Concat", ["batch_channels", "hw_int"], ["sizes"], axis=0, name="sizes"),
            helper.make_node("Resize", ["features", "", "", "sizes"], ["upsampled"], mode="nearest", name="upsample"),
        ], constants
    raise ValueError(f"unknown resize form {form!r}")


def make_resize_detector(path: Path, form: str = "scales-initializer", seed: int = 0) -> Path:
    """Write Conv (stride 2) -> Resize (nearest, x2) -> Conv -> YOLOv8-style output [1, 4 + 2, 32 * 32].

    Box channels are sigmoid * 32 px, score channels sigmoids, so the model
    yields detections with any weights. Ultralytics metadata makes the yolov8 head
    kind recognise it without flags.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    channels = 4 + CLASSES
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32), "conv1_weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "conv1_bias"),
        numpy_helper.from_array(rng.normal(0, 0.15, (channels, 8, 3, 3)).astype(np.float32), "conv2_weight"),
        # Negative score biases keep most cells below the score threshold, so NMS gets few ties.
        numpy_helper.from_array(np.array([0.0] * 4 + [-1.0] * CLASSES, np.float32), "conv2_bias"),
        numpy_helper.from_array(np.array([INPUT_SIZE] * 4 + [1] * CLASSES, np.float32).reshape(1, channels, 1, 1), "channel_scale"),
        numpy_helper.from_array(np.array([1, channels, INPUT_SIZE * INPUT_SIZE], np.int64), "output_shape"),
    ]
    resize, resize_initializers = _resize_nodes(form, helper, numpy_helper)
    nodes = [
        helper.make_node("Conv", ["images", "conv1_weight", "conv1_bias"], ["conv1"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv1"),
        helper.make_node("Relu", ["conv1"], ["features"], name="relu1"),
        *resize,
        helper.make_node("Conv", ["upsampled", "conv2_weight", "conv2_bias"], ["conv2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Sigmoid", ["conv2"], ["activated"], name="activate"),
        helper.make_node("Mul", ["activated", "channel_scale"], ["scaled"], name="scale"),
        helper.make_node("Reshape", ["scaled", "output_shape"], ["output0"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes,
        "resize_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, channels, INPUT_SIZE * INPUT_SIZE])],
        initializer=initializers + resize_initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    metadata = {"names": "{0: 'ring', 1: 'square'}", "stride": "32", "imgsz": f"[{INPUT_SIZE}, {INPUT_SIZE}]", "task": "detect"}
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_shape_images(folder: Path, count: int = 4, seed: int = 0) -> Path:
    """Write ``count`` PNG images of filled rectangles and ellipses on noise; return the folder."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = int(rng.integers(0, 40)), int(rng.integers(0, 24))
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape([x, y, x + int(rng.integers(8, 24)), y + int(rng.integers(8, 24))], fill=colour)
        image.save(folder / f"shapes_{index}.png")
    return folder
