"""Atomic bundle output: a rejected or failed export leaves the previous folder as it was."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

import exporter.bundle
from exporter.bundle import export_web
from exporter.cli import main
from exporter.errors import OutputPathError, RuntimeFilesError
from exporter.targets import get_runtime

REQUIRED_FILES = (
    "manifest.json",
    "index.html",
    "vision-export.js",
    "model.onnx",
    "runtime/ort.wasm.min.mjs",
    "runtime/ort-wasm-simd-threaded.wasm",
    "_headers",
)


def snapshot(folder: Path) -> dict[str, str]:
    """Map each file's path relative to ``folder`` to the SHA-256 of its bytes."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def leftovers(out: Path) -> list[str]:
    """Return the staging and backup folders that an export left beside ``out``."""
    names = [path.name for path in out.parent.glob(f".{out.name}.partial-*")]
    if (out.parent / f".{out.name}.previous").exists():
        names.append(f".{out.name}.previous")
    return sorted(names)


def fail_with(exception: BaseException):
    def fail(*args, **kwargs):
        raise exception

    return fail


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str | Path]) -> tuple[int, list[str]]:
    code = main([str(arg) for arg in argv])
    return code, capsys.readouterr().err.splitlines()


@pytest.fixture
def bundle(tiny_yolov8: Path, tmp_path: Path) -> Path:
    """A bundle exported from the tiny YOLOv8 model, to be replaced by the tests."""
    return export_web(tiny_yolov8, tmp_path / "bundle").out


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_export_writes_file(bundle, name):
    assert (bundle / name).is_file(), f"{name} missing from the bundle"


def test_manifest_hashes_match_files(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))

    assert manifest["files"], "manifest lists no files"
    for entry in manifest["files"]:
        path = bundle / entry["path"]
        assert path.is_file(), f"manifest lists {entry['path']}, which is not in the bundle"
        assert path.stat().st_size == entry["bytes"], f"size of {entry['path']} differs from the manifest"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"SHA-256 of {entry['path']} differs from the manifest"


def test_manifest_lists_every_file(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = set(snapshot(bundle)) - {"manifest.json"}

    assert listed == on_disk


def test_manifest_model_hash(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    model = bundle / manifest["model"]["file"]

    assert hashlib.sha256(model.read_bytes()).hexdigest() == manifest["model"]["sha256"]


def test_bundle_permissions_follow_umask(tiny_yolov8, tmp_path):
    previous_umask = os.umask(0o022)
    try:
        out = export_web(tiny_yolov8, tmp_path / "bundle").out
    finally:
        os.umask(previous_umask)

    assert stat.S_IMODE(out.stat().st_mode) == 0o755, f"bundle folder mode is {oct(out.stat().st_mode)}"
    for path in out.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o044 == 0o044, f"{path.relative_to(out)} is not readable by group and others: {oct(mode)}"


def test_export_creates_missing_parent(tiny_yolov8, tmp_path):
    out = tmp_path / "site" / "detector"

    export_web(tiny_yolov8, out)

    assert (out / "manifest.json").is_file()
    assert leftovers(out) == []


def test_export_into_empty_folder(tiny_yolov8, tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()

    export_web(tiny_yolov8, out)

    assert (out / "manifest.json").is_file()
    assert leftovers(out) == []


def test_export_nonempty_folder_rejected(tiny_yolov8, tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "notes.txt").write_text("written by hand\n", encoding="utf-8")
    before = snapshot(out)

    with pytest.raises(OutputPathError, match="--force"):
        export_web(tiny_yolov8, out)

    assert snapshot(out) == before
    assert leftovers(out) == []


def test_cli_nonempty_folder_rejected(bundle, tiny_yolov8, capsys):
    before = snapshot(bundle)

    code, lines = run_cli(capsys, [tiny_yolov8, "-o", bundle, "--target", "web"])

    assert code == OutputPathError.exit_code
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert str(bundle) in lines[0], f"error line does not name the folder: {lines[0]!r}"
    assert "--force" in lines[0], f"error line does not suggest --force: {lines[0]!r}"
    assert snapshot(bundle) == before
    assert leftovers(bundle) == []


def test_export_force_replaces_folder(tiny_yolov8, tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.txt").write_text("from an older export\n", encoding="utf-8")

    export_web(tiny_yolov8, out, force=True)

    assert not (out / "stale.txt").exists(), "--force kept a file of the old folder"
    assert (out / "manifest.json").is_file()
    assert leftovers(out) == []


def test_cli_force_replaces_bundle(bundle, tiny_yolov8, capsys):
    (bundle / "stale.txt").write_text("from an older export\n", encoding="utf-8")

    code, _ = run_cli(capsys, [tiny_yolov8, "-o", bundle, "--target", "web", "--force"])

    assert code == 0
    assert not (bundle / "stale.txt").exists(), "--force kept a file of the old bundle"
    assert (bundle / "manifest.json").is_file()
    assert leftovers(bundle) == []


def test_template_failure_keeps_bundle(bundle, tiny_yolov8, monkeypatch):
    before = snapshot(bundle)
    monkeypatch.setattr(exporter.bundle, "_copy_template", fail_with(OSError(errno.ENOSPC, "No space left on device")))

    with pytest.raises(OSError, match="No space left"):
        export_web(tiny_yolov8, bundle, force=True)

    assert snapshot(bundle) == before
    assert leftovers(bundle) == []


def test_write_model_failure_keeps_bundle(bundle, tiny_yolov8, monkeypatch):
    before = snapshot(bundle)
    monkeypatch.setattr(type(get_runtime("onnx")), "write_model", fail_with(RuntimeError("model writer failed")))

    with pytest.raises(RuntimeError, match="model writer failed"):
        export_web(tiny_yolov8, bundle, force=True)

    assert snapshot(bundle) == before
    assert leftovers(bundle) == []


def test_write_model_failure_fresh_output(tiny_yolov8, tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    monkeypatch.setattr(type(get_runtime("onnx")), "write_model", fail_with(RuntimeError("model writer failed")))

    with pytest.raises(RuntimeError, match="model writer failed"):
        export_web(tiny_yolov8, out)

    assert not out.exists(), "a failed first export created the output folder"
    assert leftovers(out) == []


def test_cli_runtime_copy_failure_keeps_bundle(bundle, tiny_yolov8, monkeypatch, capsys):
    before = snapshot(bundle)
    failure = RuntimeFilesError("copy of ort.wasm.min.mjs does not match its pinned SHA-256")
    monkeypatch.setattr(exporter.bundle, "_copy_runtime", fail_with(failure))

    code, lines = run_cli(capsys, [tiny_yolov8, "-o", bundle, "--target", "web", "--force"])

    assert code == RuntimeFilesError.exit_code
    assert lines == [f"error: {failure}"]
    assert snapshot(bundle) == before
    assert leftovers(bundle) == []


def test_cli_interrupt_keeps_bundle(bundle, tiny_yolov8, monkeypatch, capsys):
    before = snapshot(bundle)
    monkeypatch.setattr(exporter.bundle, "_copy_template", fail_with(KeyboardInterrupt()))

    code, lines = run_cli(capsys, [tiny_yolov8, "-o", bundle, "--target", "web", "--force"])

    assert code == 130
    assert lines == ["interrupted"]
    assert snapshot(bundle) == before
    assert leftovers(bundle) == []


def test_swap_failure_restores_bundle(bundle, tiny_yolov8, monkeypatch):
    """A failed rename of the staging folder into place puts the previous bundle back."""
    before = snapshot(bundle)
    original_rename = Path.rename

    def rename(self, target):
        if ".partial-" in self.name:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return original_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)

    with pytest.raises(OutputPathError, match="could not move the new bundle"):
        export_web(tiny_yolov8, bundle, force=True)

    assert snapshot(bundle) == before
    assert leftovers(bundle) == []
