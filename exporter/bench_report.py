"""The markdown tables that ``vision-export bench`` prints, built from its JSON result."""

from __future__ import annotations

from typing import Any

from .bench_stats import STAGES, ratio

STAGE_TITLES = {
    "preprocess": "preprocess",
    "inference": "inference",
    "postprocess": "decode + NMS",
    "total": "end-to-end",
}


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _ratio_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else ""


def _mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB" if size >= 2**20 else f"{size / 1024:.1f} KiB"


def _native_line(model: str, setup: dict[str, Any]) -> str:
    """Say what the native column ran, which differs from the page when --reference or --native-threads is given."""
    native_model = setup.get("native_model", model)
    native_threads = setup.get("native_threads", setup["threads"])
    return f"Native: onnxruntime on {native_model} with {native_threads} intra-op thread(s)."


def _environment_line(environment: dict[str, Any]) -> str:
    load = environment.get("load_average_1min", {})
    before, after = load.get("before"), load.get("after")
    load_text = f"{before:.1f} before, {after:.1f} after" if before is not None and after is not None else "not reported"
    return (
        f"Machine: {environment['cpu']}, {environment['nproc']} cores, 1-minute load average {load_text}. "
        f"Chromium {environment['chromium']}, onnxruntime {environment['onnxruntime']}, "
        f"{environment['browser_runtime']}."
    )


def _stage_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        "| stage | browser median ms | browser p90 ms | native median ms | native p90 ms | browser / native |",
        "|---|---|---|---|---|---|",
    ]
    for stage in STAGES:
        row = result["stages"][stage]
        lines.append(
            f"| {STAGE_TITLES[stage]} | {_ms(row['browser']['median'])} | {_ms(row['browser']['p90'])} "
            f"| {_ms(row['native']['median'])} | {_ms(row['native']['p90'])} | {_ratio_text(row['ratio'])} |"
        )
    return lines


def _camera_lines(camera: dict[str, Any]) -> list[str]:
    browser_fps, native_fps = camera["browser"]["fps"], camera["native"]["fps"]
    lines = [
        f"Camera-like loop on a {camera['width']}x{camera['height']} frame, {camera['runs']} frames:",
        "",
        "| | browser | native | browser / native |",
        "|---|---|---|---|",
        f"| frames per second | {browser_fps:.2f} | {native_fps:.2f} | {_ratio_text(ratio(native_fps, browser_fps))} (time) |",
    ]
    for stage in STAGES:
        web = camera["browser"]["stages"][stage]["median"]
        ref = camera["native"]["stages"][stage]["median"]
        lines.append(f"| {STAGE_TITLES[stage]} median ms | {_ms(web)} | {_ms(ref)} | {_ratio_text(ratio(web, ref))} |")
    return lines


def _js_stage_lines(result: dict[str, Any]) -> list[str]:
    """Return the pure-JS stage times as shares of the camera loop's browser inference."""
    stages = result["camera"]["browser"]["stages"]
    inference = stages["inference"]["median"]
    lines = ["| JS stage | median ms | p90 ms | share of browser inference |", "|---|---|---|---|"]
    for name, title in (
        ("preprocess", "preprocess math alone (1280x720, lib/preprocess.js)"),
        ("nms_stress", "decode + NMS stress (8400 x 80, lib/postprocess.js)"),
    ):
        kernel = result["kernels"][name]["browser"]
        lines.append(f"| {title} | {_ms(kernel['median'])} | {_ms(kernel['p90'])} | {_share(kernel['median'], inference)} |")
    for name, title in (("preprocess", "preprocess in detect(), camera frame"), ("postprocess", "decode + NMS in detect(), camera frame")):
        stage = stages[name]
        lines.append(f"| {title} | {_ms(stage['median'])} | {_ms(stage['p90'])} | {_share(stage['median'], inference)} |")
    return lines


def _size_lines(sizes: dict[str, Any], max_files: int) -> list[str]:
    lines = [
        f"Bundle: {_mib(sizes['total_bytes'])} raw, {_mib(sizes['total_gzip_bytes'])} gzip (level {sizes['gzip_level']}).",
        "",
        "| file | raw | gzip |",
        "|---|---|---|",
    ]
    for entry in sizes["files"][:max_files]:
        lines.append(f"| {entry['path']} | {_mib(entry['bytes'])} | {_mib(entry['gzip_bytes'])} |")
    hidden = sizes["files"][max_files:]
    if hidden:
        raw = sum(entry["bytes"] for entry in hidden)
        packed = sum(entry["gzip_bytes"] for entry in hidden)
        lines.append(f"| {len(hidden)} smaller files | {_mib(raw)} | {_mib(packed)} |")
    return lines


def format_markdown(result: dict[str, Any], max_files: int = 12) -> str:
    """Render a bench result (the JSON structure of :func:`exporter.bench.run_bench`) as markdown."""
    setup = result["setup"]
    load = result["load"]
    memory = result["memory"]
    lines = [
        f"### {result['model']} ({setup['input']}, backend {setup['backend']}, {setup['threads']} thread(s), "
        f"{setup['runs']} frames after {setup['warmup']} warm-up)",
        "",
        _native_line(result["model"], setup),
        _environment_line(result["environment"]),
        "",
        *_stage_lines(result),
        "",
        *_camera_lines(result["camera"]),
        "",
        *_js_stage_lines(result),
        "",
        f"Model load (loadDetector in a fresh page): {load['browser_ms']:.0f} ms. Native session creation: {load['native_ms']:.0f} ms.",
        f"Peak JS heap of the page and its workers: {_mib(memory['peak_js_heap_bytes'])}. "
        f"Peak ArrayBuffer backing stores of the workers: {_mib(memory['peak_worker_buffers_bytes'])}.",
        "",
        *_size_lines(result["bundle_size"], max_files),
    ]
    return "\n".join(lines)
