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
from .heads import HEADS, Binding, HeadKind, get_head
from .inspection import ModelInfo, input_hw, input_layout, metadata_imgsz, metadata_labels
from .labels import read_labels_file
from .presets import PRESETS, Preset, get_preset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserOptions:
    """Settings given on the command line or through the Python API; None means not given."""

    preset: str | None = None
    spec_file: Path | None = None
    labels_file: Path | None = None
    input_size: tuple[int, int] | None = None  # (width, height)
    anchors_file: Path | None = None
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


def _round_to_stride(size: tuple[int, int], stride: int | None) -> tuple[int, int]:
    if not stride:
        return size
    rounded = tuple(-(-side // stride) * stride for side in size)
    if rounded != size:
        logger.warning("input size %dx%d rounded up to %dx%d, a multiple of stride %d", *size, *rounded, stride)
    return rounded


def _resolve_input_size(info: ModelInfo, preset: Preset | None, options: UserOptions) -> tuple[tuple[int, int], str]:
    """Return ((height, width), source): static shape, else --input-size, preset, metadata imgsz."""
    height, width = input_hw(info.image_input)
    if isinstance(height, int) and isinstance(width, int):
        if options.input_size and tuple(options.input_size) != (width, height):
            raise ConfigError(
                f"--input-size {options.input_size[0]}x{options.input_size[1]} does not match the model's fixed input "
                f"{width}x{height}: drop the flag, or re-export the model with a dynamic input size"
            )
        return (height, width), "model input shape"
    stride = preset.stride if preset else None
    if str(info.metadata.get("stride", "")).isdigit():
        stride = int(info.metadata["stride"])
    if options.input_size:
        chosen, source = tuple(options.input_size), "--input-size"
    elif preset and preset.input_size:
        chosen, source = tuple(preset.input_size), preset.name
    elif metadata_imgsz(info.metadata):
        imgsz = metadata_imgsz(info.metadata)
        chosen, source = (imgsz[1], imgsz[0]), "model metadata 'imgsz'"
    else:
        raise ConfigError(
            f"model input {info.image_input.describe()} has a dynamic height or width and nothing gives its size: "
            "pass --input-size WxH (for example 640x640)"
        )
    width, height = _round_to_stride(chosen, stride)
    return (height, width), source


def _resolve_labels(info: ModelInfo, preset: Preset | None, options: UserOptions) -> tuple[list[str] | None, str]:
    if options.labels_file is not None:
        return read_labels_file(options.labels_file), f"labels file {options.labels_file}"
    if preset and preset.labels and preset.explicit_labels:
        return list(preset.labels), preset.name
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


def _choose_head(info: ModelInfo, preset: Preset | None) -> tuple[HeadKind, Preset | None, str]:
    """Return the head kind, the preset that describes it, and where the choice came from.

    Without a preset, a head kind the model file identifies (metadata or an
    unambiguous output shape) brings its family preset of the same name.
    """
    if preset is not None:
        return get_head(preset.head), preset, f"preset {preset.name}"
    recognized = [head for head in HEADS.values() if head.recognizes(info)]
    if len(recognized) == 1:
        head = recognized[0]
        return head, PRESETS.get(head.name), "model file"
    raise _unsupported(info, "the output layout is not recognised from the model file alone")


def _resolve_preset(options: UserOptions) -> Preset | None:
    preset = get_preset(options.preset) if options.preset else None
    if options.spec_file is not None:
        from .spec import load_spec

        preset = load_spec(options.spec_file, base=preset)
    return preset


def _bind(info: ModelInfo, head: HeadKind, input_hw, labels, labels_source: str, head_params) -> tuple[Binding, list[str] | None]:
    """Fit the head to the outputs, checking the label count against the class count."""
    binding = head.bind(info, input_hw, len(labels) if labels else None, head_params)
    if binding is None and labels is not None and labels_source.startswith("preset"):
        # A family preset's label list (COCO) does not bind a custom-trained model.
        binding = head.bind(info, input_hw, None, head_params)
        if binding is not None:
            logger.warning(
                "model has %d classes but %s lists %d labels; using class numbers as labels",
                binding.num_classes, labels_source, len(labels),
            )
            return binding, None
    if binding is not None:
        return binding, labels
    if labels is not None:
        unlabelled = head.bind(info, input_hw, None, head_params)
        count = f"{unlabelled.num_classes} classes" if unlabelled else "outputs that do not fit"
        raise ConfigError(
            f"{len(labels)} labels from {labels_source} do not match the model, which has {count} "
            f"for head kind {head.name!r} ({info.describe_io()}): give a label file with one name per class"
        )
    raise _unsupported(info, f"the outputs do not fit head kind {head.name!r} ({head.description})")


def resolve_contract(info: ModelInfo, options: UserOptions) -> ResolvedContract:
    """Merge flags, spec or preset, metadata and defaults into one checked contract."""
    sources: dict[str, str] = {}
    head, preset, sources["head"] = _choose_head(info, _resolve_preset(options))
    image_input = info.image_input
    (height, width), sources["input_size"] = _resolve_input_size(info, preset, options)
    labels, sources["labels"] = _resolve_labels(info, preset, options)

    head_params = dict(preset.head_params) if preset else {}
    if options.anchors_file is not None:
        from .spec import load_anchors

        head_params["anchors"] = load_anchors(options.anchors_file)
    if head.name == "blazeface" and "anchors" not in head_params:
        raise ConfigError("head kind 'blazeface' needs its anchor table: pass --anchors FILE (.npy or .json, shape [A, 4])")
    binding, labels = _bind(info, head, (height, width), labels, sources["labels"], head_params)
    if labels is None:
        labels = [f"class_{i}" for i in range(binding.num_classes)]

    preprocess_values = dict(preset.preprocess) if preset else {}
    preprocess_values.update(width=width, height=height, layout=input_layout(image_input))
    if preset is None:
        sources["preprocess"] = "defaults"
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
