"""The pre/post-processing contract shared by the bundle and the Python reference.

The dataclasses here are serialised once into the bundle's ``manifest.json``.
The JavaScript runtime and :mod:`exporter.reference` both read that contract and
implement the same math, so no model-specific value is hard-coded on either side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError

RESIZE_MODES = ("letterbox", "stretch")
PAD_POSITIONS = ("center", "top-left")
CHANNEL_ORDERS = ("RGB", "BGR")
LAYOUTS = ("NCHW", "NHWC")
# Resize filters both runtimes implement, as separable triangle filters evaluated
# in float64 with pixel centres at +0.5 and no intermediate rounding.
# "bilinear-antialias" widens the filter with the downscale factor (as Pillow's
# BILINEAR does); "bilinear" keeps it 2 taps wide (as OpenCV's INTER_LINEAR does,
# apart from the outermost pixels, where OpenCV clamps and this renormalises).
INTERPOLATIONS = ("bilinear-antialias", "bilinear")


@dataclass(frozen=True)
class PreprocessSpec:
    """How an image becomes the model's input tensor.

    ``pad_value`` is in 0..255 pixel units and is applied before normalisation.
    Each channel is normalised as ``(pixel * scale - mean) / std`` after the
    channels are put in ``channel_order``.
    """

    width: int
    height: int
    resize: str = "letterbox"
    pad_position: str = "center"
    pad_value: tuple[float, float, float] = (114.0, 114.0, 114.0)
    interpolation: str = "bilinear-antialias"
    channel_order: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    layout: str = "NCHW"

    def __post_init__(self) -> None:
        # Spec files and manifests give lists of ints; store tuples of floats so equal specs compare equal.
        for name in ("pad_value", "mean", "std"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                object.__setattr__(self, name, tuple(float(v) for v in value))
        object.__setattr__(self, "scale", float(self.scale))
        _check_choice("resize", self.resize, RESIZE_MODES)
        _check_choice("pad_position", self.pad_position, PAD_POSITIONS)
        _check_choice("channel_order", self.channel_order, CHANNEL_ORDERS)
        _check_choice("layout", self.layout, LAYOUTS)
        _check_choice("interpolation", self.interpolation, INTERPOLATIONS)
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"preprocess {name}={value!r} is invalid: use a positive integer")
        for name in ("pad_value", "mean", "std"):
            value = getattr(self, name)
            if len(value) != 3:
                raise ConfigError(f"preprocess {name}={value!r} is invalid: give 3 values, one per channel")
        if any(s == 0 for s in self.std):
            raise ConfigError(f"preprocess std={self.std!r} is invalid: std values must be non-zero")


@dataclass(frozen=True)
class PostprocessSpec:
    """How raw model outputs become detections.

    ``outputs`` binds each role of the head kind (for example ``predictions``)
    to an output name of the model, so the output order never matters.
    Thresholds are inclusive on neither side: a candidate is kept when its
    score is strictly greater than ``score_threshold``, and suppressed when its
    IoU with a kept box is strictly greater than ``iou_threshold``.
    """

    head: str
    outputs: dict[str, str]
    head_params: dict[str, Any] = field(default_factory=dict)
    score_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = 300
    agnostic_nms: bool = False
    # Candidates kept (highest scores first) before NMS; bounds NMS time.
    max_candidates: int = 30000
    clip_boxes: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold < 1.0:
            raise ConfigError(
                f"score threshold {self.score_threshold!r} is invalid: use a value in [0, 1)"
            )
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ConfigError(f"IoU threshold {self.iou_threshold!r} is invalid: use a value in (0, 1]")
        if self.max_detections < 1:
            raise ConfigError(f"max detections {self.max_detections!r} is invalid: use a positive integer")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"preprocess {name}={value!r} is invalid: use one of {', '.join(choices)}")


def spec_to_dict(spec: PreprocessSpec | PostprocessSpec) -> dict[str, Any]:
    """Convert a spec to JSON-ready data (tuples become lists)."""
    data = asdict(spec)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def spec_from_dict(cls: type, data: dict[str, Any]):
    """Build a spec from manifest data, rejecting unknown keys by name."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} key(s) {', '.join(unknown)}: allowed keys are {', '.join(sorted(known))}"
        )
    values = {key: tuple(value) if isinstance(value, list) and key != "outputs" else value for key, value in data.items()}
    return cls(**values)


def override(spec, **changes):
    """Return ``spec`` with the non-None ``changes`` applied."""
    changes = {key: value for key, value in changes.items() if value is not None}
    return replace(spec, **changes) if changes else spec
