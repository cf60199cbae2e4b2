"""Train, export and evaluate the example surface-defect detector.

The run renders synthetic images of machined parts (see defect_render.py) and trains a
small anchor-free CNN (defect_model.py) on the CPU. It exports the model to ONNX in the
Ultralytics YOLOv8 output layout. Then it evaluates the exported file with onnxruntime on
a held-out rendered set and on the three example photos that it writes to ``--images-dir``.

Reproduce the committed files from the repository root with:

    python examples/train_defect_detector.py --out examples/defect_detector

Rendering is deterministic for a given seed. Training is seeded too, but the result can
still differ in the last digits across CPUs, thread counts and PyTorch versions.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import time
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image

import defect_eval
import defect_model
import defect_render
from defect_render import CLASS_NAMES

LOG = logging.getLogger("train_defect_detector")

EXAMPLES_DIR = Path(__file__).resolve().parent
ONNX_NAME = "defect_detector.onnx"
OPSET = 17
# The browser runtime must load the file, and onnxruntime-web 1.31 rejects IR version 14.
# The TorchScript exporter writes IR 8, so this cap is only a guard.
MAX_IR_VERSION = 9

# Sizes (width, height) of the example photos.
EXAMPLE_SIZES = ((640, 480), (800, 600), (480, 640))
EXAMPLE_JPEG_QUALITY = 92

# Decoding settings used for every reported number, matching common YOLOv8 practice.
SCORE_THRESHOLD = 0.25
NMS_IOU = 0.45
# mAP is computed over all detections down to this score, as mAP tools usually do.
MAP_SCORE_THRESHOLD = 0.001
# Score thresholds at which precision, recall and TP/FP/FN counts are reported.
REPORT_THRESHOLDS = (SCORE_THRESHOLD, 0.5)

# Random streams: each rendered image gets the generator seeded with (seed, stream, index),
# so an image does not depend on worker count or on how many other images were rendered.
TRAIN_STREAM, HELDOUT_STREAM, EXAMPLE_STREAM = 0, 1, 2

# Final decay of the exponential moving average of the weights, per optimizer step.
EMA_DECAY = 0.995


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR / "defect_detector", help="output directory for the ONNX model and metrics.json")
    parser.add_argument("--images-dir", type=Path, default=EXAMPLES_DIR / "images", help="output directory for the example photos and ground_truth.json")
    parser.add_argument("--epochs", type=int, default=10, help="number of full passes over the rendered training set")
    parser.add_argument("--train-images", type=int, default=2000, help="number of rendered training images")
    parser.add_argument("--heldout-images", type=int, default=300, help="number of rendered held-out images for evaluation")
    parser.add_argument("--batch-size", type=int, default=16, help="training batch size in images")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed for rendering, weight initialisation and batch order")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="number of rendering processes, by default the CPU count")
    parser.add_argument("--evaluate-only", action="store_true", help="skip training and evaluate the existing ONNX model in --out")
    args = parser.parse_args()
    for name in ("epochs", "train_images", "heldout_images", "batch_size", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    return args


# ---------------------------------------------------------------------------- data


def _random_scene_settings(rng: np.random.Generator) -> tuple[int, int, tuple[int, int, int], int | None]:
    """Draw image size, defect counts and JPEG quality for one training or held-out image."""
    long_side = int(rng.integers(320, 641))
    short_side = int(long_side * rng.uniform(0.6, 1.0))
    width, height = (long_side, short_side) if rng.random() < 0.7 else (short_side, long_side)
    # About 1 in 8 images has no defect, so the training set contains clean parts too.
    counts = tuple(int(count) for count in rng.choice(3, size=3, p=[0.5, 0.33, 0.17]))
    jpeg_quality = int(rng.integers(70, 96)) if rng.random() < 0.6 else None
    return width, height, counts, jpeg_quality


def _render_random_scene(key: tuple[int, int, int]) -> tuple[Image.Image, list[defect_render.Defect]]:
    """Render the scene of one (seed, stream, index) key. Runs in a worker process."""
    rng = np.random.default_rng(key)
    width, height, counts, jpeg_quality = _random_scene_settings(rng)
    return defect_render.render_scene(rng, width, height, counts, jpeg_quality)


def _render_training_sample(key: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one scene and letterbox it. Returns the uint8 CHW input, boxes in input pixels and labels."""
    image, defects = _render_random_scene(key)
    transform = defect_eval.letterbox(image, defect_model.INPUT_SIZE)
    pixels = np.rint(transform.tensor[0] * 255.0).astype(np.uint8)
    boxes = np.array([d.box for d in defects], dtype=np.float32).reshape(-1, 4)
    boxes = boxes * transform.scale + np.array([transform.pad_x, transform.pad_y] * 2, dtype=np.float32)
    labels = np.array([d.class_id for d in defects], dtype=np.int64)
    return pixels, boxes, labels


def render_training_set(seed: int, count: int, workers: int) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Render ``count`` letterboxed training samples in parallel."""
    keys = [(seed, TRAIN_STREAM, index) for index in range(count)]
    with Pool(workers) as pool:
        samples = pool.map(_render_training_sample, keys, chunksize=16)
    images = torch.from_numpy(np.stack([sample[0] for sample in samples]))
    targets = [(torch.from_numpy(sample[1]), torch.from_numpy(sample[2])) for sample in samples]
    return images, targets


# ---------------------------------------------------------------------------- training


def _augment(image: torch.Tensor, boxes: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply a random flip and transpose (one of the 8 square symmetries) to a CHW image and its boxes.

    The letterbox padding is centred, so the result is still a valid letterboxed image
    (up to one pixel of padding when the padding is odd).
    """
    size = image.shape[-1]
    flags = torch.randint(0, 2, (3,), generator=generator).tolist()
    boxes = boxes.clone()
    if flags[0]:
        image = image.flip(-1)
        boxes[:, [0, 2]] = size - boxes[:, [2, 0]]
    if flags[1]:
        image = image.flip(-2)
        boxes[:, [1, 3]] = size - boxes[:, [3, 1]]
    if flags[2]:
        image = image.transpose(-1, -2)
        boxes = boxes[:, [1, 0, 3, 2]]
    return image, boxes


def _update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Move every floating-point weight and BatchNorm statistic of ``ema`` towards ``model``."""
    with torch.no_grad():
        for averaged, current in zip(ema.state_dict().values(), model.state_dict().values()):
            if averaged.dtype.is_floating_point:
                averaged.mul_(decay).add_(current.detach(), alpha=1 - decay)
            else:
                averaged.copy_(current)


def train(
    model: defect_model.DefectDetector,
    images: torch.Tensor,
    targets: list[tuple[torch.Tensor, torch.Tensor]],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> defect_model.DefectDetector:
    """Train ``model`` with AdamW, linear warm-up and cosine decay. Returns the EMA of its weights.

    The exponential moving average of the weights (decay EMA_DECAY, ramped up over the
    first few hundred steps) averages out the step-to-step noise of the last updates.
    """
    ema = copy.deepcopy(model).eval()
    for parameter in ema.parameters():
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total_steps = epochs * steps_per_epoch
    warmup_steps = max(1, total_steps // 20)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)

    def lr_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    points = model.anchor_points
    point_strides = model.anchor_strides

    model.train()
    for epoch in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(images), generator=generator)
        totals = {"loss": 0.0, "cls": 0.0, "box": 0.0, "positives": 0.0}
        for step in range(steps_per_epoch):
            indices = order[step * batch_size : (step + 1) * batch_size]
            batch_images, batch_targets = [], []
            for index in indices.tolist():
                image, boxes = _augment(images[index], targets[index][0], generator)
                batch_images.append(image)
                batch_targets.append((boxes, targets[index][1]))
            batch = torch.stack(batch_images).float().div_(255.0).contiguous(memory_format=torch.channels_last)

            logits, distances = model(batch)
            loss, parts = defect_model.detection_loss(logits, distances, points, point_strides, batch_targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
            optimizer.step()
            scheduler.step()
            _update_ema(ema, model, EMA_DECAY * (1 - math.exp(-scheduler.last_epoch / 100)))

            totals["loss"] += loss.item()
            for key in ("cls", "box", "positives"):
                totals[key] += parts[key]
        means = {key: value / steps_per_epoch for key, value in totals.items()}
        LOG.info(
            "epoch %d/%d: loss %.3f (cls %.3f, box %.3f), %.1f positive cells per image, lr %.2e, %.0f s",
            epoch + 1,
            epochs,
            means["loss"],
            means["cls"],
            means["box"],
            means["positives"],
            scheduler.get_last_lr()[0],
            time.perf_counter() - started,
        )
    return ema


# ---------------------------------------------------------------------------- export


def export_onnx(model: defect_model.DefectDetector, path: Path) -> None:
    """Export to ONNX with the YOLOv8-style output and Ultralytics-style metadata, then check it."""
    wrapper = defect_model.ExportHead(model).eval()
    size = defect_model.INPUT_SIZE
    dummy = torch.zeros(1, 3, size, size)
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated. It is used on purpose because
        # the torch.export-based exporter needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["images"],
            output_names=["output0"],
            do_constant_folding=True,
        )

    proto = onnx.load(str(path))
    if proto.ir_version > MAX_IR_VERSION:
        proto.ir_version = MAX_IR_VERSION
    metadata = {
        "description": "Surface defect detector for machined metal parts (scratch, dent, missing_hole), trained on synthetic images",
        "author": "vision-export examples",
        "license": "Apache-2.0",
        "task": "detect",
        "stride": str(max(defect_model.STRIDES)),
        "imgsz": str([size, size]),
        "names": str(dict(enumerate(CLASS_NAMES))),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))

    # The exported graph must reproduce the PyTorch output on a non-trivial input.
    probe = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = wrapper(probe).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(["output0"], {"images": probe.numpy()})[0]
    difference = float(np.abs(expected - actual).max())
    LOG.info(
        "exported %s: %.2f MB, opset %d, IR version %d, output %s, max |torch - onnxruntime| %.2e",
        path,
        path.stat().st_size / 1e6,
        OPSET,
        proto.ir_version,
        list(actual.shape),
        difference,
    )
    if difference > 1e-2:
        raise RuntimeError(f"onnxruntime output differs from PyTorch by {difference:.3g}; the export is wrong")


# ---------------------------------------------------------------------------- evaluation


def detect(session: ort.InferenceSession, image: Image.Image) -> list[defect_eval.Detection]:
    """Run the ONNX model on a PIL image and return detections down to MAP_SCORE_THRESHOLD."""
    transform = defect_eval.letterbox(image, defect_model.INPUT_SIZE)
    output = session.run(["output0"], {"images": transform.tensor})[0]
    return defect_eval.decode_output(output, transform, image.size, MAP_SCORE_THRESHOLD, NMS_IOU)


def render_heldout_set(seed: int, count: int, workers: int) -> list[tuple[Image.Image, list[defect_render.Defect]]]:
    """Render ``count`` held-out scenes as (PIL image, defects) at their original size."""
    keys = [(seed, HELDOUT_STREAM, index) for index in range(count)]
    with Pool(workers) as pool:
        return pool.map(_render_random_scene, keys, chunksize=8)


def evaluate_heldout(session: ort.InferenceSession, scenes: list[tuple[Image.Image, list[defect_render.Defect]]]) -> dict:
    """Compute per-class AP@0.5, mAP@0.5 and precision/recall at each REPORT_THRESHOLDS score on held-out scenes."""
    scores = {class_id: [] for class_id in range(len(CLASS_NAMES))}
    hits = {class_id: [] for class_id in range(len(CLASS_NAMES))}
    truth_counts = np.zeros(len(CLASS_NAMES), dtype=int)
    for image, defects in scenes:
        truth_boxes = np.array([d.box for d in defects], dtype=np.float64).reshape(-1, 4)
        truth_labels = np.array([d.class_id for d in defects], dtype=np.int64)
        truth_counts += np.bincount(truth_labels, minlength=len(CLASS_NAMES))
        detections = detect(session, image)
        for detection, hit in zip(detections, defect_eval.match_detections(detections, truth_boxes, truth_labels)):
            scores[detection.class_id].append(detection.score)
            hits[detection.class_id].append(hit)

    per_class = {}
    for class_id, name in enumerate(CLASS_NAMES):
        class_scores = np.array(scores[class_id])
        class_hits = np.array(hits[class_id], dtype=bool)
        instances = int(truth_counts[class_id])
        # Undefined rates (no detections, no instances) are stored as None, because JSON
        # has no NaN.
        ap50 = defect_eval.average_precision(class_scores, class_hits, instances)
        per_class[name] = {"ap50": None if math.isnan(ap50) else ap50, "instances": instances}
        for threshold in REPORT_THRESHOLDS:
            above = class_scores >= threshold
            true_positives = int(class_hits[above].sum())
            detected = int(above.sum())
            per_class[name][f"precision@{threshold}"] = true_positives / detected if detected else None
            per_class[name][f"recall@{threshold}"] = true_positives / instances if instances else None
    defined = [entry["ap50"] for entry in per_class.values() if entry["ap50"] is not None]
    mean_ap = float(np.mean(defined)) if defined else None
    return {"images": len(scenes), "map50": mean_ap, "per_class": per_class}


def _format_rate(value: float | None) -> str:
    """Format a metric with 3 decimals, or as n/a when it is undefined."""
    return "n/a" if value is None else f"{value:.3f}"


def write_example_images(images_dir: Path, seed: int) -> dict:
    """Render the example photos as JPEG and write ground_truth.json. Returns the ground truth."""
    images_dir.mkdir(parents=True, exist_ok=True)
    truth = {}
    for number, (width, height) in enumerate(EXAMPLE_SIZES, start=1):
        name = f"part_{number:02d}.jpg"
        # Each photo requests one defect of each class plus up to two more. It is re-rendered
        # with the next attempt's generator until it has 2-5 defects of at least 2 classes.
        for attempt in range(100):
            rng = np.random.default_rng((seed, EXAMPLE_STREAM, number, attempt))
            counts = np.ones(3, dtype=int)
            counts[rng.integers(3, size=int(rng.integers(0, 3)))] += 1
            image, defects = defect_render.render_scene(rng, width, height, tuple(int(c) for c in counts))
            classes = {d.class_id for d in defects}
            if 2 <= len(defects) <= 5 and len(classes) >= 2:
                break
        else:
            raise RuntimeError(f"could not render {name} with 2-5 defects of 2+ classes in 100 attempts")
        image.save(images_dir / name, format="JPEG", quality=EXAMPLE_JPEG_QUALITY)
        truth[name] = {
            "width": width,
            "height": height,
            "defects": [{"class": CLASS_NAMES[d.class_id], "box": list(d.box)} for d in defects],
        }
    document = {
        "description": "Ground-truth defect boxes of the example photos, rendered by examples/train_defect_detector.py",
        "box_format": "xyxy in image pixels",
        "classes": list(CLASS_NAMES),
        "images": truth,
    }
    (images_dir / "ground_truth.json").write_text(json.dumps(document, indent=2) + "\n")
    LOG.info("wrote %d example photos and ground_truth.json to %s", len(truth), images_dir)
    return truth


def evaluate_examples(session: ort.InferenceSession, images_dir: Path) -> dict:
    """Count TP/FP/FN at IoU 0.5 on the example photos as read back from disk.

    Counts are given at each score threshold in REPORT_THRESHOLDS.
    """
    document = json.loads((images_dir / "ground_truth.json").read_text())
    results = {}
    for name, entry in document["images"].items():
        with Image.open(images_dir / name) as opened:
            image = opened.convert("RGB")
        truth_boxes = np.array([d["box"] for d in entry["defects"]], dtype=np.float64).reshape(-1, 4)
        truth_labels = np.array([CLASS_NAMES.index(d["class"]) for d in entry["defects"]], dtype=np.int64)
        detections = [d for d in detect(session, image) if d.score >= SCORE_THRESHOLD]
        result = {"defects": len(truth_labels)}
        for threshold in REPORT_THRESHOLDS:
            above_threshold = [d for d in detections if d.score >= threshold]
            hits = defect_eval.match_detections(above_threshold, truth_boxes, truth_labels)
            true_positives = sum(hits)
            result[f"score>={threshold}"] = {
                "tp": true_positives,
                "fp": len(above_threshold) - true_positives,
                "fn": len(truth_labels) - true_positives,
            }
        result["detections"] = [
            {"class": CLASS_NAMES[d.class_id], "score": round(d.score, 3), "box": [round(v, 1) for v in d.box]} for d in detections
        ]
        results[name] = result
        counts = "; ".join(
            f"score>={threshold}: TP {result[f'score>={threshold}']['tp']} FP {result[f'score>={threshold}']['fp']} FN {result[f'score>={threshold}']['fn']}"
            for threshold in REPORT_THRESHOLDS
        )
        LOG.info("%s: %d defects; %s", name, len(truth_labels), counts)
    return results


# ---------------------------------------------------------------------------- main


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / ONNX_NAME
    run_started = time.perf_counter()

    # All rendering runs before any PyTorch work, so the forked workers never inherit a
    # busy intra-op thread pool.
    write_example_images(args.images_dir, args.seed)
    heldout_scenes = render_heldout_set(args.seed, args.heldout_images, args.workers)

    metrics_path = args.out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if args.evaluate_only and metrics_path.exists() else {}
    if args.evaluate_only:
        if not onnx_path.exists():
            raise SystemExit(f"{onnx_path} not found; run without --evaluate-only to train it first")
    else:
        started = time.perf_counter()
        images, targets = render_training_set(args.seed, args.train_images, args.workers)
        render_seconds = time.perf_counter() - started
        LOG.info("rendered %d training images in %.0f s", len(images), render_seconds)

        torch.manual_seed(args.seed)
        model = defect_model.DefectDetector(num_classes=len(CLASS_NAMES)).to(memory_format=torch.channels_last)
        LOG.info("model has %d parameters; training on %d CPU threads", sum(p.numel() for p in model.parameters()), torch.get_num_threads())
        started = time.perf_counter()
        model = train(model, images, targets, args.epochs, args.batch_size, args.lr, args.seed)
        train_seconds = time.perf_counter() - started
        LOG.info("training took %.0f s", train_seconds)
        export_onnx(model.to(memory_format=torch.contiguous_format), onnx_path)
        metrics = {
            "command_arguments": {
                "epochs": args.epochs,
                "train_images": args.train_images,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "seed": args.seed,
            },
            "render_seconds": round(render_seconds, 1),
            "train_seconds": round(train_seconds, 1),
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
        }

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    heldout = evaluate_heldout(session, heldout_scenes)
    for name, entry in heldout["per_class"].items():
        rates = ", ".join(
            f"score>={threshold}: precision {_format_rate(entry[f'precision@{threshold}'])} recall {_format_rate(entry[f'recall@{threshold}'])}"
            for threshold in REPORT_THRESHOLDS
        )
        LOG.info("held-out %-12s AP@0.5 %s (%d instances); %s", name, _format_rate(entry["ap50"]), entry["instances"], rates)
    LOG.info("held-out mAP@0.5 %s over %d images", _format_rate(heldout["map50"]), heldout["images"])
    examples = evaluate_examples(session, args.images_dir)

    metrics.update({"heldout": heldout, "examples": examples, "score_threshold": SCORE_THRESHOLD, "nms_iou": NMS_IOU})
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    LOG.info("wrote %s; whole run took %.0f s", metrics_path, time.perf_counter() - run_started)


if __name__ == "__main__":
    main()
