"""Contract resolution: flags over preset over model metadata over defaults."""

from __future__ import annotations

import pytest

from exporter.errors import ConfigError, UnsupportedModelError
from exporter.inspection import inspect_model
from exporter.resolve import UserOptions, resolve_contract


def test_yolov8_resolves_from_metadata_alone(models_dir):
    contract = resolve_contract(inspect_model(models_dir / "yolov8n" / "yolov8n.onnx"), UserOptions())
    assert contract.postprocess.head == "yolov8"
    assert contract.postprocess.head_params == {"channels_first": True}
    assert (contract.preprocess.width, contract.preprocess.height) == (640, 640)
    assert len(contract.labels) == 80
    assert contract.labels[16] == "dog"
    assert contract.sources["labels"] == "model metadata 'names'"


def test_yolox_without_preset_lists_io_and_presets(models_dir):
    with pytest.raises(UnsupportedModelError) as raised:
        resolve_contract(inspect_model(models_dir / "yolox-nano" / "yolox_nano.onnx"), UserOptions())
    message = str(raised.value)
    assert "images [1, 3, 416, 416]" in message
    assert "output [1, 3549, 85]" in message
    assert "yolox" in message
    assert "--preset" in message


def test_yolox_preset_sets_bgr_top_left(models_dir):
    contract = resolve_contract(inspect_model(models_dir / "yolox-nano" / "yolox_nano.onnx"), UserOptions(preset="yolox"))
    assert contract.preprocess.channel_order == "BGR"
    assert contract.preprocess.pad_position == "top-left"
    assert contract.preprocess.scale == 1.0
    assert contract.postprocess.head_params == {"strides": [8, 16, 32]}


def test_ultraface_preset_binds_outputs_by_name(models_dir):
    contract = resolve_contract(inspect_model(models_dir / "ultraface" / "version-RFB-320.onnx"), UserOptions(preset="ultraface"))
    assert contract.postprocess.outputs == {"boxes": "boxes", "scores": "scores"}
    assert contract.preprocess.resize == "stretch"
    assert (contract.preprocess.width, contract.preprocess.height) == (320, 240)
    assert contract.labels == ["face"]


def test_flags_override_preset(models_dir):
    options = UserOptions(preset="ultraface", score_threshold=0.5, iou_threshold=0.6, agnostic_nms=True, max_detections=10)
    contract = resolve_contract(inspect_model(models_dir / "ultraface" / "version-RFB-320.onnx"), options)
    assert contract.postprocess.score_threshold == 0.5
    assert contract.postprocess.iou_threshold == 0.6
    assert contract.postprocess.agnostic_nms is True
    assert contract.postprocess.max_detections == 10


def test_preset_thresholds_apply_without_flags(models_dir):
    contract = resolve_contract(inspect_model(models_dir / "ultraface" / "version-RFB-320.onnx"), UserOptions(preset="ultraface"))
    assert contract.postprocess.score_threshold == 0.7
    assert contract.postprocess.iou_threshold == 0.3


def test_label_file_overrides_metadata(tiny_yolov8, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("hole\ncrack\n")
    contract = resolve_contract(inspect_model(tiny_yolov8), UserOptions(labels_file=labels))
    assert contract.labels == ["hole", "crack"]


def test_label_count_mismatch_names_both_counts(tiny_yolov8, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\n")
    with pytest.raises(ConfigError) as raised:
        resolve_contract(inspect_model(tiny_yolov8), UserOptions(labels_file=labels))
    assert "3 labels" in str(raised.value)
    assert "2 classes" in str(raised.value)


def test_unknown_preset_lists_presets(tiny_yolov8):
    with pytest.raises(ConfigError) as raised:
        resolve_contract(inspect_model(tiny_yolov8), UserOptions(preset="nosuch"))
    assert "'nosuch'" in str(raised.value)
    assert "yolox" in str(raised.value)


@pytest.mark.parametrize("value", [-0.1, 1.0, 2])
def test_invalid_score_threshold_rejected(tiny_yolov8, value):
    with pytest.raises(ConfigError) as raised:
        resolve_contract(inspect_model(tiny_yolov8), UserOptions(score_threshold=value))
    assert repr(value) in str(raised.value)
