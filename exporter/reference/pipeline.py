"""Run the whole reference pipeline: preprocess, onnxruntime, decode, NMS, inverse letterbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PostprocessSpec, PreprocessSpec
from ..heads import get_head
from .images import load_image_rgb
from .letterbox import LetterboxGeometry, preprocess, unletterbox_boxes, unletterbox_points
from .nms import nms
from .runners import open_runner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """One detection; ``box`` is xyxy and ``keypoints`` (x, y) pairs, in original-image pixels."""

    box: tuple[float, float, float, float]
    score: float
    class_id: int
    label: str
    keypoints: tuple[tuple[float, float], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"box": [round(v, 3) for v in self.box], "score": round(self.score, 6), "class_id": self.class_id, "label": self.label}
        if self.keypoints is not None:
            data["keypoints"] = [[round(x, 3), round(y, 3)] for x, y in self.keypoints]
        return data


@dataclass
class StageOutputs:
    """Intermediate results of one run, for stage-by-stage parity checks."""

    input_tensor: np.ndarray
    raw_outputs: dict[str, np.ndarray]
    geometry: LetterboxGeometry
    detections: list[Detection]


def select_candidates(
    scores: np.ndarray, threshold: float, max_candidates: int, class_ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick each row's best class, keep rows scoring above ``threshold``.

    ``scores`` is [N, C], or [N] with the row's class in ``class_ids``.
    Returns (row indices, scores, class ids), at most ``max_candidates`` of the
    highest-scoring rows, in their original row order.
    """
    if class_ids is not None:
        best = scores.astype(np.float32, copy=False)
        class_ids = class_ids.astype(np.int64, copy=False)
    elif scores.shape[1] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=np.float32), empty
    else:
        class_ids = scores.argmax(axis=1)
        best = scores[np.arange(scores.shape[0]), class_ids]
    rows = np.flatnonzero(best > np.float32(threshold))
    if rows.size > max_candidates:
        top = np.argsort(-best[rows], kind="stable")[:max_candidates]
        rows = np.sort(rows[top])
    return rows, best[rows], class_ids[rows]


def postprocess(
    raw_outputs: dict[str, np.ndarray],
    post: PostprocessSpec,
    input_hw: tuple[int, int],
    geometry: LetterboxGeometry,
    labels: list[str],
) -> list[Detection]:
    """Decode raw outputs by head kind, then threshold, NMS and map boxes back."""
    head = get_head(post.head)
    by_role = {role: raw_outputs[name] for role, name in post.outputs.items()}
    decoded = head.decode(by_role, post.head_params, input_hw)
    rows, scores, class_ids = select_candidates(decoded.scores, post.score_threshold, post.max_candidates, decoded.class_ids)
    boxes = decoded.boxes[rows]
    if head.applies_nms:
        keep = nms(boxes, scores, class_ids, post.iou_threshold, post.max_detections, post.agnostic_nms)
    else:
        keep = np.argsort(-scores, kind="stable")[: post.max_detections]
    mapped = unletterbox_boxes(boxes[keep], geometry, clip=post.clip_boxes)
    keypoints = None
    if decoded.keypoints is not None:
        keypoints = unletterbox_points(decoded.keypoints[rows][keep], geometry, clip=post.clip_boxes)
    detections = []
    for i, (box, score, class_id) in enumerate(zip(mapped, scores[keep], class_ids[keep])):
        class_id = int(class_id)
        label = labels[class_id] if class_id < len(labels) else str(class_id)
        points = None if keypoints is None else tuple((float(x), float(y)) for x, y in keypoints[i])
        detections.append(Detection(tuple(float(v) for v in box), float(score), class_id, label, points))
    return detections


class ReferenceDetector:
    """The Python twin of the bundle's ``loadDetector``: same contract, onnxruntime (or TensorFlow) on the CPU."""

    def __init__(
        self,
        model_path: str | Path,
        preprocess_spec: PreprocessSpec,
        postprocess_spec: PostprocessSpec,
        labels: list[str],
        input_name: str,
        intra_op_threads: int = 0,
    ) -> None:
        self.runner = open_runner(Path(model_path), intra_op_threads)
        self.preprocess_spec = preprocess_spec
        self.postprocess_spec = postprocess_spec
        self.labels = list(labels)
        self.input_name = input_name

    @property
    def input_hw(self) -> tuple[int, int]:
        return self.preprocess_spec.height, self.preprocess_spec.width

    def run_stages(self, image_rgb: np.ndarray, post: PostprocessSpec | None = None) -> StageOutputs:
        """Run every stage on an RGB uint8 image and keep the intermediates."""
        post = post or self.postprocess_spec
        tensor, geometry = preprocess(image_rgb, self.preprocess_spec)
        raw = dict(zip(self.runner.output_names, self.runner.run(self.input_name, tensor)))
        detections = postprocess(raw, post, self.input_hw, geometry, self.labels)
        return StageOutputs(tensor, raw, geometry, detections)

    def close(self) -> None:
        self.runner.close()

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        return self.run_stages(image_rgb).detections

    def detect_file(self, path: str | Path) -> list[Detection]:
        return self.detect(load_image_rgb(path))
