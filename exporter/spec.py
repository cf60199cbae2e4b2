"""Spec files: a model description in YAML or JSON, validated against a JSON Schema.

A spec describes what a model file does not say about itself. It may start from
a preset (``preset: yolox``) and override any of its settings; a preset is a
built-in spec. Paths inside a spec are relative to the spec file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .config import CHANNEL_ORDERS, INTERPOLATIONS, PAD_POSITIONS, RESIZE_MODES
from .errors import ConfigError
from .labels import read_labels_file
from .presets import Preset, get_preset

_TRIPLE = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}
_SIZE = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2}

SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "vision-export model spec",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "preset": {"type": "string", "description": "built-in preset to start from"},
        "description": {"type": "string"},
        "head": {
            "type": "object",
            "additionalProperties": False,
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "description": "head kind, see 'vision-export presets'"},
                "params": {"type": "object", "description": "parameters of the head kind"},
            },
        },
        "input_size": {**_SIZE, "description": "[width, height] in pixels, for models with a dynamic input size"},
        "stride": {"type": "integer", "minimum": 1, "description": "input sides are rounded up to a multiple of this"},
        "preprocess": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "resize": {"enum": list(RESIZE_MODES)},
                "pad_position": {"enum": list(PAD_POSITIONS)},
                "pad_value": _TRIPLE,
                "interpolation": {"enum": list(INTERPOLATIONS)},
                "channel_order": {"enum": list(CHANNEL_ORDERS)},
                "scale": {"type": "number", "exclusiveMinimum": 0},
                "mean": _TRIPLE,
                "std": _TRIPLE,
            },
        },
        "postprocess": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "score_threshold": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                "iou_threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "max_detections": {"type": "integer", "minimum": 1},
                "agnostic_nms": {"type": "boolean"},
                "max_candidates": {"type": "integer", "minimum": 1},
                "clip_boxes": {"type": "boolean"},
            },
        },
        "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "labels_file": {"type": "string", "description": "class names file, one per line"},
        "anchors_file": {"type": "string", "description": ".npy or .json table of anchors for anchor-based heads"},
    },
}


def _read_structured(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"spec file {str(path)!r} is not valid JSON: {exc}") from exc
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"spec file {str(path)!r} is not valid YAML: {exc}") from exc


def validate_spec(data: Any, source: str) -> None:
    """Raise ConfigError naming the first invalid key of ``data``, with the schema's reason."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(SPEC_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise ConfigError(f"spec file {source}: invalid '{where}': {error.message}. The schema is in 'vision-export spec-schema'")


def load_anchors(path: Path) -> list[list[float]]:
    """Read an anchor table [A, 4] from .npy or .json."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"anchor file {str(path)!r} not found: give the .npy or .json anchor table the model was trained with")
    try:
        table = np.load(path) if path.suffix.lower() == ".npy" else np.asarray(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"anchor file {str(path)!r} could not be read: {exc}") from exc
    if table.ndim != 2 or table.shape[1] != 4:
        raise ConfigError(f"anchor file {str(path)!r} has shape {list(table.shape)}: expected [A, 4] (x_center, y_center, w, h)")
    return table.astype(float).tolist()


def load_spec(path: str | Path, base: Preset | None = None) -> Preset:
    """Load a spec file into a Preset, starting from ``base`` or the spec's own ``preset``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"spec file {str(path)!r} not found: check the path")
    data = _read_structured(path) or {}
    validate_spec(data, repr(str(path)))

    if "preset" in data:
        named = get_preset(data["preset"])
        if base is not None and base.name != named.name:
            raise ConfigError(
                f"--preset {base.name} conflicts with 'preset: {named.name}' in spec file {str(path)!r}: "
                "remove one of them"
            )
        base = named
    head = data.get("head", {})
    head_kind = head.get("kind") or (base.head if base else None)
    if head_kind is None:
        raise ConfigError(f"spec file {str(path)!r} names no head kind: add 'head: {{kind: ...}}' or 'preset: ...'")

    head_params = dict(base.head_params) if base and base.head == head_kind else {}
    head_params.update(head.get("params", {}))
    if "anchors_file" in data:
        head_params["anchors"] = load_anchors(path.parent / data["anchors_file"])
    labels = base.labels if base else None
    if "labels_file" in data:
        labels = tuple(read_labels_file(path.parent / data["labels_file"]))
    if "labels" in data:
        labels = tuple(data["labels"])
    input_size = data.get("input_size", base.input_size if base else None)
    return Preset(
        name=f"spec {path.name}",
        description=data.get("description", base.description if base else f"spec file {path}"),
        head=head_kind,
        head_params=head_params,
        preprocess={**(base.preprocess if base else {}), **data.get("preprocess", {})},
        postprocess={**(base.postprocess if base else {}), **data.get("postprocess", {})},
        labels=labels,
        input_size=tuple(input_size) if input_size else None,
        stride=data.get("stride", base.stride if base else None),
        explicit_labels="labels" in data or "labels_file" in data,
    )
