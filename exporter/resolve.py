"""Resolve the pre/post-processing contract for a model.

Each setting comes from the first source that has it: command-line flags, then
the preset, then the model's own metadata, then the defaults in
:mod:`exporter.config`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .config import PostprocessSpec, PreprocessSpec
from .errors import ConfigError, UnsupportedModelError
from .heads import HEADS, get_head
from .inspection import ModelInfo, input_hw, input_layout, metadata_imgsz, metadata_labels
from .labels import read_labels_file
from .presets import PRESETS, Preset, get_preset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserOptions:
    """Settings given on the command line or through the Python API; None means not given."""

    preset: str | None = None
    labels_file: Path | None = None
    score_threshold: float | None = None
    iou_threshold: float | None = None
    max_detections: int | None = None
    agnostic_nms: bool | None = None


@dataclass(frozen=True)
class ResolvedContract:
    """Everything the bundle and the reference need to run a model the same way."""

    preprocess: PreprocessSpec
    postprocess: PostprocessSpec
    labels: list[str]
    input_name: str
    preset: str | None
    sources: dict[str, str]


def _resolve_input_size(info: ModelInfo, preset: Preset | None) -> tuple[int, int]:
    """Return (height, width): the static input shape, else metadata imgsz, else the preset."""
    height, width = input_hw(info.image_input)
    if isinstance(height, int) and isinstance(width, int):
        return height, width
    from_metadata = metadata_imgsz(info.metadata)
    if from_metadata:
        return from_metadata
    if preset and "width" in preset.preprocess and "height" in preset.preprocess:
        return preset.preprocess["height"], preset.preprocess["width"]
    raise ConfigError(
        f"model input {info.image_input.describe()} has a dynamic height or width and nothing gives its size: "
        "re-export the model with a fixed input size"
    )


def _resolve_labels(info: ModelInfo, preset: Preset | None, options: UserOptions) -> tuple[list[str] | None, str]:
    if options.labels_file is not None:
        return read_labels_file(options.labels_file), f"labels file {options.labels_file}"
    from_metadata = metadata_labels(info.metadata)
    if from_metadata:
        return from_metadata, "model metadata 'names'"
    if preset and preset.labels:
        return list(preset.labels), f"preset {preset.name}"
    return None, "none"


def _unsupported(info: ModelInfo, reason: str) -> UnsupportedModelError:
    presets = "; ".join(f"{p.name} ({p.description})" for p in PRESETS.values())
    return UnsupportedModelError(
        f"{reason} for model {str(info.path)!r}. {info.describe_io()}. "
        f"Pass --preset with one of: {presets}"
    )


def _choose_head(info: ModelInfo, preset: Preset | None):
    if preset is not None:
        return get_head(preset.head), f"preset {preset.name}"
    recognized = [head for head in HEADS.values() if head.recognizes(info)]
    if len(recognized) == 1:
        return recognized[0], "model metadata"
    raise _unsupported(info, "the output layout is not recognised from the model file alone")


def resolve_contract(info: ModelInfo, options: UserOptions) -> ResolvedContract:
    """Merge flags, preset, metadata and defaults into one checked contract."""
    preset = get_preset(options.preset) if options.preset else None
    sources: dict[str, str] = {}
    image_input = info.image_input
    height, width = _resolve_input_size(info, preset)

    labels, sources["labels"] = _resolve_labels(info, preset, options)
    head, sources["head"] = _choose_head(info, preset)
    head_params = dict(preset.head_params) if preset else {}

    binding = head.bind(info, (height, width), len(labels) if labels else None, head_params)
    if binding is None and labels is not None and sources["labels"].startswith("preset"):
        binding = head.bind(info, (height, width), None, head_params)
        if binding is not None:
            logger.warning(
                "model has %d classes but preset %s lists %d labels; using class numbers as labels",
                binding.num_classes, preset.name, len(labels),
            )
            labels = None
    if binding is None:
        if labels is not None:
            unlabelled = head.bind(info, (height, width), None, head_params)
            count = f"{unlabelled.num_classes} classes" if unlabelled else "outputs that do not fit"
            raise ConfigError(
                f"{len(labels)} labels from {sources['labels']} do not match the model, which has {count} "
                f"for head kind {head.name!r} ({info.describe_io()}): give a label file with one name per class"
            )
        raise _unsupported(info, f"the outputs do not fit head kind {head.name!r} ({head.description})")
    if labels is None:
        labels = [f"class_{i}" for i in range(binding.num_classes)]

    preprocess_values = dict(preset.preprocess) if preset else {}
    preprocess_values.update(width=width, height=height, layout=input_layout(image_input))
    if not preset:
        sources["preprocess"] = "model metadata" if head.recognizes(info) else "defaults"
        if not head.recognizes(info):
            logger.warning("nothing states this model's preprocessing; using the defaults (RGB /255, centred letterbox 114)")
    else:
        sources["preprocess"] = f"preset {preset.name}"
    preprocess = PreprocessSpec(**preprocess_values)

    post_values = dict(preset.postprocess) if preset else {}
    flags = {
        "score_threshold": options.score_threshold,
        "iou_threshold": options.iou_threshold,
        "max_detections": options.max_detections,
        "agnostic_nms": options.agnostic_nms,
    }
    post_values.update({k: v for k, v in flags.items() if v is not None})
    postprocess = PostprocessSpec(head=head.name, outputs=binding.outputs, head_params=binding.params, **post_values)

    return ResolvedContract(preprocess, postprocess, labels, image_input.name, preset.name if preset else None, sources)
