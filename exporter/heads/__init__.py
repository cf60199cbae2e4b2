"""Registry of head kinds: how each family's raw outputs become boxes and class scores.

A head kind is one module that registers itself with :func:`register_head`. Its
JavaScript twin lives in ``web_template/runtime/heads/`` under the same name.
"""

from __future__ import annotations

from .base import HEADS, Binding, Decoded, HeadKind, get_head, register_head  # noqa: F401
from . import blazeface, end2end, gfl, ssd_decoded, yolov5, yolov8, yolox, yunet  # noqa: F401,E402  (registration side effect)

__all__ = ["HEADS", "Binding", "Decoded", "HeadKind", "get_head", "register_head"]
