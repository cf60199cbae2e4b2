"""The decode + NMS stress case: 8400 heavily overlapping YOLOv8 candidates, all scoring 0.3.

A raw YOLOv8 output [1, 84, 8400] (the 640x640 layout) where every box is centred
near the image centre. In each candidate's one class column (row index modulo the
class count) the score is 0.3, above the 0.25 score threshold, and 0.05 in the other
columns. Every candidate therefore reaches NMS with the same score, so the tie order
(input order) decides which boxes survive.

Two spreads exist. ``heavy`` (the benchmark case) puts centres within 16 px and
sizes at 96..128 px: the mean IoU of two boxes is 0.66 and 98% of pairs exceed the
0.45 IoU threshold, and per-class NMS keeps 114 boxes over 80 classes. ``wide`` puts
centres within 32 px and sizes at 64..128 px, so NMS keeps boxes until the
``max_detections`` cap of 300.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from .config import PostprocessSpec, spec_to_dict
from .reference.letterbox import LetterboxGeometry
from .reference.pipeline import Detection, postprocess

# (centre offset range in px, (min size, max size) in px) per spread.
SPREADS = {"heavy": (16.0, (96.0, 128.0)), "wide": (32.0, (64.0, 128.0))}
CANDIDATES = 8400
CLASSES = 80
INPUT_SIZE = 640
SCORE = 0.3
OTHER_SCORE = 0.05
SCORE_THRESHOLD = 0.25
OUTPUT_NAME = "output0"


def stress_outputs(num_classes: int = CLASSES, spread: str = "heavy", seed: int = 0) -> dict[str, np.ndarray]:
    """Return the raw output by name: float32 [1, 4 + num_classes, 8400], channels first."""
    offset, (min_size, max_size) = SPREADS[spread]
    rng = np.random.default_rng(seed)
    predictions = np.full((CANDIDATES, 4 + num_classes), OTHER_SCORE, dtype=np.float32)
    predictions[:, 0:2] = INPUT_SIZE / 2 + rng.uniform(-offset, offset, (CANDIDATES, 2))
    predictions[:, 2:4] = rng.uniform(min_size, max_size, (CANDIDATES, 2))
    rows = np.arange(CANDIDATES)
    predictions[rows, 4 + rows % num_classes] = SCORE
    return {OUTPUT_NAME: np.ascontiguousarray(predictions.T[None])}


def stress_postprocess_spec() -> PostprocessSpec:
    """Return the yolov8 head contract with the default NMS settings and a 0.25 score threshold."""
    return PostprocessSpec(
        head="yolov8",
        outputs={"predictions": OUTPUT_NAME},
        head_params={"channels_first": True},
        score_threshold=SCORE_THRESHOLD,
    )


def stress_geometry() -> LetterboxGeometry:
    """Return an identity letterbox (a 640x640 source), so boxes come back unscaled."""
    return LetterboxGeometry(INPUT_SIZE, INPUT_SIZE, INPUT_SIZE, INPUT_SIZE, 0, 0)


def stress_labels(num_classes: int = CLASSES) -> list[str]:
    return [f"class{i}" for i in range(num_classes)]


def reference_detections(outputs: dict[str, np.ndarray], num_classes: int = CLASSES, post: PostprocessSpec | None = None) -> list[Detection]:
    """Run the Python reference postprocessing on the stress outputs (``post`` defaults to the stress contract)."""
    post = post or stress_postprocess_spec()
    return postprocess(outputs, post, (INPUT_SIZE, INPUT_SIZE), stress_geometry(), stress_labels(num_classes))


def browser_payload(outputs: dict[str, np.ndarray], num_classes: int = CLASSES, post: PostprocessSpec | None = None) -> dict[str, Any]:
    """Return the argument of the bench harness's ``setPostprocessCase`` for the stress outputs."""
    post = post or stress_postprocess_spec()
    geometry = stress_geometry()
    return {
        "outputs": {
            name: {"dims": list(array.shape), "data": base64.b64encode(array.astype("<f4").tobytes()).decode("ascii")}
            for name, array in outputs.items()
        },
        "post": spec_to_dict(post),
        "inputHw": [INPUT_SIZE, INPUT_SIZE],
        "geometry": {
            "srcW": geometry.src_w,
            "srcH": geometry.src_h,
            "resizedW": geometry.resized_w,
            "resizedH": geometry.resized_h,
            "padLeft": geometry.pad_left,
            "padTop": geometry.pad_top,
        },
        "labels": stress_labels(num_classes),
    }
