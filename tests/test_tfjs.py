"""The TF.js runtime: conversion, parity in Chromium, weight compression, Keras and SavedModel sources.

These tests need the TF.js tool environment ('vision-export setup-tfjs'). CI installs
it; elsewhere the tests skip with that command in the message.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exporter.bundle import export_web
from exporter.cli import main
from exporter.compare import ImageParity, Tolerance, match_detections, tolerance_for
from exporter.errors import ConfigError, ConversionError, QuantizationError, ToolEnvironmentError
from exporter.images_list import expand_images
from exporter.quantize import QuantizeOptions
from exporter.resolve import UserOptions
from exporter.runtime_files import sha256_file
from exporter.toolenv import TFJS_TOOLS
from exporter.verify import run_in_browser, verify_bundle

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_MODEL = REPO / "examples" / "defect_detector" / "defect_detector.onnx"


@pytest.fixture(scope="session")
def tfjs_tools() -> Path:
    if TFJS_TOOLS.is_installed():
        return TFJS_TOOLS.python
    message = f"the TF.js tool environment is not installed in {TFJS_TOOLS.folder}: run 'vision-export setup-tfjs'"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# Catalog name -> (model path under models/, export options).
SOURCES = {
    "yolov8n": ("yolov8n/yolov8n.onnx", UserOptions()),
    "yolox-nano": ("yolox-nano/yolox_nano.onnx", UserOptions(preset="yolox")),
}


@pytest.fixture(scope="module")
def tfjs_bundles(tfjs_tools, models_dir, photos_dir, tmp_path_factory):
    """Bundles of yolov8n and yolox-nano in fp32, fp16 and uint8 weights, exported once per module."""
    root = tmp_path_factory.mktemp("tfjs")
    built = {}

    def get(name: str, mode: str | None):
        key = (name, mode)
        if key not in built:
            relative, options = SOURCES[name]
            quantize = None if mode is None else QuantizeOptions(mode, eval_dir=photos_dir)
            out = root / f"{name}-{mode or 'fp32'}"
            export_web(models_dir / relative, out, runtime="tfjs", options=options, quantize=quantize)
            built[key] = out
        return built[key]

    return get


# Per-tensor uint8 kernels cost YOLOX-Nano its detections: rounding its first convolution
# alone moved scores by up to 0.97. That export must fail, which the test below checks.
CASES = [(name, mode) for name in sorted(SOURCES) for mode in (None, "fp16", "uint8") if (name, mode) != ("yolox-nano", "uint8")]


@pytest.mark.browser
@pytest.mark.parametrize("name, mode", CASES)
def test_tfjs_bundle_matches_onnx_reference(tfjs_bundles, models_dir, photos_dir, name, mode):
    bundle = tfjs_bundles(name, mode)
    report = verify_bundle(bundle, [photos_dir], reference_model=models_dir / SOURCES[name][0])
    failed = {image.image: image.problems for image in report.images if not image.passed}
    assert not failed, failed
    assert report.backend == "wasm"
    assert report.threads == 1
    assert sum(image.matched for image in report.images) >= 20  # real detections were compared
    expected = {None: Tolerance(), "fp16": Tolerance(box_px=2.0, score=1e-2)}.get(mode)
    if expected is not None:
        assert report.tolerance.box_px == expected.box_px
        assert report.tolerance.score == expected.score
    else:
        assert report.tolerance.min_iou == 0.9
        assert report.tolerance.score == 0.02


@pytest.mark.browser
def test_uint8_weights_that_lose_detections_fail_the_export(tfjs_tools, models_dir, photos_dir, tmp_path):
    out = tmp_path / "bundle"
    with pytest.raises(QuantizationError, match=r"uint8 weights lost all \d+ strong detections"):
        export_web(models_dir / "yolox-nano" / "yolox_nano.onnx", out, runtime="tfjs", options=UserOptions(preset="yolox"),
                   quantize=QuantizeOptions("uint8", eval_dir=photos_dir))
    assert not out.exists()


@pytest.mark.browser
def test_tfjs_quantization_report_measures_the_browser(tfjs_bundles):
    for mode, ratio in (("fp16", 0.52), ("uint8", 0.30)):
        bundle = tfjs_bundles("yolov8n", mode)
        report = json.loads((bundle / "quantization-report.json").read_text())
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert report["mode"] == mode
        assert report["runtime"] == "tfjs"
        assert report["bytes_after"] <= ratio * report["bytes_before"], report
        assert "not the inference time" in report["note"]
        assert report["accuracy"]["map50"] >= 0.99
        assert report["accuracy"]["strong_matched"] == report["accuracy"]["strong_reference"] > 0
        assert manifest["model"]["quantization"] == mode
        assert manifest["model"]["tfjs"]["weight_quantization"] == {"fp16": "float16", "uint8": "uint8"}[mode]
        assert manifest["quantization_report"]["map50"] == report["accuracy"]["map50"]


@pytest.mark.browser
def test_onnx_and_tfjs_bundles_find_the_same_detections(tfjs_bundles, models_dir, photos_dir, tmp_path):
    onnx_bundle = export_web(models_dir / "yolov8n" / "yolov8n.onnx", tmp_path / "onnx").out
    paths = expand_images([photos_dir])
    onnx_run = run_in_browser(onnx_bundle, paths)
    tfjs_run = run_in_browser(tfjs_bundles("yolov8n", None), paths)
    total = 0
    for path, a, b in zip(paths, onnx_run.results, tfjs_run.results):
        result = ImageParity(path.name, len(a["detections"]), len(b["detections"]))
        match_detections(a["detections"], b["detections"], 0.25, Tolerance(), result)
        assert result.passed, (path.name, result.problems)
        assert len(a["detections"]) == len(b["detections"])
        total += len(a["detections"])
    assert total >= 40


def test_tfjs_manifest_binding_and_layout(tfjs_bundles):
    manifest = json.loads((tfjs_bundles("yolov8n", None) / "manifest.json").read_text())
    model = manifest["model"]
    assert manifest["runtime"]["name"] == "tfjs"
    assert manifest["runtime"]["package"] == "@tensorflow/tfjs"
    assert model["input_layout"] == "NCHW"
    assert manifest["preprocess"]["layout"] == "NCHW"
    # onnx2tf renames outputs by position; the binding maps the ONNX name to the graph node.
    assert model["tfjs"]["output_nodes"] == {"output0": "Identity:0"}
    assert model["tfjs"]["onnx_max_abs_diff"] < 0.01
    assert model["file"] == "model/model.json"
    assert len(model["parts"]) >= 3
    runtime_files = sorted(Path(f).name for b in manifest["runtime"]["backends"] for f in b["files"])
    assert "tf.fesm.min.js" in runtime_files
    assert not any(name.startswith("ort") for name in runtime_files)


def test_conversion_leaves_the_source_model_untouched(tfjs_tools, models_dir, tmp_path):
    # onnx2tf rewrites its input file with a simplified copy, so the exporter gives it a copy.
    source = tmp_path / "model.onnx"
    source.write_bytes(EXAMPLE_MODEL.read_bytes())
    before = sha256_file(source)
    export_web(source, tmp_path / "bundle", runtime="tfjs")
    assert sha256_file(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "model.onnx"]


def test_tool_scripts_run_from_their_environment(tfjs_tools):
    # onnx2tf runs the onnxsim console script; a shebang naming another folder would skip simplification.
    shebang = (TFJS_TOOLS.folder / "bin" / "onnxsim").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    assert shebang == f"#!{TFJS_TOOLS.folder / 'bin' / 'python'}", shebang
    assert TFJS_TOOLS.environment()["PATH"].split(os.pathsep)[0] == str(TFJS_TOOLS.folder / "bin")


def test_tool_environment_runs_offline():
    env = TFJS_TOOLS.environment()
    # A download attempt goes to a closed loopback port and fails at once.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert env[name] == "http://127.0.0.1:9"
    assert env["NO_PROXY"] == ""
    assert "PYTHONPATH" not in env


def test_onnx2tf_calibration_placeholder_is_written(tfjs_tools, tmp_path):
    # onnx2tf downloads a calibration sample for 3-channel inputs unless this file is in its working directory.
    script = TFJS_TOOLS.script_path("tfjs_tool.py").read_text()
    assert 'ONNX2TF_CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"' in script
    source = tmp_path / "model.onnx"
    source.write_bytes(EXAMPLE_MODEL.read_bytes())
    work = tmp_path / "work"
    result = TFJS_TOOLS.run("tfjs_tool.py", ["convert", str(source), str(tmp_path / "out"), "--workdir", str(work),
                                             "--keep-nchw", "images"], timeout=900)
    assert result.returncode == 0, result.stdout[-2000:]
    placeholder = np.load(work / "calibration_image_sample_data_20x128x128x3_float32.npy")
    assert placeholder.shape == (20, 128, 128, 3)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["onnx_parity"]["outputs"]["output0"]["signature_name"] == "output_0"


@pytest.mark.browser
def test_tensor_count_stays_flat_over_200_frames(tfjs_tools, tmp_path):
    from playwright.sync_api import Error as PlaywrightError  # noqa: F401  (fails loudly if playwright is missing)

    bundle = export_web(EXAMPLE_MODEL, tmp_path / "bundle", runtime="tfjs").out
    image = tmp_path / "frames" / "part.png"
    image.parent.mkdir()
    Image.open(REPO / "examples" / "images" / "part_01.jpg").save(image)
    run = run_in_browser(bundle, [image] * 200)
    counts = [result["runtimeMemory"]["tensors"] for result in run.results]
    assert len(counts) == 200
    # The model's weights stay resident; a frame must add nothing to them.
    assert counts[-1] == counts[9] == counts[199 // 2], (counts[:12], counts[-3:])
    assert max(counts) == min(counts)


@pytest.fixture(scope="module")
def keras_models(tfjs_tools, tmp_path_factory) -> Path:
    """A tiny seeded Keras detector, saved as .keras and as a SavedModel by TensorFlow."""
    folder = tmp_path_factory.mktemp("keras")
    result = subprocess.run([str(tfjs_tools), str(REPO / "tests" / "tf_tiny_detector.py"), str(folder)],
                            capture_output=True, text=True, env=TFJS_TOOLS.environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    (folder / "labels.txt").write_text("scratch\ndent\n")
    photos = folder / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i, size in enumerate([(64, 64), (96, 48), (40, 120)]):
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(photos / f"noise{i}.png")
    return folder


@pytest.mark.browser
@pytest.mark.parametrize("source", ["tiny_detector.keras", "tiny_detector_savedmodel"])
def test_tensorflow_sources_export_and_match_tensorflow(keras_models, tmp_path, source):
    model = keras_models / source
    options = UserOptions(preset="yolov8", labels_file=keras_models / "labels.txt")
    bundle = export_web(model, tmp_path / "bundle", runtime="tfjs", options=options).out
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["model"]["input_layout"] == "NHWC"
    assert manifest["model"]["source_format"] in ("keras", "saved_model")
    report = verify_bundle(bundle, [keras_models / "photos"], reference_model=model)
    assert report.passed, [image.problems for image in report.images]
    assert sum(image.matched for image in report.images) >= 3
    assert max(image.max_score_diff for image in report.images) < 1e-4


def test_missing_tool_environment_names_the_setup_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISION_EXPORT_CACHE", str(tmp_path / "empty-cache"))
    out = tmp_path / "bundle"
    code = main([str(EXAMPLE_MODEL), "-o", str(out), "--target", "web", "--runtime", "tfjs"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == ToolEnvironmentError.exit_code
    assert len(error) == 1
    assert "vision-export setup-tfjs" in error[0]
    assert not out.exists()


def test_verify_of_a_tfjs_bundle_needs_its_source_model(tfjs_bundles, models_dir, tmp_path):
    from exporter.manifest import load_bundle

    bundle = load_bundle(tfjs_bundles("yolov8n", None))
    with pytest.raises(ConfigError, match="--reference"):
        bundle.reference_model()
    with pytest.raises(ConfigError, match="not the model"):
        bundle.reference_model(EXAMPLE_MODEL)
    assert bundle.reference_model(models_dir / "yolov8n" / "yolov8n.onnx").name == "yolov8n.onnx"


@pytest.mark.parametrize("argv, message", [
    (["--runtime", "tfjs", "--quantize", "int8", "--calibration", "IMAGES"], "--quantize int8 is not available with --runtime tfjs"),
    (["--quantize", "uint8", "--eval", "IMAGES"], "uint8 weights need --runtime tfjs"),
])
def test_quantize_modes_belong_to_their_runtime(tfjs_tools, tmp_path, capsys, argv, message):
    images = str(REPO / "examples" / "images")
    out = tmp_path / "bundle"
    code = main([str(EXAMPLE_MODEL), "-o", str(out), "--target", "web", *[images if a == "IMAGES" else a for a in argv]])
    error = capsys.readouterr().err
    assert code == ConfigError.exit_code, error
    assert message in error
    assert not out.exists()


def test_lost_output_fails_the_export_loudly():
    from exporter.inspection import ModelInfo, TensorInfo
    from exporter.targets.tfjs_web import _binding

    info = ModelInfo(Path("m.onnx"), (TensorInfo("images", (1, 3, 64, 64), "float32"),),
                     (TensorInfo("boxes", (1, 100, 4), "float32"), TensorInfo("scores", (1, 100, 2), "float32")), 17, 9, "test")

    class Contract:
        input_name = "images"

    report = {
        "input_nodes": {"images": "images:0"},
        "output_nodes": {"output_0": "Identity:0", "output_1": "Identity_1:0"},
        "timings": {},
        "onnx_parity": {"outputs": {
            "boxes": {"signature_name": "output_0", "onnx_shape": [1, 100, 4], "max_abs_diff": 0.0},
            "scores": {"signature_name": None, "onnx_shape": [1, 100, 2], "tf_shapes": {"output_1": [1, 2, 100]}},
        }},
    }
    with pytest.raises(ConversionError, match="'scores'.*could not bind it by name"):
        _binding(info, Contract(), report, "none")
    report["onnx_parity"]["outputs"]["scores"].update(signature_name="output_1", max_abs_diff=0.0)
    binding = _binding(info, Contract(), report, "none")["tfjs"]
    assert binding["output_nodes"] == {"boxes": "Identity:0", "scores": "Identity_1:0"}


def test_uint8_tolerance_is_an_overlap_rule():
    tolerance = tolerance_for("uint8")
    reference = [{"box": [0, 0, 20, 20], "score": 0.9, "class_id": 0, "label": "a"}]
    near = [{"box": [0.5, 0, 20.5, 20], "score": 0.91, "class_id": 0, "label": "a"}]  # IoU 0.95
    far = [{"box": [3, 0, 23, 20], "score": 0.9, "class_id": 0, "label": "a"}]  # IoU 0.74
    for browser, passes in ((near, True), (far, False)):
        result = ImageParity("x", 1, 1)
        match_detections(reference, browser, 0.25, tolerance, result)
        assert result.passed is passes, result.problems
    assert tolerance_for("uint8", box_px=3.0).min_iou is None


@pytest.mark.browser
def test_webgl_and_webgpu_backends_match_wasm(keras_models, tmp_path):
    from test_runtime_browser import WEBGPU_ARGS, open_harness

    from exporter.verify import IMAGES_PREFIX

    options = UserOptions(preset="yolov8", labels_file=keras_models / "labels.txt")
    bundle = export_web(keras_models / "tiny_detector.keras", tmp_path / "bundle", runtime="tfjs", options=options,
                        backends=("webgl", "webgpu", "wasm")).out
    server, context, page = open_harness(bundle, keras_models / "photos", extra_args=WEBGPU_ARGS)
    try:
        detections = {}
        for backend in ("wasm", "webgl", "webgpu"):
            info = page.evaluate("(b) => window.visionExport.reload({backends: [b]})", backend)
            assert info["backend"] == backend, info["failures"]
            result = page.evaluate("(url) => window.visionExport.detectUrl(url, {})", f"{IMAGES_PREFIX}0/noise0.png")
            detections[backend] = result["detections"]
    finally:
        context.__exit__(None, None, None)
        server.stop()
    assert detections["wasm"], "the tiny detector found nothing to compare"
    for backend in ("webgl", "webgpu"):
        result = ImageParity(backend, len(detections["wasm"]), len(detections[backend]))
        match_detections(detections["wasm"], detections[backend], 0.25, Tolerance(), result)
        assert result.passed, (backend, result.problems)
