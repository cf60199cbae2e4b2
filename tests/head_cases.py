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
