"""Write a self-contained web bundle: page, JS runtime, pinned runtime files, model, manifest."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .atomic import atomic_output_dir, check_output_dir
from .config import spec_to_dict
from .inspection import ModelInfo, inspect_model
from .quantize import QuantizeOptions
from .resolve import ResolvedContract, UserOptions, resolve_contract
from .errors import RuntimeFilesError, UnsupportedModelError
from .reference.runners import model_format
from .runtime_files import ensure_runtime, sha256_file, source_fingerprint
from .self_check import reference_fingerprint
from .security import CONTENT_SECURITY_POLICY, netlify_headers_file
from .targets import get_runtime
from .templates import template_root

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
RUNTIME_DIR = "runtime"


@dataclass(frozen=True)
class ExportResult:
    out: Path
    manifest: dict[str, Any]
    total_bytes: int


def export_web(
    model_path: str | Path,
    out: str | Path,
    runtime: str = "onnx",
    options: UserOptions | None = None,
    force: bool = False,
    backends: tuple[str, ...] | None = None,
    quantize: QuantizeOptions | None = None,
) -> ExportResult:
    """Export ``model_path`` to a static bundle in ``out``; nothing is written on failure.

    ``backends`` are the execution providers the page tries, in order (default: the
    target's default, wasm). ``quantize`` quantizes the bundled model and adds
    ``quantization-report.json``.
    """
    out = Path(out)
    check_output_dir(out, force)
    target = get_runtime(runtime)
    backends = target.check_backends(tuple(backends or target.backends))
    target.check_source(Path(model_path))
    info = inspect_model(Path(model_path))
    contract = resolve_contract(info, options or UserOptions())
    target.check_model(info)
    missing = target.unsupported_operators(info)
    if missing:
        raise UnsupportedModelError(
            f"{target.description} cannot run model {str(info.path)!r}: {'; '.join(missing)}. "
            "Re-export the model with operators from the standard ONNX domain"
        )
    if quantize is not None:
        target.check_quantize(info, quantize)
    runtime_folders = {package.key: ensure_runtime(package) for package in target.packages}

    with atomic_output_dir(out, force) as staging:
        model_file = staging / target.model_filename
        model_file.parent.mkdir(parents=True, exist_ok=True)
        binding = target.write_model(info, model_file, contract, **target.write_options(quantize))
        quantized = None if quantize is None else target.quantize_staged(info, contract, quantize, staging)
        bundled_info = info if quantized is None else quantized.info
        _copy_runtime(target, backends, runtime_folders, staging / RUNTIME_DIR)
        _copy_template(staging, info, contract, target)
        manifest = build_manifest(bundled_info, contract, target, staging, backends, binding)
        if quantized is not None:
            # A TF.js report is scored by running the finished bundle, whose page reads the
            # manifest; the report file it writes then joins the file list.
            _write_manifest(staging, manifest)
            quantized.finish(staging)
            manifest["files"] = file_entries(staging)
            manifest["quantization_report"] = quantized.manifest_summary()
        _write_manifest(staging, manifest)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    logger.debug("wrote %s (%.1f MiB) for %s", out, total / 2**20, info.path.name)
    return ExportResult(out, manifest, total)


def file_entries(staging: Path) -> list[dict[str, Any]]:
    """List every file of the bundle but the manifest itself, with its size and SHA-256."""
    return [
        {"path": p.relative_to(staging).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(staging.rglob("*"))
        if p.is_file() and p.relative_to(staging).as_posix() != "manifest.json"
    ]


def _write_manifest(staging: Path, manifest: dict[str, Any]) -> None:
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _copy_runtime(target, backends: tuple[str, ...], sources: dict[str, Path], destination: Path) -> None:
    """Copy only the runtime files the chosen backends load, checking each copy's hash."""
    destination.mkdir(parents=True)
    for package in target.packages:
        for pinned in package.files_for(backends):
            shutil.copyfile(sources[package.key] / pinned.name, destination / pinned.name)
            if sha256_file(destination / pinned.name) != pinned.shipped_sha256:
                raise RuntimeFilesError(f"copy of {pinned.name} in {destination} does not match its pinned SHA-256")


def _copy_template(staging: Path, info: ModelInfo, contract: ResolvedContract, target) -> None:
    import jinja2

    root = template_root()
    shutil.copyfile(root / "vision-export.js", staging / "vision-export.js")
    shutil.copyfile(root / "vision-export.d.ts", staging / "vision-export.d.ts")
    shutil.copytree(root / "lib", staging / "lib")
    shutil.copytree(root / "app", staging / "app")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,  # model names and metadata are untrusted text
        undefined=jinja2.StrictUndefined,
    )
    description = info.metadata.get("description") or f"{contract.postprocess.head} detector"
    html = environment.get_template("index.html.j2").render(
        title=info.path.stem,
        subtitle=f"{description} · {len(contract.labels)} classes · input {contract.preprocess.width}x{contract.preprocess.height}",
        csp=CONTENT_SECURITY_POLICY,
        runtime_name=target.description,
    )
    (staging / "index.html").write_text(html, encoding="utf-8")
    (staging / "_headers").write_text(netlify_headers_file(), encoding="utf-8")


def build_manifest(info: ModelInfo, contract: ResolvedContract, target, staging: Path, backends: tuple[str, ...],
                   binding: dict[str, Any] | None = None) -> dict[str, Any]:
    """Describe the bundle: the pre/post contract, labels, model, runtime and every file's hash.

    ``binding`` is what the target's ``write_model`` returned (for TF.js, which graph
    node carries which tensor); it is merged into the ``model`` section.
    """
    model_file = staging / target.model_filename
    files = file_entries(staging)
    # Files beside the main model file (TF.js weight shards), which the page fetches and checks too.
    parts = [f for f in files if model_file.parent != staging and f["path"].startswith(f"{model_file.parent.name}/")
             and f["path"] != target.model_filename]
    manifest = {
        "format_version": MANIFEST_FORMAT,
        "generator": f"vision-export {__version__}",
        "model": {
            "file": target.model_filename,
            "sha256": sha256_file(model_file),
            "bytes": model_file.stat().st_size + sum(part["bytes"] for part in parts),
            "parts": [{"path": part["path"], "sha256": part["sha256"]} for part in parts],
            "source_name": info.path.name,
            "source_sha256": source_fingerprint(info.path),
            "source_format": model_format(info.path),
            "input_name": contract.input_name,
            "input_layout": contract.preprocess.layout,
            "output_names": [o.name for o in info.outputs],
            "opset": info.opset,
            "quantization": info.quantization,
            "description": info.metadata.get("description", ""),
        },
        "runtime": {
            "name": target.name,
            "package": target.package.npm_name,
            "version": target.package.version,
            "license": target.package.license,
            "backends": [
                {
                    "name": name,
                    "entry": f"{RUNTIME_DIR}/{target.backend_entries[name]}",
                    "files": [f"{RUNTIME_DIR}/{pinned.name}" for pinned in target.package.files_for((name,))],
                }
                for name in backends
            ],
            "self_check": reference_fingerprint(target.self_check_model(info, model_file), contract,
                                                target.self_check_tolerance(info, binding or {})),
        },
        "preset": contract.preset,
        "resolved_from": contract.sources,
        "preprocess": spec_to_dict(contract.preprocess),
        "postprocess": spec_to_dict(contract.postprocess),
        "labels": contract.labels,
        "files": files,
    }
    manifest["model"].update(binding or {})
    if target.core_file:
        manifest["runtime"]["core"] = f"{RUNTIME_DIR}/{target.core_file}"
    return manifest
