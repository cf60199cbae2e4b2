"""Model runners for the reference pipeline: run one preprocessed tensor, return raw outputs.

ONNX models run in onnxruntime in this process. TensorFlow SavedModels and Keras
files run in TensorFlow inside the TF.js tool environment, in one long-lived child
process, because TensorFlow cannot share this interpreter with onnxruntime's pins.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InvalidModelError, ToolEnvironmentError
from ..registry import Registry


class ModelRunner:
    """Runs a model on one input tensor. ``output_names`` is the order of ``run``'s result."""

    output_names: list[str]

    def run(self, input_name: str, tensor: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the runtime; the runner is unusable afterwards."""


class OnnxRunner(ModelRunner):
    def __init__(self, path: Path, intra_op_threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.log_severity_level = 3  # old exporters list initializers as inputs; ORT warns about each
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise InvalidModelError(f"onnxruntime could not load {str(path)!r}: {exc}") from exc
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, input_name: str, tensor: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.output_names, {input_name: tensor})


class TensorFlowRunner(ModelRunner):
    """A SavedModel or Keras model served by ``tools/tfjs_tool.py serve`` in the tool environment.

    Frames cross the pipe as length-prefixed .npz payloads: 8 bytes of little-endian
    length, then the archive. One child process serves every frame of a run, so
    TensorFlow's multi-second import is paid once.
    """

    def __init__(self, path: Path, intra_op_threads: int = 0) -> None:
        from ..toolenv import TFJS_TOOLS

        python = TFJS_TOOLS.require()
        script = TFJS_TOOLS.script_path("tfjs_tool.py")
        self._process = subprocess.Popen(
            [str(python), str(script), "serve", str(path), "--threads", str(intra_op_threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TFJS_TOOLS.environment(),
        )
        header = self._read_message()
        self.output_names = list(json.loads(header["meta"].tobytes().decode("utf-8"))["outputs"])

    def run(self, input_name: str, tensor: np.ndarray) -> list[np.ndarray]:
        buffer = io.BytesIO()
        np.savez(buffer, input=np.ascontiguousarray(tensor, dtype=np.float32))
        payload = buffer.getvalue()
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(struct.pack("<Q", len(payload)) + payload)
            self._process.stdin.flush()
        except BrokenPipeError:
            self._fail("exited before the frame was sent")
        reply = self._read_message()
        return [reply[f"out{i}"] for i in range(len(self.output_names))]

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def _read_message(self) -> dict[str, np.ndarray]:
        assert self._process.stdout is not None
        head = self._process.stdout.read(8)
        if len(head) < 8:
            self._fail("stopped answering")
        (length,) = struct.unpack("<Q", head)
        data = self._process.stdout.read(length)
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        if "error" in archive:
            raise InvalidModelError(f"TensorFlow could not run the model: {archive['error'].tobytes().decode('utf-8')}")
        return {key: archive[key] for key in archive.files}

    def _fail(self, problem: str) -> None:
        self._process.kill()
        assert self._process.stderr is not None
        lines = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        raise ToolEnvironmentError(f"the TensorFlow reference process {problem}: {lines[-1] if lines else 'no message'}")


def model_format(path: Path) -> str:
    """Return 'onnx', 'saved_model' or 'keras' from a model path."""
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "saved_model"
        raise InvalidModelError(
            f"model path {str(path)!r} is a folder without saved_model.pb: give the .onnx file inside it, "
            "or a TensorFlow SavedModel folder (with --runtime tfjs)"
        )
    suffix = path.suffix.lower()
    if suffix in (".keras", ".h5", ".hdf5"):
        return "keras"
    return "onnx"


RUNNERS: Registry[Callable[[Path, int], ModelRunner]] = Registry("model format")
RUNNERS.add("onnx", OnnxRunner)
RUNNERS.add("saved_model", TensorFlowRunner)
RUNNERS.add("keras", TensorFlowRunner)


def open_runner(path: Path, intra_op_threads: int = 0) -> ModelRunner:
    return RUNNERS.lookup(model_format(path))(Path(path), intra_op_threads)
