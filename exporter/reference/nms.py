"""Greedy non-maximum suppression on xyxy boxes, mirrored by ``nms.js``."""

from __future__ import annotations

import numpy as np


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box [4] with many [N, 4]; 0 where the union is empty."""
    inter_w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    inter_h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = inter_w * inter_h
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    max_detections: int,
    agnostic: bool = False,
) -> np.ndarray:
    """Return indices of kept boxes, highest score first.

    Candidates are visited by descending score; equal scores keep their input
    order (stable sort). A candidate is suppressed when its IoU with an already
    kept box of the same class (any class when ``agnostic``) is strictly greater
    than ``iou_threshold``. IoU is computed in float64.
    """
    order = np.argsort(-scores, kind="stable")
    boxes64 = boxes.astype(np.float64)
    keep: list[int] = []
    while order.size and len(keep) < max_detections:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        if rest.size == 0:
            break
        overlap = box_iou(boxes64[best], boxes64[rest]) > iou_threshold
        if not agnostic:
            overlap &= class_ids[rest] == class_ids[best]
        order = rest[~overlap]
    return np.asarray(keep, dtype=np.int64)
