"""Match two detection lists and compare pipeline stages within stated tolerances."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .reference.nms import box_iou


@dataclass(frozen=True)
class Tolerance:
    """Parity tolerances. Boxes in original-image pixels, scores absolute.

    With ``min_iou`` set, a matched pair must overlap at least that much instead of
    staying within ``box_px`` (None then); keypoints are not compared.
    """

    box_px: float | None = 1.0
    score: float = 1e-3
    # A detection this close to the score threshold may exist on one side only.
    threshold_margin: float = 0.01
    # Stage diagnostics: the first stage above its tolerance is named as the divergence.
    input_tensor: float = 1e-4
    raw_output: float = 1e-2
    min_iou: float | None = None


@dataclass
class ImageParity:
    """Parity of one image between the Python reference and the browser."""

    image: str
    reference_count: int
    browser_count: int
    matched: int = 0
    max_box_diff: float = 0.0
    max_score_diff: float = 0.0
    input_max_diff: float | None = None
    output_max_diff: dict[str, float] = field(default_factory=dict)
    first_divergent_stage: str | None = None
    problems: list[str] = field(default_factory=list)
    pairs: list[tuple[dict, dict]] = field(default_factory=list)
    # Both detection lists, in the detection schema, for the HTML report.
    reference_detections: list[dict] = field(default_factory=list)
    browser_detections: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "passed": self.passed,
            "reference_count": self.reference_count,
            "browser_count": self.browser_count,
            "matched": self.matched,
            "max_box_diff_px": self.max_box_diff,
            "max_score_diff": self.max_score_diff,
            "input_tensor_max_diff": self.input_max_diff,
            "raw_output_max_diff": self.output_max_diff,
            "first_divergent_stage": self.first_divergent_stage,
            "problems": self.problems,
        }


# Default tolerances by how the model is quantized. With dynamic int8 quantization,
# activations are re-quantized at run time: float ops before each
# DynamicQuantizeLinear (Sigmoid, Mul) differ in the last bit between the wasm and
# native kernels, a value then rounds to the neighbouring int8 step, and ~60 layers
# amplify it. Measured on a dynamic-int8 YOLOv8n over 10 photos: boxes up to 4.0 px,
# scores up to 0.034 apart, with the same detections.
TOLERANCES = {
    "none": Tolerance(),
    # Static QDQ int8 meets the float32 tolerance. Measured on YOLOv8n from
    # `--quantize int8`, calibrated on the 10 test photos. On the same photos,
    # onnxruntime-web 1.31.1 (wasm) and onnxruntime 1.32.0 gave the same detections,
    # with boxes up to 0.0001 px, scores up to 1.2e-07 and raw outputs up to 1.2e-04 apart.
    "int8-static": Tolerance(),
    # Measured on YOLOv8n from `--quantize fp16`, same photos and versions: boxes up to
    # 0.052 px and scores up to 6.9e-04 apart (raw outputs up to 0.62).
    "fp16": Tolerance(box_px=2.0, score=1e-2),
    "int8-dynamic": Tolerance(box_px=6.0, score=0.05, threshold_margin=0.05, raw_output=100.0),
    # TF.js uint8 weights: each weight tensor rounded to 256 levels moves the output
    # itself, so the browser is held to the same detections rather than to pixels.
    # Measured on YOLOv8n against its float ONNX model: boxes up to 5 px and scores up
    # to 0.016 apart, same detections.
    "uint8": Tolerance(box_px=None, min_iou=0.9, score=0.02, threshold_margin=0.02, raw_output=100.0),
}


def describe_tolerance(tolerance: Tolerance) -> str:
    boxes = f"box IoU >= {tolerance.min_iou}" if tolerance.min_iou is not None else f"box {tolerance.box_px} px"
    return f"{boxes}, score {tolerance.score}"


def tolerance_for(quantization: str, box_px: float | None = None, score: float | None = None) -> Tolerance:
    """Return the default tolerance for ``quantization``, with explicit values taking precedence."""
    base = TOLERANCES.get(quantization, Tolerance())
    changes = {k: v for k, v in {"box_px": box_px, "score": score}.items() if v is not None}
    if box_px is not None:
        changes["min_iou"] = None  # an explicit pixel tolerance replaces the overlap rule
    return replace(base, **changes)


def match_detections(
    reference: list[dict], browser: list[dict], score_threshold: float, tolerance: Tolerance, result: ImageParity
) -> None:
    """Pair detections of the same class by best IoU, highest reference score first, and record differences."""
    unmatched = list(range(len(browser)))
    for ref in sorted(reference, key=lambda d: -d["score"]):
        candidates = [i for i in unmatched if browser[i]["class_id"] == ref["class_id"]]
        best, best_iou = None, 0.0
        if candidates:
            boxes = np.array([browser[i]["box"] for i in candidates], dtype=np.float64)
            ious = box_iou(np.asarray(ref["box"], dtype=np.float64), boxes)
            position = int(ious.argmax())
            best, best_iou = candidates[position], float(ious[position])
        if best is None or best_iou < 0.5:
            if ref["score"] - score_threshold >= tolerance.threshold_margin:
                result.problems.append(f"reference {_describe(ref)} has no browser match")
            continue
        unmatched.remove(best)
        other = browser[best]
        box_diff = float(np.max(np.abs(np.subtract(ref["box"], other["box"]))))
        if ref.get("keypoints") is not None or other.get("keypoints") is not None:
            # Keypoints share the box tolerance: both are pixels of the original image.
            if len(ref.get("keypoints") or []) != len(other.get("keypoints") or []):
                result.problems.append(f"{_describe(ref)}: keypoint counts differ")
            else:
                box_diff = max(box_diff, float(np.max(np.abs(np.subtract(ref["keypoints"], other["keypoints"])), initial=0.0)))
        score_diff = abs(ref["score"] - other["score"])
        result.matched += 1
        result.pairs.append((ref, other))
        result.max_box_diff = max(result.max_box_diff, box_diff)
        result.max_score_diff = max(result.max_score_diff, score_diff)
        if tolerance.min_iou is not None and best_iou < tolerance.min_iou:
            result.problems.append(f"{_describe(ref)}: box overlaps its match at IoU {best_iou:.3f} (tolerance {tolerance.min_iou})")
        if tolerance.box_px is not None and box_diff > tolerance.box_px:
            result.problems.append(f"{_describe(ref)}: box differs by {box_diff:.3f} px (tolerance {tolerance.box_px})")
        if score_diff > tolerance.score:
            result.problems.append(f"{_describe(ref)}: score differs by {score_diff:.2e} (tolerance {tolerance.score})")
    for i in unmatched:
        if browser[i]["score"] - score_threshold >= tolerance.threshold_margin:
            result.problems.append(f"browser {_describe(browser[i])} has no reference match")


def compare_stages(
    ref_input: np.ndarray,
    browser_input: np.ndarray,
    ref_outputs: dict[str, np.ndarray],
    browser_outputs: dict[str, np.ndarray],
    tolerance: Tolerance,
    result: ImageParity,
) -> None:
    """Record the max abs difference of the input tensor and each raw output."""
    if ref_input.shape != browser_input.shape:
        result.input_max_diff = float("inf")
    else:
        result.input_max_diff = float(np.max(np.abs(ref_input - browser_input)))
    for name, ref in ref_outputs.items():
        other = browser_outputs.get(name)
        if other is None or other.size != ref.size:
            result.output_max_diff[name] = float("inf")
        else:
            difference = ref.ravel().astype(np.float64) - other.ravel().astype(np.float64)
            result.output_max_diff[name] = float(np.max(np.abs(difference), initial=0.0))
    if result.input_max_diff > tolerance.input_tensor:
        result.first_divergent_stage = "preprocess"
    elif any(diff > tolerance.raw_output for diff in result.output_max_diff.values()):
        result.first_divergent_stage = "inference"
    elif result.problems:
        result.first_divergent_stage = "postprocess"


def _describe(detection: dict) -> str:
    box = ", ".join(f"{v:.1f}" for v in detection["box"])
    return f"{detection['label']} {detection['score']:.3f} [{box}]"
