"""Another web app embeds a bundle through a bundler (Vite) and detects in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.browser import chromium_page
from exporter.bundle import export_web
from exporter.manifest import load_bundle
from exporter.reference import ReferenceDetector
from exporter.resolve import UserOptions
from exporter.serve import BundleServer

pytestmark = pytest.mark.browser

VITE = Path(__file__).resolve().parent / "js" / "node_modules" / ".bin" / "vite"

INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>embedding app</title></head>
<body><p id="state">loading</p><script type="module" src="./main.js"></script></body></html>
"""

MAIN = """import { loadDetector } from "./vendor/detector/vision-export.js";

const state = document.getElementById("state");
try {
  const detector = await loadDetector({ baseUrl: new URL("./detector/", location.href) });
  const photo = await (await fetch("./photo.jpg")).blob();
  const result = await detector.detect(photo);
  state.textContent = JSON.stringify({ backend: result.backend, detections: result.detections });
  document.body.dataset.state = "ready";
} catch (error) {
  state.textContent = error.message;
  document.body.dataset.state = "error";
}
"""


def test_vite_app_embeds_bundle(models_dir, photos_dir, tmp_path):
    if not VITE.exists():
        pytest.fail(f"Vite {VITE} not found: run 'npm ci --prefix tests/js' (scripts/setup.sh --test does)")
    model = models_dir / "ultraface" / "version-RFB-320.onnx"
    bundle = export_web(model, tmp_path / "bundle", options=UserOptions(preset="ultraface")).out
    app = tmp_path / "app"
    # The app bundles the JS API from its sources and serves the model and runtime files as static assets.
    shutil.copytree(bundle, app / "vendor" / "detector")
    shutil.copytree(bundle, app / "public" / "detector")
    shutil.copyfile(photos_dir / "astronaut.png", app / "public" / "photo.jpg")
    (app / "index.html").write_text(INDEX)
    (app / "main.js").write_text(MAIN)
    build = subprocess.run([str(VITE), "build", "--logLevel", "warn", "--base", "./"], cwd=app, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    built = sorted(p.name for p in (app / "dist" / "assets").iterdir())
    assert any(name.startswith("worker") for name in built), built

    reference = load_bundle(bundle)
    expected = ReferenceDetector(reference.model_path, reference.preprocess, reference.postprocess, reference.labels,
                                 reference.input_name).detect_file(photos_dir / "astronaut.png")
    with BundleServer(app / "dist") as server, chromium_page(server.url + "index.html") as page:
        page.wait_for_selector("body[data-state]", state="attached")
        state = page.get_attribute("body", "data-state")
        text = page.inner_text("#state")
    assert state == "ready", text
    result = json.loads(text)
    assert result["backend"] == "wasm"
    assert [d["label"] for d in result["detections"]] == [d.label for d in expected]
    assert result["detections"][0]["box"] == pytest.approx(list(expected[0].box), abs=1.0)
