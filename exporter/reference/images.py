"""Decode image files the same way the bundle does in the browser.

Policy, mirrored by ``createImageBitmap(blob, {imageOrientation: "from-image",
colorSpaceConversion: "none", premultiplyAlpha: "none"})`` in the page: the EXIF
orientation is applied, embedded ICC profiles are ignored, grayscale is
replicated to three channels and alpha is dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidImageError


def load_image_rgb(path: str | Path) -> np.ndarray:
    """Return the upright image as uint8 RGB, shape [H, W, 3]."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InvalidImageError(f"image {str(path)!r} not found: check the path")
    try:
        with Image.open(path) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(
            f"image {str(path)!r} could not be decoded ({exc}): use a complete JPEG, PNG, WebP, GIF or BMP file"
        ) from exc
    return np.asarray(rgb, dtype=np.uint8)
