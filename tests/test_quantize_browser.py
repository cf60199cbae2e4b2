"""Quantized bundles in headless Chromium: the browser matches the Python reference of the same quantized model."""

from __future__ import annotations

import json

import pytest

from exporter.cli import main
from exporter.compare import TOLERANCES
from quant_models import RESIZE_FORMS, make_resize_detector, write_shape_images

pytestmark = pytest.mark.browser

# Measured targets on the 10 test photos (docs/QUANTIZATION.md): bundled model bytes
# against the float32 model, and mAP@0.5 against the float32 model's detections.
TARGETS = {
    "fp16": {"max_size_ratio": 0.52, "min_map50": 0.99},
    "int8": {"max_size_ratio": 0.30, "min_map50": 0.90},
}


@pytest.fixture(scope="module")
def yolov8n_bundles(models_dir, photos_dir, tmp_path_factory):
    """Export YOLOv8n once per mode, when a test first requests it. int8 calibrates on the test photos."""
    root = tmp_path_factory.mktemp("quantized")
    images_flag = {"fp16": "--eval", "int8": "--calibration"}
    cache = {}

    def get(mode):
        if mode not in cache:
            out = root / mode
            code = main(["--target", "web", str(models_dir / "yolov8n/yolov8n.onnx"), "-o", str(out),
                         "--quantize", mode, images_flag[mode], str(photos_dir)])
            assert code == 0
            cache[mode] = out
        return cache[mode]

    return get


@pytest.mark.parametrize("mode", sorted(TARGETS))
def test_yolov8n_quantized_verify(yolov8n_bundles, photos_dir, tmp_path, mode, capsys):
    bundle = yolov8n_bundles(mode)
    manifest = json.loads((bundle / "manifest.json").read_text())
    quantization = manifest["model"]["quantization"]
    report_path = tmp_path / "parity.json"

    code = main(["verify", str(bundle), str(photos_dir), "--json", str(report_path)])
    output = capsys.readouterr().out
    report = json.loads(report_path.read_text())

    assert code == 0, output
    assert report["passed"] is True
    assert report["backend"] == "wasm"
    assert len(report["images"]) == len(list(photos_dir.glob("*.[jp][pn]g")))
    assert report["tolerance"]["box_px"] == TOLERANCES[quantization].box_px
    assert report["tolerance"]["score"] == TOLERANCES[quantization].score
    assert sum(image["matched"] for image in report["images"]) >= 40


@pytest.mark.parametrize("mode", sorted(TARGETS))
def test_yolov8n_quantized_accuracy(yolov8n_bundles, mode):
    summary = json.loads((yolov8n_bundles(mode) / "manifest.json").read_text())["quantization_report"]
    assert summary["eval_images"] == 10
    assert summary["size_ratio"] <= TARGETS[mode]["max_size_ratio"]
    assert summary["map50"] >= TARGETS[mode]["min_map50"]
    assert summary["strong_matched"] == summary["strong_reference"] > 0


@pytest.mark.parametrize("form", RESIZE_FORMS)
def test_fp16_resize_model_in_browser(tmp_path, form, capsys):
    """Conv -> Resize (nearest, x2) -> Conv converted to float16 loads and matches in Chromium."""
    images = write_shape_images(tmp_path / "images")
    model = make_resize_detector(tmp_path / "resize_detector.onnx", form)
    bundle = tmp_path / "bundle"
    assert main(["--target", "web", str(model), "-o", str(bundle), "--quantize", "fp16", "--eval", str(images)]) == 0
    assert json.loads((bundle / "manifest.json").read_text())["model"]["quantization"] == "fp16"

    code = main(["verify", str(bundle), str(images), "--json", str(tmp_path / "parity.json")])
    output = capsys.readouterr().out
    report = json.loads((tmp_path / "parity.json").read_text())
    assert code == 0, output
    assert report["passed"] is True
    assert sum(image["reference_count"] for image in report["images"]) > 0
