"""The Python reference agrees with detections recorded for each pretrained model.

Expected values were measured with onnxruntime on the CPU with Pillow's bilinear
letterbox, and are listed beside each model. Boxes are xyxy in original-image
pixels; only detections scoring 0.5 or more are compared (boxes within 3 px,
scores within 0.05), because the reference resize keeps floats where Pillow
rounds to 8 bits.
"""

from __future__ import annotations

import numpy as np
import pytest

from exporter.inspection import inspect_model
from exporter.reference import ReferenceDetector, load_image_rgb
from exporter.resolve import UserOptions, resolve_contract

EXPECTED = {
    ("yolov8n/yolov8n.onnx", None): {
        "darknet_dog.jpg": [("dog", 0.955, [131, 219, 308, 540]), ("bicycle", 0.885, [131, 137, 568, 420]), ("car", 0.645, [468, 74, 694, 171])],
        "darknet_person.jpg": [("person", 0.943, [191, 100, 276, 376]), ("horse", 0.922, [406, 139, 600, 347]), ("dog", 0.911, [64, 265, 205, 344])],
        "coffee.png": [("cup", 0.929, [169, 18, 424, 327]), ("dining table", 0.741, [0, 0, 586, 398])],
        "astronaut.png": [("person", 0.832, [6, 13, 362, 511])],
    },
    ("yolox-nano/yolox_nano.onnx", "yolox"): {
        "darknet_dog.jpg": [("dog", 0.829, [133, 207, 325, 542]), ("car", 0.809, [467, 78, 692, 172]), ("bicycle", 0.808, [46, 132, 572, 431])],
        "darknet_person.jpg": [("person", 0.880, [188, 97, 277, 372]), ("dog", 0.875, [62, 263, 200, 349]), ("horse", 0.856, [404, 138, 602, 342])],
        "darknet_giraffe.jpg": [("giraffe", 0.933, [166, 29, 450, 432]), ("zebra", 0.646, [250, 202, 425, 442])],
        "coffee.png": [("cup", 0.899, [162, 15, 422, 293])],
        "chelsea.png": [("cat", 0.623, [-14, -16, 449, 301])],
        "astronaut.png": [("person", 0.925, [11, 20, 368, 507])],
    },
    ("ultraface/version-RFB-320.onnx", "ultraface"): {
        "astronaut.png": [("face", 1.000, [180, 62, 268, 174])],
        "solvay_conference_1927.jpg": [("face", 0.997, [260, 252, 281, 280]), ("face", 0.992, [463, 247, 485, 276]), ("face", 0.977, [502, 230, 522, 259])],
    },
    ("ultraface/version-slim-320.onnx", "ultraface"): {
        "astronaut.png": [("face", 1.000, [179, 62, 270, 174])],
        "solvay_conference_1927.jpg": [("face", 0.938, [463, 247, 484, 274])],
    },
}

# Face counts at the model's own threshold (0.7), as recorded with the original decode.
FACE_COUNTS = {("ultraface/version-RFB-320.onnx", "solvay_conference_1927.jpg"): 18, ("ultraface/version-slim-320.onnx", "solvay_conference_1927.jpg"): 10}

CASES = [(model, preset, image) for (model, preset), images in EXPECTED.items() for image in images]


def reference_for(models_dir, model, preset, threshold=None):
    info = inspect_model(models_dir / model)
    contract = resolve_contract(info, UserOptions(preset=preset, score_threshold=threshold))
    return ReferenceDetector(info.path, contract.preprocess, contract.postprocess, contract.labels, contract.input_name)


def clip_to_image(box, width, height):
    return [min(max(box[0], 0), width), min(max(box[1], 0), height), min(max(box[2], 0), width), min(max(box[3], 0), height)]


def same_label(a: str, b: str) -> bool:
    # One recorded label list spells COCO names VOC-style ("diningtable").
    return a.replace(" ", "") == b.replace(" ", "")


@pytest.mark.parametrize("model, preset, image", CASES)
def test_reference_matches_recorded(models_dir, photos_dir, model, preset, image):
    detector = reference_for(models_dir, model, preset)
    pixels = load_image_rgb(photos_dir / image)
    height, width = pixels.shape[:2]
    strong = [d for d in detector.detect(pixels) if d.score >= 0.5]
    expected = EXPECTED[(model, preset)][image]
    assert len(strong) >= len(expected)
    for label, score, box in expected:
        truth = clip_to_image(box, width, height)
        candidates = [d for d in strong if same_label(d.label, label)]
        assert candidates, f"{label} {score} {box} not found in {image}"
        best = min(candidates, key=lambda d: np.max(np.abs(np.subtract(d.box, truth))))
        assert np.max(np.abs(np.subtract(best.box, truth))) <= 3.0, f"{label}: {best.box} vs {truth}"
        assert abs(best.score - score) <= 0.05, f"{label}: {best.score} vs {score}"


@pytest.mark.parametrize("key, count", FACE_COUNTS.items())
def test_face_count_at_model_threshold(models_dir, photos_dir, key, count):
    model, image = key
    detector = reference_for(models_dir, model, "ultraface")
    assert len(detector.detect_file(photos_dir / image)) == count


def test_no_faces_in_profile_photo(models_dir, photos_dir):
    detector = reference_for(models_dir, "ultraface/version-RFB-320.onnx", "ultraface")
    assert detector.detect_file(photos_dir / "darknet_person.jpg") == []
