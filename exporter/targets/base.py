"""Runtime-target base class and registry."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..inspection import ModelInfo
from ..runtime_files import RuntimePackage

RUNTIMES: dict[str, "RuntimeTarget"] = {}


class RuntimeTarget:
    """How one browser runtime gets its model file and runtime files into a bundle."""

    name: str = ""
    description: str = ""
    package: RuntimePackage
    backends: tuple[str, ...] = ()
    model_filename: str = ""

    def write_model(self, info: ModelInfo, destination: Path) -> None:
        raise NotImplementedError


def register_runtime(cls: type[RuntimeTarget]) -> type[RuntimeTarget]:
    instance = cls()
    RUNTIMES[instance.name] = instance
    return cls


def get_runtime(name: str) -> RuntimeTarget:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise ConfigError(f"unknown runtime {name!r}: use one of {', '.join(sorted(RUNTIMES))}") from None
