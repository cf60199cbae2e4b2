"""Expand command-line image arguments (files or folders) into a sorted list of files."""

from __future__ import annotations

from pathlib import Path

from .errors import InvalidImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}


def expand_images(arguments: list[str | Path]) -> list[Path]:
    """Return image files; a folder contributes its image files in name order."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise InvalidImageError(f"folder {str(path)!r} contains no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise InvalidImageError(f"image {str(path)!r} not found: check the path")
    if not paths:
        raise InvalidImageError("no images given: pass one or more image files or folders")
    return paths
