"""Built-in presets for the detector families the exporter supports."""

from __future__ import annotations

from .base import Preset, register_preset
from .coco import COCO80

# ImageNet statistics in B, G, R order, for BGR models normalised on the 0..255 scale.
IMAGENET_MEAN_BGR = (103.53, 116.28, 123.675)
IMAGENET_STD_BGR = (57.375, 57.12, 58.395)

register_preset(
    Preset(
        name="yolov8",
        description="Ultralytics YOLOv8/YOLO11 raw export: RGB /255, centred letterbox 114",
        head="yolov8",
        preprocess={"channel_order": "RGB", "scale": 1 / 255, "resize": "letterbox", "pad_position": "center"},
        labels=COCO80,
        stride=32,
    )
)

register_preset(
    Preset(
        name="yolov5",
        description="YOLOv5/YOLOv7 decoded export [1, N, 5+C]: RGB /255, centred letterbox 114, obj x cls",
        head="yolov5",
        preprocess={"channel_order": "RGB", "scale": 1 / 255, "resize": "letterbox", "pad_position": "center"},
        labels=COCO80,
        stride=32,
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
        stride=32,
    )
)

register_preset(
    Preset(
        name="end2end",
        description="NMS inside the graph ([1, K, 6] or boxes/scores/classes/count): RGB /255, centred letterbox 114",
        head="end2end",
        preprocess={"channel_order": "RGB", "scale": 1 / 255, "resize": "letterbox", "pad_position": "center"},
        labels=COCO80,
        stride=32,
    )
)

register_preset(
    Preset(
        name="nanodet",
        description="NanoDet-m (GFL head, 3 strides): BGR, ImageNet mean/std, centred letterbox 0",
        head="gfl",
        head_params={"strides": [8, 16, 32], "reg_max": 7},
        preprocess={
            "channel_order": "BGR",
            "scale": 1.0,
            "mean": IMAGENET_MEAN_BGR,
            "std": IMAGENET_STD_BGR,
            "resize": "letterbox",
            "pad_position": "center",
            "pad_value": (0.0, 0.0, 0.0),
        },
        postprocess={"score_threshold": 0.35, "iou_threshold": 0.5},
        labels=COCO80,
        stride=32,
    )
)

register_preset(
    Preset(
        name="picodet",
        description="PP-PicoDet (GFL head, 4 strides): BGR, ImageNet mean/std, stretch resize as PaddleDetection does",
        head="gfl",
        head_params={"strides": [8, 16, 32, 64], "reg_max": 7},
        preprocess={
            "channel_order": "BGR",
            "scale": 1.0,
            "mean": IMAGENET_MEAN_BGR,
            "std": IMAGENET_STD_BGR,
            "resize": "stretch",
        },
        postprocess={"score_threshold": 0.4, "iou_threshold": 0.5},
        labels=COCO80,
        stride=64,
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

register_preset(
    Preset(
        name="yunet",
        description="YuNet face detector with 5 landmarks: BGR 0..255, top-left letterbox 0, score cls x obj",
        head="yunet",
        preprocess={
            "channel_order": "BGR",
            "scale": 1.0,
            "resize": "letterbox",
            "pad_position": "top-left",
            "pad_value": (0.0, 0.0, 0.0),
        },
        postprocess={"score_threshold": 0.5, "iou_threshold": 0.3},
        labels=("face",),
        input_size=(640, 640),
        stride=32,
    )
)

register_preset(
    Preset(
        name="blazeface",
        description="MediaPipe BlazeFace with 6 keypoints: RGB /255, centred letterbox 0; needs --anchors",
        head="blazeface",
        head_params={"scale": 128.0},
        preprocess={
            "channel_order": "RGB",
            "scale": 1 / 255,
            "resize": "letterbox",
            "pad_position": "center",
            "pad_value": (0.0, 0.0, 0.0),
        },
        postprocess={"score_threshold": 0.75, "iou_threshold": 0.3},
        labels=("face",),
    )
)
