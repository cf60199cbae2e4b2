"""Quantize the bundle's model for the browser and measure what it costs.

Three modes, registered in :data:`MODES`: ``fp16`` (float16 weights and
activations), ``int8`` (static QDQ quantization calibrated on images) and
``int8-dynamic`` (int8 weights, activations quantized at run time). Each mode
keeps the head's decode float (see ``HeadKind.decode_nodes``) plus the nodes the
user excludes, unless everything is quantized on request.

Every quantized model is loaded and run in onnxruntime on the evaluation images
before it replaces the float model in the staging folder. A model that does not
load, returns NaN, or loses every strong detection of the float model raises
:class:`QuantizationError`, and the staging folder is discarded with it.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError, InvalidModelError, QuantizationError
from .heads import get_head
from .images_list import expand_images
from .inspection import ModelInfo, inspect_model
from .registry import Registry

logger = logging.getLogger(__name__)

REPORT_FILENAME = "quantization-report.json"


@dataclass(frozen=True)
class QuantizeOptions:
    """A quantization request: the mode and its images. ``exclude`` contains node names or fnmatch patterns kept float."""

    mode: str
    calibration_dir: Path | None = None
    eval_dir: Path | None = None
    exclude: tuple[str, ...] = ()
    quantize_all: bool = False


@dataclass(frozen=True)
class QuantizationJob:
    """One mode's input: the prepared float model, where to write, and what stays float."""

    source: Path
    destination: Path
    keep_float: list[str]
    contract: Any  # ResolvedContract
    calibration_images: list[Path]


@dataclass(frozen=True)
class QuantizationMode:
    """A quantization mode: ``run`` writes ``job.destination`` from ``job.source``.

    ``cost`` describes the mode and its cost measured on YOLOv8n with the 10 test photos
    (docs/QUANTIZATION.md), for ``--help``.
    ``prepare`` runs onnxruntime's quantization pre-processing (shape inference
    and basic graph optimization) first. ``packages`` are the distributions whose
    versions the report records.
    """

    name: str
    cost: str
    needs_calibration: bool
    prepare: bool
    run: Callable[[QuantizationJob], None]
    packages: tuple[str, ...] = ("onnx", "onnxruntime")


MODES: Registry[QuantizationMode] = Registry("quantization mode", hint="; uint8 weights need --runtime tfjs")


def _run_fp16(job: QuantizationJob) -> None:
    import onnx

    from .fp16 import convert_to_float16

    converted = convert_to_float16(onnx.load(str(job.source)), job.keep_float)
    onnx.save(converted, str(job.destination))


def _run_int8_static(job: QuantizationJob) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from .calibration import CalibrationImages

    reader = CalibrationImages(job.calibration_images, job.contract.preprocess, job.contract.input_name)
    quantize_static(
        str(job.source),
        str(job.destination),
        reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=job.keep_float,
        calibrate_method=CalibrationMethod.MinMax,
    )


def _run_int8_dynamic(job: QuantizationJob) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # QUInt8 weights: with QInt8 weights, onnxruntime-web 1.31.1 ran YOLOv8n 5.5x slower than float32
    # (median 1140 ms against 209 ms per photo, 2 wasm threads, docs/QUANTIZATION.md), QUInt8 at 0.80x.
    quantize_dynamic(str(job.source), str(job.destination), weight_type=QuantType.QUInt8, nodes_to_exclude=job.keep_float)


MODES.add("fp16", QuantizationMode(
    "fp16", cost="float16 weights and activations with float32 inputs and outputs (YOLOv8n: 0.51x the bytes, "
                 "mAP@0.5 1.000 against float32, wasm inference 1.05x the time)",
    needs_calibration=False, prepare=False, run=_run_fp16,
    packages=("onnx", "onnxconverter-common", "onnxruntime"),
))
MODES.add("int8", QuantizationMode(
    "int8", cost="static int8 with QDQ nodes, uint8 activations and per-channel int8 weights, calibrated on the "
                 "--calibration images (YOLOv8n: 0.29x the bytes, mAP@0.5 0.988, wasm inference 0.66x the time)",
    needs_calibration=True, prepare=True, run=_run_int8_static,
))
MODES.add("int8-dynamic", QuantizationMode(
    "int8-dynamic", cost="uint8 weights with activations quantized at run time, no calibration "
                         "(YOLOv8n: 0.27x the bytes, mAP@0.5 0.992, wasm inference 0.80x the time)",
    needs_calibration=False, prepare=True, run=_run_int8_dynamic,
))


@dataclass(frozen=True)
class QuantizedModel:
    """The result placed in the staging folder: the bundled model's info and the report."""

    info: ModelInfo
    report: dict[str, Any]

    def manifest_summary(self) -> dict[str, Any]:
        return report_summary(self.report)

    def finish(self, staging: Path) -> None:
        """Do nothing: the report was complete when the model was quantized."""


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """Return a quantization report's headline numbers for ``manifest["quantization_report"]``.

    A report without accuracy figures (no evaluation images) gives None and zeros for them.
    """
    accuracy = report.get("accuracy") or {}
    return {
        "file": REPORT_FILENAME,
        "mode": report["mode"],
        "bytes_before": report["bytes_before"],
        "bytes_after": report["bytes_after"],
        "size_ratio": report["size_ratio"],
        "eval_images": len(report["eval_images"]),
        "map50": accuracy.get("map50"),
        "recall": accuracy.get("recall"),
        "precision": accuracy.get("precision"),
        "max_score_shift": accuracy.get("max_score_shift", 0.0),
        "strong_matched": accuracy.get("strong_matched", 0),
        "strong_reference": accuracy.get("strong_reference", 0),
    }


def check_request(info: ModelInfo, options: QuantizeOptions) -> None:
    """Raise ConfigError before any work when the request cannot be carried out."""
    mode = MODES.lookup(options.mode)
    if info.quantization != "none":
        raise ConfigError(
            f"model {str(info.path)!r} is already quantized ({info.quantization}): export it without --quantize, "
            "or quantize its float model"
        )
    if options.quantize_all and options.exclude:
        raise ConfigError("--quantize-all and --quantize-exclude contradict each other: give one of them")
    if mode.needs_calibration and options.calibration_dir is None:
        raise ConfigError(f"--quantize {mode.name} needs calibration images: pass --calibration DIR")
    if options.calibration_dir is None and options.eval_dir is None:
        raise ConfigError(
            f"--quantize {mode.name} needs images to measure the accuracy it costs: pass --eval DIR"
        )
    for folder in (options.calibration_dir, options.eval_dir):
        if folder is not None:
            expand_images([folder])  # raises InvalidImageError before any work


def quantize_staged_model(target, info: ModelInfo, contract, options: QuantizeOptions, staging: Path) -> QuantizedModel:
    """Replace the float model in ``staging`` with its quantized version and write the report beside it.

    Intermediate files go to a temporary folder outside the bundle. Raises
    QuantizationError when quantization fails or the result is unusable.
    """
    mode = MODES.lookup(options.mode)
    calibration = expand_images([options.calibration_dir]) if options.calibration_dir else []
    evaluation = expand_images([options.eval_dir]) if options.eval_dir else calibration
    staged = staging / target.model_filename
    bytes_before = staged.stat().st_size

    with tempfile.TemporaryDirectory(prefix="vision-export-quantize-") as folder:
        work = Path(folder)
        try:
            source = _prepare(staged, work, mode)
        except Exception as exc:  # onnxruntime.quantization documents no exception types
            raise _quantizer_failed(mode, info, exc) from exc
        keep_float, decode = _float_nodes(source, contract, options)
        job = QuantizationJob(source, work / "quantized.onnx", keep_float, contract, calibration)
        logger.info("quantizing %s to %s, %d nodes kept float", info.path.name, mode.name, len(keep_float))
        try:
            mode.run(job)
        except Exception as exc:  # the quantizers document no exception types
            raise _quantizer_failed(mode, info, exc) from exc
        accuracy = _evaluate(staged, job.destination, contract, evaluation, mode, info)
        target.write_model(inspect_model(job.destination), staged)

    bytes_after = staged.stat().st_size
    report = {
        "mode": mode.name,
        "source_model": info.path.name,
        "bytes_before": bytes_before,
        "bytes_after": bytes_after,
        "size_ratio": round(bytes_after / bytes_before, 4),
        "float_nodes": {"decode": decode, "excluded": sorted(set(keep_float) - set(decode)), "quantize_all": options.quantize_all},
        "calibration_images": [path.name for path in calibration],
        "eval_images": [path.name for path in evaluation],
        "tools": {name: importlib.metadata.version(name) for name in mode.packages},
        "accuracy": accuracy.to_dict(),
    }
    (staging / REPORT_FILENAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    # The bundled model's graph facts (operators, opset, quantization) with the source's file name and metadata.
    bundled = replace(inspect_model(staged), path=info.path, metadata=info.metadata)
    return QuantizedModel(bundled, report)


def _quantizer_failed(mode: QuantizationMode, info: ModelInfo, exc: Exception) -> QuantizationError:
    return QuantizationError(
        f"{mode.name} quantization of {info.path.name} failed ({type(exc).__name__}: {exc}): "
        "exclude the node it names with --quantize-exclude, or try another --quantize mode"
    )


def _prepare(staged: Path, work: Path, mode: QuantizationMode) -> Path:
    """Copy the float model into ``work`` with every node named, and pre-process it when the mode requires it."""
    import onnx

    from .onnx_graph import name_unnamed_nodes

    model = onnx.load(str(staged))
    named = name_unnamed_nodes(model)
    if named:
        logger.info("named %d unnamed nodes so that nodes can be kept float by name", named)
    source = work / "float.onnx"
    onnx.save(model, str(source))
    if not mode.prepare:
        return source
    from onnxruntime.quantization import quant_pre_process

    prepared = work / "prepared.onnx"
    quant_pre_process(str(source), str(prepared))
    return prepared


def _float_nodes(source: Path, contract, options: QuantizeOptions) -> tuple[list[str], list[str]]:
    """Return (all nodes kept float, the head's decode nodes among them), in graph order."""
    import onnx

    model = onnx.load(str(source))
    names = [node.name for node in model.graph.node]
    decode = [] if options.quantize_all else get_head(contract.postprocess.head).decode_nodes(model)
    kept = set(decode)
    for pattern in options.exclude:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            examples = ", ".join(repr(name) for name in names[:3])
            raise ConfigError(
                f"--quantize-exclude {pattern!r} matches no node of the model (node names look like {examples}): "
                "give node names or fnmatch patterns such as '/model.22/*'"
            )
        kept.update(matched)
    return [name for name in names if name in kept], decode


def _evaluate(float_model: Path, quantized: Path, contract, images: list[Path], mode: QuantizationMode, info: ModelInfo):
    """Run both models on ``images``; raise QuantizationError when the quantized one is unusable."""
    from .quant_eval import compare_models

    try:
        accuracy = compare_models(float_model, quantized, contract, images)
    except InvalidModelError as exc:
        raise QuantizationError(f"the {mode.name} model of {info.path.name} does not load in onnxruntime: {exc}") from exc
    except ValueError as exc:
        raise QuantizationError(f"the {mode.name} model of {info.path.name} is unusable: {exc}") from exc
    check_detections_kept(accuracy, f"the {mode.name} model of {info.path.name}", len(images),
                          "keep more nodes float with --quantize-exclude, or use --quantize fp16")
    return accuracy


def check_detections_kept(accuracy, quantized: str, image_count: int, fix: str) -> None:
    """Raise QuantizationError when ``quantized`` kept none of the float model's strong detections.

    When the float model has no strong detection on the images, a collapse cannot be
    seen, so a warning is logged instead.
    """
    from .quant_eval import STRONG_SCORE

    if accuracy.strong_reference == 0:
        logger.warning(
            "the float model has no detection scoring >= %.2f on the %d evaluation images, so a collapse of %s "
            "cannot be seen: pass --eval DIR with images that show the objects", STRONG_SCORE, image_count, quantized,
        )
    elif accuracy.strong_matched == 0:
        raise QuantizationError(
            f"{quantized} lost all {accuracy.strong_reference} strong detections (scores >= {STRONG_SCORE}) of the "
            f"float model on {image_count} images: {fix}"
        )

