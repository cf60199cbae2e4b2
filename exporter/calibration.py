"""Calibration images for static int8 quantization, preprocessed exactly as the bundle does."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .config import PreprocessSpec
from .reference import load_image_rgb, preprocess

logger = logging.getLogger(__name__)


class CalibrationImages:
    """An onnxruntime ``CalibrationDataReader``: one ``{input_name: tensor}`` per image, then None.

    Each image is decoded and letterboxed by :mod:`exporter.reference`, the
    Python twin of the bundle's preprocessing, so the activation ranges are
    measured on the tensors the browser will feed the model. A tqdm progress bar
    counts the images as onnxruntime reads them.
    """

    def __init__(self, paths: list[Path], spec: PreprocessSpec, input_name: str) -> None:
        from tqdm import tqdm

        self.paths = list(paths)
        self.spec = spec
        self.input_name = input_name
        self._progress = tqdm(total=len(self.paths), desc="calibrate", unit="image", disable=None)
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self.paths):
            self._progress.close()
            return None
        path = self.paths[self._next]
        self._next += 1
        tensor, _ = preprocess(load_image_rgb(path), self.spec)
        self._progress.update(1)
        logger.debug("calibration image %s", path)
        return {self.input_name: tensor}

    def __len__(self) -> int:
        return len(self.paths)
