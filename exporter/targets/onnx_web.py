"""onnxruntime-web target: the ONNX model as it is, run by the wasm or WebGPU execution provider."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import InvalidModelError
from ..inspection import ModelInfo, load_onnx
from ..runtime_files import PinnedFile, RuntimePackage
from .base import RuntimeTarget, register_runtime

logger = logging.getLogger(__name__)

# onnxruntime-web 1.31 rejects models with IR version 14 (onnx 1.23 writes it by default).
MAX_IR_VERSION = 13
MAX_OPSET = 25

ONNXRUNTIME_WEB = RuntimePackage(
    npm_name="onnxruntime-web",
    version="1.31.1",
    license="MIT",
    files=(
        # The wasm-only entry point (14.2 MiB with its .wasm).
        PinnedFile("dist/ort.wasm.min.mjs", "c21d9c326d453a4a61398270c804d5979e118540597cb0c07f7b3d64e6098234", 53725),
        PinnedFile("dist/ort-wasm-simd-threaded.mjs", "30ed0b5cd1182ede931fea448afb567d4dc705ec957af09f108a2be5f770dac3", 24738),
        PinnedFile("dist/ort-wasm-simd-threaded.wasm", "4b884c203b0fa48d057be3332c65513ff85aa3c5bddd6946acc0fab7ecda001d", 14848852),
        # The WebGPU entry point pulls the asyncify build (27.5 MiB .wasm), which every
        # WebGPU browser can run; the smaller JSPI build needs JS Promise Integration.
        PinnedFile("dist/ort.webgpu.min.mjs", "329cd956772397a1aedd668e911195d39afefb182f6fc14aafa4f08ac8d8f379", 70742, "webgpu"),
        PinnedFile("dist/ort-wasm-simd-threaded.asyncify.mjs", "59cf781530e1a16df2a291d78798e3ec1152467edaec402d6f9599d85047c302", 53457, "webgpu"),
        PinnedFile("dist/ort-wasm-simd-threaded.asyncify.wasm", "ca319e9539cd0f1e291cf56074760121eaf39650f5dbf84b6e52c07f4b2944ec", 28747738, "webgpu"),
    ),
)

# The module each backend loads; the files it imports sit beside it.
BACKEND_ENTRIES = {"wasm": "ort.wasm.min.mjs", "webgpu": "ort.webgpu.min.mjs"}

# The string "XnnpackExecutionProvider" in ort-wasm-simd-threaded.wasm sits in a list of
# provider names beside others the build lacks (CUDA, DirectML, NNAPI). The 1.31.1 wasm
# files contain no XNNPACK code (no xnn_* symbols), and ort.wasm.min.mjs registers only the
# "cpu" and "wasm" backends. So `executionProviders: ["xnnpack"]` fails with "backend not
# found", and `[{name: "xnnpack"}, "wasm"]` drops xnnpack silently and runs the wasm EP.
# tests/test_runtime_browser.py checks both.
UNAVAILABLE_BACKENDS = {
    "xnnpack": f"onnxruntime-web {ONNXRUNTIME_WEB.version} is built without the XNNPACK execution provider",
}


@register_runtime
class OnnxWebTarget(RuntimeTarget):
    name = "onnx"
    description = f"onnxruntime-web {ONNXRUNTIME_WEB.version}"
    package = ONNXRUNTIME_WEB
    backends = ("wasm",)
    available_backends = tuple(BACKEND_ENTRIES)
    unavailable_backends = UNAVAILABLE_BACKENDS
    backend_entries = BACKEND_ENTRIES
    model_filename = "model.onnx"

    def check_model(self, info: ModelInfo) -> None:
        """Raise InvalidModelError for an opset the browser runtime cannot load."""
        if info.opset > MAX_OPSET:
            raise InvalidModelError(
                f"model {str(info.path)!r} uses opset {info.opset}; onnxruntime-web {ONNXRUNTIME_WEB.version} "
                f"supports opset <= {MAX_OPSET}: re-export the model with a lower opset"
            )

    def write_model(self, info: ModelInfo, destination: Path, contract=None) -> dict:
        """Write the model, lowering a too-new IR version that the browser runtime rejects."""
        import onnx

        self.check_model(info)
        model = load_onnx(info.path)
        if model.ir_version > MAX_IR_VERSION:
            # IR 14 adds no feature an opset <= 25 model can use, so the field alone is lowered.
            logger.info("lowering ONNX IR version %d to %d for onnxruntime-web", model.ir_version, MAX_IR_VERSION)
            model.ir_version = MAX_IR_VERSION
        _drop_initializer_inputs(model)
        onnx.save(model, str(destination))
        return {}

    def unsupported_operators(self, info: ModelInfo) -> list[str]:
        """Try the model in onnxruntime's CPU execution provider and report missing kernels.

        The onnxruntime-web wasm build registers the same CPU kernels as the native
        package, so a node that native onnxruntime cannot place is one the browser
        cannot run either.
        """
        import onnxruntime as ort

        problems = []
        if info.opset > MAX_OPSET:
            problems.append(f"opset {info.opset} is newer than the {MAX_OPSET} onnxruntime-web {ONNXRUNTIME_WEB.version} supports")
        model = load_onnx(info.path)
        for node in model.graph.node:
            if node.domain not in KNOWN_DOMAINS:
                problems.append(f"{node.op_type} (node {node.name!r}, domain {node.domain})")
        if problems:
            return problems
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            ort.InferenceSession(str(info.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises NotImplemented, Fail and InvalidGraph types
            match = MISSING_KERNEL.search(str(exc))
            problems.append(f"{match.group(1)} (node {match.group(2)!r})" if match else str(exc).splitlines()[0])
        return problems


# Operator domains onnxruntime-web implements: standard ONNX and onnxruntime's contrib ops.
KNOWN_DOMAINS = {"", "ai.onnx", "com.microsoft"}

# onnxruntime's message for a node without a kernel, e.g.
# "Could not find an implementation for Foo(1) node with name 'bar'".
MISSING_KERNEL = re.compile(r"Could not find an implementation for (\S+) node with name '([^']*)'")


def _drop_initializer_inputs(model) -> None:
    """Remove initializers listed as graph inputs (written by old exporters).

    Listed as inputs, they are overridable, which stops constant folding in
    onnxruntime's graph optimizer and makes it warn once per initializer.
    """
    if model.ir_version < 4:
        return  # before IR 4, every initializer had to be listed as a graph input
    initializer_names = {init.name for init in model.graph.initializer}
    kept = [value for value in model.graph.input if value.name not in initializer_names]
    if len(kept) != len(model.graph.input):
        del model.graph.input[:]
        model.graph.input.extend(kept)
