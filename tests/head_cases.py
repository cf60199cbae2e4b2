"""One decode case per registered head kind, shared by the Python and the JavaScript tests.

Every case plants one candidate in otherwise empty outputs and states the xyxy box
(model-input pixels), class and score it must decode to. A head kind without a
case here fails test_every_head_has_a_case.
"""

from __future__ import annotations

import numpy as np

ROW = 1234


def _yolov8(channels_first: bool):
    predictions = np.zeros((8400, 84), dtype=np.float32)
    predictions[ROW, :4] = [320, 240, 100, 50]
    predictions[ROW, 4 + 17] = 0.9
    if channels_first:
        predictions = predictions.T
    return {
        "outputs": {"predictions": predictions[None]},
        "params": {"channels_first": channels_first},
        "input_hw": (640, 640),
        "row": ROW,
        "box": [270, 215, 370, 265],
        "class_id": 17,
        "score": 0.9,
    }


def _yolox():
    # Stride-16 level of a 416 input starts after the 52x52 stride-8 rows; cell (gx=5, gy=3).
    row = 52 * 52 + 3 * 26 + 5
    predictions = np.zeros((3549, 85), dtype=np.float32)
    predictions[row, :4] = [0.5, 0.25, np.log(4.0), np.log(2.0)]  # centre (88, 52), size 64 x 32
    predictions[row, 4] = 0.8
    predictions[row, 5 + 2] = 0.5
    return {
        "outputs": {"predictions": predictions[None]},
        "params": {"strides": [8, 16, 32]},
        "input_hw": (416, 416),
        "row": row,
        "box": [56, 36, 120, 68],
        "class_id": 2,
        "score": 0.4,
    }


def _ssd_decoded():
    boxes = np.zeros((4420, 4), dtype=np.float32)
    scores = np.zeros((4420, 2), dtype=np.float32)
    scores[:, 0] = 1.0
    boxes[100] = [0.25, 0.5, 0.5, 0.75]
    scores[100] = [0.05, 0.95]
    return {
        "outputs": {"boxes": boxes[None], "scores": scores[None]},
        "params": {"background_class": 0},
        "input_hw": (240, 320),
        "row": 100,
        "box": [80, 120, 160, 180],
        "class_id": 0,
        "score": 0.95,
    }


HEAD_CASES = {
    "yolov8": [_yolov8(True), _yolov8(False)],
    "yolox": [_yolox()],
    "ssd_decoded": [_ssd_decoded()],
}


def _yolov5():
    # Same candidate as the YOLOv8 cases, in the 3-anchors-per-cell layout; obj x cls = 0.9.
    predictions = np.zeros((25200, 85), dtype=np.float32)
    predictions[ROW, :5] = [320, 240, 100, 50, 1.0]
    predictions[ROW, 5 + 17] = 0.9
    return {
        "outputs": {"predictions": predictions[None]},
        "params": {},
        "input_hw": (640, 640),
        "row": ROW,
        "box": [270, 215, 370, 265],
        "class_id": 17,
        "score": 0.9,
    }


def _gfl():
    # NanoDet at 320: stride-16 cell (gx=4, gy=2) is row 1600 + 2 * 20 + 4; its centre is
    # (4.5 * 16 - 0.5, 2.5 * 16 - 0.5) = (71.5, 39.5). One-hot bins give exact distances.
    levels = {8: 1600, 16: 400, 32: 100}
    outputs = {}
    for stride, cells in levels.items():
        outputs[f"scores_{stride}"] = np.zeros((1, cells, 80), dtype=np.float32)
        outputs[f"distributions_{stride}"] = np.zeros((1, cells, 32), dtype=np.float32)
    cell = 2 * 20 + 4
    outputs["scores_16"][0, cell, 5] = 0.7
    distribution = np.full((4, 8), -30.0, dtype=np.float32)
    for side, bin_index in enumerate([1, 2, 3, 4]):  # left 16, top 32, right 48, bottom 64 px
        distribution[side, bin_index] = 30.0
    outputs["distributions_16"][0, cell] = distribution.ravel()
    return {
        "outputs": outputs,
        "params": {"strides": [8, 16, 32], "reg_max": 7, "center_shift": -0.5},
        "input_hw": (320, 320),
        "row": 1600 + cell,
        "box": [71.5 - 16, 39.5 - 32, 71.5 + 48, 39.5 + 64],
        "class_id": 5,
        "score": 0.7,
    }


def _yunet():
    # At 320: stride-32 anchor (gx=3, gy=1) = (96, 32) is row 1600 + 400 + 1 * 10 + 3.
    outputs = {}
    for stride in (8, 16, 32):
        cells = (320 // stride) ** 2
        for part, width in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10)):
            outputs[f"{part}_{stride}"] = np.zeros((1, cells, width), dtype=np.float32)
    cell = 1 * 10 + 3
    outputs["cls_32"][0, cell] = 0.9
    outputs["obj_32"][0, cell] = 0.8
    outputs["bbox_32"][0, cell] = [0.5, 0.25, np.log(2.0), 0.0]  # centre (112, 40), size 64 x 32
    outputs["kps_32"][0, cell] = [0.5, 0.5, 1.0, 0.5, 0.75, 0.75, 0.5, 1.0, 1.0, 1.0]
    return {
        "outputs": outputs,
        "params": {"strides": [8, 16, 32]},
        "input_hw": (320, 320),
        "row": 1600 + 400 + cell,
        "box": [80, 24, 144, 56],
        "class_id": 0,
        "score": 0.72,
        "keypoints": [[112, 48], [128, 48], [120, 56], [112, 64], [128, 64]],
    }


def _blazeface():
    # Anchor 10 at (0.25, 0.5) of a 128 input; offsets are in 1/128 of the anchor size (1.0).
    anchors = np.zeros((896, 4), dtype=np.float32)
    anchors[:, 2:] = 1.0
    anchors[10, :2] = [0.25, 0.5]
    preds = np.zeros((896, 16), dtype=np.float32)
    preds[10, :4] = [8, -16, 32, 16]  # centre (40, 48) px, size 32 x 16 px
    preds[10, 4:] = np.arange(12, dtype=np.float32)
    conf = np.full((896, 1), -10.0, dtype=np.float32)
    conf[10] = 2.0
    keypoints = [[32 + 2 * k, 64 + 2 * k + 1] for k in range(6)]
    return {
        "outputs": {"preds": preds[None], "conf": conf[None]},
        "params": {"anchors": anchors.tolist(), "scale": 128.0, "num_keypoints": 6},
        "input_hw": (128, 128),
        "row": 10,
        "box": [24, 40, 56, 56],
        "class_id": 0,
        "score": float(1 / (1 + np.exp(-2.0))),
        "keypoints": keypoints,
    }


def _end2end_single():
    rows = np.zeros((300, 6), dtype=np.float32)
    rows[7] = [270, 215, 370, 265, 0.9, 17]
    return {
        "outputs": {"detections": rows[None]},
        "params": {},
        "input_hw": (640, 640),
        "row": 7,
        "box": [270, 215, 370, 265],
        "class_id": 17,
        "score": 0.9,
    }


def _end2end_split():
    boxes = np.zeros((100, 4), dtype=np.float32)
    scores = np.zeros(100, dtype=np.float32)
    classes = np.zeros(100, dtype=np.int64)
    boxes[2], scores[2], classes[2] = [270, 215, 370, 265], 0.9, 17
    # Rows past the count are padding and must be ignored, even with a high score.
    boxes[5], scores[5], classes[5] = [0, 0, 10, 10], 0.99, 3
    return {
        "outputs": {"boxes": boxes[None], "scores": scores[None], "classes": classes[None], "count": np.array([[3]], dtype=np.int64)},
        "params": {},
        "input_hw": (640, 640),
        "row": 2,
        "box": [270, 215, 370, 265],
        "class_id": 17,
        "score": 0.9,
    }


HEAD_CASES.update(
    {
        "yolov5": [_yolov5()],
        "gfl": [_gfl()],
        "yunet": [_yunet()],
        "blazeface": [_blazeface()],
        "end2end": [_end2end_single(), _end2end_split()],
    }
)
