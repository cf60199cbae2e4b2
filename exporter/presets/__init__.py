"""Registry of presets: named pre/post-processing settings for detector families.

A preset supplies what a model file does not say about itself (channel order,
normalisation, letterbox placement, head kind). Each family is one module that
calls :func:`register_preset`.
"""

from __future__ import annotations

from .base import PRESETS, Preset, get_preset, register_preset  # noqa: F401
from . import families  # noqa: F401,E402  (registration side effect)

__all__ = ["PRESETS", "Preset", "get_preset", "register_preset"]
