"""The report for TF.js weight compression (``--runtime tfjs --quantize fp16|uint8``).

The tensorflowjs converter stores weights as float16 or as uint8 with a per-tensor
affine scale, and TF.js turns them back into float32 when the model loads. The
download shrinks; inference time and memory do not change. The accuracy cost is
measured where the rounding happens, in the browser: the finished bundle runs in
headless Chromium on the evaluation images and its detections are scored against
the float source model's from the Python reference.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..images_list import expand_images
from ..inspection import ModelInfo
from ..quantize import REPORT_FILENAME, check_detections_kept, report_summary

logger = logging.getLogger(__name__)

LOAD_NOTE = ("TF.js converts the weights back to float32 when it loads the model: this shrinks the download, "
             "not the inference time or memory")

BYTES_PER_ELEMENT = {"float32": 4, "int32": 4, "float16": 2, "uint8": 1, "uint16": 2, "bool": 1}


def float32_weight_bytes(model_json: dict) -> int:
    """Bytes the weights take uncompressed, the size a conversion without --quantize writes.

    A compressed weight's entry keeps its float32 dtype and adds a ``quantization`` field.
    """
    total = 0
    for group in model_json["weightsManifest"]:
        for weight in group["weights"]:
            total += int(np.prod(weight["shape"], dtype=np.int64)) * BYTES_PER_ELEMENT.get(weight["dtype"], 4)
    return total


@dataclass
class WeightQuantization:
    """The compressed model in the staging folder and its report; scored once the bundle is complete."""

    info: ModelInfo
    report: dict[str, Any]
    contract: Any
    eval_images: list[Path]

    def manifest_summary(self) -> dict[str, Any]:
        return {**report_summary(self.report), "note": LOAD_NOTE}

    def finish(self, staging: Path) -> None:
        """Score the complete bundle in Chromium on the evaluation images and write the report."""
        if self.eval_images:
            accuracy = _score_in_browser(self.info, self.contract, staging, self.eval_images)
            check_detections_kept(accuracy, f"{self.report['mode']} weights", len(self.eval_images),
                                  "use --quantize fp16, or export without --quantize")
            self.report["accuracy"] = accuracy.to_dict()
        (staging / REPORT_FILENAME).write_text(json.dumps(self.report, indent=2) + "\n", encoding="utf-8")


def report_weight_quantization(target, info: ModelInfo, contract, options, staging: Path) -> WeightQuantization:
    """Measure the compressed model's size; the accuracy follows in ``finish``."""
    model_file = staging / target.model_filename
    model_json = json.loads(model_file.read_text(encoding="utf-8"))
    weight_files = [model_file.parent / path for group in model_json["weightsManifest"] for path in group["paths"]]
    bytes_after = sum(path.stat().st_size for path in weight_files)
    bytes_before = float32_weight_bytes(model_json)
    evaluation = expand_images([options.eval_dir]) if options.eval_dir else []
    if not evaluation:
        logger.warning("no --eval images: the quantization report has sizes but no accuracy figures")
    report = {
        "mode": options.mode,
        "runtime": target.name,
        "source_model": info.path.name,
        "bytes_before": bytes_before,
        "bytes_after": bytes_after,
        "size_ratio": round(bytes_after / bytes_before, 4) if bytes_before else None,
        "note": LOAD_NOTE,
        "calibration_images": [],
        "eval_images": [path.name for path in evaluation],
        "accuracy": None,
    }
    return WeightQuantization(info, report, contract, evaluation)


def _score_in_browser(info: ModelInfo, contract, staging: Path, images: list[Path]):
    from ..quant_eval import AP_SCORE_THRESHOLD, DetectionSet, score_images
    from ..reference import ReferenceDetector, load_image_rgb
    from ..verify import run_in_browser

    post = contract.postprocess
    reference = ReferenceDetector(info.path, contract.preprocess, post, contract.labels, contract.input_name)
    try:
        references = [DetectionSet.from_detections(reference.detect(load_image_rgb(path))) for path in images]
    finally:
        reference.close()
    run = run_in_browser(staging, images, options={"scoreThreshold": AP_SCORE_THRESHOLD})
    candidates = [
        DetectionSet.from_arrays([d["box"] for d in r["detections"]], [d["score"] for d in r["detections"]],
                                 [d["class_id"] for d in r["detections"]])
        for r in run.results
    ]
    return score_images([path.name for path in images], references, candidates, post.score_threshold, contract.labels)
