"""Bad input through the CLI: a non-zero exit code, one 'error:' line that names the value and the fix, no output."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from conftest import make_image_model
from exporter.cli import main
from exporter.errors import (
    ConfigError,
    InvalidImageError,
    InvalidModelError,
    OutputPathError,
    UnsupportedModelError,
)
from exporter.presets import PRESETS


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str | Path]) -> tuple[int, list[str]]:
    """Run the CLI in-process and return the exit code and the lines written to stderr."""
    code = main([str(arg) for arg in argv])
    return code, capsys.readouterr().err.splitlines()


def export_argv(model: Path, out: Path, *extra: str | Path) -> list[str | Path]:
    return [model, "-o", out, "--target", "web", *extra]


def assert_one_error_line(lines: list[str], value: str, hint: str) -> None:
    """Check that stderr is a single 'error:' line that contains ``value`` and ``hint``."""
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("error: "), f"stderr line does not start with 'error: ': {lines[0]!r}"
    assert value in lines[0], f"error line does not name {value!r}: {lines[0]!r}"
    assert hint in lines[0], f"error line does not say {hint!r}: {lines[0]!r}"


def assert_nothing_written(out: Path) -> None:
    """Check that neither the bundle folder nor a staging or backup folder exists beside it."""
    assert not out.exists(), f"{out} was created by a failed export"
    partial = sorted(path.name for path in out.parent.glob(f".{out.name}.partial-*"))
    assert partial == [], f"staging folders left in {out.parent}: {partial}"
    assert not (out.parent / f".{out.name}.previous").exists(), "backup folder left beside the output"


def write_truncated_copy(source: Path, destination: Path) -> Path:
    data = source.read_bytes()
    destination.write_bytes(data[: len(data) // 2])
    return destination


def test_export_missing_model(tmp_path, capsys):
    model = tmp_path / "missing.onnx"
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "check the path")
    assert_nothing_written(out)


def test_export_model_path_is_folder(tmp_path, capsys):
    model = tmp_path / "model_folder"
    model.mkdir()
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "give the .onnx file")
    assert_nothing_written(out)


def test_export_truncated_tiny_model(tiny_yolov8, tmp_path, capsys):
    model = write_truncated_copy(tiny_yolov8, tmp_path / "truncated.onnx")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "not truncated")
    assert_nothing_written(out)


def test_export_truncated_yolox_nano(models_dir, tmp_path, capsys):
    model = write_truncated_copy(models_dir / "yolox-nano" / "yolox_nano.onnx", tmp_path / "yolox_nano.onnx")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "not truncated")
    assert_nothing_written(out)


def test_export_empty_model_file(tmp_path, capsys):
    model = tmp_path / "empty.onnx"
    model.write_bytes(b"")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "complete .onnx file")
    assert_nothing_written(out)


def test_export_png_named_onnx(tmp_path, capsys):
    model = tmp_path / "photo.onnx"
    Image.new("RGB", (32, 24), (200, 40, 40)).save(model, format="PNG")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "another format")
    assert_nothing_written(out)


def test_export_text_named_onnx(tmp_path, capsys):
    model = tmp_path / "notes.onnx"
    model.write_text("this is a text file, not a model\n", encoding="utf-8")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "another format")
    assert_nothing_written(out)


def test_export_model_without_image_input(tmp_path, capsys):
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 10])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 10])
    graph = helper.make_graph([helper.make_node("Relu", ["features"], ["scores"])], "flat", [features], [scores])
    flat = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    flat.ir_version = 9
    model = tmp_path / "flat.onnx"
    onnx.save(flat, str(model))
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, str(model), "Export the model with one image input")
    assert "features [1, 10] float32" in lines[0], f"error line does not describe the input: {lines[0]!r}"


def test_export_opset_too_new(tmp_path, capsys):
    # The opset is checked before anything is staged; write_model checks it again.
    model = make_image_model(
        tmp_path / "opset26.onnx",
        {"output0": [1, 6, 84]},
        metadata={"names": "{0: 'scratch', 1: 'dent'}", "stride": "32", "imgsz": "[64, 64]"},
        opset=26,
    )
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == InvalidModelError.exit_code
    assert_one_error_line(lines, "opset 26", "re-export the model with a lower opset")
    assert_nothing_written(out)


def test_export_output_is_file(tiny_yolov8, tmp_path, capsys):
    out = tmp_path / "bundle.txt"
    out.write_bytes(b"keep me\n")

    code, lines = run_cli(capsys, export_argv(tiny_yolov8, out))

    assert code == OutputPathError.exit_code
    assert_one_error_line(lines, str(out), "give a folder path with -o")
    assert out.read_bytes() == b"keep me\n", "the existing file was changed"
    partial = sorted(path.name for path in tmp_path.glob(f".{out.name}.partial-*"))
    assert partial == [], f"staging folders left in {tmp_path}: {partial}"


def test_export_unknown_preset(tiny_yolov8, tmp_path, capsys):
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(tiny_yolov8, out, "--preset", "nosuch"))

    assert code == ConfigError.exit_code
    assert_one_error_line(lines, "'nosuch'", "vision-export presets")
    for name in PRESETS:
        assert name in lines[0], f"error line does not list preset {name!r}: {lines[0]!r}"
    assert_nothing_written(out)


def test_export_xnnpack_backend_rejected(tiny_yolov8, tmp_path, capsys):
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(tiny_yolov8, out, "--backends", "xnnpack,wasm"))

    assert code == ConfigError.exit_code
    assert_one_error_line(lines, "xnnpack", "use a comma-separated list of wasm, webgpu")
    assert "built without the XNNPACK execution provider" in lines[0], f"error line does not say why: {lines[0]!r}"
    assert_nothing_written(out)


def test_export_labels_file_missing(tiny_yolov8, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(tiny_yolov8, out, "--labels", labels))

    assert code == ConfigError.exit_code
    assert_one_error_line(lines, str(labels), "one class name per line")
    assert_nothing_written(out)


def test_export_labels_count_tiny(tiny_yolov8, tmp_path, capsys):
    labels = tmp_path / "three.txt"
    labels.write_text("scratch\ndent\nrust\n", encoding="utf-8")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(tiny_yolov8, out, "--labels", labels))

    assert code == ConfigError.exit_code
    assert_one_error_line(lines, str(labels), "give a label file with one name per class")
    assert "3 labels" in lines[0], f"error line does not give the label count: {lines[0]!r}"
    assert "2 classes" in lines[0], f"error line does not give the class count: {lines[0]!r}"
    assert_nothing_written(out)


def test_export_labels_count_yolov8n(models_dir, tmp_path, capsys):
    labels = tmp_path / "three.txt"
    labels.write_text("person\nbicycle\ncar\n", encoding="utf-8")
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(models_dir / "yolov8n" / "yolov8n.onnx", out, "--labels", labels))

    assert code == ConfigError.exit_code
    assert_one_error_line(lines, str(labels), "give a label file with one name per class")
    assert "3 labels" in lines[0], f"error line does not give the label count: {lines[0]!r}"
    assert "80 classes" in lines[0], f"error line does not give the class count: {lines[0]!r}"
    assert_nothing_written(out)


def test_export_yolox_without_preset(models_dir, tmp_path, capsys):
    model = models_dir / "yolox-nano" / "yolox_nano.onnx"
    out = tmp_path / "bundle"

    code, lines = run_cli(capsys, export_argv(model, out))

    assert code == UnsupportedModelError.exit_code
    assert_one_error_line(lines, str(model), "Pass --preset")
    assert "images [1, 3, 416, 416] float32" in lines[0], f"error line does not list the input: {lines[0]!r}"
    assert "output [1, 3549, 85] float32" in lines[0], f"error line does not list the output: {lines[0]!r}"
    for name in PRESETS:
        assert name in lines[0], f"error line does not list preset {name!r}: {lines[0]!r}"
    assert_nothing_written(out)


def test_predict_undecodable_image(tiny_yolov8, tmp_path, capsys):
    image = tmp_path / "noise.jpg"
    image.write_bytes(os.urandom(2048))

    code, lines = run_cli(capsys, ["predict", tiny_yolov8, image])

    assert code == InvalidImageError.exit_code
    assert_one_error_line(lines, str(image), "use a complete JPEG")


def test_predict_missing_image(tiny_yolov8, tmp_path, capsys):
    image = tmp_path / "missing.jpg"

    code, lines = run_cli(capsys, ["predict", tiny_yolov8, image])

    assert code == InvalidImageError.exit_code
    assert_one_error_line(lines, str(image), "check the path")


def test_export_labels_fit_only_transposed_layout(tiny_yolov8, tmp_path, capsys):
    """80 labels would fit [1, 6, 84] read as 6 candidates of 84 channels; that reading is rejected."""
    labels = tmp_path / "coco.txt"
    labels.write_text("\n".join(f"class{i}" for i in range(80)) + "\n")
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(tiny_yolov8), "-o", str(out), "--labels", str(labels)])
    assert code != 0
    assert "80 labels" in capsys.readouterr().err
    assert not out.exists()


def test_export_operator_without_kernel(tmp_path, capsys):
    """A node no onnxruntime kernel implements is named at export, before anything is written."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 84])
    node = helper.make_node("FancyDecode", ["images"], ["output0"], name="decode_head", domain="com.example")
    graph = helper.make_graph([node], "custom", [image], [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    model.ir_version = 9
    model.metadata_props.add(key="names", value="{0: 'a', 1: 'b'}")
    model.metadata_props.add(key="stride", value="32")
    path = tmp_path / "custom.onnx"
    onnx.save(model, str(path))
    out = tmp_path / "bundle"
    code = main(["--target", "web", str(path), "-o", str(out)])
    error = capsys.readouterr().err
    assert code == 3
    assert "decode_head" in error
    assert "FancyDecode" in error
    assert not out.exists()
