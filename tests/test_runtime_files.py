"""Runtime-file cache: fetching from local npm tarballs, SHA-256 checks and the offline path.

Every test points VISION_EXPORT_CACHE at a temporary folder and builds its own
tarballs, so none of them touches the network or the user's cache.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

import exporter.runtime_files
from exporter.cli import main
from exporter.errors import RuntimeFilesError
from exporter.runtime_files import check_files, ensure_runtime, fetch_runtime, package_dir
from exporter.targets.onnx_web import ONNXRUNTIME_WEB

SMALL_FILE = "ort.wasm.min.mjs"


@pytest.fixture(scope="module")
def pinned_contents() -> dict[str, bytes]:
    """Bytes of each pinned file, read from the user's verified cache before any test changes the cache path."""
    folder = package_dir(ONNXRUNTIME_WEB)
    problems = check_files(ONNXRUNTIME_WEB, folder)
    if problems:
        pytest.skip(f"no verified {ONNXRUNTIME_WEB.npm_name} cache ({problems[0]}): run 'vision-export fetch-runtime' once")
    return {pinned.name: (folder / pinned.name).read_bytes() for pinned in ONNXRUNTIME_WEB.files}


def write_npm_tarball(path: Path, contents: dict[str, bytes]) -> Path:
    """Write a gzip tarball laid out like 'npm pack' output: package/package.json and package/dist/NAME."""
    manifest = json.dumps({"name": ONNXRUNTIME_WEB.npm_name, "version": ONNXRUNTIME_WEB.version}).encode()
    members = {"package/package.json": manifest}
    members.update({f"package/dist/{name}": data for name, data in contents.items()})
    # Level 1 keeps packing the 14 MiB .wasm fast, and the reader accepts any level.
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for member_name, data in members.items():
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def with_changed_byte(data: bytes) -> bytes:
    """Return ``data`` with its middle byte inverted."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def pinned_sha256(name: str) -> str:
    return next(pinned.sha256 for pinned in ONNXRUNTIME_WEB.files if pinned.name == name)


@pytest.fixture(scope="module")
def valid_tarball(pinned_contents, tmp_path_factory) -> Path:
    return write_npm_tarball(tmp_path_factory.mktemp("tarballs") / "onnxruntime-web-valid.tgz", pinned_contents)


@pytest.fixture
def temp_cache(pinned_contents, tmp_path, monkeypatch) -> Path:
    """An empty cache folder that the exporter uses in place of the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("VISION_EXPORT_CACHE", str(cache))
    return cache


@pytest.fixture
def cached_runtime(temp_cache, pinned_contents) -> Path:
    """Package folder in the temporary cache, filled with the verified pinned files."""
    folder = package_dir(ONNXRUNTIME_WEB)
    folder.mkdir(parents=True)
    for name, data in pinned_contents.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def no_npm(monkeypatch) -> None:
    monkeypatch.setattr(exporter.runtime_files.shutil, "which", lambda name: None)


def fetch_leftovers(folder: Path) -> list[str]:
    """Return the temporary '.fetch-' folders left beside a package folder."""
    return sorted(path.name for path in folder.parent.glob(".fetch-*"))


def test_package_dir_in_temp_cache(temp_cache):
    assert package_dir(ONNXRUNTIME_WEB).is_relative_to(temp_cache)


def test_ensure_runtime_without_npm(temp_cache, no_npm):
    with pytest.raises(RuntimeFilesError) as raised:
        ensure_runtime(ONNXRUNTIME_WEB)

    message = str(raised.value)
    assert "npm not found" in message
    assert "--from-tarball" in message
    assert not package_dir(ONNXRUNTIME_WEB).exists(), "a failed fetch created the package folder"


def test_ensure_runtime_valid_cache(cached_runtime):
    assert ensure_runtime(ONNXRUNTIME_WEB, fetch=False) == cached_runtime


def test_ensure_runtime_offline_without_npm(cached_runtime, no_npm):
    assert ensure_runtime(ONNXRUNTIME_WEB) == cached_runtime


def test_ensure_runtime_corrupt_no_fetch(cached_runtime):
    path = cached_runtime / SMALL_FILE
    path.write_bytes(with_changed_byte(path.read_bytes()))

    with pytest.raises(RuntimeFilesError) as raised:
        ensure_runtime(ONNXRUNTIME_WEB, fetch=False)

    message = str(raised.value)
    assert str(path) in message
    assert "vision-export fetch-runtime" in message


def test_ensure_runtime_missing_no_fetch(temp_cache):
    with pytest.raises(RuntimeFilesError, match="vision-export fetch-runtime"):
        ensure_runtime(ONNXRUNTIME_WEB, fetch=False)


def test_check_files_valid_cache(cached_runtime):
    assert check_files(ONNXRUNTIME_WEB, cached_runtime) == []


def test_check_files_changed_byte(cached_runtime):
    path = cached_runtime / SMALL_FILE
    path.write_bytes(with_changed_byte(path.read_bytes()))

    problems = check_files(ONNXRUNTIME_WEB, cached_runtime)

    assert len(problems) == 1, problems
    assert str(path) in problems[0]
    assert pinned_sha256(SMALL_FILE) in problems[0]


def test_check_files_missing_file(cached_runtime):
    path = cached_runtime / "ort-wasm-simd-threaded.mjs"
    path.unlink()

    problems = check_files(ONNXRUNTIME_WEB, cached_runtime)

    assert problems == [f"{path} is missing"]


def test_fetch_runtime_valid_tarball(temp_cache, valid_tarball, no_npm):
    folder = fetch_runtime(ONNXRUNTIME_WEB, tarball=valid_tarball)

    assert folder == package_dir(ONNXRUNTIME_WEB)
    assert check_files(ONNXRUNTIME_WEB, folder) == []
    assert fetch_leftovers(folder) == []


def test_fetch_runtime_changed_file(temp_cache, pinned_contents, tmp_path):
    contents = dict(pinned_contents, **{SMALL_FILE: with_changed_byte(pinned_contents[SMALL_FILE])})
    tarball = write_npm_tarball(tmp_path / "changed.tgz", contents)

    with pytest.raises(RuntimeFilesError) as raised:
        fetch_runtime(ONNXRUNTIME_WEB, tarball=tarball)

    message = str(raised.value)
    assert SMALL_FILE in message
    assert f"expected {pinned_sha256(SMALL_FILE)}" in message
    assert "ort-wasm-simd-threaded.wasm" not in message, "an unchanged file is reported as corrupt"
    folder = package_dir(ONNXRUNTIME_WEB)
    assert not folder.exists(), "a rejected tarball created the package folder"
    assert fetch_leftovers(folder) == []


def test_fetch_runtime_missing_file(temp_cache, pinned_contents, tmp_path):
    contents = {name: data for name, data in pinned_contents.items() if name != "ort-wasm-simd-threaded.wasm"}
    tarball = write_npm_tarball(tmp_path / "incomplete.tgz", contents)

    with pytest.raises(RuntimeFilesError) as raised:
        fetch_runtime(ONNXRUNTIME_WEB, tarball=tarball)

    assert "ort-wasm-simd-threaded.wasm is missing" in str(raised.value)
    assert not package_dir(ONNXRUNTIME_WEB).exists(), "a rejected tarball created the package folder"


def test_fetch_runtime_not_gzip(temp_cache, tmp_path):
    tarball = tmp_path / "runtime.tgz"
    tarball.write_text("not a tarball\n", encoding="utf-8")

    with pytest.raises(RuntimeFilesError) as raised:
        fetch_runtime(ONNXRUNTIME_WEB, tarball=tarball)

    assert str(tarball) in str(raised.value)
    assert not package_dir(ONNXRUNTIME_WEB).exists(), "an unreadable tarball created the package folder"


def test_fetch_runtime_rejected_keeps_cache(cached_runtime, pinned_contents, tmp_path):
    contents = dict(pinned_contents, **{SMALL_FILE: b"export default {};\n"})
    tarball = write_npm_tarball(tmp_path / "changed.tgz", contents)

    with pytest.raises(RuntimeFilesError):
        fetch_runtime(ONNXRUNTIME_WEB, tarball=tarball)

    assert check_files(ONNXRUNTIME_WEB, cached_runtime) == []
    assert fetch_leftovers(cached_runtime) == []


def test_fetch_runtime_replaces_corrupt_cache(cached_runtime, valid_tarball):
    path = cached_runtime / SMALL_FILE
    path.write_bytes(with_changed_byte(path.read_bytes()))

    fetch_runtime(ONNXRUNTIME_WEB, tarball=valid_tarball)

    assert check_files(ONNXRUNTIME_WEB, cached_runtime) == []


def test_cli_fetch_runtime_not_gzip(temp_cache, tmp_path, capsys):
    tarball = tmp_path / "BAD.tgz"
    tarball.write_bytes(b"\x00" * 64)

    code = main(["fetch-runtime", "--from-tarball", str(tarball)])
    lines = capsys.readouterr().err.splitlines()

    assert code == RuntimeFilesError.exit_code
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert str(tarball) in lines[0], f"error line does not name the tarball: {lines[0]!r}"
    assert not package_dir(ONNXRUNTIME_WEB).exists()


def test_cli_fetch_runtime_changed_file(temp_cache, pinned_contents, tmp_path, capsys):
    contents = dict(pinned_contents, **{SMALL_FILE: with_changed_byte(pinned_contents[SMALL_FILE])})
    tarball = write_npm_tarball(tmp_path / "changed.tgz", contents)

    code = main(["fetch-runtime", "--from-tarball", str(tarball)])
    lines = capsys.readouterr().err.splitlines()

    assert code == RuntimeFilesError.exit_code
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert SMALL_FILE in lines[0], f"error line does not name the changed file: {lines[0]!r}"
    assert not package_dir(ONNXRUNTIME_WEB).exists()


def test_cli_fetch_runtime_valid_tarball(temp_cache, valid_tarball, capsys):
    code = main(["fetch-runtime", "--from-tarball", str(valid_tarball)])
    output = capsys.readouterr().out

    assert code == 0
    assert f"{ONNXRUNTIME_WEB.npm_name} {ONNXRUNTIME_WEB.version}: verified" in output
    assert check_files(ONNXRUNTIME_WEB, package_dir(ONNXRUNTIME_WEB)) == []
