"""Letterboxing, output decoding and detection metrics for the defect detector.

The decoding here follows what a consumer of an Ultralytics YOLOv8 ONNX export does, so
the numbers measure the exported file as such a consumer decodes it:

1. Letterbox: resize with PIL bilinear to fit 320x320 keeping the aspect ratio, paste
   centred on a canvas filled with 114, scale to 0..1, layout [1, 3, 320, 320] RGB.
   An odd padding puts the extra pixel on the right or bottom.
2. Run the model. ``output0`` is [1, 4 + C, N] with cx, cy, w, h in input pixels followed
   by sigmoid class scores.
3. Take the max class score and its class per candidate, keep scores >= the threshold,
   run NMS per class, then map boxes back: subtract the padding, divide by the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

PAD_VALUE = 114


@dataclass
class Letterbox:
    """Letterboxed input [1, 3, size, size] float32 in 0..1 and the transform that made it.

    Input pixel = image pixel * scale + (pad_x, pad_y).
    """

    tensor: np.ndarray
    scale: float
    pad_x: int
    pad_y: int


@dataclass
class Detection:
    """Detected box in image pixels (xyxy), its class id and its score in 0..1."""

    box: tuple[float, float, float, float]
    class_id: int
    score: float


def letterbox(image: Image.Image, size: int) -> Letterbox:
    """Resize ``image`` to fit a size x size canvas, keeping its aspect ratio, and centre it."""
    width, height = image.size
    scale = min(size / width, size / height)
    new_width = max(1, round(width * scale))
    new_height = max(1, round(height * scale))
    resized = image.convert("RGB").resize((new_width, new_height), Image.BILINEAR)
    pad_x = (size - new_width) // 2
    pad_y = (size - new_height) // 2
    canvas = Image.new("RGB", (size, size), (PAD_VALUE, PAD_VALUE, PAD_VALUE))
    canvas.paste(resized, (pad_x, pad_y))
    array = np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
    return Letterbox(tensor=np.ascontiguousarray(array), scale=scale, pad_x=pad_x, pad_y=pad_y)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Return the IoU of one xyxy box [4] with each row of ``boxes`` [K, 4]."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return intersection / np.maximum(area + areas - intersection, 1e-9)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Return the indices kept by greedy NMS, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return keep


def decode_output(
    output: np.ndarray,
    transform: Letterbox,
    image_size: tuple[int, int],
    score_threshold: float,
    iou_threshold: float,
) -> list[Detection]:
    """Turn one ``output0`` tensor [1, 4 + C, N] into detections in image pixels.

    NMS runs per class. Boxes are clipped to the image of ``image_size`` (width, height).
    """
    predictions = output[0].T  # [N, 4 + C]
    class_scores = predictions[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores.max(axis=1)
    keep = scores >= score_threshold
    predictions, class_ids, scores = predictions[keep], class_ids[keep], scores[keep]

    cx, cy, w, h = predictions[:, 0], predictions[:, 1], predictions[:, 2], predictions[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)

    width, height = image_size
    detections = []
    for class_id in np.unique(class_ids):
        indices = np.flatnonzero(class_ids == class_id)
        for kept_index in non_max_suppression(boxes[indices], scores[indices], iou_threshold):
            x1, y1, x2, y2 = boxes[indices[kept_index]]
            box = (
                float(np.clip((x1 - transform.pad_x) / transform.scale, 0, width)),
                float(np.clip((y1 - transform.pad_y) / transform.scale, 0, height)),
                float(np.clip((x2 - transform.pad_x) / transform.scale, 0, width)),
                float(np.clip((y2 - transform.pad_y) / transform.scale, 0, height)),
            )
            detections.append(Detection(box=box, class_id=int(class_id), score=float(scores[indices[kept_index]])))
    detections.sort(key=lambda detection: -detection.score)
    return detections


def match_detections(
    detections: list[Detection],
    truth_boxes: np.ndarray,
    truth_labels: np.ndarray,
    iou_threshold: float = 0.5,
) -> list[bool]:
    """Return a true-positive flag for each detection, given in descending score order.

    A detection is a true positive when it overlaps a not yet matched ground-truth box of
    the same class with IoU >= ``iou_threshold``. This is the PASCAL VOC matching rule.
    """
    matched = np.zeros(len(truth_boxes), dtype=bool)
    flags = []
    for detection in detections:
        candidates = np.flatnonzero((truth_labels == detection.class_id) & ~matched)
        if candidates.size == 0:
            flags.append(False)
            continue
        ious = box_iou(np.array(detection.box), truth_boxes[candidates])
        best = int(ious.argmax())
        if ious[best] >= iou_threshold:
            matched[candidates[best]] = True
            flags.append(True)
        else:
            flags.append(False)
    return flags


def average_precision(scores: np.ndarray, true_positive: np.ndarray, truth_count: int) -> float:
    """Return AP as the area under the precision envelope (all-point interpolation, VOC 2010+).

    Returns NaN when the class has no ground truth, so callers can leave it out of the mean.
    """
    if truth_count == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = true_positive[order].astype(np.float64)
    cumulative_tp = np.cumsum(hits)
    cumulative_fp = np.cumsum(1.0 - hits)
    recall = np.concatenate([[0.0], cumulative_tp / truth_count, [1.0]])
    precision = np.concatenate([[1.0], cumulative_tp / np.maximum(cumulative_tp + cumulative_fp, 1e-9), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))
