"""Decoding of every registered head kind, in Python and in the browser twin."""

from __future__ import annotations

import base64
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
    decoded = get_head(name).decode(case["outputs"], case["params"], case["input_hw"])
    boxes, scores = decoded.boxes, decoded.scores
    row = case["row"]
    np.testing.assert_allclose(boxes[row], case["box"], atol=1e-3)
    if decoded.class_ids is not None:
        assert int(decoded.class_ids[row]) == case["class_id"]
        assert scores[row] == pytest.approx(case["score"], abs=1e-6)
    else:
        assert int(scores[row].argmax()) == case["class_id"]
        assert scores[row].max() == pytest.approx(case["score"], abs=1e-6)
    others = np.delete(scores, row, axis=0)
    assert others.max(initial=0.0) < 0.1
    if "keypoints" in case:
        np.testing.assert_allclose(decoded.keypoints[row], case["keypoints"], atol=1e-3)
    else:
        assert decoded.keypoints is None


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
    outputs = {
        role: {"data": base64.b64encode(np.ascontiguousarray(array, dtype=np.float32).tobytes()).decode(), "dims": list(array.shape)}
        for role, array in case["outputs"].items()
    }
    script = """async ([name, outputs, params, inputHw]) => {
        const { getHead } = await import('/lib/heads/index.js');
        for (const value of Object.values(outputs)) {
            const bytes = Uint8Array.from(atob(value.data), (c) => c.charCodeAt(0));
            value.data = new Float32Array(bytes.buffer);
        }
        const head = getHead(name);
        const d = head.decode(outputs, params, inputHw);
        return { boxes: Array.from(d.boxes), scores: Array.from(d.scores), numClasses: d.numClasses,
                 classIds: d.classIds ? Array.from(d.classIds) : null,
                 keypoints: d.keypoints ? Array.from(d.keypoints) : null, appliesNms: head.appliesNms !== false };
    }"""
    result = lib_page.evaluate(script, [name, outputs, case["params"], list(case["input_hw"])])
    decoded = get_head(name).decode(case["outputs"], json.loads(json.dumps(case["params"])), case["input_hw"])
    assert result["appliesNms"] == get_head(name).applies_nms
    np.testing.assert_allclose(np.array(result["boxes"]).reshape(-1, 4), decoded.boxes, atol=1e-3)
    np.testing.assert_allclose(np.array(result["scores"]).reshape(decoded.scores.shape), decoded.scores, atol=1e-6)
    if decoded.class_ids is None:
        assert result["numClasses"] == decoded.scores.shape[1]
    else:
        assert result["classIds"] == decoded.class_ids.tolist()
    if decoded.keypoints is None:
        assert result["keypoints"] is None
    else:
        np.testing.assert_allclose(np.array(result["keypoints"]).reshape(decoded.keypoints.shape), decoded.keypoints, atol=1e-3)
