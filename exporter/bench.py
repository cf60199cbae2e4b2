"""Benchmark a bundle in headless Chromium against the Python reference, in one run.

Browser and reference runs alternate, so both sides see the same load on a shared
machine: a browser frame, then the same input through the reference. Camera-loop blocks
and the stage timings alternate likewise. The reference runs onnxruntime with
``intra_op_num_threads`` equal to the page's wasm thread count unless
``native_threads`` is given, and runs the bundle's model unless ``reference_model``
names another (the float source of a quantized bundle, say). Times are in
milliseconds unless a name says otherwise.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import bench_stress
from .bench_cdp import HeapSampler
from .bench_inputs import CAMERA_SIZE, Frames, ReferenceTimer, load_frames, write_frames
from .bench_stats import STAGES, file_sizes, size_summary, stage_table, summarize
from .errors import BrowserError, ConfigError, RuntimeFilesError
from .manifest import load_bundle
from .serve import BundleServer
from .templates import template_root

logger = logging.getLogger(__name__)

BENCH_PREFIX = "/__vision_export__/bench/"
FRAMES_PREFIX = "/__vision_export__/bench-frames/"
# Timed runs of each JS stage measured alone (preprocess math, NMS stress); each takes milliseconds.
KERNEL_RUNS = 20
KERNEL_WARMUP = 3
# The camera-like loop runs this many frames back to back before the reference takes its turn.
CAMERA_BLOCK = 5
PAGE_READY_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class BenchOptions:
    """Frame counts, the thread count of both sides and the browser backend (None: the bundle's first)."""

    runs: int = 20
    warmup: int = 3
    threads: int = 1
    backend: str | None = None
    # The model the native side runs: needed for a converted (TF.js) bundle, and the float
    # source of a quantized bundle compares the two formats in one run.
    reference_model: Path | None = None
    # Native intra-op threads; None runs native with ``threads``.
    native_threads: int | None = None

    @property
    def effective_native_threads(self) -> int:
        return self.native_threads or self.threads

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"--runs {self.runs} is invalid: time at least 1 frame")
        if self.warmup < 0:
            raise ConfigError(f"--warmup {self.warmup} is invalid: use 0 or more frames")
        if self.threads < 1:
            raise ConfigError(f"--threads {self.threads} is invalid: use 1 or more threads")
        if self.native_threads is not None and self.native_threads < 1:
            raise ConfigError(f"--native-threads {self.native_threads} is invalid: use 1 or more threads")


def _open_harness(page, options: BenchOptions) -> dict[str, Any]:
    page.wait_for_selector("body[data-state]", timeout=PAGE_READY_TIMEOUT_MS)
    if page.evaluate("document.body.dataset.state") != "ready":
        raise BrowserError(f"the bench harness failed to start in Chromium: {page.inner_text('#state')}")
    from playwright.sync_api import Error as PlaywrightError

    try:
        loaded = page.evaluate("(options) => window.visionBench.load(options)", {"numThreads": options.threads, "backend": options.backend})
    except PlaywrightError as exc:
        raise BrowserError(f"the bundle failed to load in Chromium: {_first_line(exc)}") from exc
    if options.backend and loaded["backend"] != options.backend:
        raise ConfigError(
            f"backend {options.backend!r} did not run in this bundle (the page fell back to {loaded['backend']!r}): "
            "pass a backend the bundle ships, or leave out --backend"
        )
    if loaded["backend"] == "wasm" and loaded["threads"] != options.threads:
        raise BrowserError(
            f"the page runs {loaded['threads']} wasm thread(s), not the {options.threads} requested "
            f"(cross-origin isolated: {loaded['crossOriginIsolated']}), so the comparison with native would be unfair"
        )
    return loaded


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _browser_stages(timings: dict[str, float]) -> dict[str, float]:
    """Use the time the page waited for detect() as the browser's end-to-end time.

    detect()'s own ``total`` may leave out handing the frame to the detection worker
    and reading its pixels, work that a native caller never does.
    """
    return {**timings, "detect_total": timings["total"], "total": timings["wall"]}


def _interleaved_frames(page, reference: ReferenceTimer, frames: Frames, options: BenchOptions, heap: HeapSampler) -> dict[str, Any]:
    """Alternate browser and reference frames over the inputs; drop the first ``warmup`` of each."""
    browser, native, browser_counts, native_counts = [], [], [], []
    total = options.warmup + options.runs
    for step in range(total):
        index = step % len(frames.images)
        web = page.evaluate("(index) => window.visionBench.detectFrame(index)", index)
        heap.sample()
        timings, count = reference.run(frames.images[index])
        if step >= options.warmup:
            browser.append(_browser_stages(web["timings"]))
            native.append(timings)
            browser_counts.append(web["detections"])
            native_counts.append(count)
        logger.debug("frame %d/%d %s: browser %.1f ms, native %.1f ms", step + 1, total, frames.names[index], web["timings"]["wall"], timings["total"])
    return {"browser": browser, "native": native, "browser_detections": browser_counts, "native_detections": native_counts}


def _camera_loop(page, reference: ReferenceTimer, frames: Frames, camera_index: int, options: BenchOptions, heap: HeapSampler) -> dict[str, Any]:
    """Run detect() back to back on the 1280x720 frame, in blocks that alternate with the reference."""
    page.evaluate("([index, warmup]) => window.visionBench.cameraLoop(index, warmup, 0)", [camera_index, options.warmup])
    for _ in range(options.warmup):
        reference.run(frames.camera)
    web_timings, native_timings = [], []
    web_elapsed_ms = native_elapsed_s = 0.0
    done = 0
    while done < options.runs:
        block = min(CAMERA_BLOCK, options.runs - done)
        web = page.evaluate("([index, runs]) => window.visionBench.cameraLoop(index, 0, runs)", [camera_index, block])
        heap.sample()
        web_timings += [_browser_stages(t) for t in web["timings"]]
        web_elapsed_ms += web["elapsedMs"]
        start = time.perf_counter()
        native_timings += [reference.run(frames.camera)[0] for _ in range(block)]
        native_elapsed_s += time.perf_counter() - start
        done += block
    return {
        "width": CAMERA_SIZE[0],
        "height": CAMERA_SIZE[1],
        "runs": options.runs,
        "browser": {"fps": options.runs * 1000 / web_elapsed_ms, "stages": {s: summarize([t[s] for t in web_timings]) for s in STAGES}},
        "native": {"fps": options.runs / native_elapsed_s, "stages": {s: summarize([t[s] for t in native_timings]) for s in STAGES}},
    }


def _kernels(page, reference: ReferenceTimer, frames: Frames, camera_index: int) -> dict[str, Any]:
    """Time the pure-JS stages alone, alternating with Python: preprocess math on the camera frame, decode + NMS on the stress case."""
    outputs = bench_stress.stress_outputs()
    expected = bench_stress.reference_detections(outputs)
    page.evaluate("(payload) => window.visionBench.setPostprocessCase(payload)", bench_stress.browser_payload(outputs))
    page.evaluate("([index, warmup]) => window.visionBench.preprocessKernel(index, warmup, 0)", [camera_index, KERNEL_WARMUP])
    page.evaluate("(warmup) => window.visionBench.postprocessKernel(warmup, 0)", KERNEL_WARMUP)

    web_pre, native_pre, web_nms, native_nms = [], [], [], []
    detections = []
    for _ in range(KERNEL_RUNS):
        web_pre += page.evaluate("(index) => window.visionBench.preprocessKernel(index, 0, 1)", camera_index)["times"]
        native_pre.append(reference.time_preprocess(frames.camera))
        result = page.evaluate("() => window.visionBench.postprocessKernel(0, 1)")
        web_nms += result["times"]
        detections = result["detections"]
        start = time.perf_counter()
        bench_stress.reference_detections(outputs)
        native_nms.append((time.perf_counter() - start) * 1000)

    same = [(d["box"], d["score"], d["class_id"]) for d in detections] == [(list(d.box), d.score, d.class_id) for d in expected]
    if not same:
        logger.warning("the NMS stress case gave %d detections in the browser and %d in Python", len(detections), len(expected))
    return {
        "preprocess": {"source": f"{CAMERA_SIZE[0]}x{CAMERA_SIZE[1]}", "browser": summarize(web_pre), "native": summarize(native_pre)},
        "nms_stress": {
            "candidates": bench_stress.CANDIDATES,
            "classes": bench_stress.CLASSES,
            "kept": len(expected),
            "matches_python": same,
            "browser": summarize(web_nms),
            "native": summarize(native_nms),
        },
    }


def _load_average() -> float | None:
    """Return the 1-minute load average, or None where the OS does not report one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def machine_description() -> dict[str, Any]:
    """Return the CPU model (from /proc/cpuinfo on Linux), the usable core count and the OS."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "nproc": cores, "os": platform.platform()}


def run_bench(bundle_path: str | Path, images: list[str | Path] | None = None, options: BenchOptions | None = None) -> dict[str, Any]:
    """Benchmark ``bundle_path`` in headless Chromium and the Python reference; return the JSON-ready result."""
    import onnxruntime
    from playwright.sync_api import Error as PlaywrightError

    from .browser import chromium_page

    options = options or BenchOptions()
    load_before = _load_average()
    harness = template_root() / "bench"
    if not (harness / "harness.html").is_file():
        raise RuntimeFilesError(f"the bench harness is missing from {harness}: reinstall vision-export")
    bundle = load_bundle(bundle_path)
    frames = load_frames(images)
    reference = ReferenceTimer(bundle, options.effective_native_threads, options.reference_model)
    with tempfile.TemporaryDirectory(prefix="vision-export-bench-") as work:
        urls = write_frames(frames, Path(work), FRAMES_PREFIX)
        camera_index = len(urls) - 1
        mounts = {BENCH_PREFIX: harness, FRAMES_PREFIX: Path(work)}
        with BundleServer(bundle.root, mounts=mounts) as server:
            with chromium_page(server.url + BENCH_PREFIX.lstrip("/") + "harness.html") as page:
                try:
                    heap = HeapSampler(page)
                    loaded = _open_harness(page, options)
                    logger.info("loaded %s in %.0f ms: backend %s, %s thread(s)", bundle.root, loaded["loadMs"], loaded["backend"], loaded["threads"])
                    page.evaluate("(urls) => window.visionBench.prepareFrames(urls)", urls)
                    logger.info("timing %d frames after %d warm-up, browser and native alternating", options.runs, options.warmup)
                    samples = _interleaved_frames(page, reference, frames, options, heap)
                    logger.info("timing the camera-like loop on a %dx%d frame", *CAMERA_SIZE)
                    camera = _camera_loop(page, reference, frames, camera_index, options, heap)
                    logger.info("timing the JS preprocess and NMS stages alone")
                    kernels = _kernels(page, reference, frames, camera_index)
                    chromium_version = page.context.browser.version
                except PlaywrightError as exc:
                    raise BrowserError(f"Chromium failed while benchmarking {bundle.root}: {_first_line(exc)}") from exc

    spec = bundle.preprocess
    return {
        "bundle": str(bundle.root),
        "model": bundle.manifest["model"].get("source_name", bundle.manifest["model"]["file"]),
        "setup": {
            "input": f"{spec.width}x{spec.height}",
            "backend": loaded["backend"],
            "threads": options.threads,
            "native_threads": options.effective_native_threads,
            "native_model": reference.model_name,
            "runs": options.runs,
            "warmup": options.warmup,
            "frames": frames.names,
            "cross_origin_isolated": loaded["crossOriginIsolated"],
        },
        "environment": {
            **machine_description(),
            "chromium": chromium_version,
            "onnxruntime": onnxruntime.__version__,
            "browser_runtime": f"{bundle.manifest['runtime']['package']} {bundle.manifest['runtime']['version']}",
            # Runnable threads averaged over 1 minute, before and after: other work on a shared machine.
            "load_average_1min": {"before": load_before, "after": _load_average()},
        },
        "load": {"browser_ms": loaded["loadMs"], "native_ms": reference.load_ms},
        "stages": stage_table(samples["browser"], samples["native"]),
        "detections": {"browser": samples["browser_detections"], "native": samples["native_detections"]},
        "samples": {"browser": samples["browser"], "native": samples["native"]},
        "camera": camera,
        "kernels": kernels,
        "memory": heap.describe(),
        "bundle_size": size_summary(file_sizes(bundle.root)),
    }
