"""Runtime-target base class and registry."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..registry import Registry
from ..inspection import ModelInfo
from ..runtime_files import RuntimePackage

RUNTIMES: Registry["RuntimeTarget"] = Registry("runtime")


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

    def check_model(self, info: ModelInfo) -> None:
        """Raise InvalidModelError when the runtime cannot load the model at all."""

    def write_model(self, info: ModelInfo, destination: Path) -> None:
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
