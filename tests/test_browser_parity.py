"""Browser parity on pretrained models and real photos, in headless Chromium."""

from __future__ import annotations

import json

import pytest

from exporter.bundle import export_web
from exporter.cli import main
from exporter.resolve import UserOptions

pytestmark = pytest.mark.browser

MODELS = {
    "yolov8n": ("yolov8n/yolov8n.onnx", None),
    "yolox-nano": ("yolox-nano/yolox_nano.onnx", "yolox"),
    "ultraface-rfb": ("ultraface/version-RFB-320.onnx", "ultraface"),
    "ultraface-slim": ("ultraface/version-slim-320.onnx", "ultraface"),
}


@pytest.fixture(scope="module")
def bundles(models_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    return {
        name: export_web(models_dir / model, root / name, options=UserOptions(preset=preset)).out
        for name, (model, preset) in MODELS.items()
    }


@pytest.mark.parametrize("name", sorted(MODELS))
def test_verify_all_photos(bundles, photos_dir, tmp_path, name, capsys):
    report_path = tmp_path / "report.json"
    html_path = tmp_path / "report.html"
    code = main(["verify", str(bundles[name]), str(photos_dir), "--json", str(report_path), "--html", str(html_path)])
    output = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert code == 0, output
    assert report["passed"] is True
    assert len(report["images"]) == 10
    assert report["backend"] == "wasm"
    assert report["max_box_diff_px"] <= 1.0
    assert report["max_score_diff"] <= 1e-3
    # The page and the reference preprocess to the same float32 tensor.
    assert max(image["input_tensor_max_diff"] for image in report["images"]) <= 1e-4
    assert sum(image["reference_count"] for image in report["images"]) > 0
    assert "<svg" in html_path.read_text()


def test_verify_detects_contract_drift(bundles, photos_dir, tmp_path, monkeypatch):
    """A bundle whose manifest no longer matches its model must fail, naming the stage."""
    import shutil

    drifted = tmp_path / "drifted"
    shutil.copytree(bundles["yolov8n"], drifted)
    manifest_path = drifted / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # Make the browser pad with black while the Python side reads the same manifest,
    # then restore the Python side: only the page sees the change.
    original = manifest["preprocess"]["pad_value"]
    manifest["preprocess"]["pad_value"] = [0, 0, 0]
    manifest_path.write_text(json.dumps(manifest))

    from exporter import verify as verify_module

    real_load = verify_module.load_bundle

    def load_with_original_padding(path):
        bundle = real_load(path)
        from dataclasses import replace

        return replace(bundle, preprocess=replace(bundle.preprocess, pad_value=tuple(original)))

    monkeypatch.setattr(verify_module, "load_bundle", load_with_original_padding)
    code = main(["verify", str(drifted), str(photos_dir / "darknet_dog.jpg"), "--json", str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert code != 0
    assert report["images"][0]["first_divergent_stage"] == "preprocess"
