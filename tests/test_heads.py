"""Decoding of every registered head kind, in Python and in the browser twin."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exporter.heads import HEADS, get_head
from exporter.templates import template_root

from head_cases import HEAD_CASES

CASES = [(name, index) for name in sorted(HEADS) for index in range(len(HEAD_CASES.get(name, [])))]


def test_every_head_has_a_case():
    assert sorted(HEAD_CASES) == sorted(HEADS)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_every_head_has_a_js_twin(name):
    assert (template_root() / "lib" / "heads" / f"{name}.js").is_file()
    assert f"./{name}.js" in (template_root() / "lib" / "heads" / "index.js").read_text()


@pytest.mark.parametrize("name, index", CASES)
def test_python_decode(name, index):
    case = HEAD_CASES[name][index]
    boxes, scores = get_head(name).decode(case["outputs"], case["params"], case["input_hw"])
    row = case["row"]
    np.testing.assert_allclose(boxes[row], case["box"], atol=1e-4)
    assert int(scores[row].argmax()) == case["class_id"]
    assert scores[row].max() == pytest.approx(case["score"], abs=1e-6)
    others = np.delete(scores, row, axis=0)
    assert others.max(initial=0.0) < 0.1


@pytest.fixture(scope="module")
def lib_page():
    from exporter.browser import chromium_page
    from exporter.serve import BundleServer

    with BundleServer(template_root()) as server:
        with chromium_page(server.url + "verify/harness.html") as page:
            yield page


@pytest.mark.browser
@pytest.mark.parametrize("name, index", CASES)
def test_js_decode_matches_python(lib_page, name, index):
    case = HEAD_CASES[name][index]
    outputs = {role: {"data": array.ravel().tolist(), "dims": list(array.shape)} for role, array in case["outputs"].items()}
    script = """async ([name, outputs, params, inputHw]) => {
        const { getHead } = await import('/lib/heads/index.js');
        for (const value of Object.values(outputs)) value.data = Float32Array.from(value.data);
        const { boxes, scores, numClasses } = getHead(name).decode(outputs, params, inputHw);
        return { boxes: Array.from(boxes), scores: Array.from(scores), numClasses };
    }"""
    result = lib_page.evaluate(script, [name, outputs, case["params"], list(case["input_hw"])])
    py_boxes, py_scores = get_head(name).decode(case["outputs"], json.loads(json.dumps(case["params"])), case["input_hw"])
    assert result["numClasses"] == py_scores.shape[1]
    np.testing.assert_allclose(np.array(result["boxes"]).reshape(-1, 4), py_boxes, atol=1e-4)
    np.testing.assert_allclose(np.array(result["scores"]).reshape(py_scores.shape), py_scores, atol=1e-6)
