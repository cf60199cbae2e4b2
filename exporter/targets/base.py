"""Runtime-target base class and registry."""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry
from ..inspection import ModelInfo
from ..runtime_files import RuntimePackage

RUNTIMES: Registry["RuntimeTarget"] = Registry("runtime")


class RuntimeTarget:
    """How one browser runtime gets its model file and runtime files into a bundle."""

    name: str = ""
    description: str = ""
    package: RuntimePackage
    backends: tuple[str, ...] = ()
    model_filename: str = ""

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
