"""The Python reference runtime: numpy preprocessing, decoding and NMS plus onnxruntime.

Each function has a JavaScript twin of the same name in ``web_template/runtime``;
both follow the contract in :mod:`exporter.config`.
"""

from .images import load_image_rgb
from .letterbox import LetterboxGeometry, compute_geometry, preprocess, resize_bilinear, unletterbox_boxes
from .nms import box_iou, nms
from .pipeline import Detection, ReferenceDetector, StageOutputs

__all__ = [
    "Detection",
    "LetterboxGeometry",
    "ReferenceDetector",
    "StageOutputs",
    "box_iou",
    "compute_geometry",
    "load_image_rgb",
    "nms",
    "preprocess",
    "resize_bilinear",
    "unletterbox_boxes",
]
