"""Read label files: one class name per line, or a JSON list."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import ConfigError


def read_labels_file(path: Path) -> list[str]:
    """Return class names in class-id order. Blank lines and surrounding spaces are dropped."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"label file {str(path)!r} not found: give a text file with one class name per line")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"label file {str(path)!r} could not be read as UTF-8 text: {exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            names = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"label file {str(path)!r} is not valid JSON: {exc}") from exc
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"label file {str(path)!r} must contain a JSON list of strings")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise ConfigError(f"label file {str(path)!r} contains no class names")
    return names
