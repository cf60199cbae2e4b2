"""Typed errors raised by the exporter.

Every error a user can cause derives from :class:`VisionExportError`. Its
message is one line that names the offending value and the fix; the CLI prints
it and exits with the class's ``exit_code``.
"""

from __future__ import annotations


class VisionExportError(Exception):
    """Base class for errors caused by user input or the environment."""

    exit_code = 1


class InvalidModelError(VisionExportError):
    """The model file is missing, unreadable, not ONNX or has no image input."""

    exit_code = 2


class UnsupportedModelError(VisionExportError):
    """The model loads but its outputs match no registered head kind."""

    exit_code = 3


class ConfigError(VisionExportError):
    """A flag, preset, label file or manifest value is invalid."""

    exit_code = 4


class InvalidImageError(VisionExportError):
    """An input image is missing or cannot be decoded."""

    exit_code = 5


class OutputPathError(VisionExportError):
    """The output path cannot be written without losing existing data."""

    exit_code = 6


class RuntimeFilesError(VisionExportError):
    """The pinned browser runtime files are missing, corrupt or cannot be fetched."""

    exit_code = 7


class BrowserError(VisionExportError):
    """Chromium could not be started or the page failed while running the bundle."""

    exit_code = 8


class ParityError(VisionExportError):
    """The browser's detections differ from the Python reference beyond tolerance."""

    exit_code = 9


class QuantizationError(VisionExportError):
    """Quantizing the model failed, or the quantized model does not load or lost the float model's detections."""

    exit_code = 10


class ToolEnvironmentError(VisionExportError):
    """A converter's isolated Python environment is missing, broken or failed to install or run."""

    exit_code = 11


class ConversionError(VisionExportError):
    """Converting the model into the browser runtime's format failed or lost an output."""

    exit_code = 12
