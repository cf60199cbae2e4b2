"""Procedural renderer of machined metal parts with surface defects.

Each scene shows one part on a workbench: a brushed steel plate with a regular grid of
drilled holes, or a flange with a central bore and a bolt circle. Defects are drawn on
the part surface and returned with their ground-truth boxes.

Classes (ids match the ONNX ``names`` metadata):
    0 scratch       thin bright or dark line segment, slightly curved
    1 dent          small shaded elliptical depression
    2 missing_hole  a grid or bolt-circle position left undrilled. It shows a centre-punch
                    mark and sometimes a faint scribed circle where the hole should be.

Boxes are xyxy in image pixels. A box side is never shorter than MIN_BOX_FRACTION of the
shorter image side, because a 1-pixel-tall box around a horizontal scratch would make
IoU at 0.5 depend on sub-pixel noise.

All randomness comes from the ``numpy.random.Generator`` passed in, so a seed fixes the
image exactly.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

CLASS_NAMES = ("scratch", "dent", "missing_hole")
SCRATCH, DENT, MISSING_HOLE = 0, 1, 2

# Range of the dent's long semi-axis as a fraction of the shorter image side.
DENT_RADIUS = (0.024, 0.045)

# Minimum box side as a fraction of the shorter image side (about 8 px after letterboxing
# to 320 px).
MIN_BOX_FRACTION = 0.025


@dataclass
class Defect:
    """Ground-truth defect: class id and xyxy box in image pixels."""

    class_id: int
    box: tuple[float, float, float, float]


@dataclass
class PartGeometry:
    """Rendered part in image coordinates, used to place defects on its surface.

    ``clearance`` [H, W] is the distance in px from each pixel to the nearest part edge,
    bore or drilled-hole chamfer. It is negative off the metal. ``light_angle`` is the
    direction towards the light in radians, in image axes.
    """

    clearance: np.ndarray
    light_angle: float


def _smooth_field(rng: np.random.Generator, width: int, height: int, cells: int) -> np.ndarray:
    """Return a low-frequency random field in [-1, 1] of shape (height, width)."""
    coarse = rng.uniform(-1.0, 1.0, size=(cells, cells)).astype(np.float32)
    image = Image.fromarray(coarse, mode="F").resize((width, height), Image.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32), -1.0, 1.0)


def _coverage(signed_distance: np.ndarray) -> np.ndarray:
    """Convert a signed distance in px (negative inside) to anti-aliased coverage in [0, 1]."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _render_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Render a workbench surface as float32 RGB on the 0..255 scale."""
    palettes = [
        (60, 62, 66),  # dark grey rubber mat
        (48, 70, 58),  # green cutting mat
        (95, 75, 55),  # wooden bench
        (40, 45, 60),  # blue-grey anti-static mat
        (150, 150, 145),  # light grey sheet metal
    ]
    base = np.array(palettes[rng.integers(len(palettes))], dtype=np.float32)
    base *= rng.uniform(0.7, 1.2)
    variation = _smooth_field(rng, width, height, cells=rng.integers(3, 7))
    shade = 1.0 + 0.25 * variation
    return base[None, None, :] * shade[:, :, None]


def _brushed_texture(rng: np.random.Generator, across: np.ndarray, extent: float) -> np.ndarray:
    """Return brushing streaks: 1-D noise indexed by the coordinate across the brushing direction.

    ``across`` is that coordinate in px for every pixel and ``extent`` bounds its absolute
    value. The result has unit standard deviation before scaling by the caller.
    """
    length = int(2 * extent) + 8
    streaks = rng.normal(0.0, 1.0, size=length).astype(np.float32)
    # A short box blur turns single-pixel streaks into 2-3 px grooves, as from an abrasive belt.
    kernel = np.ones(3, dtype=np.float32) / 3.0
    streaks = np.convolve(streaks, kernel, mode="same") * math.sqrt(3.0)
    index = np.clip((across + extent + 4).astype(np.int32), 0, length - 1)
    return streaks[index]


@dataclass
class _PartShape:
    """Outline and hole layout of one part, in part-local coordinates (u, v) in px.

    ``outline_sd`` evaluates the outer outline's signed distance (negative inside, bore
    ignored) at any local coordinates, so the shadow can reuse it. ``part_sd`` and
    ``bore_sd`` are evaluated on the image grid, and ``bore_sd`` is positive inside the
    bore or None for a plate. ``radial_distance`` is the distance from the centre in px
    for a flange and None for a plate. ``facing_light(light_u, light_v)`` returns, per pixel, the
    cosine between the outline's outward normal and the light direction.
    ``hole_index`` maps each pixel to its nearest hole position in ``local_centers``.
    """

    outline_sd: Callable[[np.ndarray, np.ndarray], np.ndarray]
    part_sd: np.ndarray
    bore_sd: np.ndarray | None
    bore_radius: float
    radial_distance: np.ndarray | None
    facing_light: Callable[[float, float], np.ndarray]
    local_centers: list[tuple[float, float]]
    hole_index: np.ndarray
    hole_u: np.ndarray
    hole_v: np.ndarray
    hole_radius: float


def _rounded_rectangle_sd(u: np.ndarray, v: np.ndarray, half_w: float, half_h: float, corner: float):
    """Return the signed distance to a rounded rectangle and the per-axis excess (qx, qy)."""
    qx = np.abs(u) - half_w + corner
    qy = np.abs(v) - half_h + corner
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - corner, qx, qy


def _plate_shape(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, radius: float, short_side: int) -> _PartShape:
    """Lay out a rectangular plate with a regular hole grid inside a circle of ``radius`` px."""
    aspect = rng.uniform(0.45, 1.0)
    half_w = radius / math.sqrt(1.0 + aspect * aspect)
    half_h = half_w * aspect
    corner = rng.uniform(0.03, 0.15) * half_h
    part_sd, qx, qy = _rounded_rectangle_sd(u, v, half_w, half_h, corner)

    # Regular hole grid with at least 3 columns and 2 rows, so a gap is visible as
    # a break in the pattern.
    # Hole pitch scales with the frame, not the plate, so holes stay large enough to
    # resolve after letterboxing to 320 px.
    pitch = rng.uniform(0.075, 0.14) * short_side
    columns = max(3, int((2 * half_w - pitch * 0.9) / pitch) + 1)
    rows = max(2, int((2 * half_h - pitch * 0.9) / pitch) + 1)
    pitch = min(pitch, (2 * half_w * 0.85) / columns, (2 * half_h * 0.85) / rows)
    hole_radius = pitch * rng.uniform(0.18, 0.28)
    u0 = -(columns - 1) * pitch / 2
    v0 = -(rows - 1) * pitch / 2
    local_centers = [(u0 + i * pitch, v0 + j * pitch) for j in range(rows) for i in range(columns)]
    column = np.clip(np.rint((u - u0) / pitch), 0, columns - 1).astype(np.int32)
    row = np.clip(np.rint((v - v0) / pitch), 0, rows - 1).astype(np.int32)

    def facing_light(light_u: float, light_v: float) -> np.ndarray:
        # The outward normal is the axis of the side whose excess is larger.
        on_long_side = qx > qy
        return np.where(on_long_side, np.sign(u) * light_u, np.sign(v) * light_v)

    return _PartShape(
        outline_sd=lambda su, sv: _rounded_rectangle_sd(su, sv, half_w, half_h, corner)[0],
        part_sd=part_sd,
        bore_sd=None,
        bore_radius=0.0,
        radial_distance=None,
        facing_light=facing_light,
        local_centers=local_centers,
        hole_index=row * columns + column,
        hole_u=u0 + column * pitch,
        hole_v=v0 + row * pitch,
        hole_radius=hole_radius,
    )


def _flange_shape(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, outer: float) -> _PartShape:
    """Lay out a round flange of ``outer`` px radius with a central bore and 6-12 bolt holes."""
    bore = outer * rng.uniform(0.28, 0.4)
    count = int(rng.integers(6, 13))
    bolt_circle = rng.uniform(0.62, 0.72) * outer
    hole_radius = min(
        rng.uniform(0.07, 0.1) * outer,
        0.3 * bolt_circle * math.sin(math.pi / count) * 2,
    )
    rho = np.sqrt(u * u + v * v)
    step = 2 * math.pi / count
    theta = np.arctan2(v, u)
    hole_index = np.mod(np.rint(theta / step), count).astype(np.int32)
    local_centers = [(bolt_circle * math.cos(k * step), bolt_circle * math.sin(k * step)) for k in range(count)]

    def facing_light(light_u: float, light_v: float) -> np.ndarray:
        return (u * light_u + v * light_v) / np.maximum(rho, 1e-3)

    return _PartShape(
        outline_sd=lambda su, sv: np.sqrt(su**2 + sv**2) - outer,
        part_sd=rho - outer,
        bore_sd=bore - rho,
        bore_radius=bore,
        radial_distance=rho,
        facing_light=facing_light,
        local_centers=local_centers,
        hole_index=hole_index,
        hole_u=np.array([c[0] for c in local_centers], dtype=np.float32)[hole_index],
        hole_v=np.array([c[1] for c in local_centers], dtype=np.float32)[hole_index],
        hole_radius=hole_radius,
    )


def _render_part(
    rng: np.random.Generator,
    image: np.ndarray,
    missing_count: int,
) -> tuple[PartGeometry, list[Defect]]:
    """Draw a plate or flange into ``image`` in place and return its geometry and missing holes.

    ``missing_count`` hole positions are left undrilled and reported as MISSING_HOLE defects.
    """
    height, width, _ = image.shape
    short_side = min(width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)

    # Bounding-circle radius of the part. The centre keeps the part mostly inside the frame.
    radius = rng.uniform(0.36, 0.49) * short_side
    center_x = rng.uniform(0.5 * width - 0.08 * width, 0.5 * width + 0.08 * width)
    center_y = rng.uniform(0.5 * height - 0.08 * height, 0.5 * height + 0.08 * height)
    angle = rng.uniform(-math.pi, math.pi)
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    # Part-local coordinates in px: u along the part's long axis, v across it.
    dx, dy = xs - center_x, ys - center_y
    u = dx * cos_a + dy * sin_a
    v = -dx * sin_a + dy * cos_a

    is_plate = rng.random() < 0.6
    shape = _plate_shape(rng, u, v, radius, short_side) if is_plate else _flange_shape(rng, u, v, radius)
    hole_radius = shape.hole_radius
    solid_sd = shape.part_sd if shape.bore_sd is None else np.maximum(shape.part_sd, shape.bore_sd)
    hole_du = u - shape.hole_u
    hole_dv = v - shape.hole_v
    hole_distance = np.sqrt(hole_du * hole_du + hole_dv * hole_dv)

    centers = []
    for cu, cv in shape.local_centers:
        centers.append((center_x + cu * cos_a - cv * sin_a, center_y + cu * sin_a + cv * cos_a))
    # Only positions fully inside the frame can be left undrilled, so every box is visible.
    in_frame = [
        index
        for index, (hx, hy) in enumerate(centers)
        if hole_radius <= hx <= width - hole_radius and hole_radius <= hy <= height - hole_radius
    ]
    missing_count = min(missing_count, len(in_frame), len(shape.local_centers) - 4)
    missing = rng.choice(in_frame, size=max(0, missing_count), replace=False)
    drilled = np.ones(len(shape.local_centers), dtype=bool)
    drilled[missing] = False
    pixel_drilled = drilled[shape.hole_index]

    # Shadow on the bench: the part's silhouette offset away from the light and blurred.
    light_angle = rng.uniform(-math.pi, math.pi)
    shadow_offset = rng.uniform(0.01, 0.03) * short_side
    shadow_dx = -math.cos(light_angle) * shadow_offset
    shadow_dy = -math.sin(light_angle) * shadow_offset
    shadow_u = (dx - shadow_dx) * cos_a + (dy - shadow_dy) * sin_a
    shadow_v = -(dx - shadow_dx) * sin_a + (dy - shadow_dy) * cos_a
    shadow_sd = shape.outline_sd(shadow_u, shadow_v)
    softness = 0.02 * short_side
    shadow = np.clip(0.5 - shadow_sd / softness, 0.0, 1.0) * rng.uniform(0.3, 0.55)
    image *= (1.0 - shadow)[:, :, None]

    light_x, light_y = math.cos(light_angle), math.sin(light_angle)
    # The same light direction in part-local (u, v) coordinates.
    light_u = cos_a * light_x + sin_a * light_y
    light_v = -sin_a * light_x + cos_a * light_y
    metal = _shade_surface(rng, u, v, dx, dy, radius, light_x, light_y)
    # A bevel on the outer edge catches the light on one side and falls into shade on the other.
    bevel_width = max(1.5, 0.008 * short_side)
    bevel = np.clip(1.0 + solid_sd / bevel_width, 0.0, 1.0) * (solid_sd < 0)
    metal += bevel * 45 * shape.facing_light(light_u, light_v)

    # Drilled holes: dark interior (the bench in shadow below) and a chamfer ring lit
    # from the light direction.
    chamfer = hole_radius * rng.uniform(0.15, 0.3)
    # The chamfer faces inwards, so the side of the hole away from the light is lit.
    towards_light = (hole_du * light_u + hole_dv * light_v) / np.maximum(hole_distance, 1e-3)
    chamfer_zone = np.clip((hole_radius + chamfer - hole_distance) / chamfer, 0.0, 1.0) * pixel_drilled
    metal -= chamfer_zone * 55 * towards_light
    hole_cover = _coverage(hole_distance - hole_radius) * pixel_drilled
    interior = rng.uniform(15, 45) + 12 * (hole_du * light_u + hole_dv * light_v) / hole_radius
    metal = metal * (1 - hole_cover) + interior * hole_cover

    metal = _mark_undrilled(rng, metal, hole_distance, hole_radius, ~pixel_drilled)

    if shape.bore_sd is not None:
        bore_cover = _coverage(-shape.bore_sd)
        # Inner wall of the bore: a lit chamfer band, then the bench in shadow.
        bore_wall = np.clip(1.0 - np.abs(shape.bore_sd) / (0.05 * shape.bore_radius), 0, 1)
        metal -= bore_wall * 40 * (u * light_u + v * light_v) / np.maximum(shape.radial_distance, 1e-3)

    tint = rng.uniform(0.94, 1.06, size=3).astype(np.float32)
    part_cover = _coverage(solid_sd)
    part_rgb = metal[:, :, None] * tint[None, None, :]
    image[:] = image * (1 - part_cover[:, :, None]) + part_rgb * part_cover[:, :, None]
    if shape.bore_sd is not None:
        image *= (1.0 - 0.55 * bore_cover)[:, :, None]

    # Rounding to the grid (plate) or to the nearest angle (flange) finds the nearest hole,
    # so this is the exact distance to the nearest edge or drilled hole. Undrilled
    # positions get keep-out circles in render_scene instead.
    clearance = np.minimum(-solid_sd, np.where(pixel_drilled, hole_distance - hole_radius - chamfer, np.inf))

    defects = []
    for index in missing:
        hx, hy = centers[index]
        # The box covers the would-be hole without its chamfer.
        defects.append(Defect(MISSING_HOLE, (hx - hole_radius, hy - hole_radius, hx + hole_radius, hy + hole_radius)))

    geometry = PartGeometry(clearance=clearance.astype(np.float32), light_angle=light_angle)
    return geometry, defects


def _shade_surface(
    rng: np.random.Generator,
    u: np.ndarray,
    v: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    radius: float,
    light_x: float,
    light_y: float,
) -> np.ndarray:
    """Return the bare metal's grey level per pixel on the 0..255 scale.

    It is a base grey plus brushing streaks, a linear lighting gradient and a soft
    specular band. ``dx, dy`` are offsets in px from the part centre in image axes.
    """
    grey = rng.uniform(115, 195)
    brushed = _brushed_texture(rng, v if rng.random() < 0.5 else u, radius + 2) * rng.uniform(2.0, 6.0)
    gradient = (dx * light_x + dy * light_y) / radius * rng.uniform(10, 30)
    band_angle = rng.uniform(0, math.pi)
    band_pos = (dx * math.cos(band_angle) + dy * math.sin(band_angle)) / radius
    band = rng.uniform(0, 35) * np.exp(-((band_pos - rng.uniform(-0.6, 0.6)) ** 2) / 0.08)
    return grey + brushed + gradient + band


def _mark_undrilled(
    rng: np.random.Generator,
    metal: np.ndarray,
    hole_distance: np.ndarray,
    hole_radius: float,
    undrilled: np.ndarray,
) -> np.ndarray:
    """Draw the marks of undrilled hole positions into ``metal`` and return it.

    Each position gets a centre-punch mark (dark pit with a bright rim). On half of the
    parts it also gets a faint scribed circle of the hole diameter.
    """
    punch_radius = max(1.5, 0.18 * hole_radius)
    pit = _coverage(hole_distance - punch_radius) * undrilled
    pit_rim = np.clip(1.0 - np.abs(hole_distance - punch_radius * 1.6) / (0.6 * punch_radius), 0, 1) * undrilled
    metal -= pit * rng.uniform(45, 80)
    metal += pit_rim * rng.uniform(15, 35)
    if rng.random() < 0.5:
        scribe = np.clip(1.0 - np.abs(hole_distance - hole_radius) / 0.8, 0, 1) * undrilled
        metal -= scribe * rng.uniform(10, 25)
    return metal


def _outside_keep_out(x: float, y: float, keep_out: list[tuple[float, float, float]]) -> bool:
    """Return True when (x, y) is outside every keep-out circle (x, y, radius in px)."""
    return all((x - kx) ** 2 + (y - ky) ** 2 >= kr * kr for kx, ky, kr in keep_out)


def _pick_surface_point(
    rng: np.random.Generator,
    clearance: np.ndarray,
    min_clearance: float,
    keep_out: list[tuple[float, float, float]],
) -> tuple[float, float] | None:
    """Return a random pixel with at least ``min_clearance`` px of plain metal around it.

    The pixel is also outside every keep-out circle. Returns None after 30 misses.
    """
    candidates = np.flatnonzero(clearance > min_clearance)
    if candidates.size == 0:
        return None
    width = clearance.shape[1]
    for _ in range(30):
        flat = candidates[rng.integers(candidates.size)]
        x, y = float(flat % width), float(flat // width)
        if _outside_keep_out(x, y, keep_out):
            return x, y
    return None


def _draw_dent(rng: np.random.Generator, image: np.ndarray, x: float, y: float, max_radius: float, light_angle: float) -> Defect:
    """Draw a shaded elliptical depression centred at (x, y) and return its defect box.

    The long semi-axis is at most ``max_radius`` px, so the dent stays on plain metal.
    """
    height, width, _ = image.shape
    short_side = min(width, height)
    rx = min(rng.uniform(DENT_RADIUS[0], DENT_RADIUS[1]) * short_side, max_radius)
    ry = rx * rng.uniform(0.55, 1.0)
    tilt = rng.uniform(0, math.pi)
    cos_t, sin_t = math.cos(tilt), math.sin(tilt)
    half_x = math.sqrt((rx * cos_t) ** 2 + (ry * sin_t) ** 2)
    half_y = math.sqrt((rx * sin_t) ** 2 + (ry * cos_t) ** 2)

    x0, x1 = max(0, int(x - half_x) - 1), min(width, int(x + half_x) + 2)
    y0, y1 = max(0, int(y - half_y) - 1), min(height, int(y + half_y) + 2)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = xs - x, ys - y
    # Normalised ellipse coordinates: rho == 1 on the rim.
    a = (dx * cos_t + dy * sin_t) / rx
    b = (-dx * sin_t + dy * cos_t) / ry
    rho2 = a * a + b * b
    # Paraboloid depth profile 1 - rho^2: the wall is steepest at the rim, so the dent has
    # a crisp edge and its box is the ellipse's box. ``rim`` anti-aliases that edge over
    # about one pixel.
    rim = np.clip((1.0 - np.sqrt(rho2)) * min(rx, ry), 0.0, 1.0)
    # Shading follows the slope facing the light: the wall towards the light is in shade
    # and the far wall is lit, as in a dimple under oblique light.
    slope_x = -2 * (a / rx * cos_t - b / ry * sin_t)
    slope_y = -2 * (a / rx * sin_t + b / ry * cos_t)
    light = (slope_x * math.cos(light_angle) + slope_y * math.sin(light_angle)) * rx
    # ``light`` reaches +-2 on the rim of a circular dent (more across an elongated one),
    # so the rim is about 35-65 grey levels brighter or darker than the surface.
    strength = rng.uniform(17.0, 33.0)
    shading = (light * strength - 8.0) * rim
    image[y0:y1, x0:x1] += shading[:, :, None]
    return Defect(DENT, (x - half_x, y - half_y, x + half_x, y + half_y))


def _draw_scratch(
    rng: np.random.Generator,
    image: np.ndarray,
    clearance: np.ndarray,
    x: float,
    y: float,
    keep_out: list[tuple[float, float, float]],
) -> Defect | None:
    """Draw a thin, slightly curved line starting at (x, y) and return its defect box.

    Draws nothing and returns None when the line would cross an edge or a hole, or when
    one of about 8 points along it lies in a keep-out circle.
    """
    height, width, _ = image.shape
    short_side = min(width, height)
    length = rng.uniform(0.07, 0.2) * short_side
    direction = rng.uniform(0, 2 * math.pi)
    end_x = x + length * math.cos(direction)
    end_y = y + length * math.sin(direction)

    # Quadratic Bezier with a small sideways bend, sampled about once per pixel. The
    # distance to the nearest sample approximates the distance to the curve.
    bend = rng.uniform(-0.12, 0.12) * length
    mid_x = (x + end_x) / 2 - math.sin(direction) * bend
    mid_y = (y + end_y) / 2 + math.cos(direction) * bend
    t = np.linspace(0.0, 1.0, max(8, int(length)))[:, None]
    curve = (1 - t) ** 2 * np.array([x, y]) + 2 * (1 - t) * t * np.array([mid_x, mid_y]) + t**2 * np.array([end_x, end_y])
    # Width in px scales with the frame so that a scratch stays about 1 px wide or more
    # after letterboxing to 320 px.
    line_width = rng.uniform(1.4, 3.0) * short_side / 480

    columns = np.clip(curve[:, 0].astype(int), 0, width - 1)
    rows = np.clip(curve[:, 1].astype(int), 0, height - 1)
    inside_frame = (curve[:, 0] >= 0) & (curve[:, 0] < width) & (curve[:, 1] >= 0) & (curve[:, 1] < height)
    if not inside_frame.all() or (clearance[rows, columns] < line_width + 2).any():
        return None
    if not all(_outside_keep_out(px, py, keep_out) for px, py in curve[:: max(1, len(curve) // 8)]):
        return None
    pad = line_width + 2
    x0 = max(0, int(curve[:, 0].min() - pad))
    x1 = min(width, int(curve[:, 0].max() + pad) + 1)
    y0 = max(0, int(curve[:, 1].min() - pad))
    y1 = min(height, int(curve[:, 1].max() + pad) + 1)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    distance2 = (xs[None] - curve[:, 0, None, None]) ** 2 + (ys[None] - curve[:, 1, None, None]) ** 2
    nearest = distance2.argmin(axis=0)
    distance = np.sqrt(distance2.min(axis=0))
    # Scratches fade in and out over the first and last 8 % of their length. The fade is
    # short so that the box ends match the visible ends.
    position = nearest / (len(curve) - 1)
    taper = np.clip(np.minimum(position, 1 - position) / 0.08, 0, 1)
    cover = np.clip(line_width / 2 + 0.5 - distance, 0, 1) * taper
    contrast = rng.uniform(55, 100) * (1 if rng.random() < 0.6 else -1)
    image[y0:y1, x0:x1] += (cover * contrast)[:, :, None]

    margin = line_width / 2 + 1
    box = (
        float(curve[:, 0].min() - margin),
        float(curve[:, 1].min() - margin),
        float(curve[:, 0].max() + margin),
        float(curve[:, 1].max() + margin),
    )
    return Defect(SCRATCH, box)


def _enforce_min_box(defect: Defect, width: int, height: int) -> Defect:
    """Grow the box symmetrically to the minimum side, then clip it to the image."""
    minimum = MIN_BOX_FRACTION * min(width, height)
    x1, y1, x2, y2 = defect.box
    if x2 - x1 < minimum:
        cx = (x1 + x2) / 2
        x1, x2 = cx - minimum / 2, cx + minimum / 2
    if y2 - y1 < minimum:
        cy = (y1 + y2) / 2
        y1, y2 = cy - minimum / 2, cy + minimum / 2
    box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
    return Defect(defect.class_id, tuple(round(value, 2) for value in box))


def render_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    defect_counts: tuple[int, int, int],
    jpeg_quality: int | None = None,
) -> tuple[Image.Image, list[Defect]]:
    """Render one part with defects and return the RGB image and its ground truth.

    ``defect_counts`` is the requested number of (scratch, dent, missing_hole). Fewer may be
    drawn when the part has no free surface left or too few holes, and the returned list
    is the truth. ``jpeg_quality`` runs a JPEG encode/decode round trip to mimic camera
    compression; None keeps the image lossless.
    """
    image = _render_background(rng, width, height)
    geometry, defects = _render_part(rng, image, missing_count=defect_counts[MISSING_HOLE])

    short_side = min(width, height)
    # Keep-out circles (x, y, radius in px) stop defects from overlapping each other.
    keep_out = []
    for defect in defects:
        x1, y1, x2, y2 = defect.box
        keep_out.append(((x1 + x2) / 2, (y1 + y2) / 2, 0.08 * short_side))
    min_dent_radius = DENT_RADIUS[0] * short_side
    for _ in range(defect_counts[DENT]):
        point = _pick_surface_point(rng, geometry.clearance, min_dent_radius + 1, keep_out)
        if point is None:
            continue
        max_radius = float(geometry.clearance[int(point[1]), int(point[0])]) - 1
        dent = _draw_dent(rng, image, point[0], point[1], max_radius, geometry.light_angle)
        defects.append(dent)
        keep_out.append((point[0], point[1], 0.09 * short_side))
    for _ in range(defect_counts[SCRATCH]):
        for _attempt in range(20):
            point = _pick_surface_point(rng, geometry.clearance, 3.0, keep_out)
            if point is None:
                break
            scratch = _draw_scratch(rng, image, geometry.clearance, point[0], point[1], keep_out)
            if scratch is not None:
                defects.append(scratch)
                x1, y1, x2, y2 = scratch.box
                keep_out.append(((x1 + x2) / 2, (y1 + y2) / 2, 0.5 * max(x2 - x1, y2 - y1) + 0.04 * short_side))
                break

    # Dust specks: small dark or bright dots anywhere, so the detector learns not to fire
    # on every small blob.
    for _ in range(int(rng.integers(0, 6))):
        sx, sy = rng.uniform(0, width), rng.uniform(0, height)
        size = rng.uniform(0.6, 1.8) * short_side / 480
        x0, x1 = max(0, int(sx - 4 * size)), min(width, int(sx + 4 * size) + 1)
        y0, y1 = max(0, int(sy - 4 * size)), min(height, int(sy + 4 * size) + 1)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        speck = np.exp(-((xs - sx) ** 2 + (ys - sy) ** 2) / (2 * size * size))
        image[y0:y1, x0:x1] += (speck * rng.uniform(-50, 50))[:, :, None]

    # Camera: slight defocus, then sensor noise with a random level in grey levels.
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), mode="RGB")
    blur = rng.uniform(0.0, 0.9)
    if blur > 0.3:
        pil = pil.filter(ImageFilter.GaussianBlur(blur))
    noisy = np.asarray(pil, dtype=np.float32) + rng.normal(0.0, rng.uniform(1.0, 5.0), size=(height, width, 3)).astype(np.float32)
    pil = Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8), mode="RGB")
    if jpeg_quality is not None:
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=jpeg_quality)
        buffer.seek(0)
        pil = Image.open(buffer).convert("RGB")

    return pil, [_enforce_min_box(defect, width, height) for defect in defects]
