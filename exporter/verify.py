"""Prove browser parity: run a bundle in headless Chromium and compare with the Python reference."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .compare import ImageParity, Tolerance, compare_stages, describe_tolerance, match_detections, tolerance_for
from .errors import BrowserError
from .images_list import expand_images
from .manifest import Bundle, load_bundle
from .reference import ReferenceDetector, load_image_rgb
from .serve import BundleServer
from .templates import template_root

logger = logging.getLogger(__name__)

VERIFY_PREFIX = "/__vision_export__/verify/"
IMAGES_PREFIX = "/__vision_export__/images/"


@dataclass
class VerifyReport:
    bundle: str
    backend: str
    threads: int | None
    tolerance: Tolerance
    images: list[ImageParity]
    image_paths: list[Path]
    browser_results: list[dict[str, Any]]

    @property
    def passed(self) -> bool:
        return all(image.passed for image in self.images)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "passed": self.passed,
            "backend": self.backend,
            "threads": self.threads,
            "tolerance": vars(self.tolerance),
            "max_box_diff_px": max((i.max_box_diff for i in self.images), default=0.0),
            "max_score_diff": max((i.max_score_diff for i in self.images), default=0.0),
            "images": [image.to_dict() for image in self.images],
        }


def decode_tensor(payload: dict[str, Any]) -> np.ndarray:
    """Decode a tensor the harness sent as base64 bytes with its dtype and dims."""
    data = np.frombuffer(base64.b64decode(payload["data"]), dtype=np.dtype(payload.get("dtype", "float32")))
    return data.reshape(payload["dims"])


def _mount_images(paths: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """Mount each image's folder under its own URL prefix; return mounts and image URLs."""
    folders: dict[Path, str] = {}
    urls = []
    for path in paths:
        folder = path.resolve().parent
        prefix = folders.setdefault(folder, f"{IMAGES_PREFIX}{len(folders)}/")
        urls.append(prefix + urllib.parse.quote(path.name))
    return {prefix: folder for folder, prefix in folders.items()}, urls


def verify_bundle(
    bundle_path: str | Path,
    images: list[str | Path],
    tolerance: Tolerance | None = None,
    num_threads: int | None = None,
    reference_model: Path | None = None,
) -> VerifyReport:
    """Run every image through the bundle in Chromium and through the reference; compare each stage.

    Without ``tolerance``, the default for the model's quantization applies. A bundle
    whose model was converted (TF.js) needs ``reference_model``, its source model.
    """
    from tqdm import tqdm

    bundle: Bundle = load_bundle(bundle_path)
    tolerance = tolerance or tolerance_for(bundle.manifest["model"].get("quantization", "none"))
    paths = expand_images(images)
    reference = ReferenceDetector(bundle.reference_model(reference_model), bundle.preprocess, bundle.postprocess,
                                  bundle.labels, bundle.input_name)
    results: list[ImageParity] = []
    try:
        run = run_in_browser(bundle.root, paths, num_threads=num_threads)
        for path, browser in tqdm(list(zip(paths, run.results)), desc="compare", unit="image", disable=None):
            results.append(_compare_one(path, reference, bundle, browser, tolerance))
    finally:
        reference.close()
    return VerifyReport(str(bundle.root), run.backend, run.threads, tolerance, results, paths, run.results)


@dataclass
class BrowserRun:
    backend: str
    threads: int | None
    results: list[dict[str, Any]]


def run_in_browser(root: Path, paths: list[Path], num_threads: int | None = None, options: dict | None = None) -> BrowserRun:
    """Detect every image with the bundle in ``root`` in headless Chromium; return the harness results.

    ``options`` go to ``detect`` (for instance ``scoreThreshold``).
    """
    from tqdm import tqdm

    from .browser import chromium_page

    mounts, urls = _mount_images(paths)
    mounts[VERIFY_PREFIX] = template_root() / "verify"
    results: list[dict[str, Any]] = []
    backend, threads = "", None
    with BundleServer(root, mounts=mounts) as server:
        with chromium_page(server.url + VERIFY_PREFIX.lstrip("/") + "harness.html") as page:
            page.wait_for_selector("body[data-state]")
            if page.evaluate("document.body.dataset.state") != "ready":
                raise BrowserError(f"the bundle failed to load in Chromium: {page.inner_text('#state')}")
            if num_threads is not None:
                page.evaluate("(n) => window.visionExport.reload({numThreads: n})", num_threads)
            for url in tqdm(urls, desc="browser", unit="image", disable=None):
                browser = page.evaluate("([url, options]) => window.visionExport.detectUrl(url, options)", [url, options or {}])
                backend, threads = browser["backend"], browser["threads"]
                results.append(browser)
    return BrowserRun(backend, threads, results)


def _compare_one(path: Path, reference: ReferenceDetector, bundle: Bundle, browser: dict, tolerance: Tolerance) -> ImageParity:
    stages = reference.run_stages(load_image_rgb(path))
    ref_dets = [d.to_dict() | {"box": list(d.box), "score": d.score} for d in stages.detections]
    result = ImageParity(
        path.name, len(ref_dets), len(browser["detections"]), reference_detections=ref_dets, browser_detections=browser["detections"]
    )
    match_detections(ref_dets, browser["detections"], bundle.postprocess.score_threshold, tolerance, result)
    browser_outputs = {name: decode_tensor(payload) for name, payload in browser["outputs"].items()}
    compare_stages(stages.input_tensor, decode_tensor(browser["input"]), stages.raw_outputs, browser_outputs, tolerance, result)
    return result


def format_table(report: VerifyReport) -> str:
    """Return the per-image parity table printed by ``vision-export verify``."""
    header = f"{'image':<32} {'ref':>4} {'web':>4} {'match':>5} {'box px':>8} {'score':>9} {'input':>9} {'raw out':>9}  result"
    lines = [header, "-" * len(header)]
    for image in report.images:
        raw = max(image.output_max_diff.values(), default=0.0)
        verdict = "ok" if image.passed else f"FAIL ({image.first_divergent_stage or 'postprocess'})"
        lines.append(
            f"{image.image[:32]:<32} {image.reference_count:>4} {image.browser_count:>4} {image.matched:>5} "
            f"{image.max_box_diff:>8.4f} {image.max_score_diff:>9.2e} {image.input_max_diff or 0:>9.2e} {raw:>9.2e}  {verdict}"
        )
        lines += [f"    {problem}" for problem in image.problems]
    total = len(report.images)
    failed = sum(not image.passed for image in report.images)
    lines.append(f"backend {report.backend}, threads {report.threads}: {total - failed} of {total} images within tolerance "
                 f"({describe_tolerance(report.tolerance)})")
    return "\n".join(lines)
