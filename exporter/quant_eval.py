"""Measure what quantization costs: the quantized model's detections against the float model's.

The float model's detections at the bundle's thresholds are the reference (the
"ground truth"). The quantized model's detections are scored against them with
the standard detection metrics:

- AP per class with all-point interpolation (PASCAL VOC 2010 and later, and
  COCO without its 101-point sampling), averaged over the classes that have
  reference detections: mAP@0.5. For AP the quantized model is post-processed
  down to a score threshold of 0.001, so a score shift across the bundle's
  threshold does not cut the precision-recall curve short.
- recall and precision at the bundle's own thresholds, and the largest score
  shift of a matched pair.

A quantized detection matches a reference detection of the same class with IoU
>= 0.5; candidates are visited by descending score and take the unmatched
reference with the highest IoU (COCO's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .reference.nms import box_iou

IOU_THRESHOLD = 0.5
# Score threshold for the AP curve, far below any bundle threshold.
AP_SCORE_THRESHOLD = 0.001
# A reference detection at least this confident is "strong": losing all of them means the model collapsed.
STRONG_SCORE = 0.5


@dataclass(frozen=True)
class DetectionSet:
    """Detections of one image: xyxy ``boxes`` [N, 4], ``scores`` [N], ``class_ids`` [N]."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    @classmethod
    def from_detections(cls, detections) -> "DetectionSet":
        """Build from :class:`exporter.reference.Detection` objects."""
        return cls.from_arrays(
            [d.box for d in detections], [d.score for d in detections], [d.class_id for d in detections]
        )

    @classmethod
    def from_arrays(cls, boxes, scores, class_ids) -> "DetectionSet":
        return cls(
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            np.asarray(scores, dtype=np.float64).reshape(-1),
            np.asarray(class_ids, dtype=np.int64).reshape(-1),
        )

    def __len__(self) -> int:
        return int(self.scores.size)

    def above(self, threshold: float) -> "DetectionSet":
        """Return the detections scoring strictly above ``threshold``."""
        keep = self.scores > threshold
        return DetectionSet(self.boxes[keep], self.scores[keep], self.class_ids[keep])


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Return the area under the precision-recall curve with all-point interpolation.

    ``recall`` is non-decreasing and ``precision`` is the precision at each
    point. Precision is first made monotone (each point takes the maximum
    precision at any higher recall), then summed over the steps in recall.
    """
    recall_points = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    precision_points = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    precision_points = np.maximum.accumulate(precision_points[::-1])[::-1]
    steps = np.flatnonzero(recall_points[1:] != recall_points[:-1])
    return float(np.sum((recall_points[steps + 1] - recall_points[steps]) * precision_points[steps + 1]))


def match_to_reference(reference: DetectionSet, candidates: DetectionSet, iou_threshold: float = IOU_THRESHOLD) -> np.ndarray:
    """Return, for each candidate, the index of the reference detection it matches, or -1.

    Candidates are visited by descending score, ties in input order. Each takes
    the unmatched reference of its class with the highest IoU, if that IoU is at
    least ``iou_threshold``.
    """
    matches = np.full(len(candidates), -1, dtype=np.int64)
    taken = np.zeros(len(reference), dtype=bool)
    for index in np.argsort(-candidates.scores, kind="stable"):
        free = np.flatnonzero(~taken & (reference.class_ids == candidates.class_ids[index]))
        if free.size == 0:
            continue
        ious = box_iou(candidates.boxes[index], reference.boxes[free])
        best = int(np.argmax(ious))
        if ious[best] >= iou_threshold:
            matches[index] = free[best]
            taken[free[best]] = True
    return matches


def mean_average_precision(
    references: list[DetectionSet], candidates: list[DetectionSet], iou_threshold: float = IOU_THRESHOLD
) -> tuple[float | None, dict[int, float]]:
    """Return (mAP, AP per class id) of ``candidates`` against ``references``, image by image.

    Classes without reference detections are left out, as in COCO and VOC;
    the mAP is None when no image has a reference detection.
    """
    if len(references) != len(candidates):
        raise ValueError(f"{len(references)} reference images but {len(candidates)} candidate images")
    reference_counts: dict[int, int] = {}
    scored: dict[int, list[tuple[float, bool]]] = {}
    for reference, candidate in zip(references, candidates):
        for class_id in reference.class_ids.tolist():
            reference_counts[class_id] = reference_counts.get(class_id, 0) + 1
        matches = match_to_reference(reference, candidate, iou_threshold)
        for class_id, score, match in zip(candidate.class_ids.tolist(), candidate.scores.tolist(), matches.tolist()):
            scored.setdefault(class_id, []).append((score, match >= 0))
    per_class = {}
    for class_id, count in sorted(reference_counts.items()):
        entries = sorted(scored.get(class_id, []), key=lambda entry: -entry[0])
        hits = np.array([hit for _, hit in entries], dtype=bool)
        true_positives = np.cumsum(hits)
        recall = true_positives / count
        precision = true_positives / np.arange(1, hits.size + 1)
        per_class[class_id] = average_precision(recall, precision)
    if not per_class:
        return None, {}
    return float(np.mean(list(per_class.values()))), per_class


@dataclass
class ImageAccuracy:
    """Counts for one image: reference (float model) and quantized detections at the bundle's thresholds."""

    image: str
    reference_count: int
    quantized_count: int
    matched: int
    strong_reference: int
    strong_matched: int
    max_score_shift: float

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class AccuracyReport:
    """The quantized model against the float model on a set of images."""

    score_threshold: float
    map50: float | None
    ap_per_class: dict[str, float]
    recall: float | None
    precision: float | None
    max_score_shift: float
    images: list[ImageAccuracy] = field(default_factory=list)

    @property
    def strong_reference(self) -> int:
        return sum(image.strong_reference for image in self.images)

    @property
    def strong_matched(self) -> int:
        return sum(image.strong_matched for image in self.images)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": IOU_THRESHOLD,
            "score_threshold": self.score_threshold,
            "ap_score_threshold": AP_SCORE_THRESHOLD,
            "map50": self.map50,
            "recall": self.recall,
            "precision": self.precision,
            "max_score_shift": self.max_score_shift,
            "strong_score": STRONG_SCORE,
            "strong_reference": self.strong_reference,
            "strong_matched": self.strong_matched,
            "reference_count": sum(image.reference_count for image in self.images),
            "quantized_count": sum(image.quantized_count for image in self.images),
            "matched": sum(image.matched for image in self.images),
            "ap_per_class": self.ap_per_class,
            "images": [image.to_dict() for image in self.images],
        }


def score_images(
    names: list[str],
    references: list[DetectionSet],
    candidates_for_ap: list[DetectionSet],
    score_threshold: float,
    labels: list[str],
) -> AccuracyReport:
    """Score the quantized detections (down to :data:`AP_SCORE_THRESHOLD`) against the float ones.

    ``references`` are the float model's detections at the bundle's thresholds;
    recall, precision and score shifts use the candidates above ``score_threshold``.
    """
    map50, per_class = mean_average_precision(references, candidates_for_ap)
    images = []
    shifts = []
    for name, reference, candidate in zip(names, references, candidates_for_ap):
        kept = candidate.above(score_threshold)
        matches = match_to_reference(reference, kept)
        matched = matches >= 0
        image_shifts = np.abs(kept.scores[matched] - reference.scores[matches[matched]])
        shifts.extend(image_shifts.tolist())
        strong = reference.scores >= STRONG_SCORE
        images.append(ImageAccuracy(
            image=name,
            reference_count=len(reference),
            quantized_count=len(kept),
            matched=int(matched.sum()),
            strong_reference=int(strong.sum()),
            strong_matched=int(np.isin(np.flatnonzero(strong), matches[matched]).sum()),
            max_score_shift=float(np.max(image_shifts, initial=0.0)),
        ))
    total_reference = sum(image.reference_count for image in images)
    total_quantized = sum(image.quantized_count for image in images)
    total_matched = sum(image.matched for image in images)
    return AccuracyReport(
        score_threshold=score_threshold,
        map50=map50,
        ap_per_class={_label(labels, class_id): ap for class_id, ap in per_class.items()},
        recall=total_matched / total_reference if total_reference else None,
        precision=total_matched / total_quantized if total_quantized else None,
        max_score_shift=float(max(shifts, default=0.0)),
        images=images,
    )


def _label(labels: list[str], class_id: int) -> str:
    return labels[class_id] if 0 <= class_id < len(labels) else str(class_id)


def compare_models(float_model: Path, quantized_model: Path, contract, images: list[Path]) -> AccuracyReport:
    """Run both models through the reference pipeline on ``images`` and score the quantized one.

    Raises InvalidModelError when onnxruntime cannot load a model, and
    ValueError when the quantized model returns NaN or infinity.
    """
    from tqdm import tqdm

    from .config import override
    from .reference import ReferenceDetector, load_image_rgb
    from .reference.pipeline import postprocess

    post = contract.postprocess
    ap_post = override(post, score_threshold=AP_SCORE_THRESHOLD)
    detectors = [
        ReferenceDetector(path, contract.preprocess, post, contract.labels, contract.input_name)
        for path in (float_model, quantized_model)
    ]
    float_detector, quantized_detector = detectors
    references, candidates = [], []
    for path in tqdm(images, desc="evaluate", unit="image", disable=None):
        image = load_image_rgb(path)
        references.append(DetectionSet.from_detections(float_detector.detect(image)))
        stages = quantized_detector.run_stages(image, post=ap_post)
        for name, value in stages.raw_outputs.items():
            if not np.all(np.isfinite(value)):
                raise ValueError(f"output {name!r} contains NaN or infinity on image {path.name}")
        candidates.append(DetectionSet.from_detections(stages.detections))
    return score_images([path.name for path in images], references, candidates, post.score_threshold, contract.labels)
