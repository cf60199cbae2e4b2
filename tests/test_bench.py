"""The Python side of ``vision-export bench``: statistics, file sizes, the markdown report, one browser run.

No test asserts a time: the machines that run the suite are shared and noisy.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from exporter.bench import BenchOptions
from exporter.bench_inputs import CAMERA_SIZE, camera_frame, load_frames, synthetic_frame, write_frames
from exporter.bench_report import format_markdown
from exporter.bench_stats import GZIP_LEVEL, STAGES, file_sizes, percentile, ratio, size_summary, stage_table, summarize
from exporter.cli import main
from exporter.errors import ConfigError


@pytest.mark.parametrize("q", [0, 10, 50, 90, 100])
def test_percentile_matches_numpy(q):
    values = list(np.random.default_rng(q).uniform(0, 500, 37))
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_one_value():
    assert percentile([4.5], 90) == 4.5


def test_percentile_of_nothing_raises():
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarize_fields():
    summary = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert summary["median"] == 3.0
    assert summary["p90"] == pytest.approx(4.6)
    assert summary["min"] == 1.0
    assert summary["max"] == 5.0
    assert summary["count"] == 5


def test_ratio_without_native_time():
    assert ratio(3.0, 0.0) is None
    assert ratio(3.0, 1.5) == 2.0


def test_stage_table_compares_medians():
    browser = [{"preprocess": 10.0, "inference": 300.0, "postprocess": 5.0, "total": 320.0}] * 3
    native = [{"preprocess": 20.0, "inference": 100.0, "postprocess": 1.0, "total": 125.0}] * 3
    table = stage_table(browser, native)
    assert sorted(table) == sorted(STAGES)
    assert table["inference"]["ratio"] == 3.0
    assert table["preprocess"]["ratio"] == 0.5
    assert table["total"]["browser"]["count"] == 3


def test_file_sizes_raw_and_gzip(tmp_path):
    (tmp_path / "runtime").mkdir()
    compressible = b"vision-export " * 5000
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (tmp_path / "runtime" / "big.wasm").write_bytes(compressible)
    (tmp_path / "noise.bin").write_bytes(noise)
    files = file_sizes(tmp_path)
    assert [entry["path"] for entry in files] == ["runtime/big.wasm", "noise.bin"]
    assert files[0]["bytes"] == len(compressible)
    assert files[0]["gzip_bytes"] == len(gzip.compress(compressible, GZIP_LEVEL, mtime=0))
    assert files[0]["gzip_bytes"] < len(compressible) / 50
    assert files[1]["gzip_bytes"] > len(noise)  # random bytes do not compress
    summary = size_summary(files)
    assert summary["total_bytes"] == len(compressible) + len(noise)
    assert summary["total_gzip_bytes"] == files[0]["gzip_bytes"] + files[1]["gzip_bytes"]


def _stats(median: float) -> dict:
    return {"median": median, "p90": median * 1.2, "min": median * 0.9, "max": median * 1.5, "count": 4}


def _result() -> dict:
    """A bench result with made-up times, shaped like run_bench's."""
    stages = {
        "preprocess": {"browser": _stats(20.0), "native": _stats(40.0), "ratio": 0.5},
        "inference": {"browser": _stats(250.0), "native": _stats(100.0), "ratio": 2.5},
        "postprocess": {"browser": _stats(4.0), "native": _stats(2.0), "ratio": 2.0},
        "total": {"browser": _stats(280.0), "native": _stats(142.0), "ratio": 280.0 / 142.0},
    }
    camera_stages = {stage: value["browser"] for stage, value in stages.items()}
    files = [{"path": f"lib/file{i}.js", "bytes": 2000 - i, "gzip_bytes": 700} for i in range(14)]
    return {
        "model": "tiny.onnx",
        "setup": {"input": "64x64", "backend": "wasm", "threads": 1, "runs": 4, "warmup": 1},
        "stages": stages,
        "camera": {
            "width": 1280,
            "height": 720,
            "runs": 4,
            "browser": {"fps": 3.5, "stages": camera_stages},
            "native": {"fps": 7.0, "stages": {stage: value["native"] for stage, value in stages.items()}},
        },
        "kernels": {"preprocess": {"browser": _stats(12.0)}, "nms_stress": {"browser": _stats(5.0)}},
        "load": {"browser_ms": 900.0, "native_ms": 80.0},
        "memory": {"peak_js_heap_bytes": 3 * 2**20, "peak_worker_buffers_bytes": 50 * 2**20},
        "bundle_size": {"total_bytes": 5 * 2**20, "total_gzip_bytes": 2**20, "gzip_level": 6, "files": files},
        "environment": {
            "cpu": "Example CPU",
            "nproc": 2,
            "chromium": "156.0",
            "onnxruntime": "1.32.0",
            "browser_runtime": "onnxruntime-web 1.31.1",
            "load_average_1min": {"before": 1.25, "after": 2.0},
        },
    }


def test_markdown_stage_rows():
    text = format_markdown(_result())
    assert "| inference | 250.0 | 300.0 | 100.0 | 120.0 | 2.50x |" in text
    assert "| decode + NMS | 4.0 | 4.8 | 2.0 | 2.4 | 2.00x |" in text
    assert "| end-to-end | 280.0 |" in text


def test_markdown_camera_and_shares():
    text = format_markdown(_result())
    assert "| frames per second | 3.50 | 7.00 | 2.00x (time) |" in text
    # Shares are of the camera loop's median browser inference, 250 ms.
    assert "| 12.0 | 14.4 | 4.8% |" in text
    assert "| 5.0 | 6.0 | 2.0% |" in text
    assert "| decode + NMS in detect(), camera frame | 4.0 | 4.8 | 1.6% |" in text


def test_markdown_environment_line():
    text = format_markdown(_result())
    assert "Example CPU, 2 cores, 1-minute load average 1.2 before, 2.0 after." in text
    assert "onnxruntime-web 1.31.1" in text


def test_markdown_sizes_fold_small_files():
    text = format_markdown(_result(), max_files=12)
    assert "| lib/file0.js | 2.0 KiB | 0.7 KiB |" in text
    assert "| 2 smaller files |" in text
    assert "5.00 MiB raw, 1.00 MiB gzip (level 6)" in text


@pytest.mark.parametrize("field, value", [("runs", 0), ("warmup", -1), ("threads", 0)])
def test_options_reject_invalid(field, value):
    with pytest.raises(ConfigError, match=f"--{field}"):
        BenchOptions(**{field: value})


def test_frames_default_to_pattern():
    frames = load_frames(None)
    assert frames.images[0].shape == (CAMERA_SIZE[1], CAMERA_SIZE[0], 3)
    assert frames.camera is frames.images[0]
    assert np.array_equal(synthetic_frame(), frames.camera)


def test_camera_frame_covers_720p():
    portrait = np.zeros((640, 480, 3), dtype=np.uint8)
    assert camera_frame(portrait).shape == (720, 1280, 3)


def test_written_frames_keep_pixels(tmp_path):
    from PIL import Image

    frames = load_frames(None)
    urls = write_frames(frames, tmp_path, "/frames/")
    assert urls == ["/frames/frame-0.png", "/frames/frame-1.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "frame-1.png")), frames.camera)


def test_cli_rejects_missing_bundle(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "missing")]) == ConfigError.exit_code
    assert "not a bundle" in capsys.readouterr().err


@pytest.mark.browser
def test_bench_json_structure(tiny_yolov8, tmp_path, capsys):
    bundle = tmp_path / "bundle"
    assert main(["--target", "web", str(tiny_yolov8), "-o", str(bundle)]) == 0
    report = tmp_path / "bench.json"
    assert main(["bench", str(bundle), "--runs", "2", "--warmup", "1", "--threads", "1", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(report.read_text())

    assert "| inference |" in printed
    assert result["setup"]["threads"] == 1
    assert result["setup"]["backend"] == "wasm"
    assert result["setup"]["cross_origin_isolated"] is True
    for stage in STAGES:
        for side in ("browser", "native"):
            assert result["stages"][stage][side]["count"] == 2
            assert result["stages"][stage][side]["median"] >= 0
    assert len(result["samples"]["browser"]) == 2
    assert result["detections"]["browser"] == result["detections"]["native"]
    assert result["camera"]["browser"]["fps"] > 0
    assert result["camera"]["native"]["fps"] > 0
    assert result["kernels"]["nms_stress"]["matches_python"] is True
    assert result["kernels"]["nms_stress"]["kept"] == 114
    assert result["memory"]["peak_js_heap_bytes"] > 0
    assert result["load"]["browser_ms"] > 0
    assert result["environment"]["browser_runtime"] == "onnxruntime-web 1.31.1"
    assert result["environment"]["nproc"] >= 1
    assert "before" in result["environment"]["load_average_1min"]
    paths = {entry["path"] for entry in result["bundle_size"]["files"]}
    assert {"model.onnx", "manifest.json", "vision-export.js"} <= paths
    assert result["bundle_size"]["total_gzip_bytes"] < result["bundle_size"]["total_bytes"]
