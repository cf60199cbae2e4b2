"""Export YOLOv8n with each --quantize mode, verify it in Chromium and time browser inference.

    python scripts/quantization_table.py --test-data ../shared --threads 2 --runs 5

Prints markdown tables for docs/QUANTIZATION.md: model size and accuracy against
the float model (from each bundle's quantization-report.json), browser parity
(vision-export verify on every photo), and wasm inference time per photo. The
timed runs go round-robin over the bundles, one headless Chromium each, so load
from other processes falls on every mode alike.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import platform
import statistics
import sys
import tempfile
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from exporter.bundle import export_web  # noqa: E402
from exporter.errors import QuantizationError  # noqa: E402
from exporter.images_list import expand_images  # noqa: E402
from exporter.quantize import QuantizeOptions  # noqa: E402
from exporter.verify import verify_bundle  # noqa: E402

logger = logging.getLogger("quantization_table")

MODEL = "yolov8n/yolov8n.onnx"


def variants(photos: Path) -> dict[str, QuantizeOptions | None]:
    """Return the exports to compare, by label; None is the float32 bundle."""
    return {
        "fp32": None,
        "fp16": QuantizeOptions("fp16", eval_dir=photos),
        "int8": QuantizeOptions("int8", calibration_dir=photos),
        "int8, whole Detect head float": QuantizeOptions("int8", calibration_dir=photos, exclude=("/model.22/*",)),
        "int8, --quantize-all": QuantizeOptions("int8", calibration_dir=photos, quantize_all=True),
        "int8-dynamic": QuantizeOptions("int8-dynamic", eval_dir=photos),
    }


def signed_dynamic_model(model: Path, work: Path) -> Path:
    """Write YOLOv8n with dynamic quantization and signed int8 weights, the variant int8-dynamic does not use.

    It goes through the same steps as ``--quantize int8-dynamic`` (pre-processing,
    decode kept float) with QInt8 in place of QUInt8 weights.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    from exporter.heads import get_head

    prepared, signed = work / "prepared.onnx", work / "signed_dynamic.onnx"
    quant_pre_process(str(model), str(prepared))
    decode = get_head("yolov8").decode_nodes(onnx.load(str(prepared)))
    quantize_dynamic(str(prepared), str(signed), weight_type=QuantType.QInt8, nodes_to_exclude=decode)
    return signed


def accuracy_row(label: str, manifest: dict) -> str:
    summary = manifest.get("quantization_report")
    if summary is None:
        return f"| {label} | {manifest['model']['bytes']:,} | 1.00 | | | | | |"
    return (
        f"| {label} | {summary['bytes_after']:,} | {summary['size_ratio']:.3f} | {summary['map50']:.3f} | {summary['recall']:.3f} "
        f"| {summary['precision']:.3f} | {summary['max_score_shift']:.3f} | {summary['strong_matched']} of {summary['strong_reference']} |"
    )


def parity_row(label: str, report) -> str:
    data = report.to_dict()
    detections = sum(image["reference_count"] for image in data["images"])
    raw = max(max(image["raw_output_max_diff"].values(), default=0.0) for image in data["images"])
    verdict = "pass" if report.passed else "FAIL"
    return (
        f"| {label} | {len(data['images'])} | {detections} | {data['max_box_diff_px']:.4f} | {data['max_score_diff']:.1e} "
        f"| {raw:.1e} | {verdict} (box {report.tolerance.box_px} px, score {report.tolerance.score}) |"
    )


def time_inference(bundles: dict[str, Path], photos: list[Path], threads: int, runs: int) -> dict[str, list[float]]:
    """Return each bundle's browser inference times in ms: ``runs`` passes over ``photos``, after one warm-up pass.

    ``photos`` must share one folder, which is served under the verify harness's image prefix.
    """
    from playwright.sync_api import sync_playwright

    from exporter.browser import CHROMIUM_ARGS, find_chromium
    from exporter.serve import BundleServer
    from exporter.templates import template_root
    from exporter.verify import IMAGES_PREFIX, VERIFY_PREFIX

    folder = photos[0].parent
    mounts = {IMAGES_PREFIX: folder, VERIFY_PREFIX: template_root() / "verify"}
    urls = [IMAGES_PREFIX + urllib.parse.quote(path.relative_to(folder).as_posix()) for path in photos]
    samples: dict[str, list[float]] = {label: [] for label in bundles}
    with sync_playwright() as playwright, contextlib.ExitStack() as stack:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        pages = {}
        for label, bundle in bundles.items():
            server = stack.enter_context(BundleServer(bundle, mounts=mounts))
            page = browser.new_page()
            page.set_default_timeout(300_000)
            page.goto(server.url + VERIFY_PREFIX.lstrip("/") + "harness.html")
            page.wait_for_selector("body[data-state]")
            loaded = page.evaluate("(n) => window.visionExport.reload({numThreads: n})", threads)
            logger.info("%s: backend %s, %s threads", label, loaded["backend"], loaded["threads"])
            pages[label] = page
        for run in range(runs + 1):
            for url in urls:
                for label, page in pages.items():
                    result = page.evaluate("(url) => window.visionExport.detectUrl(url, {})", url)
                    if run > 0:
                        samples[label].append(result["timings"]["inference"])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-data", type=Path, default=REPO.parent / "shared", help="folder with models/ and images/ (default: ../shared)")
    parser.add_argument("--threads", type=int, default=2, help="wasm threads in every page (default: 2)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes over the photos per bundle, after one warm-up pass (default: 5)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    model, photos_dir = args.test_data / "models" / MODEL, args.test_data / "images"
    photos = expand_images([photos_dir])

    accuracy_rows, parity_rows, bundles = [], [], {}
    with tempfile.TemporaryDirectory() as work:
        for index, (label, options) in enumerate(variants(photos_dir).items()):
            out = Path(work) / f"bundle{index}"
            try:
                result = export_web(model, out, quantize=options)
            except QuantizationError as exc:
                accuracy_rows.append(f"| {label} | export failed: {exc} | | | | | | |")
                continue
            accuracy_rows.append(accuracy_row(label, result.manifest))
            parity_rows.append(parity_row(label, verify_bundle(out, [photos_dir])))
            bundles[label] = out
        # Already quantized, so it is exported as it is; it is only timed.
        signed = export_web(signed_dynamic_model(model, Path(work)), Path(work) / "signed").out
        bundles["dynamic with int8 weights (not offered)"] = signed
        samples = time_inference(bundles, photos, args.threads, args.runs)

    base = statistics.median(samples["fp32"])
    timing_rows = [
        f"| {label} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} | {statistics.median(values) / base:.2f}x |"
        for label, values in samples.items()
    ]
    print("\n".join([
        f"Measured on {datetime.date.today().isoformat()}, {platform.machine()}, Python {platform.python_version()}, "
        f"{len(photos)} photos, {args.threads} wasm threads, {args.runs} timed passes.",
        "",
        "| bundle | model bytes | x fp32 | mAP@0.5 | recall | precision | max score shift | strong kept |",
        "|---|---|---|---|---|---|---|---|",
        *accuracy_rows,
        "",
        "| bundle | photos | detections | max box diff (px) | max score diff | max raw-output diff | verify |",
        "|---|---|---|---|---|---|---|",
        *parity_rows,
        "",
        "| bundle | inference median (ms) | min | max | x fp32 |",
        "|---|---|---|---|---|",
        *timing_rows,
    ]))


if __name__ == "__main__":
    main()
