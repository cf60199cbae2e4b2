"""Browser parity on pretrained models and real photos, in headless Chromium."""

from __future__ import annotations

import json

import pytest

from exporter.cli import main
from model_catalog import CATALOG, export_arguments

CATALOG_BY_KEY = {model.key: model for model in CATALOG}

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def bundles(models_dir, tmp_path_factory):
    """Export each model on first use, once per module."""
    root = tmp_path_factory.mktemp("bundles")
    cache = {}

    def get(key):
        if key not in cache:
            model = CATALOG_BY_KEY[key]
            out = root / key
            assert main(["--target", "web", str(models_dir / model.path), "-o", str(out), *export_arguments(model, models_dir)]) == 0
            cache[key] = out
        return cache[key]

    return get


@pytest.mark.parametrize("key", sorted(CATALOG_BY_KEY))
def test_verify_all_photos(bundles, photos_dir, tmp_path, key, capsys):
    report_path = tmp_path / "report.json"
    html_path = tmp_path / "report.html"
    code = main(["verify", str(bundles(key)), str(photos_dir), "--json", str(report_path), "--html", str(html_path)])
    output = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert code == 0, output
    assert report["passed"] is True
    assert len(report["images"]) == len(list(photos_dir.glob("*.[jp][pn]g")))
    assert report["backend"] == "wasm"
    if CATALOG_BY_KEY[key].key != "yolov8n-int8":
        assert report["max_box_diff_px"] <= 1.0
        assert report["max_score_diff"] <= 1e-3
    # The page and the reference preprocess to the same float32 tensor.
    assert max(image["input_tensor_max_diff"] for image in report["images"]) <= 1e-4
    assert "<svg" in html_path.read_text()


def test_verify_detects_contract_drift(bundles, photos_dir, tmp_path, monkeypatch):
    """A bundle whose manifest no longer matches its model must fail, naming the stage."""
    import shutil

    drifted = tmp_path / "drifted"
    shutil.copytree(bundles("yolov8n"), drifted)
    manifest_path = drifted / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # Make the browser pad with black while the Python side reads the same manifest,
    # then restore the Python side, so the change reaches the page only.
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


def test_exif_rotated_photo_is_upright(bundles, photos_dir, tmp_path):
    """A 640x480 JPEG with EXIF orientation 6 is detected upright, 480x640, on both sides."""
    from PIL import Image

    from exporter.reference import load_image_rgb
    from exporter.verify import verify_bundle

    rotated = tmp_path / "rotated.jpg"
    with Image.open(photos_dir / "darknet_person.jpg") as photo:
        upright = photo.convert("RGB").resize((480, 640))
    # Orientation 6 means "rotate 90 degrees clockwise to display", so the file stores
    # the upright picture turned 90 degrees counter-clockwise: 640x480 pixels.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    assert stored.size == (640, 480)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(rotated, quality=95, exif=exif)
    assert load_image_rgb(rotated).shape[:2] == (640, 480)

    report = verify_bundle(bundles("yolov8n"), [rotated])
    browser = report.browser_results[0]
    assert (browser["imageSize"]["width"], browser["imageSize"]["height"]) == (480, 640)
    assert report.passed, report.images[0].problems
    assert report.images[0].reference_count >= 2
    assert report.images[0].max_box_diff <= 1.0
