"""Quantization: the mAP function, float16 conversion, nodes kept float, and export failures."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exporter import quantize as quantize_module
from exporter.bundle import export_web
from exporter.cli import main
from exporter.errors import ConfigError, QuantizationError
from exporter.heads import HEADS, get_head
from exporter.inspection import inspect_model
from exporter.quant_eval import DetectionSet, average_precision, match_to_reference, mean_average_precision, score_images
from exporter.quantize import REPORT_FILENAME, QuantizeOptions
from model_catalog import CATALOG
from quant_models import RESIZE_FORMS, make_resize_detector, write_shape_images


def detections(*rows) -> DetectionSet:
    """Build a DetectionSet from (x1, y1, x2, y2, score, class_id) rows."""
    rows = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return DetectionSet.from_arrays(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64))


@pytest.fixture(scope="module")
def shape_images(tmp_path_factory) -> Path:
    return write_shape_images(tmp_path_factory.mktemp("shapes"))


@pytest.fixture
def resize_detector(tmp_path) -> Path:
    return make_resize_detector(tmp_path / "resize_detector.onnx")


# ---------------------------------------------------------------- AP and mAP

AP_CASES = [
    # (name, recall, precision, expected AP)
    ("perfect", [1.0], [1.0], 1.0),
    ("no candidates", [], [], 0.0),
    ("half recall", [0.5], [1.0], 0.5),
    # TP, FP, TP with 2 references: the envelope lifts the 0.5 precision point to 0.667.
    ("tp fp tp", [0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3], 0.5 * 1.0 + 0.5 * 2 / 3),
    # FP first: precision 0 at recall 0, then 0.5 at recall 1.
    ("fp then tp", [0.0, 1.0], [0.0, 0.5], 0.5),
    # Trailing false positives do not lower all-point AP.
    ("tp then fp", [1.0, 1.0], [1.0, 0.5], 1.0),
]


@pytest.mark.parametrize("name, recall, precision, expected", AP_CASES, ids=[case[0] for case in AP_CASES])
def test_average_precision(name, recall, precision, expected):
    assert average_precision(np.array(recall), np.array(precision)) == pytest.approx(expected)


BOX_A = (0, 0, 10, 10)
BOX_B = (20, 20, 40, 40)
# IoU with BOX_A exactly 0.5: 10x10 against a 10x5 box inside it.
BOX_A_HALF = (0, 0, 10, 5)
BOX_FAR = (100, 100, 110, 110)

MAP_CASES = [
    # (name, references per image, candidates per image, expected mAP)
    ("identical", [[(*BOX_A, 0.9, 0), (*BOX_B, 0.8, 1)]], [[(*BOX_A, 0.9, 0), (*BOX_B, 0.8, 1)]], 1.0),
    ("one of two missed", [[(*BOX_A, 0.9, 0), (*BOX_B, 0.8, 0)]], [[(*BOX_A, 0.9, 0)]], 0.5),
    ("higher-scored false positive", [[(*BOX_A, 0.9, 0)]], [[(*BOX_FAR, 0.95, 0), (*BOX_A, 0.8, 0)]], 0.5),
    ("lower-scored false positive", [[(*BOX_A, 0.9, 0)]], [[(*BOX_A, 0.8, 0), (*BOX_FAR, 0.7, 0)]], 1.0),
    ("wrong class", [[(*BOX_A, 0.9, 0)]], [[(*BOX_A, 0.9, 1)]], 0.0),
    ("one class of two lost", [[(*BOX_A, 0.9, 0), (*BOX_B, 0.8, 1)]], [[(*BOX_A, 0.9, 0)]], 0.5),
    ("class without reference ignored", [[(*BOX_A, 0.9, 0)]], [[(*BOX_A, 0.9, 0), (*BOX_B, 0.9, 5)]], 1.0),
    ("duplicate is a false positive", [[(*BOX_A, 0.9, 0)]], [[(*BOX_A, 0.6, 0), (*BOX_A, 0.9, 0)]], 1.0),
    ("iou exactly 0.5 matches", [[(*BOX_A, 0.9, 0)]], [[(*BOX_A_HALF, 0.9, 0)]], 1.0),
    # Pooled over images: the false positive in image 2 outranks the true positive in image 1,
    # so recall 0.5 is reached at precision 0.5.
    ("across images", [[(*BOX_A, 0.9, 0)], [(*BOX_B, 0.9, 0)]], [[(*BOX_A, 0.5, 0)], [(*BOX_FAR, 0.9, 0)]], 0.25),
    ("empty image", [[(*BOX_A, 0.9, 0)], []], [[(*BOX_A, 0.9, 0)], []], 1.0),
]


@pytest.mark.parametrize("name, references, candidates, expected", MAP_CASES, ids=[case[0] for case in MAP_CASES])
def test_mean_average_precision(name, references, candidates, expected):
    result, per_class = mean_average_precision(
        [detections(*image) for image in references], [detections(*image) for image in candidates]
    )
    assert result == pytest.approx(expected)
    assert set(per_class) == {int(row[5]) for image in references for row in image}


def test_mean_average_precision_without_references():
    assert mean_average_precision([detections()], [detections((*BOX_A, 0.9, 0))]) == (None, {})


def test_match_takes_best_iou_in_score_order():
    reference = detections((0, 0, 10, 10, 0.9, 0), (0, 0, 12, 12, 0.8, 0))
    # The first candidate overlaps both references; it takes the one with the higher IoU.
    candidates = detections((0, 0, 12, 12, 0.95, 0), (0, 0, 10, 10, 0.5, 0))
    assert match_to_reference(reference, candidates).tolist() == [1, 0]


def test_score_images_counts():
    references = [detections((*BOX_A, 0.9, 0), (*BOX_B, 0.3, 1))]
    candidates = [detections((*BOX_A, 0.7, 0), (*BOX_B, 0.2, 1), (*BOX_FAR, 0.6, 0))]
    report = score_images(["photo.jpg"], references, candidates, score_threshold=0.25, labels=["a", "b"])
    image = report.images[0]
    assert (image.reference_count, image.quantized_count, image.matched) == (2, 2, 1)
    assert (image.strong_reference, image.strong_matched) == (1, 1)
    assert report.recall == pytest.approx(0.5)
    assert report.precision == pytest.approx(0.5)
    assert report.max_score_shift == pytest.approx(0.2)
    # The 0.2 candidate is below the bundle's threshold but still counts for AP (class b AP 1, not 0),
    # and the trailing false positive does not lower class a's AP.
    assert report.map50 == pytest.approx(1.0)
    assert set(report.ap_per_class) == {"a", "b"}


# ---------------------------------------------------------------- float16


@pytest.mark.parametrize("form", RESIZE_FORMS)
def test_fp16_resize_model_runs(tmp_path, form):
    import onnx
    import onnxruntime as ort

    from exporter.fp16 import convert_to_float16

    path = make_resize_detector(tmp_path / "float.onnx", form)
    converted = convert_to_float16(onnx.load(str(path)), keep_float32=[])
    onnx.save(converted, str(tmp_path / "fp16.onnx"))

    image = np.random.default_rng(1).random((1, 3, 32, 32), dtype=np.float32)
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": image})[0]
    session = ort.InferenceSession(str(tmp_path / "fp16.onnx"), providers=["CPUExecutionProvider"])
    result = session.run(None, {"images": image})[0]
    assert session.get_inputs()[0].type == "tensor(float)"
    assert session.get_outputs()[0].type == "tensor(float)"
    assert result.shape == expected.shape
    assert np.max(np.abs(result - expected)) < 0.05  # boxes are 0..32 px, scores 0..1
    weights = {init.name: init.data_type for init in converted.graph.initializer}
    assert weights["conv2_weight"] == onnx.TensorProto.FLOAT16
    assert inspect_model(tmp_path / "fp16.onnx").quantization == "fp16"


def test_fp16_keeps_resize_inputs_float32(tmp_path):
    import onnx

    from exporter.fp16 import convert_to_float16, shape_computation_nodes

    model = onnx.load(str(make_resize_detector(tmp_path / "float.onnx", "sizes-from-shape")))
    assert set(shape_computation_nodes(model)) == {"batch_channels", "hw", "hw_float", "hw_scaled", "hw_int", "sizes"}
    converted = convert_to_float16(model, keep_float32=[])
    inferred = onnx.shape_inference.infer_shapes(converted)
    types = {info.name: info.type.tensor_type.elem_type for info in inferred.graph.value_info}
    nodes = {node.name: node for node in converted.graph.node}
    # The float shape arithmetic stays float32 up to the int64 cast, so 2 * height is exact.
    assert types[nodes["hw_float"].output[0]] == onnx.TensorProto.FLOAT
    assert types[nodes["hw_scaled"].output[0]] == onnx.TensorProto.FLOAT
    assert types[nodes["hw_int"].input[0]] == onnx.TensorProto.FLOAT
    # The shape is read from the float16 feature map, not from a float32 copy of it.
    assert types[nodes["feature_shape"].input[0]] == onnx.TensorProto.FLOAT16
    # The converter runs Resize in float32.
    assert types[nodes["upsample"].input[0]] == onnx.TensorProto.FLOAT


def test_fp16_kept_node_writing_graph_output(tmp_path):
    """A kept node that writes a graph output stays float32 up to the output, with no float16 step."""
    import onnx
    import onnxruntime as ort

    from exporter.fp16 import convert_to_float16
    from exporter.onnx_graph import producers

    path = make_resize_detector(tmp_path / "float.onnx")
    converted = convert_to_float16(onnx.load(str(path)), keep_float32=["scale", "flatten"])
    onnx.save(converted, str(tmp_path / "fp16.onnx"))
    image = np.random.default_rng(2).random((1, 3, 32, 32), dtype=np.float32)
    result = ort.InferenceSession(str(tmp_path / "fp16.onnx"), providers=["CPUExecutionProvider"]).run(None, {"images": image})[0]
    assert result.dtype == np.float32

    by_output = producers(converted.graph)
    path_to_output, node = [], by_output["output0"]
    while node.name != "scale":
        path_to_output.append(node)
        node = by_output[node.input[0]]
    assert [node.name for node in path_to_output if node.name == "flatten"] == ["flatten"]
    assert not [node.name for node in path_to_output if node.op_type == "Cast"]


# ---------------------------------------------------------------- nodes kept float


def test_yolov8_decode_nodes(models_dir):
    import onnx

    model = onnx.load(str(models_dir / "yolov8n/yolov8n.onnx"))
    decode = get_head("yolov8").decode_nodes(model)
    assert len(decode) == 24
    for name in ("/model.22/dfl/Softmax", "/model.22/dfl/conv/Conv", "/model.22/Sigmoid", "/model.22/Concat_3", "/model.22/Mul_2"):
        assert name in decode
    # The head's trained convolutions and the backbone stay quantizable.
    assert "/model.22/cv2.0/cv2.0.2/Conv" not in decode
    assert "/model.22/cv3.2/cv3.2.2/Conv" not in decode
    assert not any(name.startswith("/model.21/") for name in decode)


def test_generic_decode_stops_at_dfl_convolution(models_dir):
    import onnx

    from exporter.heads.base import HeadKind

    model = onnx.load(str(models_dir / "yolov8n/yolov8n.onnx"))
    generic = HeadKind().decode_nodes(model)
    assert "/model.22/dfl/conv/Conv" not in generic
    assert "/model.22/Concat_3" in generic
    assert set(generic) < set(get_head("yolov8").decode_nodes(model))


@pytest.mark.parametrize("entry", [model for model in CATALOG if model.key != "yolov8n-int8"], ids=lambda model: model.key)
def test_decode_nodes_per_head_kind(models_dir, entry):
    """Every head kind keeps a non-empty decode float and no trained layer but the DFL expectation."""
    import onnx

    from exporter.onnx_graph import constant_names, is_weighted_layer, name_unnamed_nodes, producers

    model = onnx.load(str(models_dir / entry.path))
    name_unnamed_nodes(model)
    decode = set(HEADS[entry.head].decode_nodes(model))
    assert decode
    graph_outputs = {output.name for output in model.graph.output}
    assert any(set(node.output) & graph_outputs for node in model.graph.node if node.name in decode)
    constants, by_output = constant_names(model.graph), producers(model.graph)
    weighted = [node for node in model.graph.node if node.name in decode and is_weighted_layer(node, constants)]
    assert all(by_output[node.input[0]].op_type == "Softmax" for node in weighted)


def test_decode_walk_reads_shape_without_following(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from exporter.onnx_graph import nodes_after_weighted_layers

    weight = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "weight")
    nodes = [
        helper.make_node("Relu", ["images"], ["backbone"], name="backbone"),
        helper.make_node("Conv", ["backbone", "weight"], ["head"], name="head_conv"),
        helper.make_node("Shape", ["backbone"], ["backbone_shape"], name="read_shape"),
        helper.make_node("Reshape", ["head", "backbone_shape"], ["reshaped"], name="reshape", allowzero=0),
        helper.make_node("Sigmoid", ["reshaped"], ["output"], name="activate"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)], initializer=[weight])
    assert nodes_after_weighted_layers(helper.make_model(graph)) == ["read_shape", "reshape", "activate"]


# ---------------------------------------------------------------- export


def test_export_fp16_writes_report(resize_detector, shape_images, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(resize_detector), "-o", str(out), "--quantize", "fp16", "--eval", str(shape_images)])
    printed = capsys.readouterr().out
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    report = json.loads((out / REPORT_FILENAME).read_text())
    assert manifest["model"]["quantization"] == "fp16"
    assert manifest["model"]["source_name"] == "resize_detector.onnx"
    assert REPORT_FILENAME in {entry["path"] for entry in manifest["files"]}
    summary = manifest["quantization_report"]
    assert summary["mode"] == report["mode"] == "fp16"
    assert summary["bytes_after"] == (out / "model.onnx").stat().st_size
    assert summary["size_ratio"] == round(summary["bytes_after"] / summary["bytes_before"], 4)
    assert summary["map50"] == report["accuracy"]["map50"]
    assert summary["map50"] >= 0.9
    assert report["eval_images"] == sorted(path.name for path in shape_images.iterdir())
    assert len(report["accuracy"]["images"]) == 4
    assert report["float_nodes"]["decode"] == ["activate", "scale", "flatten"]
    assert "onnxconverter-common" in report["tools"]
    assert "Quantized fp16" in printed
    assert "mAP@0.5" in printed


def test_export_int8_static_quantizes_convolutions(resize_detector, shape_images, tmp_path):
    result = export_web(resize_detector, tmp_path / "bundle", quantize=QuantizeOptions("int8", calibration_dir=shape_images))
    info = inspect_model(tmp_path / "bundle" / "model.onnx")
    assert result.manifest["model"]["quantization"] == "int8-static"
    assert info.operators.get("QuantizeLinear", 0) > 0
    assert info.operators.get("DequantizeLinear", 0) > 0
    assert result.manifest["quantization_report"]["strong_matched"] > 0
    report = json.loads((tmp_path / "bundle" / REPORT_FILENAME).read_text())
    assert report["calibration_images"] == report["eval_images"]


def test_export_int8_exclude_pattern(resize_detector, shape_images, tmp_path):
    export_web(resize_detector, tmp_path / "bundle",
               quantize=QuantizeOptions("int8-dynamic", eval_dir=shape_images, exclude=("conv*",)))
    report = json.loads((tmp_path / "bundle" / REPORT_FILENAME).read_text())
    assert report["float_nodes"]["excluded"] == ["conv1", "conv2"]
    # Both convolutions were kept float, so dynamic quantization found nothing to quantize.
    assert "ConvInteger" not in inspect_model(tmp_path / "bundle" / "model.onnx").operators


def test_already_quantized_model_exports_as_is(models_dir, tmp_path):
    result = export_web(models_dir / "yolov8n-int8/yolov8n_int8.onnx", tmp_path / "bundle")
    assert result.manifest["model"]["quantization"] == "int8-dynamic"
    assert "quantization_report" not in result.manifest
    assert not (tmp_path / "bundle" / REPORT_FILENAME).exists()


def test_quantize_already_quantized_model_rejected(models_dir, photos_dir, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(models_dir / "yolov8n-int8/yolov8n_int8.onnx"), "-o", str(out),
                 "--quantize", "int8", "--calibration", str(photos_dir)])
    error = capsys.readouterr().err
    assert code == ConfigError.exit_code
    assert "already quantized (int8-dynamic)" in error
    assert not out.exists()


CLI_ERRORS = [
    # (name, extra arguments, expected text in the error)
    ("calibration without quantize", ["--calibration", "{images}"], "--calibration given without --quantize"),
    ("int8 without calibration", ["--quantize", "int8", "--eval", "{images}"], "pass --calibration DIR"),
    ("fp16 without images", ["--quantize", "fp16"], "pass --eval DIR"),
    ("all with exclude", ["--quantize", "fp16", "--eval", "{images}", "--quantize-all", "--quantize-exclude", "conv1"], "contradict"),
    ("unknown node", ["--quantize", "fp16", "--eval", "{images}", "--quantize-exclude", "nope*"], "'nope*' matches no node"),
    ("empty image folder", ["--quantize", "fp16", "--eval", "{empty}"], "contains no image files"),
]


@pytest.mark.parametrize("name, arguments, message", CLI_ERRORS, ids=[case[0] for case in CLI_ERRORS])
def test_quantize_flag_errors(resize_detector, shape_images, tmp_path, capsys, name, arguments, message):
    (tmp_path / "empty").mkdir()
    arguments = [a.format(images=shape_images, empty=tmp_path / "empty") for a in arguments]
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(resize_detector), "-o", str(out), *arguments])
    assert code != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- failures leave nothing behind


def write_zero_detector(job) -> None:
    """A stand-in quantizer whose model scores every candidate 0: all detections collapse."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(job.source))
    for initializer in model.graph.initializer:
        if initializer.name == "channel_scale":
            initializer.CopyFrom(numpy_helper.from_array(np.zeros((1, 6, 1, 1), np.float32), "channel_scale"))
    onnx.save(model, str(job.destination))


def write_unloadable_model(job) -> None:
    job.destination.write_bytes(b"not an onnx model")


def raise_in_quantizer(job) -> None:
    raise ValueError("quantizer failed on node 'conv2'")


FAILURES = [
    # (name, stand-in quantizer, expected text in the QuantizationError)
    ("collapse", write_zero_detector, "lost all"),
    ("unloadable", write_unloadable_model, "does not load in onnxruntime"),
    ("quantizer raises", raise_in_quantizer, "quantizer failed on node 'conv2'"),
]


@pytest.mark.parametrize("name, run, message", FAILURES, ids=[case[0] for case in FAILURES])
def test_failed_quantization_leaves_nothing(resize_detector, shape_images, tmp_path, monkeypatch, name, run, message):
    monkeypatch.setitem(quantize_module.MODES, "fp16", replace(quantize_module.MODES["fp16"], run=run))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    previous = export_web(resize_detector, tmp_path / "bundle").out
    before = sorted(path.relative_to(previous).as_posix() for path in previous.rglob("*"))

    with pytest.raises(QuantizationError, match=message):
        export_web(resize_detector, previous, force=True, quantize=QuantizeOptions("fp16", eval_dir=shape_images))

    assert sorted(path.relative_to(previous).as_posix() for path in previous.rglob("*")) == before
    assert not (previous / REPORT_FILENAME).exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle", "resize_detector.onnx", "scratch"]
    assert list(scratch.iterdir()) == []


def test_quantization_error_exit_code(resize_detector, shape_images, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(quantize_module.MODES, "fp16", replace(quantize_module.MODES["fp16"], run=write_zero_detector))
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(resize_detector), "-o", str(out), "--quantize", "fp16", "--eval", str(shape_images)])
    assert code == QuantizationError.exit_code == 10
    assert "fp16 model of resize_detector.onnx lost all" in capsys.readouterr().err
    assert not out.exists()
