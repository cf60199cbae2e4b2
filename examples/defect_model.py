"""Small anchor-free detector, its target assignment and its loss.

The network is a plain CNN backbone with a top-down feature pyramid at strides 8, 16 and
32 and one detection head shared by the three levels. Each grid cell predicts per-class
logits and the distances (left, top, right, bottom) in input pixels from the cell centre
to the box sides, as in FCOS and YOLOv8.

``DefectDetector.forward`` returns training outputs. ``ExportHead`` wraps the network and
produces the YOLOv8-style tensor [batch, 4 + classes, anchors] that the ONNX file carries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIZE = 320
STRIDES = (8, 16, 32)

# Largest box side in input pixels (of the 320x320 input) that each level is trained on.
# Boxes above the last limit go to the stride-32 level.
LEVEL_MAX_SIDE = (40.0, 96.0)

# Half-size, in strides, of the square around a box centre whose cells become positives
# (FCOS "center sampling" radius).
CENTER_RADIUS = 1.5


def conv_bn_act(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """Build Conv2d, BatchNorm2d and SiLU. The exporter folds the BatchNorm into the conv."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.SiLU(),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 conv layers with an identity shortcut."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn_act(channels, channels), conv_bn_act(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def make_anchor_points(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> tuple[torch.Tensor, torch.Tensor]:
    """Return cell centres [N, 2] as (x, y) in input pixels and their strides [N].

    Order: level by level from stride 8, row-major inside a level. This is the order of
    the N axis in the exported output.
    """
    points, point_strides = [], []
    for stride in strides:
        cells = input_size // stride
        coords = (torch.arange(cells, dtype=torch.float32) + 0.5) * stride
        grid_y, grid_x = torch.meshgrid(coords, coords, indexing="ij")
        points.append(torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1))
        point_strides.append(torch.full((cells * cells,), float(stride)))
    return torch.cat(points), torch.cat(point_strides)


class DefectDetector(nn.Module):
    """Backbone, feature pyramid and shared head. About 0.52 M parameters (2.1 MB as ONNX)."""

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 48, 80, 96), neck_channels: int = 48) -> None:
        super().__init__()
        self.num_classes = num_classes
        w = widths
        # Stride 4 gets no residual block because at 80x80 it made a training step about 1.5
        # times slower in a benchmark on 2 CPU cores.
        self.stage4 = nn.Sequential(conv_bn_act(3, w[0], stride=2), conv_bn_act(w[0], w[1], stride=2))
        self.stage8 = nn.Sequential(conv_bn_act(w[1], w[2], stride=2), ResidualBlock(w[2]))
        self.stage16 = nn.Sequential(conv_bn_act(w[2], w[3], stride=2), ResidualBlock(w[3]))
        self.stage32 = nn.Sequential(conv_bn_act(w[3], w[4], stride=2), ResidualBlock(w[4]))

        self.lateral32 = conv_bn_act(w[4], neck_channels, kernel=1)
        self.lateral16 = conv_bn_act(w[3], neck_channels, kernel=1)
        self.lateral8 = conv_bn_act(w[2], neck_channels, kernel=1)
        self.smooth16 = conv_bn_act(neck_channels, neck_channels)
        self.smooth8 = conv_bn_act(neck_channels, neck_channels)

        self.head = conv_bn_act(neck_channels, neck_channels)
        self.predict = nn.Conv2d(neck_channels, 4 + num_classes, 1)
        # Start every class score near 0.01 so the many background cells do not swamp the
        # first updates (RetinaNet prior initialisation).
        with torch.no_grad():
            self.predict.bias[4:].fill_(-4.6)
            self.predict.bias[:4].fill_(0.0)

        points, point_strides = make_anchor_points()
        self.register_buffer("anchor_points", points, persistent=False)
        self.register_buffer("anchor_strides", point_strides, persistent=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return class logits [B, N, C] and side distances (l, t, r, b) in input pixels [B, N, 4]."""
        c8 = self.stage8(self.stage4(images))
        c16 = self.stage16(c8)
        c32 = self.stage32(c16)

        p32 = self.lateral32(c32)
        p16 = self.smooth16(self.lateral16(c16) + F.interpolate(p32, scale_factor=2.0, mode="nearest"))
        p8 = self.smooth8(self.lateral8(c8) + F.interpolate(p16, scale_factor=2.0, mode="nearest"))

        outputs = [self.predict(self.head(level)).flatten(2) for level in (p8, p16, p32)]
        raw = torch.cat(outputs, dim=2).transpose(1, 2)  # [B, N, 4 + C]
        # softplus keeps distances positive. Scaling by the stride lets one head serve
        # every level.
        distances = F.softplus(raw[..., :4]) * self.anchor_strides[None, :, None]
        return raw[..., 4:], distances


class ExportHead(nn.Module):
    """Export wrapper whose output is [B, 4 + C, N]: cx, cy, w, h in input pixels, then sigmoid scores."""

    def __init__(self, detector: DefectDetector) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits, distances = self.detector(images)
        points = self.detector.anchor_points[None]
        left_top = points - distances[..., :2]
        right_bottom = points + distances[..., 2:]
        center = (left_top + right_bottom) / 2
        size = right_bottom - left_top
        return torch.cat([center, size, torch.sigmoid(logits)], dim=2).transpose(1, 2)


def assign_targets(
    points: torch.Tensor,
    point_strides: torch.Tensor,
    boxes: torch.Tensor,
    labels: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign each cell of one image to at most one ground-truth box.

    ``boxes`` is [M, 4] xyxy in input pixels and ``labels`` [M]. A box is trained on one
    pyramid level chosen by its longest side (LEVEL_MAX_SIDE). On that level, a cell is
    positive when its centre is inside the box and within CENTER_RADIUS strides of the box
    centre. The cell nearest to the centre is always positive, so tiny boxes between cell
    centres still get one. A cell claimed by several boxes takes the smallest.

    Returns the matched box index per cell [N] (-1 for background) and the label per cell.
    """
    count = points.shape[0]
    if boxes.shape[0] == 0:
        return torch.full((count,), -1, dtype=torch.long), torch.full((count,), -1, dtype=torch.long)

    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    longest = torch.maximum(widths, heights)
    level_stride = torch.full_like(longest, float(STRIDES[-1]))
    for stride, limit in reversed(list(zip(STRIDES, LEVEL_MAX_SIDE))):
        level_stride = torch.where(longest <= limit, torch.tensor(float(stride)), level_stride)

    px, py = points[:, 0:1], points[:, 1:2]  # [N, 1]
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    on_level = point_strides[:, None] == level_stride[None, :]  # [N, M]
    inside = (px > boxes[:, 0]) & (px < boxes[:, 2]) & (py > boxes[:, 1]) & (py < boxes[:, 3])
    radius = CENTER_RADIUS * level_stride
    near_center = ((px - cx).abs() < radius) & ((py - cy).abs() < radius)
    candidate = on_level & inside & near_center

    distance2 = (px - cx) ** 2 + (py - cy) ** 2
    distance2 = torch.where(on_level, distance2, torch.full_like(distance2, float("inf")))
    nearest = distance2.argmin(dim=0)
    candidate[nearest, torch.arange(boxes.shape[0])] = True

    area = (widths * heights)[None, :].expand(count, -1)
    area = torch.where(candidate, area, torch.full_like(area, float("inf")))
    smallest_area, matched = area.min(dim=1)
    matched = torch.where(torch.isinf(smallest_area), torch.full_like(matched, -1), matched)
    cell_labels = torch.where(matched >= 0, labels[matched.clamp(min=0)], torch.full_like(matched, -1))
    return matched, cell_labels


def generalized_iou(boxes_a: torch.Tensor, boxes_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return element-wise IoU and generalized IoU of two [K, 4] xyxy box sets."""
    area_a = (boxes_a[:, 2] - boxes_a[:, 0]) * (boxes_a[:, 3] - boxes_a[:, 1])
    area_b = (boxes_b[:, 2] - boxes_b[:, 0]) * (boxes_b[:, 3] - boxes_b[:, 1])
    inter_wh = (torch.minimum(boxes_a[:, 2:], boxes_b[:, 2:]) - torch.maximum(boxes_a[:, :2], boxes_b[:, :2])).clamp(min=0)
    intersection = inter_wh[:, 0] * inter_wh[:, 1]
    union = area_a + area_b - intersection + 1e-7
    iou = intersection / union
    hull_wh = torch.maximum(boxes_a[:, 2:], boxes_b[:, 2:]) - torch.minimum(boxes_a[:, :2], boxes_b[:, :2])
    hull = hull_wh[:, 0] * hull_wh[:, 1] + 1e-7
    return iou, iou - (hull - union) / hull


def detection_loss(
    logits: torch.Tensor,
    distances: torch.Tensor,
    points: torch.Tensor,
    point_strides: torch.Tensor,
    targets: list[tuple[torch.Tensor, torch.Tensor]],
    box_weight: float = 2.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Compute classification loss + ``box_weight`` * GIoU box loss, each summed and divided by the positive cell count.

    ``targets`` contains one (boxes [M, 4] xyxy in input pixels, labels [M]) pair per image.
    The classification target of a positive cell is the IoU of its predicted box with
    the matched box, at least 0.05 (quality focal loss from Generalized Focal Loss). So
    the score also ranks box quality. Returns the total loss and its parts for logging.
    """
    batch, count, num_classes = logits.shape
    class_targets = torch.zeros_like(logits)
    predicted_boxes, matched_boxes = [], []
    positive_masks = []
    for index, (boxes, labels) in enumerate(targets):
        matched, cell_labels = assign_targets(points, point_strides, boxes, labels)
        positive = matched >= 0
        positive_masks.append(positive)
        if positive.any():
            pred = torch.cat([points[positive] - distances[index, positive, :2], points[positive] + distances[index, positive, 2:]], dim=1)
            predicted_boxes.append(pred)
            matched_boxes.append(boxes[matched[positive]])
            iou, _ = generalized_iou(pred.detach(), boxes[matched[positive]])
            class_targets[index, positive, cell_labels[positive]] = iou.clamp(min=0.05)

    positives = max(1, int(torch.stack(positive_masks).sum()))

    # Quality focal loss: BCE against the soft target, scaled by |target - p|^2 so easy
    # cells contribute little.
    probabilities = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, class_targets, reduction="none")
    class_loss = (bce * (class_targets - probabilities).abs().pow(2)).sum() / positives

    if predicted_boxes:
        _, giou = generalized_iou(torch.cat(predicted_boxes), torch.cat(matched_boxes))
        box_loss = (1.0 - giou).sum() / positives
    else:
        box_loss = distances.sum() * 0.0
    total = class_loss + box_weight * box_loss
    return total, {"cls": class_loss.item(), "box": box_loss.item(), "positives": positives / batch}
