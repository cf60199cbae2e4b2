"""The demo page in headless Chromium: photos, camera, strict CSP and untrusted label text."""

from __future__ import annotations

import re

import pytest

from exporter.browser import chromium_page
from exporter.bundle import export_web
from exporter.reference import ReferenceDetector
from exporter.manifest import load_bundle
from exporter.resolve import UserOptions
from exporter.serve import BundleServer

from conftest import make_image_model

pytestmark = pytest.mark.browser

HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
HOSTILE_DESCRIPTION = "<script>alert(2)</script> parts"


class PageWatch:
    """Collect console messages, page errors and dialogs of one page."""

    def __init__(self, page):
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: self.messages.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        def on_dialog(dialog):
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]


@pytest.fixture(scope="module")
def yolov8_bundle(models_dir, tmp_path_factory):
    return export_web(models_dir / "yolov8n" / "yolov8n.onnx", tmp_path_factory.mktemp("demo") / "bundle").out


def open_demo(page, url):
    page.goto(url + "index.html")
    page.wait_for_selector("#status:has-text('Ready'), #status:has-text('could not')")
    return page.inner_text("#status")


def test_photo_shows_reference_detections(yolov8_bundle, photos_dir):
    bundle = load_bundle(yolov8_bundle)
    reference = ReferenceDetector(bundle.model_path, bundle.preprocess, bundle.postprocess, bundle.labels, bundle.input_name)
    expected = reference.detect_file(photos_dir / "darknet_person.jpg")
    with BundleServer(yolov8_bundle) as server, chromium_page(None) as page:
        watch = PageWatch(page)
        status = open_demo(page, server.url)
        page.set_input_files("#file-input", str(photos_dir / "darknet_person.jpg"))
        page.wait_for_selector(".card tbody tr")
        labels = page.locator(".card tbody tr td:first-child").all_inner_texts()
        summary = page.inner_text(".card .stats")
    assert "backend wasm" in status
    assert "2 threads" in status or "4 threads" in status or "1 thread" in status
    assert labels == [d.label for d in expected]
    assert "inference" in summary
    assert watch.csp_violations == []
    assert watch.errors == []


def test_threads_note_without_isolation(yolov8_bundle):
    """Served without COOP/COEP, the page runs one thread and shows why."""
    with BundleServer(yolov8_bundle, cross_origin_isolation=False) as server, chromium_page(None) as page:
        status = open_demo(page, server.url)
    assert "1 thread" in status
    assert "not cross-origin isolated" in status


def test_camera_runs_live_detection(yolov8_bundle):
    args = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with BundleServer(yolov8_bundle) as server, chromium_page(None, extra_args=args) as page:
        watch = PageWatch(page)
        open_demo(page, server.url)
        page.click("#camera-toggle")
        page.wait_for_selector("#live-stats:has-text('fps')")
        stats = page.inner_text("#live-stats")
        button = page.inner_text("#camera-toggle")
    # The stats start with the size the camera really delivers, not the requested one.
    size = re.match(r"^(\d+)x(\d+) ", stats)
    assert size is not None, stats
    assert int(size.group(1)) > 0
    assert button == "Stop camera"
    assert watch.errors == []


def test_hostile_labels_render_as_text(tmp_path):
    model = make_image_model(
        tmp_path / "parts.onnx",
        {"output0": [1, 6, 84]},
        metadata={"names": "{0: 'a', 1: 'b'}", "stride": "32", "imgsz": "[64, 64]", "description": HOSTILE_DESCRIPTION},
    )
    labels = tmp_path / "labels.txt"
    labels.write_text(f"{HOSTILE_LABEL}\n<b>second</b>\n")
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (90, 90, 90)).save(photo)
    out = export_web(model, tmp_path / "bundle", options=UserOptions(labels_file=labels)).out
    with BundleServer(out) as server, chromium_page(None) as page:
        watch = PageWatch(page)
        open_demo(page, server.url)
        page.set_input_files("#file-input", str(photo))
        page.wait_for_selector(".card tbody tr")
        cells = page.locator(".card tbody tr td:first-child").all_inner_texts()
        subtitle = page.inner_text(".subtitle")
        images = page.locator("img").count()
        bold = page.locator("body b").count()
    assert HOSTILE_LABEL in cells
    assert HOSTILE_DESCRIPTION in subtitle
    assert images == 0
    assert bold == 0
    assert watch.dialogs == []
    assert watch.csp_violations == []
