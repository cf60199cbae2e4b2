"""Runtime-target base class and registry."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..registry import Registry
from ..inspection import ModelInfo
from ..runtime_files import RuntimePackage

RUNTIMES: Registry["RuntimeTarget"] = Registry("runtime")

# Model formats as messages name them.
FORMAT_NAMES = {"onnx": "ONNX", "saved_model": "TensorFlow SavedModel", "keras": "Keras model"}


class RuntimeTarget:
    """How one browser runtime gets its model file and runtime files into a bundle."""

    name: str = ""
    description: str = ""
    package: RuntimePackage
    # Default backends, and every backend the target can ship, in the order they are tried.
    backends: tuple[str, ...] = ()
    available_backends: tuple[str, ...] = ()
    # Backend names a user may expect from the runtime's docs or files, with the reason the target cannot ship them.
    unavailable_backends: dict[str, str] = {}
    # Runtime module (a file name among the package's files) each backend loads.
    backend_entries: dict[str, str] = {}
    model_filename: str = ""
    # Model source formats the target converts: "onnx", "saved_model", "keras".
    source_formats: tuple[str, ...] = ("onnx",)

    @property
    def packages(self) -> tuple[RuntimePackage, ...]:
        """Every npm package whose files the bundle ships; the first names the runtime."""
        return (self.package,)

    def check_backends(self, backends: tuple[str, ...]) -> tuple[str, ...]:
        """Return ``backends`` if this target can ship all of them; raise ConfigError naming the rest."""
        unknown = [b for b in backends if b not in self.available_backends]
        if unknown or not backends:
            known_gaps = [name for name in unknown if name in self.unavailable_backends]
            reasons = "".join(f" ({name}: {self.unavailable_backends[name]})" for name in known_gaps)
            raise ConfigError(
                f"backend(s) {', '.join(unknown) or '(none)'} not available for runtime {self.name!r}{reasons}: "
                f"use a comma-separated list of {', '.join(self.available_backends)}"
            )
        return backends

    # False when only a conversion at export can tell which operators the runtime lacks.
    checks_operators: bool = True
    # A module every backend imports first (TF.js core); empty when each backend entry is self-contained.
    core_file: str = ""

    def check_source(self, path: Path) -> None:
        """Raise ConfigError when this target cannot take the model's format at all."""
        from ..reference.runners import model_format

        found = model_format(path)
        if found not in self.source_formats:
            accepted = ", ".join(FORMAT_NAMES[f] for f in self.source_formats)
            raise ConfigError(
                f"runtime {self.name!r} takes {accepted} models, and {str(path)!r} is a {FORMAT_NAMES[found]}: "
                "use --runtime tfjs for TensorFlow SavedModels and Keras files"
            )

    def check_quantize(self, info: ModelInfo, options) -> None:
        """Raise ConfigError before any work when the quantization request cannot be carried out."""
        from ..quantize import check_request

        check_request(info, options)

    def write_options(self, quantize) -> dict:
        """Keyword arguments for ``write_model`` that depend on the quantization request."""
        return {}

    def quantize_staged(self, info: ModelInfo, contract, options, staging: Path):
        """Quantize the staged model; return an object with ``info`` and ``manifest_summary()``."""
        from ..quantize import quantize_staged_model

        return quantize_staged_model(self, info, contract, options, staging)

    def self_check_model(self, info: ModelInfo, model_file: Path) -> Path:
        """The model whose output on zeros the page's warm-up must reproduce: the bundled one."""
        return model_file

    def self_check_tolerance(self, info: ModelInfo, binding: dict) -> float:
        from ..self_check import tolerance_for

        return tolerance_for(info.quantization)

    def check_model(self, info: ModelInfo) -> None:
        """Raise InvalidModelError when the runtime cannot load the model at all."""

    def write_model(self, info: ModelInfo, destination: Path, contract) -> dict:
        """Write the browser model to ``destination`` (a file, or a folder for multi-file models).

        Returns what the manifest's ``model`` section needs beyond the defaults (empty
        for most targets). ``contract`` is the resolved pre/post-processing contract.
        """
        raise NotImplementedError

    def unsupported_operators(self, info: ModelInfo) -> list[str]:
        """Return one line per graph node this runtime cannot run; empty when all are supported."""
        raise NotImplementedError


def register_runtime(cls: type[RuntimeTarget]) -> type[RuntimeTarget]:
    instance = cls()
    RUNTIMES.add(instance.name, instance)
    return cls


def get_runtime(name: str) -> RuntimeTarget:
    return RUNTIMES.lookup(name)
