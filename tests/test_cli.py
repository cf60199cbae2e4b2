"""Command-line behaviour that users script against: JSON schema, help text, listings."""

from __future__ import annotations

import json

import onnx
import pytest

from exporter.bundle import export_web
from exporter.cli import main
from exporter.inspection import inspect_model
from exporter.targets.onnx_web import MAX_IR_VERSION, OnnxWebTarget


@pytest.fixture(scope="module")
def ultraface_bundle(models_dir, tmp_path_factory):
    from exporter.resolve import UserOptions

    out = tmp_path_factory.mktemp("cli") / "faces"
    return export_web(models_dir / "ultraface" / "version-RFB-320.onnx", out, options=UserOptions(preset="ultraface")).out


def test_predict_json_schema(ultraface_bundle, photos_dir, capsys):
    assert main(["predict", str(ultraface_bundle), str(photos_dir / "astronaut.png"), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 1
    detection = results[0]["detections"][0]
    assert sorted(detection) == ["box", "class_id", "label", "score"]
    assert len(detection["box"]) == 4
    assert detection["label"] == "face"


def test_predict_model_equals_bundle(ultraface_bundle, models_dir, photos_dir, capsys):
    image = str(photos_dir / "solvay_conference_1927.jpg")
    main(["predict", str(ultraface_bundle), image, "--json"])
    from_bundle = json.loads(capsys.readouterr().out)[0]["detections"]
    main(["predict", str(models_dir / "ultraface" / "version-RFB-320.onnx"), image, "--preset", "ultraface", "--json"])
    from_model = json.loads(capsys.readouterr().out)[0]["detections"]
    # The bundled copy drops initializers listed as graph inputs, which lets onnxruntime
    # fold constants: scores may move in the sixth decimal.
    assert len(from_bundle) == len(from_model) == 18
    for ours, theirs in zip(from_bundle, from_model):
        assert ours["box"] == pytest.approx(theirs["box"], abs=1e-2)
        assert ours["score"] == pytest.approx(theirs["score"], abs=1e-5)


def test_predict_threshold_flag_on_bundle(ultraface_bundle, photos_dir, capsys):
    main(["predict", str(ultraface_bundle), str(photos_dir / "solvay_conference_1927.jpg"), "--score-threshold", "0.95", "--json"])
    detections = json.loads(capsys.readouterr().out)[0]["detections"]
    assert 0 < len(detections) < 18
    assert min(d["score"] for d in detections) > 0.95


def test_agnostic_flag_reaches_manifest(tiny_yolov8, tmp_path):
    out = tmp_path / "bundle"
    assert main(["--target", "web", str(tiny_yolov8), "-o", str(out), "--agnostic-nms", "--max-detections", "5"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["postprocess"]["agnostic_nms"] is True
    assert manifest["postprocess"]["max_detections"] == 5
    assert manifest["labels"] == ["scratch", "dent"]


def test_help_states_units_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "0..1" in text
    assert "default: 0.25" in text.replace("\n", " ").replace("  ", " ") or "else 0.25" in " ".join(text.split())
    assert "default: 300" in " ".join(text.split())
    assert "--agnostic-nms" in text


def test_presets_lists_each_family(capsys):
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in ("yolov8", "yolox", "ultraface"):
        assert f"{name}\n" in text


def test_inspect_prints_io_and_contract(models_dir, capsys):
    assert main(["inspect", str(models_dir / "yolov8n" / "yolov8n.onnx")]) == 0
    text = capsys.readouterr().out
    assert "input:  images [1, 3, 640, 640] float32" in text
    assert "output: output0 [1, 84, 8400] float32" in text
    assert '"head": "yolov8"' in text


def test_new_ir_version_is_lowered(tiny_yolov8, tmp_path):
    model = onnx.load(str(tiny_yolov8))
    model.ir_version = 14
    newer = tmp_path / "ir14.onnx"
    onnx.save(model, str(newer))
    written = tmp_path / "written.onnx"
    OnnxWebTarget().write_model(inspect_model(newer), written)
    assert onnx.load(str(written)).ir_version == MAX_IR_VERSION
