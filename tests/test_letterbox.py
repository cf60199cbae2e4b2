"""Letterbox geometry, the resize filter and channel order of the reference preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from exporter.config import PreprocessSpec
from exporter.reference import compute_geometry, preprocess, resize_bilinear, unletterbox_boxes


def spec(width=640, height=640, **changes) -> PreprocessSpec:
    return PreprocessSpec(width=width, height=height, **changes)


@pytest.mark.parametrize(
    "src_wh, dst_wh, pad_position, expected",
    [
        # landscape: the width limits the scale, padding goes above and below
        ((1280, 720), (640, 640), "center", (640, 360, 0, 140)),
        # portrait: the height limits the scale, padding goes left and right
        ((720, 1280), (640, 640), "center", (360, 640, 140, 0)),
        # 500 * 0.5333 = 266.67 rounds to 267, leaving 53 rows: 26 on top, 27 below
        ((600, 500), (320, 320), "center", (320, 267, 0, 26)),
        # top-left placement (YOLOX) never pads on the left or top
        ((600, 500), (416, 416), "top-left", (416, 347, 0, 0)),
        # upscaling a small image
        ((100, 50), (640, 640), "center", (640, 320, 0, 160)),
    ],
)
def test_geometry_cases(src_wh, dst_wh, pad_position, expected):
    geometry = compute_geometry(*src_wh, spec(*dst_wh, pad_position=pad_position))
    assert (geometry.resized_w, geometry.resized_h, geometry.pad_left, geometry.pad_top) == expected


def test_stretch_geometry_has_no_padding():
    geometry = compute_geometry(640, 427, spec(320, 240, resize="stretch"))
    assert (geometry.resized_w, geometry.resized_h, geometry.pad_left, geometry.pad_top) == (320, 240, 0, 0)


def bright_box_in_tensor(tensor: np.ndarray) -> np.ndarray:
    """Return the xyxy extent (input pixels) of tensor cells brighter than half scale."""
    ys, xs = np.nonzero(tensor[0, 0] > 0.5)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


@pytest.mark.parametrize("size, target", [((600, 500), 320), ((1280, 720), 640), ((720, 1280), 640)])
def test_inverse_mapping_recovers_box(size, target):
    width, height = size
    truth = np.array([[width * 0.3, height * 0.25, width * 0.7, height * 0.6]]).round()
    image = np.zeros((height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = truth[0].astype(int)
    image[y1:y2, x1:x2] = 255
    # Pad value 0 so only the white rectangle is bright in the tensor.
    tensor, geometry = preprocess(image, spec(target, target, pad_value=(0.0, 0.0, 0.0)))
    found = bright_box_in_tensor(tensor)[None]
    mapped = unletterbox_boxes(found, geometry, clip=True)
    # One input pixel spans 1/scale original pixels, so the edge can move by that much.
    tolerance = 1.0 / min(geometry.scale_x, geometry.scale_y)
    assert np.max(np.abs(mapped - truth)) <= tolerance
    assert np.max(np.abs(mapped - truth)) <= 2.0


def test_inverse_uses_rounded_padding():
    # A box at the very top of the 600x500 image lands at row 26 of the 320x320 input.
    geometry = compute_geometry(600, 500, spec(320, 320))
    input_box = np.array([[0.0, 26.0, 320.0, 293.0]])
    mapped = unletterbox_boxes(input_box, geometry, clip=False)
    np.testing.assert_allclose(mapped, [[0.0, 0.0, 600.0, 500.0]], atol=1e-9)


def half_red_half_blue(width=64, height=32) -> np.ndarray:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, : width // 2, 0] = 255  # left half red
    image[:, width // 2 :, 2] = 255  # right half blue
    return image


def test_rgb_model_gets_red_in_channel_0():
    tensor, _ = preprocess(half_red_half_blue(), spec(64, 32, scale=1.0))
    assert tensor[0, 0, 16, 5] == 255.0
    assert tensor[0, 2, 16, 5] == 0.0
    assert tensor[0, 2, 16, 60] == 255.0


def test_bgr_model_gets_red_in_channel_2():
    tensor, _ = preprocess(half_red_half_blue(), spec(64, 32, scale=1.0, channel_order="BGR"))
    assert tensor[0, 2, 16, 5] == 255.0
    assert tensor[0, 0, 16, 5] == 0.0
    assert tensor[0, 0, 16, 60] == 255.0


def test_nhwc_layout_puts_channels_last():
    tensor, _ = preprocess(half_red_half_blue(), spec(64, 32, scale=1.0, layout="NHWC"))
    assert tensor.shape == (1, 32, 64, 3)
    assert tensor[0, 16, 5, 0] == 255.0


def test_normalisation_and_pad_value():
    image = np.full((10, 20, 3), 200, dtype=np.uint8)
    tensor, _ = preprocess(image, spec(20, 20, scale=1.0, mean=(127.0,) * 3, std=(128.0,) * 3, pad_value=(114.0,) * 3))
    np.testing.assert_allclose(tensor[0, :, 10, 10], (200 - 127) / 128, rtol=1e-6)
    np.testing.assert_allclose(tensor[0, :, 0, 0], (114 - 127) / 128, rtol=1e-6)


@pytest.mark.parametrize("src, dst", [((1352, 900), (640, 426)), ((451, 300), (640, 426)), ((500, 500), (320, 320))])
def test_resize_matches_pillow_bilinear(src, dst):
    from PIL import Image

    rng = np.random.default_rng(0)
    # Smooth content: a gradient plus low-frequency noise, as in photos.
    y, x = np.mgrid[0 : src[1], 0 : src[0]]
    base = (x / src[0] * 200 + y / src[1] * 40)[..., None] + rng.normal(0, 5, (src[1] // 8 + 1, src[0] // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[: src[1], : src[0]]
    image = np.clip(base, 0, 255).astype(np.uint8)
    ours = resize_bilinear(image, *dst)
    pillow = np.asarray(Image.fromarray(image).resize(dst, Image.BILINEAR), dtype=np.float64)
    # Pillow rounds to 8 bits after each pass; the reference keeps floats.
    assert np.max(np.abs(ours - pillow)) <= 1.5


@pytest.mark.parametrize("src, dst", [((1352, 900), (640, 426)), ((451, 300), (640, 426))])
def test_resize_without_antialias_matches_opencv_style(src, dst):
    """Plain bilinear samples 2 taps at (i + 0.5) * scale - 0.5, as OpenCV's INTER_LINEAR does."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (src[1], src[0], 3), dtype=np.uint8)
    ours = resize_bilinear(image, *dst, antialias=False)
    x = (np.arange(dst[0]) + 0.5) * src[0] / dst[0] - 0.5
    y = (np.arange(dst[1]) + 0.5) * src[1] / dst[1] - 0.5
    x0, y0 = np.clip(np.floor(x).astype(int), 0, src[0] - 2), np.clip(np.floor(y).astype(int), 0, src[1] - 2)
    fx, fy = np.clip(x - x0, 0, 1)[None, :, None], np.clip(y - y0, 0, 1)[:, None, None]
    pixels = image.astype(np.float64)
    top = pixels[y0][:, x0] * (1 - fx) + pixels[y0][:, x0 + 1] * fx
    bottom = pixels[y0 + 1][:, x0] * (1 - fx) + pixels[y0 + 1][:, x0 + 1] * fx
    expected = top * (1 - fy) + bottom * fy
    # Away from the outermost pixels the two agree to float rounding.
    np.testing.assert_allclose(ours[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-9)


def test_resize_identity_keeps_pixels():
    image = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    np.testing.assert_array_equal(resize_bilinear(image, 7, 5), image.astype(np.float64))
