"""The pretrained detectors the tests and the parity table use, with the flags each needs.

Paths are relative to the test-data models folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogModel:
    key: str
    path: str
    preset: str | None = None
    head: str = ""
    anchors: str | None = None
    input_size: tuple[int, int] | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


CATALOG = [
    CatalogModel("yolov8n", "yolov8n/yolov8n.onnx", None, "yolov8", notes="labels, size and stride from metadata"),
    CatalogModel("yolov8n-int8", "yolov8n-int8/yolov8n_int8.onnx", None, "yolov8", notes="dynamic-int8 weights, exported as they are"),
    CatalogModel("yolox-nano", "yolox-nano/yolox_nano.onnx", "yolox", "yolox"),
    CatalogModel("nanodet-m-320", "nanodet-m/nanodet_m_320.onnx", "nanodet", "gfl"),
    CatalogModel("nanodet-m-416", "nanodet-m/nanodet_m_416.onnx", "nanodet", "gfl", notes="numeric output names"),
    CatalogModel("picodet-s-320", "picodet-s/picodet_s_320_coco.onnx", "picodet", "gfl", notes="Paddle output names with '/'"),
    CatalogModel("ultraface-rfb-320", "ultraface/version-RFB-320.onnx", "ultraface", "ssd_decoded"),
    CatalogModel("ultraface-slim-320", "ultraface/version-slim-320.onnx", "ultraface", "ssd_decoded"),
    CatalogModel("yunet-n-320", "yunet/yunet_n_320_320.onnx", "yunet", "yunet"),
    CatalogModel("yunet-n-dynamic", "yunet/yunet_n_dynamic.onnx", "yunet", "yunet", input_size=(640, 640), notes="dynamic input, exported at 640x640"),
    CatalogModel("yunet-s-640", "yunet/yunet_s_640_640.onnx", "yunet", "yunet"),
    CatalogModel("blazeface", "blazeface/blazeface.onnx", "blazeface", "blazeface", anchors="blazeface/anchors_face.npy"),
]


def export_arguments(model: CatalogModel, models_dir) -> list[str]:
    """Return the command-line flags that export ``model``."""
    arguments = []
    if model.preset:
        arguments += ["--preset", model.preset]
    if model.anchors:
        arguments += ["--anchors", str(models_dir / model.anchors)]
    if model.input_size:
        arguments += ["--input-size", f"{model.input_size[0]}x{model.input_size[1]}"]
    return arguments
