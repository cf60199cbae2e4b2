"""Converter and reference runner for the TF.js runtime; runs inside the TF.js tool environment.

This file is executed by the tool environment's interpreter (TensorFlow, onnx2tf,
tensorflowjs), never imported by the exporter, which has different pins. It only
uses the standard library and that environment's packages, and it talks to the
exporter through JSON on stdout (inspect, convert) or length-prefixed .npz frames
on stdin/stdout (serve).

    tfjs_tool.py inspect MODEL
    tfjs_tool.py convert MODEL OUT_DIR --workdir DIR [--weights none|float16|uint8] [--keep-nchw NAME] [--cache DIR]
    tfjs_tool.py serve MODEL [--threads N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

# onnx2tf looks for this file in its working directory before it downloads one to
# calibrate int8 TFLite output for 3-channel image inputs. The exporter never wants
# that output, but the lookup happens anyway, so a local placeholder keeps it offline.
ONNX2TF_CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"

SAVED_MODEL_SIGNATURE = "serving_default"


def model_format(path: Path) -> str:
    if path.is_dir():
        return "saved_model"
    if path.suffix.lower() in (".keras", ".h5", ".hdf5"):
        return "keras"
    return "onnx"


def _quiet_tensorflow():
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    return tf


def _spec_json(name: str, spec) -> dict:
    shape = []
    if spec.shape.rank is not None:
        shape = ["?" if d is None else d for d in spec.shape.as_list()]
    return {"name": name, "shape": shape, "dtype": spec.dtype.name}


def _load_signature(path: Path):
    """Return the serving signature of a SavedModel or Keras file, and the object that owns it."""
    tf = _quiet_tensorflow()
    if model_format(path) == "keras":
        path = _keras_to_saved_model(path, Path(os.environ.get("TMPDIR", "/tmp")) / f"vision-export-keras-{os.getpid()}")
    loaded = tf.saved_model.load(str(path))
    if SAVED_MODEL_SIGNATURE not in loaded.signatures:
        raise SystemExit(f"SavedModel {path} has no '{SAVED_MODEL_SIGNATURE}' signature (it has: {', '.join(loaded.signatures) or 'none'})")
    return loaded, loaded.signatures[SAVED_MODEL_SIGNATURE]


def _signature_io(signature) -> tuple[list[dict], list[dict]]:
    inputs = [_spec_json(name, spec) for name, spec in sorted(signature.structured_input_signature[1].items())]
    outputs = [_spec_json(name, spec) for name, spec in sorted(signature.structured_outputs.items())]
    return inputs, outputs


def _keras_to_saved_model(path: Path, destination: Path) -> Path:
    """Export a Keras model as a SavedModel with a serving signature named after its inputs."""
    import keras

    model = keras.models.load_model(str(path), compile=False)
    if destination.exists():
        shutil.rmtree(destination)
    model.export(str(destination), format="tf_saved_model", verbose=False)
    return destination


def cmd_inspect(args) -> dict:
    path = Path(args.model)
    _, signature = _load_signature(path)
    inputs, outputs = _signature_io(signature)
    import tensorflow as tf

    return {"format": model_format(path), "producer": f"tensorflow {tf.__version__}", "inputs": inputs, "outputs": outputs}


def _onnx_to_saved_model(source: Path, workdir: Path, keep_nchw: list[str]) -> tuple[Path, float]:
    import numpy as np
    import onnx2tf

    work_copy = workdir / "source.onnx"
    # onnx2tf overwrites its input with a simplified copy; the user's file must stay as it is.
    shutil.copyfile(source, work_copy)
    np.save(workdir / ONNX2TF_CALIBRATION_FILE, np.zeros((20, 128, 128, 3), dtype=np.float32))
    saved_model = workdir / "saved_model"
    start = time.perf_counter()
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        onnx2tf.convert(
            input_onnx_file_path=str(work_copy),
            output_folder_path=str(saved_model),
            # Name the signature's inputs and outputs after the ONNX graph's, so outputs
            # are bound by name: onnx2tf does not keep their order.
            output_signaturedefs=True,
            # Keep the image input NCHW, so the bundle's preprocessing and the ONNX
            # reference share one tensor layout.
            keep_ncw_or_nchw_or_ncdhw_input_names=keep_nchw or None,
            non_verbose=True,
        )
    finally:
        os.chdir(previous)
    return saved_model, time.perf_counter() - start


def _cached_saved_model(cache: str | None) -> Path | None:
    """Return the SavedModel an earlier export of the same ONNX file left in ``cache``, if complete."""
    if not cache or not (Path(cache) / "complete").is_file():
        return None
    return Path(cache) / "saved_model"


def _store_saved_model(saved_model: Path, cache: str | None) -> Path:
    """Keep onnx2tf's output for later exports of the same model (onnx2tf takes about a minute)."""
    if not cache:
        return saved_model
    folder = Path(cache)
    staging = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # Only the SavedModel is kept; onnx2tf's TFLite files beside it are not needed.
    shutil.copytree(saved_model, staging / "saved_model", ignore=shutil.ignore_patterns("*.tflite"))
    (staging / "complete").write_text("ok\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder / "saved_model"


def cmd_convert(args) -> dict:
    # onnx2tf runs in the working directory, so every path is made absolute first.
    source = Path(args.model).resolve()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out).resolve()
    timings = {}
    fmt = model_format(source)
    if fmt == "onnx":
        saved_model = _cached_saved_model(args.cache)
        if saved_model is None:
            saved_model, timings["onnx2tf_s"] = _onnx_to_saved_model(source, workdir, args.keep_nchw)
            saved_model = _store_saved_model(saved_model, args.cache)
    elif fmt == "keras":
        start = time.perf_counter()
        saved_model = _keras_to_saved_model(source, workdir / "saved_model")
        timings["keras_export_s"] = time.perf_counter() - start
    else:
        saved_model = source
    _, signature = _load_signature(saved_model)
    inputs, outputs = _signature_io(signature)

    start = time.perf_counter()
    _convert_saved_model(saved_model, out, None)
    compressed: list[str] = []
    if args.weights != "none":
        compressed = _compressible_weights(out / "model.json", args.weights)
        shutil.rmtree(out)
        _convert_saved_model(saved_model, out, {args.weights: compressed})
    timings["tfjs_converter_s"] = time.perf_counter() - start
    node_names = _bind_signature(saved_model, out / "model.json")
    check = _onnx_parity(source, saved_model) if fmt == "onnx" else None
    return {
        "inputs": inputs,
        "outputs": outputs,
        "input_nodes": {item["name"]: node_names["inputs"].get(item["name"]) for item in inputs},
        "output_nodes": {item["name"]: node_names["outputs"].get(item["name"]) for item in outputs},
        "saved_model": str(saved_model),
        "onnx_parity": check,
        "compressed_weights": len(compressed),
        "timings": timings,
    }


# Largest output difference, relative to max(1, |output|), for a converted output to count as
# the same tensor as the ONNX one. onnx2tf's float32 graphs match to ~1e-5 of that.
SAME_OUTPUT_TOLERANCE = 1e-3


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _candidates(name: str, index: int, signature_names: list[str]) -> list[str]:
    """Signature names that may hold ONNX output ``name`` (the ``index``-th), most likely first.

    With signature output, onnx2tf names outputs ``output_<i>`` in the ONNX graph's order;
    other SavedModel writers keep the ONNX name, sometimes respelled.
    """
    ordered = [name, f"output_{index}"] + [s for s in signature_names if _name_key(s) == _name_key(name)]
    ordered += [s for s in signature_names if s not in ordered]
    return [s for s in dict.fromkeys(ordered) if s in signature_names]


def _onnx_parity(source: Path, saved_model: Path) -> dict:
    """Bind each ONNX output to a SavedModel output by name, confirmed by value.

    Both models run on one seeded random input. An ONNX output is bound to the first
    candidate signature output with the same shape and values within
    SAME_OUTPUT_TOLERANCE. An output left unbound has ``signature_name`` None.
    """
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    onnx_input = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in onnx_input.shape]
    sample = np.random.default_rng(0).random(shape, dtype=np.float32)
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, {onnx_input.name: sample})))
    _, signature = _load_signature(saved_model)
    input_names = sorted(signature.structured_input_signature[1])
    actual = {key: value.numpy() for key, value in signature(**{input_names[0]: sample}).items()}
    outputs, bound = {}, set()
    for index, (name, value) in enumerate(expected.items()):
        scale = max(1.0, float(np.max(np.abs(value), initial=0.0)))
        entry = {"signature_name": None, "onnx_shape": list(value.shape), "max_abs": scale}
        for candidate in _candidates(name, index, list(actual)):
            got = actual[candidate]
            if candidate in bound or got.shape != value.shape:
                continue
            difference = float(np.max(np.abs(got.astype(np.float64) - value), initial=0.0))
            if difference <= SAME_OUTPUT_TOLERANCE * scale:
                entry.update(signature_name=candidate, max_abs_diff=difference)
                bound.add(candidate)
                break
        else:
            entry["tf_shapes"] = {key: list(got.shape) for key, got in actual.items()}
        outputs[name] = entry
    return {"input": onnx_input.name, "outputs": outputs}


def _convert_saved_model(saved_model: Path, out: Path, quantization: dict | None) -> None:
    from tensorflowjs.converters import tf_saved_model_conversion_v2

    tf_saved_model_conversion_v2.convert_tf_saved_model(
        str(saved_model),
        str(out),
        signature_def=SAVED_MODEL_SIGNATURE,
        saved_model_tags="serve",
        quantization_dtype_map=quantization,
        # The bundle fetches the weights itself; 4 MiB shards keep each request small.
        weight_shard_size_bytes=4 * 1024 * 1024,
    )


def _compressible_weights(model_json_path: Path, dtype: str) -> list[str]:
    """Names of the weights to store as ``dtype``: every one for float16, the 4-D kernels for uint8.

    uint8 rounds each tensor to 256 levels between its min and max. What that costs on
    convolution kernels depends on the model, and the exporter measures it in the browser.
    YOLOv8n's decode constants (the anchor grid of 0.5 to 79.5, the stride table) moved
    boxes by up to 5 px and cut a small box's IoU to 0.67. Such constants are under 2% of
    the bytes, so they stay float32.
    """
    model_json = json.loads(model_json_path.read_text(encoding="utf-8"))
    weights = [w for group in model_json["weightsManifest"] for w in group["weights"] if w["dtype"] == "float32"]
    if dtype == "float16":
        return [w["name"] for w in weights]
    return [w["name"] for w in weights if len(w["shape"]) == 4]


def _bind_signature(saved_model: Path, model_json_path: Path) -> dict:
    """Map signature names to graph node names ("Identity_3:0") and write the same mapping into model.json.

    tensorflowjs names each signature output by matching its dtype and shape, so outputs
    that share both (YuNet's cls_8 and obj_8) come out under each other's names. The
    graph outputs follow the signature's outputs in tf.nest order (sorted keys), which is
    what the concrete function's ``outputs`` list is in, so that list is the truth.
    """
    import tensorflow as tf

    _, signature = _load_signature(saved_model)
    by_name = tf.nest.pack_sequence_as(signature.structured_outputs, signature.outputs, expand_composites=True)
    model_json = json.loads(model_json_path.read_text(encoding="utf-8"))
    graph_nodes = {node["name"] for node in model_json["modelTopology"]["node"]}
    outputs = {}
    for name in sorted(by_name):
        tensor_name = by_name[name].name
        if tensor_name.split(":")[0] not in graph_nodes:
            raise SystemExit(f"Error: output {name!r} is graph node {tensor_name!r}, which the TF.js model does not have")
        outputs[name] = tensor_name
    signature_json = model_json.setdefault("signature", {})
    old = {entry.get("name"): entry for entry in (signature_json.get("outputs") or {}).values()}
    signature_json["outputs"] = {name: dict(old.get(node, {}), name=node) for name, node in outputs.items()}
    model_json.setdefault("userDefinedMetadata", {})["structuredOutputKeys"] = list(outputs)
    model_json_path.write_text(json.dumps(model_json, separators=(",", ":")), encoding="utf-8")
    inputs = {key: value.get("name") for key, value in (signature_json.get("inputs") or {}).items()}
    return {"inputs": inputs, "outputs": outputs}


def _write_frame(stream, arrays: dict) -> None:
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    stream.write(struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def cmd_serve(args) -> None:
    """Serve frames until stdin closes: one .npz with 'input' in, 'out0'.. 'outN' back."""
    import numpy as np

    tf = _quiet_tensorflow()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # TensorFlow and its plugins print to stdout; keep the frame channel clean.
    sys.stdout = sys.stderr
    try:
        _, signature = _load_signature(Path(args.model))
        input_names = sorted(signature.structured_input_signature[1])
        output_names = sorted(signature.structured_outputs)
    except Exception as exc:  # report any load failure to the parent as a message
        _write_frame(stdout, {"error": np.frombuffer(str(exc).encode("utf-8"), dtype=np.uint8)})
        return
    meta = json.dumps({"inputs": input_names, "outputs": output_names}).encode("utf-8")
    _write_frame(stdout, {"meta": np.frombuffer(meta, dtype=np.uint8)})
    while True:
        head = stdin.read(8)
        if len(head) < 8:
            return
        (length,) = struct.unpack("<Q", head)
        frame = np.load(io.BytesIO(stdin.read(length)), allow_pickle=False)
        try:
            result = signature(**{input_names[0]: tf.constant(frame["input"])})
            arrays = {f"out{i}": result[name].numpy() for i, name in enumerate(output_names)}
        except Exception as exc:  # one bad frame is reported, the process keeps serving
            arrays = {"error": np.frombuffer(str(exc).encode("utf-8"), dtype=np.uint8)}
        _write_frame(stdout, arrays)


def main() -> None:
    parser = argparse.ArgumentParser(prog="tfjs_tool.py")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect")
    inspect.add_argument("model")
    convert = commands.add_parser("convert")
    convert.add_argument("model")
    convert.add_argument("out")
    convert.add_argument("--workdir", required=True)
    convert.add_argument("--weights", choices=["none", "float16", "uint8"], default="none")
    convert.add_argument("--keep-nchw", action="append", default=[])
    convert.add_argument("--cache", help="folder that keeps onnx2tf's SavedModel for this exact model and flags")
    serve = commands.add_parser("serve")
    serve.add_argument("model")
    serve.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.command == "serve":
        cmd_serve(args)
        return
    result = {"inspect": cmd_inspect, "convert": cmd_convert}[args.command](args)
    # Converters print progress to stdout; the result is the last line.
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main()
