"""The decode + NMS stress case: the browser's lib/postprocess.js returns exactly Python's detections.

8400 YOLOv8 candidates overlap heavily and all score 0.3 (threshold 0.25), so the
result depends on the tie order and on every IoU comparison. Correctness only: the
time is reported by ``vision-export bench``, never asserted here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from exporter import bench_stress

pytestmark = pytest.mark.browser

CASES = [
    ("heavy", 80, False),
    ("heavy", 1, False),
    ("wide", 80, False),
    ("wide", 1, False),
    ("wide", 80, True),
]


@pytest.fixture(scope="module")
def harness_page():
    """The bench harness served from the web template, so /lib/ serves the files under test."""
    from exporter.browser import chromium_page
    from exporter.serve import BundleServer
    from exporter.templates import template_root

    with BundleServer(template_root()) as server:
        with chromium_page(server.url + "bench/harness.html") as page:
            page.wait_for_selector("body[data-state]")
            assert page.evaluate("document.body.dataset.state") == "ready"
            yield page


def test_python_stress_counts():
    """The spreads keep the documented number of boxes, so the cases stay stressful."""
    heavy = bench_stress.reference_detections(bench_stress.stress_outputs(80, "heavy"))
    wide = bench_stress.reference_detections(bench_stress.stress_outputs(80, "wide"))
    assert len(heavy) == 114
    assert len(wide) == bench_stress.stress_postprocess_spec().max_detections
    assert {d.score for d in heavy} == {float(np.float32(bench_stress.SCORE))}


@pytest.mark.parametrize("spread, num_classes, agnostic", CASES)
def test_stress_matches_python_exactly(harness_page, spread, num_classes, agnostic):
    outputs = bench_stress.stress_outputs(num_classes, spread)
    post = replace(bench_stress.stress_postprocess_spec(), agnostic_nms=agnostic)
    expected = bench_stress.reference_detections(outputs, num_classes, post)

    harness_page.evaluate("(payload) => window.visionBench.setPostprocessCase(payload)", bench_stress.browser_payload(outputs, num_classes, post))
    browser = harness_page.evaluate("() => window.visionBench.postprocessKernel(0, 1)")["detections"]

    assert len(browser) == len(expected)
    assert [d["class_id"] for d in browser] == [d.class_id for d in expected]
    assert [d["label"] for d in browser] == [d.label for d in expected]
    assert [d["score"] for d in browser] == [d.score for d in expected]
    assert [d["box"] for d in browser] == [list(d.box) for d in expected]
