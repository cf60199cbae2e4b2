"""Isolated Python environments for converters whose pinned dependencies clash with ours.

TensorFlow, onnx2tf and tensorflowjs pin numpy, protobuf and onnx versions that
break the exporter's own onnx and onnxruntime, and each other when mixed freely.
The exporter therefore installs them once into a virtual environment of their own
under the cache, from a requirements file with exact pins that ships with the
package, and runs the converter scripts in ``exporter/tools`` with that
environment's interpreter. The folder name carries a hash of the requirements, so
a release with new pins installs beside the old environment instead of mutating it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ToolEnvironmentError
from .runtime_files import cache_root

logger = logging.getLogger(__name__)

# Written last by a successful install; a folder without it is an interrupted install.
COMPLETE_MARKER = ".vision-export-complete"


@dataclass(frozen=True)
class ToolEnvironment:
    """A pinned virtual environment that runs one family of converter scripts."""

    name: str
    # Requirements file in exporter/tools, every package pinned with ==.
    requirements: str
    # The environment's purpose and its approximate install size, for messages.
    purpose: str
    size_hint: str
    # Modules the install must be able to import before it counts as complete.
    smoke_imports: tuple[str, ...]
    setup_command: str

    def requirements_text(self) -> str:
        return resources.files("exporter.tools").joinpath(self.requirements).read_text(encoding="utf-8")

    @property
    def folder(self) -> Path:
        digest = hashlib.sha256(self.requirements_text().encode("utf-8")).hexdigest()[:12]
        return cache_root() / "tools" / f"{self.name}-{digest}"

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    def is_installed(self) -> bool:
        return (self.folder / COMPLETE_MARKER).is_file() and self.python.exists()

    def require(self) -> Path:
        """Return the environment's interpreter, or raise naming the command that installs it."""
        if not self.is_installed():
            raise ToolEnvironmentError(
                f"the {self.purpose} is not installed (looked in {self.folder}): run '{self.setup_command}' once "
                f"(pip installs {self.size_hint} into that folder)"
            )
        return self.python

    def install(self, refresh: bool = False) -> Path:
        """Create the environment with pip; the marker file written last makes an interrupted install count as absent."""
        if self.is_installed() and not refresh:
            logger.info("%s already installed in %s", self.purpose, self.folder)
            return self.python
        # The environment is built where it stays: pip writes the venv's absolute path into
        # the console scripts' shebangs, and onnx2tf runs the onnxsim script, so a renamed
        # venv would break it.
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder.parent, prefix=f".{self.name}-install-") as work:
            requirements = Path(work) / "requirements.txt"
            requirements.write_text(self.requirements_text(), encoding="utf-8")
            self._create_venv(self.folder)
            self._pip_install(self.python, requirements)
            self._smoke_test(self.python)
        (self.folder / COMPLETE_MARKER).write_text("ok\n", encoding="utf-8")
        logger.info("installed %s in %s", self.purpose, self.folder)
        return self.python

    @staticmethod
    def script_path(script: str) -> Path:
        return Path(str(resources.files("exporter.tools").joinpath(script)))

    def environment(self) -> dict[str, str]:
        """Return the child's environment: offline, quiet, and blind to this interpreter's packages.

        The proxy variables point at a closed loopback port, so a converter that tries
        to download anything fails at once instead of reaching the network.
        """
        env = dict(os.environ)
        closed = "http://127.0.0.1:9"
        env.update({"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed,
                    "NO_PROXY": "", "no_proxy": "", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONNOUSERSITE": "1"})
        env.pop("PYTHONPATH", None)
        # onnx2tf runs onnxsim as a program, found on PATH.
        env["PATH"] = os.pathsep.join([str(self.folder / "bin"), env.get("PATH", "")])
        return env

    def run(self, script: str, args: list[str], *, cwd: Path | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run ``exporter/tools/<script>`` with the environment's interpreter, offline, capturing its output."""
        python = self.require()
        try:
            return subprocess.run([str(python), str(self.script_path(script)), *args], cwd=cwd, env=self.environment(),
                                  timeout=timeout, capture_output=True, text=True, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ToolEnvironmentError(f"{script} {' '.join(args[:1])} timed out after {timeout:.0f} s") from exc

    def run_with_progress(self, script: str, args: list[str], *, description: str, timeout: float) -> subprocess.CompletedProcess:
        """Like :meth:`run`, with a progress line showing the elapsed time while the script works.

        The converters print no usable progress of their own, so the bar counts seconds.
        """
        from tqdm import tqdm

        python = self.require()
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
            process = subprocess.Popen([str(python), str(self.script_path(script)), *args], stdout=log,
                                       stderr=subprocess.STDOUT, env=self.environment(), text=True)
            with tqdm(desc=description, bar_format="{desc}: {elapsed}", disable=None) as bar:
                waited = 0.0
                while process.poll() is None:
                    try:
                        process.wait(timeout=1.0)
                    except subprocess.TimeoutExpired:
                        pass
                    waited += 1.0
                    bar.update()
                    if waited > timeout:
                        process.kill()
                        process.wait()
                        raise ToolEnvironmentError(f"{script} {args[0]} timed out after {timeout:.0f} s")
            log.seek(0)
            return subprocess.CompletedProcess(process.args, process.returncode, log.read(), "")

    def _create_venv(self, staging: Path) -> None:
        result = subprocess.run([sys.executable, "-m", "venv", str(staging)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ToolEnvironmentError(
                f"'python -m venv' failed for the {self.purpose}: {result.stderr.strip() or result.stdout.strip()}. "
                "Install your Python's venv module (on Debian: apt-get install python3-venv)"
            )

    def _pip_install(self, python: Path, requirements: Path) -> None:
        from tqdm import tqdm

        pinned = [line for line in requirements.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
                   "--no-deps", "-r", str(requirements)]
        logger.info("installing the %s (%s, once)", self.purpose, self.size_hint)
        log_lines: list[str] = []
        with tqdm(total=len(pinned), desc=f"{self.name} tool environment", unit="pkg", disable=None) as bar:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert process.stdout is not None
            for line in process.stdout:
                log_lines.append(line.rstrip())
                if line.startswith("Collecting "):
                    bar.update()
                    bar.set_postfix_str(line.split()[1][:40])
            code = process.wait()
        if code != 0:
            tail = "\n".join(log_lines[-15:])
            raise ToolEnvironmentError(f"pip could not install the {self.purpose} (exit code {code}); its last lines:\n{tail}")

    def _smoke_test(self, python: Path) -> None:
        code = "; ".join(f"import {module}" for module in self.smoke_imports)
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ToolEnvironmentError(f"the freshly installed {self.purpose} cannot import {', '.join(self.smoke_imports)}: {last}")


TFJS_TOOLS = ToolEnvironment(
    name="tfjs",
    requirements="tfjs-requirements.txt",
    purpose="TensorFlow.js converter environment (TensorFlow, onnx2tf, tensorflowjs)",
    size_hint="about 3 GB",
    smoke_imports=("tensorflow", "tensorflowjs", "onnx2tf"),
    setup_command="vision-export setup-tfjs",
)
