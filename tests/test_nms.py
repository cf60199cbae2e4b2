"""Greedy NMS and IoU of the reference postprocessing."""

from __future__ import annotations

import numpy as np

from exporter.reference import box_iou, nms


def boxes(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_iou_of_disjoint_boxes_is_zero():
    iou = box_iou(np.array([0, 0, 10, 10.0]), boxes([20, 20, 30, 30]))
    assert iou[0] == 0.0


def test_iou_of_identical_boxes_is_one():
    assert box_iou(np.array([0, 0, 10, 10.0]), boxes([0, 0, 10, 10]))[0] == 1.0


def test_iou_of_empty_boxes_is_zero():
    assert box_iou(np.array([5, 5, 5, 5.0]), boxes([5, 5, 5, 5]))[0] == 0.0


def test_disjoint_boxes_are_both_kept():
    keep = nms(boxes([0, 0, 10, 10], [20, 20, 30, 30]), np.array([0.9, 0.8], np.float32), np.array([0, 0]), 0.45, 300)
    assert keep.tolist() == [0, 1]


def test_overlap_same_class_keeps_best():
    keep = nms(boxes([0, 0, 10, 10], [1, 1, 11, 11]), np.array([0.7, 0.9], np.float32), np.array([3, 3]), 0.45, 300)
    assert keep.tolist() == [1]


def test_per_class_keeps_different_classes():
    keep = nms(boxes([0, 0, 10, 10], [1, 1, 11, 11]), np.array([0.9, 0.8], np.float32), np.array([0, 1]), 0.45, 300)
    assert keep.tolist() == [0, 1]


def test_agnostic_keeps_one_of_different_classes():
    keep = nms(boxes([0, 0, 10, 10], [1, 1, 11, 11]), np.array([0.9, 0.8], np.float32), np.array([0, 1]), 0.45, 300, agnostic=True)
    assert keep.tolist() == [0]


def test_equal_scores_keep_input_order():
    keep = nms(boxes([0, 0, 10, 10], [50, 50, 60, 60], [1, 1, 11, 11]), np.array([0.5, 0.5, 0.5], np.float32), np.array([0, 0, 0]), 0.45, 300)
    # Box 2 overlaps box 0, which comes first among equal scores, so box 2 goes.
    assert keep.tolist() == [0, 1]


def test_iou_equal_to_threshold_is_kept():
    # The boxes overlap with IoU exactly 0.5; suppression needs strictly more.
    keep = nms(boxes([0, 0, 10, 10], [0, 0, 10, 5]), np.array([0.9, 0.8], np.float32), np.array([0, 0]), 0.5, 300)
    assert keep.tolist() == [0, 1]


def test_max_detections_caps_result():
    many = boxes(*[[i * 20, 0, i * 20 + 10, 10] for i in range(10)])
    keep = nms(many, np.linspace(0.9, 0.5, 10).astype(np.float32), np.zeros(10, int), 0.45, 3)
    assert keep.tolist() == [0, 1, 2]
