"""Inputs of ``vision-export bench``: the frames both sides run, and the timed Python reference."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .images_list import expand_images
from .manifest import Bundle
from .reference import ReferenceDetector, load_image_rgb
from .reference.letterbox import preprocess
from .reference.pipeline import postprocess

# A 720p webcam frame, width x height in pixels.
CAMERA_SIZE = (1280, 720)


@dataclass
class Frames:
    """Decoded inputs: the benchmark frames and the camera-sized frame, uint8 RGB [H, W, 3]."""

    names: list[str]
    images: list[np.ndarray]
    camera: np.ndarray


def synthetic_frame() -> np.ndarray:
    """Return a 1280x720 gradient with solid rectangles, so the resize has edges to filter."""
    width, height = CAMERA_SIZE
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], axis=2).astype(np.uint8)
    for i in range(6):
        frame[80 + 90 * i : 160 + 90 * i, 100 + 180 * i : 260 + 180 * i] = (40 * i, 255 - 40 * i, 128)
    return frame


def camera_frame(image: np.ndarray) -> np.ndarray:
    """Return ``image`` scaled (Pillow bilinear) to cover 1280x720 and centre-cropped to it."""
    from PIL import Image

    width, height = CAMERA_SIZE
    source = Image.fromarray(image)
    scale = max(width / source.width, height / source.height)
    size = (max(width, round(source.width * scale)), max(height, round(source.height * scale)))
    resized = source.resize(size, Image.BILINEAR)
    left = (resized.width - width) // 2
    top = (resized.height - height) // 2
    return np.asarray(resized.crop((left, top, left + width, top + height)))


def load_frames(images: list[str | Path] | None) -> Frames:
    """Decode the image files or folders; without any, use the test pattern for every frame.

    The camera frame is made from the first image.
    """
    if not images:
        frame = synthetic_frame()
        return Frames(["test-pattern-1280x720"], [frame], frame)
    paths = expand_images(images)
    decoded = [load_image_rgb(path) for path in paths]
    return Frames([path.name for path in paths], decoded, camera_frame(decoded[0]))


def write_frames(frames: Frames, folder: Path, url_prefix: str) -> list[str]:
    """Write every frame as PNG, so the page decodes exactly the pixels the reference uses.

    Returns the frames' URLs in the order of ``frames.images``, then the camera frame's.
    """
    from PIL import Image

    urls = []
    for index, image in enumerate([*frames.images, frames.camera]):
        name = f"frame-{index}.png"
        Image.fromarray(image).save(folder / name, compress_level=1)
        urls.append(url_prefix + name)
    return urls


class ReferenceTimer:
    """The Python reference pipeline with each stage timed by ``time.perf_counter``, in ms."""

    def __init__(self, bundle: Bundle, threads: int, reference_model: Path | None = None) -> None:
        model = bundle.reference_model(reference_model)
        start = time.perf_counter()
        self.detector = ReferenceDetector(
            model, bundle.preprocess, bundle.postprocess, bundle.labels, bundle.input_name, intra_op_threads=threads
        )
        self.load_ms = (time.perf_counter() - start) * 1000
        self.model_name = model.name

    def run(self, image: np.ndarray) -> tuple[dict[str, float], int]:
        """Run one frame; return stage timings named like detect()'s and the detection count."""
        detector = self.detector
        start = time.perf_counter()
        tensor, geometry = preprocess(image, detector.preprocess_spec)
        after_preprocess = time.perf_counter()
        values = detector.runner.run(detector.input_name, tensor)
        after_inference = time.perf_counter()
        raw = dict(zip(detector.runner.output_names, values))
        detections = postprocess(raw, detector.postprocess_spec, detector.input_hw, geometry, detector.labels)
        end = time.perf_counter()
        timings = {
            "preprocess": (after_preprocess - start) * 1000,
            "inference": (after_inference - after_preprocess) * 1000,
            "postprocess": (end - after_inference) * 1000,
            "total": (end - start) * 1000,
        }
        return timings, len(detections)

    def time_preprocess(self, image: np.ndarray) -> float:
        """Return the time of the reference preprocessing alone on ``image``, in ms."""
        start = time.perf_counter()
        preprocess(image, self.detector.preprocess_spec)
        return (time.perf_counter() - start) * 1000
