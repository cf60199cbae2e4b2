"""Built-in presets for the detector families the exporter knows."""

from __future__ import annotations

from .base import Preset, register_preset
from .coco import COCO80

register_preset(
    Preset(
        name="yolov8",
        description="Ultralytics YOLOv8/YOLO11 raw export: RGB /255, centred letterbox 114",
        head="yolov8",
        preprocess={"channel_order": "RGB", "scale": 1 / 255, "resize": "letterbox", "pad_position": "center"},
        labels=COCO80,
    )
)

register_preset(
    Preset(
        name="yolox",
        description="Megvii YOLOX: BGR 0..255 (no scaling), top-left letterbox 114, grid decode, obj x cls",
        head="yolox",
        head_params={"strides": [8, 16, 32]},
        preprocess={
            "channel_order": "BGR",
            "scale": 1.0,
            "resize": "letterbox",
            "pad_position": "top-left",
            "pad_value": (114.0, 114.0, 114.0),
        },
        labels=COCO80,
    )
)

register_preset(
    Preset(
        name="ultraface",
        description="UltraFace RFB/slim face detector: RGB (x-127)/128, stretch resize, decoded boxes, NMS 0.3",
        head="ssd_decoded",
        head_params={"background_class": 0},
        preprocess={
            "channel_order": "RGB",
            "scale": 1.0,
            "mean": (127.0, 127.0, 127.0),
            "std": (128.0, 128.0, 128.0),
            "resize": "stretch",
        },
        postprocess={"score_threshold": 0.7, "iou_threshold": 0.3},
        labels=("face",),
    )
)
