"""The browser runtime in Chromium: worker, backend fallback, self-check and load errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from exporter.browser import chromium_page
from exporter.bundle import export_web
from exporter.serve import BundleServer
from exporter.templates import template_root
from exporter.verify import IMAGES_PREFIX, VERIFY_PREFIX

from conftest import make_image_model

pytestmark = pytest.mark.browser

WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader"]


@pytest.fixture
def tiny_bundle(tmp_path):
    """A tiny YOLOv8-layout model exported for webgpu then wasm, and a photo for it."""
    model = make_image_model(
        tmp_path / "tiny.onnx",
        {"output0": [1, 6, 84]},
        metadata={"names": "{0: 'scratch', 1: 'dent'}", "stride": "32", "imgsz": "[64, 64]"},
    )
    Image.new("RGB", (64, 48), (90, 90, 90)).save(tmp_path / "photo.png")
    return export_web(model, tmp_path / "bundle", backends=("webgpu", "wasm")).out


def open_harness(bundle: Path, photos: Path, extra_args=None):
    """Serve ``bundle`` with the verify harness and yield the page once it has loaded or failed."""
    server = BundleServer(bundle, mounts={VERIFY_PREFIX: template_root() / "verify", IMAGES_PREFIX + "0/": photos})
    server.start()
    context = chromium_page(server.url + VERIFY_PREFIX.lstrip("/") + "harness.html", extra_args=extra_args)
    page = context.__enter__()
    page.wait_for_selector("body[data-state]", state="attached")
    return server, context, page


@pytest.fixture
def harness():
    opened = []

    def open_(bundle, photos, extra_args=None):
        server, context, page = open_harness(bundle, photos, extra_args)
        opened.append((server, context))
        return page

    yield open_
    for server, context in opened:
        context.__exit__(None, None, None)
        server.stop()


def test_falls_back_when_webgpu_missing(tiny_bundle, harness):
    page = harness(tiny_bundle, tiny_bundle.parent)
    info = page.evaluate("window.visionExport.reload()")
    assert info["backend"] == "wasm"
    assert len(info["failures"]) == 1
    assert info["failures"][0].startswith("webgpu:")
    result = page.evaluate(f"window.visionExport.detectUrl('{IMAGES_PREFIX}0/photo.png', {{}})")
    assert result["backend"] == "wasm"


def test_webgpu_runs_when_available(tiny_bundle, harness):
    page = harness(tiny_bundle, tiny_bundle.parent, extra_args=WEBGPU_ARGS)
    info = page.evaluate("window.visionExport.reload()")
    assert info["backend"] == "webgpu", info["failures"]
    webgpu = page.evaluate(f"window.visionExport.detectUrl('{IMAGES_PREFIX}0/photo.png', {{}})")
    page.evaluate("window.visionExport.reload({backends: ['wasm']})")
    wasm = page.evaluate(f"window.visionExport.detectUrl('{IMAGES_PREFIX}0/photo.png', {{}})")
    assert webgpu["backend"] == "webgpu"
    assert [d["label"] for d in webgpu["detections"]] == [d["label"] for d in wasm["detections"]]
    for a, b in zip(webgpu["detections"], wasm["detections"]):
        assert a["box"] == pytest.approx(b["box"], abs=1e-2)


def tamper_manifest(bundle: Path, change) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_self_check_mismatch_falls_through(tiny_bundle, harness):
    def corrupt(manifest):
        for output in manifest["runtime"]["self_check"]["outputs"].values():
            output["values"] = [v + 100.0 for v in output["values"]]

    tamper_manifest(tiny_bundle, corrupt)
    page = harness(tiny_bundle, tiny_bundle.parent)
    state = page.inner_text("#state")
    assert "self-check failed" in state
    assert "webgpu:" in state
    assert "wasm:" in state


def test_model_hash_mismatch_is_reported(tiny_bundle, harness):
    model = tiny_bundle / "model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    page = harness(tiny_bundle, tiny_bundle.parent)
    state = page.inner_text("#state")
    assert "model.onnx has SHA-256" in state
    assert "the manifest expects" in state


def test_missing_wasm_names_url(tiny_bundle, harness):
    (tiny_bundle / "runtime" / "ort-wasm-simd-threaded.wasm").unlink()
    page = harness(tiny_bundle, tiny_bundle.parent)
    state = page.inner_text("#state")
    assert "/runtime/ort-wasm-simd-threaded.wasm is missing: HTTP 404" in state


def test_requests_stay_on_origin(tiny_bundle):
    """Loading and detecting fetch nothing outside the bundle's own origin."""
    server = BundleServer(tiny_bundle, mounts={VERIFY_PREFIX: template_root() / "verify", IMAGES_PREFIX + "0/": tiny_bundle.parent})
    with server, chromium_page(None) as page:
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server.url + "index.html")
        page.wait_for_selector("#status:has-text('Ready')")
        page.set_input_files("#file-input", str(tiny_bundle.parent / "photo.png"))
        page.wait_for_selector(".card .stats:has-text('detections')")
    outside = [url for url in requested if not url.startswith(server.url) and not url.startswith(("blob:", "data:"))]
    assert outside == []
    assert any(url.endswith("/lib/worker.js") for url in requested)


def test_camera_denied_keeps_photos_working(tiny_bundle):
    with BundleServer(tiny_bundle) as server, chromium_page(None) as page:
        page.goto(server.url + "index.html")
        page.wait_for_selector("#status:has-text('Ready')")
        page.click("#camera-toggle")
        page.wait_for_selector("#message:not([hidden])")
        message = page.inner_text("#message")
        page.set_input_files("#file-input", str(tiny_bundle.parent / "photo.png"))
        page.wait_for_selector(".card .stats:has-text('detections')")
    assert message.startswith("The camera is not available")
    assert "Photos and video files still work" in message


def test_pinned_runtime_lacks_xnnpack(tiny_bundle, harness):
    """onnxruntime-web rejects 'xnnpack' alone and drops it silently before 'wasm'.

    This is why ``--backends xnnpack`` is rejected at export. A runtime update that
    ships XNNPACK again fails here.
    """
    page = harness(tiny_bundle, tiny_bundle.parent)
    outcomes = page.evaluate(
        """async () => {
            const ort = await import("/runtime/ort.wasm.min.mjs");
            const bytes = new Uint8Array(await (await fetch("/model.onnx")).arrayBuffer());
            const create = async (executionProviders) => {
                try {
                    const session = await ort.InferenceSession.create(bytes, { executionProviders });
                    await session.release();
                    return "created";
                } catch (error) {
                    return error.message;
                }
            };
            return { alone: await create(["xnnpack"]), beforeWasm: await create([{ name: "xnnpack" }, "wasm"]) };
        }"""
    )
    assert "[xnnpack] backend not found" in outcomes["alone"]
    assert outcomes["beforeWasm"] == "created"
