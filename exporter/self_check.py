"""The load-time self-check: a reference output the page compares its warm-up run with.

A backend can run without error and still return wrong numbers (WebGPU was seen
to return garbage for an fp16 model). At export, the model runs once in onnxruntime
on an all-zero input; the manifest keeps a sample of each output. The page's
warm-up runs the same input and falls back to the next backend when it differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SAMPLES_PER_OUTPUT = 64
# Allowed difference, as a fraction of max(1, largest absolute output value).
# fp32 wasm matches native to ~1e-6 of that; dynamic int8 re-quantizes activations,
# so last-bit float differences move some outputs by a few int8 steps.
RELATIVE_TOLERANCE = {"int8-dynamic": 0.1}
DEFAULT_RELATIVE_TOLERANCE = 1e-2


def tolerance_for(quantization: str) -> float:
    return RELATIVE_TOLERANCE.get(quantization, DEFAULT_RELATIVE_TOLERANCE)


def reference_fingerprint(model_path: Path, contract, relative_tolerance: float) -> dict[str, Any]:
    """Run the model on zeros and return {input, outputs: {name: {indices, values, max_abs}}, tolerance}.

    ``model_path`` is any model the reference runners load: the bundled ONNX file, or
    the source model of a converted bundle.
    """
    from .reference.runners import open_runner

    spec = contract.preprocess
    shape = [1, 3, spec.height, spec.width] if spec.layout == "NCHW" else [1, spec.height, spec.width, 3]
    runner = open_runner(model_path)
    try:
        values = runner.run(contract.input_name, np.zeros(shape, dtype=np.float32))
    finally:
        runner.close()
    outputs = {}
    for name, value in zip(runner.output_names, values):
        flat = np.asarray(value, dtype=np.float64).ravel()
        indices = np.unique(np.linspace(0, max(flat.size - 1, 0), num=min(SAMPLES_PER_OUTPUT, flat.size)).astype(int))
        outputs[name] = {
            "indices": indices.tolist(),
            "values": [float(v) for v in flat[indices]],
            "max_abs": float(np.max(np.abs(flat), initial=0.0)),
        }
    return {
        "input": "zeros",
        "input_shape": shape,
        "relative_tolerance": relative_tolerance,
        "outputs": outputs,
    }
