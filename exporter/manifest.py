"""Read a bundle's manifest back into the contract the Python reference runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import PostprocessSpec, PreprocessSpec, spec_from_dict
from .errors import ConfigError

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Bundle:
    """An exported bundle on disk."""

    root: Path
    manifest: dict[str, Any]
    preprocess: PreprocessSpec
    postprocess: PostprocessSpec
    labels: list[str]

    @property
    def model_path(self) -> Path:
        return self.root / self.manifest["model"]["file"]

    @property
    def input_name(self) -> str:
        return self.manifest["model"]["input_name"]

    @property
    def runtime(self) -> str:
        return self.manifest["runtime"]["name"]

    def reference_model(self, source: Path | None = None) -> Path:
        """Return the model the Python reference runs for this bundle.

        An onnxruntime-web bundle carries its model. A TF.js bundle carries a converted
        graph model that no Python runtime loads, so its source model (ONNX, SavedModel
        or Keras) must be given, and must be the one the bundle was exported from.
        """
        from .runtime_files import source_fingerprint

        if source is None:
            if self.runtime == "onnx":
                return self.model_path
            raise ConfigError(
                f"bundle {str(self.root)!r} runs a converted {self.runtime} model, which the Python reference cannot load: "
                f"pass its source model with --reference (it was {self.manifest['model']['source_name']!r}, "
                f"SHA-256 {self.manifest['model']['source_sha256'][:12]}…)"
            )
        source = Path(source)
        if not source.exists():
            raise ConfigError(f"reference model {str(source)!r} not found: check the path")
        expected = self.manifest["model"]["source_sha256"]
        if source_fingerprint(source) != expected:
            raise ConfigError(
                f"reference model {str(source)!r} is not the model bundle {str(self.root)!r} was exported from "
                f"({self.manifest['model']['source_name']!r}, SHA-256 {expected[:12]}…): pass that model"
            )
        return source


def is_bundle(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "manifest.json").is_file()


def load_bundle(path: str | Path) -> Bundle:
    """Load ``path/manifest.json`` and check its format version."""
    root = Path(path)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"{str(root)!r} is not a bundle (no manifest.json): give a folder written by 'vision-export --target web'")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"manifest {str(manifest_path)!r} could not be read: {exc}") from exc
    if manifest.get("format_version") != MANIFEST_FORMAT:
        raise ConfigError(
            f"manifest {str(manifest_path)!r} has format_version {manifest.get('format_version')!r}; "
            f"this vision-export reads format {MANIFEST_FORMAT}: export the bundle again"
        )
    try:
        preprocess = spec_from_dict(PreprocessSpec, manifest["preprocess"])
        postprocess = spec_from_dict(PostprocessSpec, manifest["postprocess"])
        labels = list(manifest["labels"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"manifest {str(manifest_path)!r} is missing {exc}: export the bundle again") from exc
    return Bundle(root, manifest, preprocess, postprocess, labels)
