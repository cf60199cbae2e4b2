"""Preset dataclass and registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry

PRESETS: Registry["Preset"] = Registry("preset", " (see 'vision-export presets')")


@dataclass(frozen=True)
class Preset:
    """Settings for one detector family. Keys mirror PreprocessSpec and PostprocessSpec fields."""

    name: str
    description: str
    head: str
    head_params: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)
    postprocess: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None
    # Input (width, height) for models whose input size is dynamic.
    input_size: tuple[int, int] | None = None
    # Each input side is rounded up to a multiple of this (the model's largest stride).
    stride: int | None = None
    # True when a spec file lists the labels itself: they then take precedence over the
    # model's metadata. A built-in preset's labels (COCO) only fill in when metadata has none.
    explicit_labels: bool = False

    def summary(self) -> str:
        """Return one line listing what the preset sets."""
        parts = [f"head={self.head}"]
        parts += [f"head.{k}={v}" for k, v in self.head_params.items() if k != "anchors"]
        parts += [f"{k}={v}" for k, v in {**self.preprocess, **self.postprocess}.items()]
        if self.input_size:
            parts.append(f"input_size={self.input_size[0]}x{self.input_size[1]} (dynamic inputs)")
        if self.labels:
            parts.append(f"labels={len(self.labels)} built in")
        return ", ".join(parts)


def register_preset(preset: Preset) -> Preset:
    return PRESETS.add(preset.name, preset)


def get_preset(name: str) -> Preset:
    return PRESETS.lookup(name)
