"""Pinned browser runtime files: fetched once with npm into a cache, verified by SHA-256.

The bundle never loads a runtime from a CDN. The first export fetches the pinned
npm package with ``npm pack`` (the user's npm configuration decides the registry),
extracts only the files the bundle ships and checks each against the hash
recorded here. Later exports work offline from the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import RuntimeFilesError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinnedFile:
    """One file inside an npm package tarball, as shipped in the bundle."""

    tar_path: str
    sha256: str
    size: int
    # The backend whose entry point needs this file; ALL_BACKENDS for a file every backend loads.
    backend: str = "wasm"
    # A rewrite from PATCHES applied after the npm file matched ``sha256``, and the
    # SHA-256 of the rewritten file, which is what the cache and the bundle hold.
    patch: str | None = None
    patched_sha256: str | None = None

    @property
    def name(self) -> str:
        return self.tar_path.rsplit("/", 1)[-1]

    @property
    def shipped_sha256(self) -> str:
        return self.patched_sha256 or self.sha256


ALL_BACKENDS = "*"

# Byte rewrites of runtime files, by name. Each must be deterministic: its output is pinned.
PATCHES: dict[str, Callable[[bytes], bytes]] = {}


def register_patch(name: str):
    def add(function: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        PATCHES[name] = function
        return function

    return add


@dataclass(frozen=True)
class RuntimePackage:
    """An npm package release and the files of it that a bundle ships."""

    npm_name: str
    version: str
    license: str
    files: tuple[PinnedFile, ...]

    @property
    def key(self) -> str:
        return f"{self.npm_name.replace('/', '+')}-{self.version}"

    def files_for(self, backends: tuple[str, ...]) -> tuple[PinnedFile, ...]:
        return tuple(pinned for pinned in self.files if pinned.backend in backends or pinned.backend == ALL_BACKENDS)


def cache_root() -> Path:
    """Return the cache folder: $VISION_EXPORT_CACHE, else $XDG_CACHE_HOME or ~/.cache, + vision-export."""
    override = os.environ.get("VISION_EXPORT_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vision-export"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_fingerprint(path: Path) -> str:
    """SHA-256 of a model file, or of a model folder (SavedModel) as its sorted relative paths and file hashes."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path).as_posix()}\0{sha256_file(item)}\n".encode("utf-8"))
    return digest.hexdigest()


def check_files(package: RuntimePackage, folder: Path) -> list[str]:
    """Return one message per missing or corrupt file; empty when all match their pins."""
    problems = []
    for pinned in package.files:
        path = folder / pinned.name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256_file(path) != pinned.shipped_sha256:
            problems.append(f"{path} has SHA-256 {sha256_file(path)}, expected {pinned.shipped_sha256}")
    return problems


def package_dir(package: RuntimePackage) -> Path:
    return cache_root() / "runtimes" / package.key


def ensure_runtime(package: RuntimePackage, fetch: bool = True) -> Path:
    """Return the verified cache folder of ``package``, fetching it with npm when absent."""
    folder = package_dir(package)
    problems = check_files(package, folder)
    if not problems:
        return folder
    if folder.exists():
        logger.warning("runtime cache %s is incomplete or corrupt (%s); fetching it again", folder, problems[0])
    if not fetch:
        raise RuntimeFilesError(
            f"{package.npm_name} {package.version} is not in the cache ({problems[0]}): "
            "run 'vision-export fetch-runtime' once with npm available"
        )
    return fetch_runtime(package)


def fetch_runtime(package: RuntimePackage, tarball: Path | None = None) -> Path:
    """Fill the cache from ``tarball`` or from ``npm pack``, verifying every file."""
    from tqdm import tqdm

    folder = package_dir(package)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-") as work:
        work_dir = Path(work)
        with tqdm(total=3, desc=f"{package.npm_name} {package.version}", unit="step", disable=None) as bar:
            bar.set_postfix_str("npm pack" if tarball is None else "reading tarball")
            source = tarball if tarball is not None else _npm_pack(package, work_dir)
            bar.update()
            bar.set_postfix_str("extracting")
            staging = work_dir / "files"
            _extract(package, Path(source), staging)
            bar.update()
            bar.set_postfix_str("verifying SHA-256")
            problems = check_files(package, staging)
            if problems:
                raise RuntimeFilesError(
                    f"{package.npm_name} {package.version} failed verification: {'; '.join(problems)}. "
                    "The package differs from the pinned release; check your npm registry configuration"
                )
            bar.update()
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    logger.info("cached %s %s in %s", package.npm_name, package.version, folder)
    return folder


def _npm_pack(package: RuntimePackage, work_dir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeFilesError(
            f"npm not found, and {package.npm_name} {package.version} is not cached: install Node.js and npm "
            "(for example 'apt-get install npm'), or pass --from-tarball to 'vision-export fetch-runtime'"
        )
    spec = f"{package.npm_name}@{package.version}"
    logger.info("fetching %s with npm pack (once; later exports use the cache)", spec)
    result = subprocess.run(
        [npm, "pack", spec, "--pack-destination", str(work_dir), "--silent"],
        cwd=work_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeFilesError(f"'npm pack {spec}' failed: {result.stderr.strip() or result.stdout.strip()}")
    tarballs = sorted(work_dir.glob("*.tgz"))
    if not tarballs:
        raise RuntimeFilesError(f"'npm pack {spec}' wrote no tarball into {work_dir}")
    return tarballs[0]


def _extract(package: RuntimePackage, tarball: Path, destination: Path) -> None:
    destination.mkdir(parents=True)
    pinned_by_member = {f"package/{pinned.tar_path}": pinned for pinned in package.files}
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive.getmembers():
                pinned = pinned_by_member.get(member.name)
                if pinned is None or not member.isfile():
                    continue
                source = archive.extractfile(member)
                if pinned.patch is None:
                    with open(destination / pinned.name, "wb") as out:
                        shutil.copyfileobj(source, out)
                    continue
                data = source.read()
                # Patch only the exact pinned release; any other file is left for
                # check_files to report, since a rewrite of unknown bytes proves nothing.
                if hashlib.sha256(data).hexdigest() == pinned.sha256:
                    data = PATCHES[pinned.patch](data)
                (destination / pinned.name).write_bytes(data)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RuntimeFilesError(f"runtime tarball {str(tarball)!r} could not be read: {exc}") from exc
