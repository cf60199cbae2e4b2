"""TensorFlow.js target: the model converted to a TF.js graph model, run by TF.js's wasm, WebGL or WebGPU backend.

ONNX models go ONNX -> onnx2tf -> SavedModel -> tensorflowjs converter; SavedModels
and Keras files go straight to the converter. Both tools run in the TF.js tool
environment (see :mod:`exporter.toolenv`), never in this interpreter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from pathlib import Path

from ..errors import ConfigError, ConversionError
from ..images_list import expand_images
from ..self_check import tolerance_for
from ..inspection import ModelInfo
from ..reference.runners import model_format
from ..runtime_files import ALL_BACKENDS, PinnedFile, RuntimePackage, cache_root, register_patch, sha256_file
from ..toolenv import TFJS_TOOLS
from .base import RuntimeTarget, register_runtime

logger = logging.getLogger(__name__)

TFJS_VERSION = "4.22.0"

TFJS = RuntimePackage(
    npm_name="@tensorflow/tfjs",
    version=TFJS_VERSION,
    license="Apache-2.0",
    files=(
        # The union package as one ES module with no imports: core, converter, cpu and WebGL backends.
        PinnedFile("dist/tf.fesm.min.js", "d04eb25983352ee850046cf8079a864f4fe0284fb0b3aa409a9f9c8ae668cdac", 1111406, ALL_BACKENDS),
    ),
)

TFJS_WASM = RuntimePackage(
    npm_name="@tensorflow/tfjs-backend-wasm",
    version=TFJS_VERSION,
    license="Apache-2.0",
    files=(
        PinnedFile("dist/tf-backend-wasm.fesm.min.js", "6c5b77d83ef1106fc64086f5bcf30ab428a7b504b61f4251e20b4fdec8499f6b", 142815,
                   "wasm", patch="tfjs-esm-imports",
                   patched_sha256="f0e4f423a81b80222f8755f42140c4134a33c08b1ea42aba10f62ed382c43a2e"),
        # The backend picks the SIMD build where the browser has wasm SIMD. The threaded
        # build is not shipped: it starts workers from blob: URLs, which the bundle's CSP forbids.
        PinnedFile("dist/tfjs-backend-wasm.wasm", "70a5d516060464e5269f01c74bac1772d6b8ab6cb612acf16b5cdaf61f78d892", 311123),
        PinnedFile("dist/tfjs-backend-wasm-simd.wasm", "77ebb28a6d34f371dbbf2086b7f2de8994acd8ea5a3cf1fa24d2c26c840cac7b", 424594),
    ),
)

TFJS_WEBGPU = RuntimePackage(
    npm_name="@tensorflow/tfjs-backend-webgpu",
    version=TFJS_VERSION,
    license="Apache-2.0",
    files=(
        PinnedFile("dist/tf-backend-webgpu.fesm.min.js", "5a73b2c3b0a0456b385d3d123b28781c1fbe5bf9e13c06e3045f805eccc15b3e", 316808,
                   "webgpu", patch="tfjs-esm-imports",
                   patched_sha256="f2626f19d420597121a682b2ddcc16c4560c564a9c6ad82e2d69a1372d52f941"),
    ),
)

CORE_FILE = "tf.fesm.min.js"
# The module each backend imports after the core; WebGL ships inside the core module.
BACKEND_ENTRIES = {"wasm": "tf-backend-wasm.fesm.min.js", "webgl": CORE_FILE, "webgpu": "tf-backend-webgpu.fesm.min.js"}

# --quantize modes this target offers, as the converter's weight dtypes. TF.js turns
# the weights back into float32 when it loads them: they shrink the download, not the compute.
WEIGHT_QUANTIZATION = {"fp16": "float16", "uint8": "uint8"}

# Self-check tolerance (relative to the output scale) for compressed weights. Their
# reference is the float source model, which they legitimately differ from: uint8 kernels
# moved YOLOX-Nano's zero-input output by 0.8 of a scale of 3.7 (22%). At 50% the check
# still catches a backend that returns garbage; the accuracy report measures the rest.
COMPRESSED_SELF_CHECK_TOLERANCE = 0.5

# Bumped whenever the onnx2tf call changes, so cached SavedModels from the old call are not reused.
SAVED_MODEL_RECIPE = 3

# onnx2tf on yolov8n took about a minute here; a conversion ten times slower is stuck.
CONVERT_TIMEOUT_S = 1800


@register_patch("tfjs-esm-imports")
def resolve_esm_imports(data: bytes) -> bytes:
    """Point a TF.js backend's ES module at the bundled core module.

    The backends' ES builds import ``@tensorflow/tfjs-core`` by package name, which a
    browser resolves only through an import map, and module workers have none. The
    wasm build also imports Node's fs, path, perf_hooks and os for its Node code
    path. A browser never reads those bindings, so they become undefined.
    """
    text = data.decode("utf-8")
    text = text.replace('from"@tensorflow/tfjs-core"', f'from"./{CORE_FILE}"')
    text = re.sub(r'import (\w+) from"(fs|path|perf_hooks|os)";', r"const \1=void 0;", text)
    return text.encode("utf-8")


@register_runtime
class TfjsWebTarget(RuntimeTarget):
    name = "tfjs"
    description = f"TensorFlow.js {TFJS_VERSION}"
    package = TFJS
    backends = ("wasm",)
    available_backends = tuple(BACKEND_ENTRIES)
    backend_entries = BACKEND_ENTRIES
    model_filename = "model/model.json"
    source_formats = ("onnx", "saved_model", "keras")
    core_file = CORE_FILE
    checks_operators = False

    @property
    def packages(self) -> tuple[RuntimePackage, ...]:
        return (TFJS, TFJS_WASM, TFJS_WEBGPU)

    def check_source(self, path: Path) -> None:
        super().check_source(path)
        TFJS_TOOLS.require()  # before the runtime fetch, so a missing setup fails at once

    def check_quantize(self, info: ModelInfo, options) -> None:
        if options.mode not in WEIGHT_QUANTIZATION:
            raise ConfigError(
                f"--quantize {options.mode} is not available with --runtime tfjs: use {' or '.join(WEIGHT_QUANTIZATION)} "
                "(TF.js weight compression), or --runtime onnx for int8"
            )
        if options.quantize_all or options.exclude:
            raise ConfigError("--quantize-all and --quantize-exclude apply to onnx int8 only: drop them with --runtime tfjs")
        if options.calibration_dir is not None:
            raise ConfigError("--calibration is for int8 activation ranges; TF.js weight compression needs none: "
                              "pass the images with --eval to measure the accuracy cost")
        if options.eval_dir is not None:
            expand_images([options.eval_dir])  # raises InvalidImageError before any work

    def write_options(self, quantize) -> dict:
        return {"weights": "none" if quantize is None else WEIGHT_QUANTIZATION[quantize.mode]}

    def quantize_staged(self, info: ModelInfo, contract, options, staging: Path):
        from .tfjs_quantization import report_weight_quantization

        return report_weight_quantization(self, info, contract, options, staging)

    def self_check_model(self, info: ModelInfo, model_file: Path) -> Path:
        # No Python runtime loads a TF.js graph model, so the source model is the reference.
        # The conversion matched it to about 1e-4 of the output scale.
        return info.path

    def self_check_tolerance(self, info: ModelInfo, binding: dict) -> float:
        if binding.get("quantization") in WEIGHT_QUANTIZATION:
            return COMPRESSED_SELF_CHECK_TOLERANCE
        return tolerance_for(info.quantization)

    def unsupported_operators(self, info: ModelInfo) -> list[str]:
        # onnx2tf names the operator it cannot convert; that error surfaces from write_model.
        return []

    def write_model(self, info: ModelInfo, destination: Path, contract, weights: str = "none") -> dict:
        """Convert the model into ``destination.parent``; return the manifest's TF.js binding."""
        TFJS_TOOLS.require()
        folder = destination.parent
        args = [str(info.path), str(folder), "--weights", weights]
        if model_format(info.path) == "onnx":
            args += ["--keep-nchw", contract.input_name, "--cache", str(_saved_model_cache(info.path, contract.input_name))]
        with tempfile.TemporaryDirectory(prefix="vision-export-tfjs-") as work:
            result = TFJS_TOOLS.run_with_progress(
                "tfjs_tool.py", ["convert", *args, "--workdir", work],
                description=f"converting {info.path.name} to TF.js", timeout=CONVERT_TIMEOUT_S,
            )
        if result.returncode != 0:
            raise ConversionError(f"converting {str(info.path)!r} to TF.js failed: {_last_error(result.stdout)}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        return _binding(info, contract, report, weights)


def _saved_model_cache(source: Path, input_name: str) -> Path:
    """Cache folder for onnx2tf's SavedModel of ``source``, keyed by file hash, flags and tool pins."""
    key = hashlib.sha256(
        f"{sha256_file(source)}\0{input_name}\0{TFJS_TOOLS.folder.name}\0{SAVED_MODEL_RECIPE}".encode("utf-8")
    ).hexdigest()[:20]
    return cache_root() / "tfjs-saved-models" / key


def _binding(info: ModelInfo, contract, report: dict, weights: str) -> dict:
    """Build the manifest's ``tfjs`` section: which graph node feeds and returns which tensor."""
    signature_inputs = report["input_nodes"]
    input_node = signature_inputs.get(contract.input_name) or (next(iter(signature_inputs.values())) if len(signature_inputs) == 1 else None)
    if input_node is None:
        raise ConversionError(
            f"the converted model has inputs {sorted(signature_inputs)}, none of which is the image input {contract.input_name!r}"
        )
    parity = report.get("onnx_parity")
    output_nodes = {}
    if parity is None:
        # SavedModel and Keras sources: the signature names are the model's own output names.
        output_nodes = {name: node for name, node in report["output_nodes"].items()}
    else:
        for name, entry in parity["outputs"].items():
            if entry["signature_name"] is None:
                raise ConversionError(
                    f"ONNX output {name!r} {entry['onnx_shape']} has no output of the same shape and values in the "
                    f"converted model (its outputs: {entry.get('tf_shapes')}); onnx2tf changed or lost it, so the bundle "
                    "could not bind it by name"
                )
            output_nodes[name] = report["output_nodes"][entry["signature_name"]]
    missing = [o.name for o in info.outputs if o.name not in output_nodes]
    if missing:
        raise ConversionError(f"output(s) {', '.join(missing)} of {info.path.name} are missing from the converted model")
    mode = next((m for m, dtype in WEIGHT_QUANTIZATION.items() if dtype == weights), None)
    return {
        **({"quantization": mode} if mode else {}),
        "tfjs": {
            "input_node": input_node,
            "output_nodes": output_nodes,
            "weight_quantization": weights,
            "compressed_weights": report.get("compressed_weights", 0),
            "conversion_seconds": {k: round(v, 1) for k, v in report["timings"].items()},
            "onnx_max_abs_diff": None if parity is None else max(e["max_abs_diff"] for e in parity["outputs"].values()),
        }
    }


def _last_error(output: str) -> str:
    """Return the most telling line of a failed converter run."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:500]
    return lines[-1][:500] if lines else "no output"
