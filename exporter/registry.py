"""A name-to-item mapping shared by the head-kind, preset and runtime registries."""

from __future__ import annotations

from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """Items by name. ``kind`` and ``hint`` word the error for an unknown name."""

    def __init__(self, kind: str, hint: str = "") -> None:
        super().__init__()
        self.kind = kind
        self.hint = hint

    def add(self, name: str, item: T) -> T:
        if name in self:
            raise RuntimeError(f"{self.kind} {name!r} is registered twice")
        self[name] = item
        return item

    def lookup(self, name: str) -> T:
        """Return the item called ``name``; raise ConfigError listing the known names otherwise."""
        try:
            return self[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}: use one of {', '.join(sorted(self))}{self.hint}") from None
