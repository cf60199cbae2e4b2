"""The bundle's TypeScript declarations type-check a consumer, and catch a misuse."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.bundle import export_web

from conftest import make_image_model

TSC = Path(__file__).resolve().parent / "js" / "node_modules" / ".bin" / "tsc"

CONSUMER = """\
import { loadDetector, type DetectResult, type Detection } from "./bundle/vision-export.js";

export async function run(image: HTMLImageElement): Promise<number> {
  const detector = await loadDetector({ baseUrl: "/bundle/", numThreads: 2, backends: ["webgpu", "wasm"] });
  const result: DetectResult = await detector.detect(image, { scoreThreshold: 0.4 });
  const first: Detection | undefined = result.detections[0];
  const maybe = await detector.detect(image, { dropIfBusy: true });
  detector.dispose();
  return (first?.box[2] ?? 0) + result.timings.inference + (maybe?.detections.length ?? 0);
}
"""

MISUSE = """\
import { loadDetector } from "./bundle/vision-export.js";

export async function run(image: HTMLImageElement): Promise<string> {
  const detector = await loadDetector();
  const result = await detector.detect(image);
  return result.detections[0].box;  // a box is numbers, not a string
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    if not TSC.exists():
        pytest.fail(f"TypeScript compiler {TSC} not found: run 'npm ci --prefix tests/js' (scripts/setup.sh --test does)")
    root = tmp_path_factory.mktemp("ts")
    model = make_image_model(root / "m.onnx", {"output0": [1, 6, 84]}, metadata={"names": "{0: 'a', 1: 'b'}", "stride": "32"})
    export_web(model, root / "bundle")
    return root


def type_check(project: Path, source: str) -> subprocess.CompletedProcess:
    (project / "consumer.ts").write_text(source)
    command = [str(TSC), "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler",
               "--lib", "es2022,dom", "consumer.ts"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)


def test_declarations_ship_in_bundle(project):
    assert (project / "bundle" / "vision-export.d.ts").is_file()


def test_consumer_type_checks(project):
    result = type_check(project, CONSUMER)
    assert result.returncode == 0, result.stdout + result.stderr


def test_misuse_is_a_type_error(project):
    result = type_check(project, MISUSE)
    assert result.returncode != 0
    assert "not assignable to type 'string'" in result.stdout
