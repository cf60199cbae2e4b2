"""One handler per CLI command; each returns the process exit code."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .errors import ParityError

logger = logging.getLogger(__name__)


def _user_options(args: argparse.Namespace):
    from .resolve import UserOptions

    return UserOptions(
        preset=args.preset,
        spec_file=args.spec,
        input_size=args.input_size,
        anchors_file=args.anchors,
        labels_file=args.labels,
        score_threshold=args.score_threshold,
        iou_threshold=args.iou_threshold,
        max_detections=args.max_detections,
        agnostic_nms=args.agnostic_nms,
    )


def _quantize_options(args: argparse.Namespace):
    from .errors import ConfigError
    from .quantize import QuantizeOptions

    if args.quantize is None:
        given = [flag for flag, value in (("--calibration", args.calibration), ("--eval", args.eval),
                 ("--quantize-exclude", args.quantize_exclude), ("--quantize-all", args.quantize_all)) if value]
        if given:
            raise ConfigError(f"{', '.join(given)} given without --quantize: add --quantize MODE, or drop them")
        return None
    return QuantizeOptions(args.quantize, args.calibration, args.eval, args.quantize_exclude, args.quantize_all)


def _print_quantization(summary: dict, out) -> None:
    map50 = "n/a" if summary["map50"] is None else f"{summary['map50']:.3f}"
    recall = "n/a" if summary["recall"] is None else f"{summary['recall']:.3f}"
    precision = "n/a" if summary["precision"] is None else f"{summary['precision']:.3f}"
    print(
        f"Quantized {summary['mode']}: model {summary['bytes_before'] / 2**20:.2f} MiB -> {summary['bytes_after'] / 2**20:.2f} MiB "
        f"({summary['size_ratio']:.2f}x). Against the float model on {summary['eval_images']} images: mAP@0.5 {map50}, "
        f"recall {recall}, precision {precision}, max score shift {summary['max_score_shift']:.3f}, "
        f"{summary['strong_matched']} of {summary['strong_reference']} strong detections kept. "
        f"Report: {out / summary['file']}"
    )


def run_export(args: argparse.Namespace) -> int:
    from .bundle import export_web

    result = export_web(args.model, args.output, runtime=args.runtime, options=_user_options(args), force=args.force,
                        backends=args.backends, quantize=_quantize_options(args))
    manifest = result.manifest
    post = manifest["postprocess"]
    print(
        f"Wrote {result.out} ({result.total_bytes / 2**20:.1f} MiB): {manifest['model']['source_name']}, "
        f"head {post['head']}, {len(manifest['labels'])} classes, input "
        f"{manifest['preprocess']['width']}x{manifest['preprocess']['height']}, runtime "
        f"{manifest['runtime']['package']} {manifest['runtime']['version']} "
        f"({', '.join(b['name'] for b in manifest['runtime']['backends'])}).\n"
        f"Try it: vision-export serve {result.out}"
    )
    if "quantization_report" in manifest:
        _print_quantization(manifest["quantization_report"], result.out)
    return 0


def _reference_for(args: argparse.Namespace):
    from .inspection import inspect_model
    from .manifest import is_bundle, load_bundle
    from .reference import ReferenceDetector
    from .resolve import resolve_contract

    if is_bundle(args.model):
        bundle = load_bundle(args.model)
        options = _user_options(args)
        post = bundle.postprocess
        from .config import override

        post = override(
            post,
            score_threshold=options.score_threshold,
            iou_threshold=options.iou_threshold,
            max_detections=options.max_detections,
            agnostic_nms=options.agnostic_nms,
        )
        return ReferenceDetector(bundle.reference_model(args.reference), bundle.preprocess, post, bundle.labels, bundle.input_name)
    info = inspect_model(args.model)
    contract = resolve_contract(info, _user_options(args))
    return ReferenceDetector(info.path, contract.preprocess, contract.postprocess, contract.labels, contract.input_name)


def run_predict(args: argparse.Namespace) -> int:
    from .images_list import expand_images

    detector = _reference_for(args)
    paths = expand_images(args.images)
    results = [{"image": str(path), "detections": [d.to_dict() for d in detector.detect_file(path)]} for path in paths]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        print(f"{result['image']}: {len(result['detections'])} detections")
        for d in result["detections"]:
            box = ", ".join(f"{v:.1f}" for v in d["box"])
            print(f"  {d['label']:<20} {d['score']:.3f}  [{box}]")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from .compare import tolerance_for
    from .manifest import load_bundle
    from .report import write_html_report
    from .verify import format_table, verify_bundle

    quantization = load_bundle(args.bundle).manifest["model"].get("quantization", "none")
    tolerance = tolerance_for(quantization, box_px=args.box_tolerance, score=args.score_tolerance)
    report = verify_bundle(args.bundle, args.images, tolerance=tolerance, num_threads=args.threads, reference_model=args.reference)
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"JSON report: {args.json}")
    if args.html:
        write_html_report(report, args.html)
        print(f"HTML report: {args.html}")
    if not report.passed:
        failed = [i.image for i in report.images if not i.passed]
        raise ParityError(f"browser and Python reference differ on {len(failed)} image(s): {', '.join(failed)}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from .bench import BenchOptions, run_bench as bench_bundle
    from .bench_report import format_markdown

    options = BenchOptions(runs=args.runs, warmup=args.warmup, threads=args.threads, backend=args.backend,
                           reference_model=args.reference, native_threads=args.native_threads)
    result = bench_bundle(args.bundle, args.images, options)
    print(format_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON result: {args.json}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from .manifest import load_bundle
    from .serve import BundleServer

    bundle = load_bundle(args.bundle)
    server = BundleServer(bundle.root, port=args.port)
    print(f"Serving {bundle.root} at {server.url} (Ctrl+C stops)", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def run_presets(args: argparse.Namespace) -> int:
    from .presets import PRESETS

    from .heads import HEADS

    for preset in PRESETS.values():
        print(f"{preset.name}\n  {preset.description}\n  sets: {preset.summary()}")
    print("\nhead kinds (for --spec files):")
    for head in HEADS.values():
        print(f"  {head.name}: {head.description}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from .config import spec_to_dict
    from .errors import VisionExportError
    from .inspection import inspect_model
    from .resolve import resolve_contract

    info = inspect_model(args.model)
    print(f"model: {info.path}\nopset: {info.opset}, IR version: {info.ir_version}, producer: {info.producer or 'unknown'}")
    for tensor in info.inputs:
        print(f"input:  {tensor.describe()}")
    for tensor in info.outputs:
        print(f"output: {tensor.describe()}")
    for key, value in info.metadata.items():
        print(f"metadata {key}: {value[:120]}{'…' if len(value) > 120 else ''}")
    operators = ", ".join(f"{name} x{count}" for name, count in sorted(info.operators.items()))
    print(f"operators: {operators}\nquantization: {info.quantization}")
    from .targets import RUNTIMES

    from .reference.runners import model_format
    from .targets.base import FORMAT_NAMES

    source_format = model_format(info.path)
    for target in RUNTIMES.values():
        if source_format not in target.source_formats:
            print(f"runtime {target.name} ({target.description}): does not take a {FORMAT_NAMES[source_format]}")
            continue
        if not target.checks_operators:
            print(f"runtime {target.name} ({target.description}): operators are checked when the model is converted at export")
            continue
        missing = target.unsupported_operators(info)
        print(f"runtime {target.name} ({target.description}): " + ("runs every operator" if not missing else "cannot run " + "; ".join(missing)))
    try:
        contract = resolve_contract(info, _user_options(args))
    except VisionExportError as exc:
        print(f"head kind: not recognised: {exc}")
        return exc.exit_code
    print(f"head kind: {contract.postprocess.head} (from {contract.sources['head']})")
    print(json.dumps({"preprocess": spec_to_dict(contract.preprocess), "postprocess": spec_to_dict(contract.postprocess),
                      "labels": f"{len(contract.labels)} ({contract.sources['labels']})", "resolved_from": contract.sources}, indent=2))
    return 0


def run_spec_schema(args: argparse.Namespace) -> int:
    from .spec import SPEC_SCHEMA

    print(json.dumps(SPEC_SCHEMA, indent=2))
    return 0


def _fetch_packages(packages, tarball=None, refresh=False) -> None:
    from .runtime_files import check_files, fetch_runtime, package_dir

    for package in packages:
        folder = package_dir(package)
        if tarball is None and not refresh and not check_files(package, folder):
            print(f"{package.npm_name} {package.version}: already cached and verified in {folder}")
            continue
        folder = fetch_runtime(package, tarball=tarball)
        print(f"{package.npm_name} {package.version}: verified in {folder}")


def run_fetch_runtime(args: argparse.Namespace) -> int:
    from .errors import ConfigError
    from .targets import get_runtime

    packages = get_runtime(args.runtime).packages
    if args.from_tarball is not None and len(packages) != 1:
        names = ", ".join(p.npm_name for p in packages)
        raise ConfigError(f"runtime {args.runtime!r} needs {len(packages)} npm packages ({names}), and --from-tarball gives one: "
                          "fetch them with npm instead")
    _fetch_packages(packages, args.from_tarball, args.refresh)
    return 0


def run_setup_tfjs(args: argparse.Namespace) -> int:
    from .targets import get_runtime
    from .toolenv import TFJS_TOOLS

    python = TFJS_TOOLS.install(refresh=args.refresh)
    print(f"{TFJS_TOOLS.purpose}: ready in {python.parent.parent}")
    _fetch_packages(get_runtime("tfjs").packages, refresh=args.refresh)
    return 0


HANDLERS = {
    "export": run_export,
    "predict": run_predict,
    "verify": run_verify,
    "bench": run_bench,
    "serve": run_serve,
    "presets": run_presets,
    "inspect": run_inspect,
    "spec-schema": run_spec_schema,
    "fetch-runtime": run_fetch_runtime,
    "setup-tfjs": run_setup_tfjs,
}

__all__ = ["HANDLERS"]
