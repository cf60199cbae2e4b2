"""Spec files, dynamic input sizes and end-to-end heads through the command line."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from exporter.cli import main
from exporter.errors import ConfigError
from exporter.inspection import inspect_model
from exporter.resolve import UserOptions, resolve_contract
from exporter.spec import SPEC_SCHEMA, load_spec

NANODET_SPEC = """\
description: NanoDet-m written out by hand
head:
  kind: gfl
  params: {strides: [8, 16, 32], reg_max: 7}
stride: 32
preprocess:
  channel_order: BGR
  scale: 1.0
  mean: [103.53, 116.28, 123.675]
  std: [57.375, 57.12, 58.395]
  resize: letterbox
  pad_position: center
  pad_value: [0, 0, 0]
postprocess: {score_threshold: 0.35, iou_threshold: 0.5}
labels_file: names.txt
"""


def write(path, text):
    path.write_text(text)
    return path


def test_yaml_spec_equals_preset(models_dir, tmp_path):
    write(tmp_path / "names.txt", (models_dir / "nanodet-m" / "coco_classes.txt").read_text())
    spec = write(tmp_path / "nanodet.yaml", NANODET_SPEC)
    info = inspect_model(models_dir / "nanodet-m" / "nanodet_m_320.onnx")
    from_spec = resolve_contract(info, UserOptions(spec_file=spec))
    from_preset = resolve_contract(info, UserOptions(preset="nanodet"))
    assert from_spec.preprocess == from_preset.preprocess
    assert from_spec.postprocess == from_preset.postprocess
    assert len(from_spec.labels) == 80
    assert from_spec.labels[60] == "diningtable"


def test_json_spec_overrides_preset(models_dir, tmp_path):
    spec = write(tmp_path / "spec.json", json.dumps({"preset": "yolox", "postprocess": {"score_threshold": 0.6}, "labels": [f"c{i}" for i in range(80)]}))
    info = inspect_model(models_dir / "yolox-nano" / "yolox_nano.onnx")
    contract = resolve_contract(info, UserOptions(spec_file=spec))
    assert contract.postprocess.head == "yolox"
    assert contract.postprocess.score_threshold == 0.6
    assert contract.preprocess.channel_order == "BGR"
    assert contract.labels[0] == "c0"


def test_flags_override_spec(models_dir, tmp_path):
    spec = write(tmp_path / "spec.yaml", "preset: yolox\npostprocess: {score_threshold: 0.6}\n")
    info = inspect_model(models_dir / "yolox-nano" / "yolox_nano.onnx")
    contract = resolve_contract(info, UserOptions(spec_file=spec, score_threshold=0.2))
    assert contract.postprocess.score_threshold == 0.2


@pytest.mark.parametrize(
    "text, named",
    [
        ("preprocess: {chanel_order: BGR}\n", "chanel_order"),  # misspelt key
        ("preprocess: {channel_order: GBR}\n", "preprocess/channel_order"),  # value outside the enum
        ("postprocess: {score_threshold: 1.5}\n", "postprocess/score_threshold"),
        ("head: {params: {}}\n", "kind"),  # required key missing
        ("input_size: [640]\n", "input_size"),
        ("colour: red\n", "colour"),
    ],
)
def test_invalid_spec_names_key(tmp_path, text, named):
    spec = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as raised:
        load_spec(spec)
    assert named in str(raised.value)
    assert "bad.yaml" in str(raised.value)


def test_spec_preset_conflict_names_both(tmp_path):
    spec = write(tmp_path / "s.yaml", "preset: yolox\n")
    with pytest.raises(ConfigError) as raised:
        load_spec(spec, base=__import__("exporter.presets", fromlist=["get_preset"]).get_preset("nanodet"))
    assert "nanodet" in str(raised.value)
    assert "yolox" in str(raised.value)


def test_spec_not_yaml(tmp_path):
    spec = write(tmp_path / "s.yaml", "head: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(spec)


def test_spec_schema_command_prints_schema(capsys):
    assert main(["spec-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == SPEC_SCHEMA


def test_cli_export_with_spec(models_dir, tmp_path):
    write(tmp_path / "names.txt", (models_dir / "nanodet-m" / "coco_classes.txt").read_text())
    spec = write(tmp_path / "nanodet.yaml", NANODET_SPEC)
    out = tmp_path / "bundle"
    assert main(["--target", "web", str(models_dir / "nanodet-m" / "nanodet_m_416.onnx"), "-o", str(out), "--spec", str(spec)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["postprocess"]["head"] == "gfl"
    assert manifest["preset"] == "spec nanodet.yaml"
    assert manifest["preprocess"]["width"] == 416


def test_dynamic_input_rounds_to_stride(models_dir, caplog):
    info = inspect_model(models_dir / "yunet" / "yunet_n_dynamic.onnx")
    contract = resolve_contract(info, UserOptions(preset="yunet", input_size=(500, 300)))
    assert (contract.preprocess.width, contract.preprocess.height) == (512, 320)
    assert "rounded up to 512x320" in caplog.text


def test_dynamic_input_default_from_preset(models_dir):
    info = inspect_model(models_dir / "yunet" / "yunet_n_dynamic.onnx")
    contract = resolve_contract(info, UserOptions(preset="yunet"))
    assert (contract.preprocess.width, contract.preprocess.height) == (640, 640)


def test_fixed_input_rejects_other_size(models_dir):
    info = inspect_model(models_dir / "yunet" / "yunet_n_320_320.onnx")
    with pytest.raises(ConfigError) as raised:
        resolve_contract(info, UserOptions(preset="yunet", input_size=(640, 640)))
    assert "640x640" in str(raised.value)
    assert "320x320" in str(raised.value)


def test_input_size_flag_syntax(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "m.onnx", "a.jpg", "--input-size", "640"])
    assert "WxH" in capsys.readouterr().err


def test_blazeface_without_anchors_says_flag(models_dir):
    info = inspect_model(models_dir / "blazeface" / "blazeface.onnx")
    with pytest.raises(ConfigError, match="--anchors"):
        resolve_contract(info, UserOptions(preset="blazeface"))


def end_to_end_model(path, split: bool):
    """Write a model with NMS 'inside': constant detections, two of them overlapping, same class."""
    rows = np.zeros((1, 10, 6), dtype=np.float32)
    rows[0, 0] = [10, 10, 40, 40, 0.9, 2]
    rows[0, 1] = [12, 12, 42, 42, 0.8, 2]  # IoU 0.78 with row 0: a second NMS would drop it
    rows[0, 2] = [5, 5, 20, 20, 0.1, 1]  # below the score threshold
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    nodes = [helper.make_node("ReduceMean", ["images"], ["pooled"], keepdims=0)]
    if split:
        tensors = {
            "det_boxes": rows[:, :, :4],
            "det_scores": rows[:, :, 4],
            "det_classes": rows[:, :, 5].astype(np.int64),
            "num_dets": np.array([[3]], dtype=np.int64),
        }
    else:
        tensors = {"output0": rows}
    outputs, initializers = [], []
    for name, value in tensors.items():
        initializers.append(numpy_helper.from_array(value, f"{name}_value"))
        nodes.append(helper.make_node("Identity", [f"{name}_value"], [name]))
        element = TensorProto.INT64 if value.dtype == np.int64 else TensorProto.FLOAT
        outputs.append(helper.make_tensor_value_info(name, element, list(value.shape)))
    graph = helper.make_graph(nodes, "end2end", [image], outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("split", [False, True], ids=["single", "split"])
def test_end_to_end_skips_second_nms(tmp_path, capsys, split):
    from PIL import Image

    model = end_to_end_model(tmp_path / "e2e.onnx", split)
    labels = write(tmp_path / "labels.txt", "a\nb\nc\n")
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (50, 50, 50)).save(photo)
    assert main(["predict", str(model), str(photo), "--preset", "end2end", "--labels", str(labels), "--json"]) == 0
    detections = json.loads(capsys.readouterr().out)[0]["detections"]
    assert [d["score"] for d in detections] == pytest.approx([0.9, 0.8])
    assert [d["label"] for d in detections] == ["c", "c"]
    assert detections[1]["box"] == pytest.approx([12, 12, 42, 42])


@pytest.mark.browser
@pytest.mark.parametrize("split", [False, True], ids=["single", "split"])
def test_end_to_end_browser_parity(tmp_path, split):
    from PIL import Image

    from exporter.verify import verify_bundle

    model = end_to_end_model(tmp_path / "e2e.onnx", split)
    labels = write(tmp_path / "labels.txt", "a\nb\nc\n")
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (50, 50, 50)).save(photo)
    out = tmp_path / "bundle"
    assert main(["--target", "web", str(model), "-o", str(out), "--preset", "end2end", "--labels", str(labels)]) == 0
    report = verify_bundle(out, [photo])
    assert report.passed, report.images[0].problems
    assert report.images[0].browser_count == 2


def test_spec_labels_override_metadata(tiny_yolov8, tmp_path):
    spec = write(tmp_path / "s.json", json.dumps({"head": {"kind": "yolov8"}, "labels": ["hole", "crack"]}))
    contract = resolve_contract(inspect_model(tiny_yolov8), UserOptions(spec_file=spec))
    assert contract.labels == ["hole", "crack"]
    assert contract.sources["labels"] == "spec s.json"


def test_spec_without_labels_keeps_metadata(tiny_yolov8, tmp_path):
    spec = write(tmp_path / "s.json", json.dumps({"preset": "yolov8"}))
    contract = resolve_contract(inspect_model(tiny_yolov8), UserOptions(spec_file=spec))
    assert contract.labels == ["scratch", "dent"]
