"""Registry of browser runtimes a bundle can target (``--runtime``)."""

from __future__ import annotations

from .base import RUNTIMES, RuntimeTarget, get_runtime, register_runtime  # noqa: F401
from . import onnx_web, tfjs_web  # noqa: F401,E402  (registration side effect)

__all__ = ["RUNTIMES", "RuntimeTarget", "get_runtime", "register_runtime"]
