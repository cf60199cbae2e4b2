"""The example defect detector shipped in examples/: export, reference accuracy and browser parity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exporter.cli import main
from exporter.inspection import inspect_model
from exporter.reference import ReferenceDetector, box_iou
from exporter.resolve import UserOptions, resolve_contract

from conftest import EXAMPLES

MODEL = EXAMPLES / "defect_detector" / "defect_detector.onnx"
IMAGES = EXAMPLES / "images"


def ground_truth() -> dict:
    return json.loads((IMAGES / "ground_truth.json").read_text())


def test_example_resolves_without_flags():
    contract = resolve_contract(inspect_model(MODEL), UserOptions())
    assert contract.labels == ["scratch", "dent", "missing_hole"]
    assert contract.postprocess.head == "yolov8"
    assert (contract.preprocess.width, contract.preprocess.height) == (320, 320)


@pytest.mark.parametrize("image", ["part_01.jpg", "part_02.jpg"])
def test_example_finds_every_defect(image):
    contract = resolve_contract(inspect_model(MODEL), UserOptions())
    detector = ReferenceDetector(MODEL, contract.preprocess, contract.postprocess, contract.labels, contract.input_name)
    strong = [d for d in detector.detect_file(IMAGES / image) if d.score >= 0.5]
    truth = ground_truth()["images"][image]["defects"]
    for defect in truth:
        same_class = [d for d in strong if d.label == defect["class"]]
        assert same_class, f"{defect} not found"
        ious = box_iou(np.asarray(defect["box"], dtype=np.float64), np.array([d.box for d in same_class]))
        assert ious.max() >= 0.5, f"{defect}: best IoU {ious.max():.2f}"
    assert len(strong) == len(truth)


@pytest.mark.browser
def test_example_bundle_verifies(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["--target", "web", str(MODEL), "-o", str(out)]) == 0
    report = tmp_path / "report.json"
    assert main(["verify", str(out), str(IMAGES), "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["passed"] is True
    assert len(data["images"]) == 3
    assert data["max_box_diff_px"] <= 1.0
