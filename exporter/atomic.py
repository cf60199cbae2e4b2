"""Write an output folder atomically: build it beside the target, then swap it in."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputPathError

logger = logging.getLogger(__name__)


def check_output_dir(out: Path, force: bool) -> None:
    """Raise before any work when ``out`` cannot be written as asked."""
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"output path {str(out)!r} is a file: give a folder path with -o")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputPathError(
            f"output folder {str(out)!r} already exists and is not empty: pass --force to replace it, "
            "or choose another -o"
        )
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise OutputPathError(f"parent of output path {str(out)!r} is a file: choose another -o")


@contextlib.contextmanager
def atomic_output_dir(out: Path, force: bool) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out``, on any error it is deleted.

    An existing ``out`` is only replaced when ``force`` is set, and is moved
    aside first, so a failure during the swap restores it.
    """
    out = Path(out)
    check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    # mkdtemp creates the folder as 0700; a bundle is meant to be served, so apply the umask instead.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    backup = None
    if out.exists():
        backup = out.parent / f".{out.name}.previous"
        if backup.exists():
            shutil.rmtree(backup)
        out.rename(backup)
    try:
        staging.rename(out)
    except OSError as exc:
        if backup is not None:
            backup.rename(out)
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputPathError(f"could not move the new bundle into {str(out)!r}: {exc}") from exc
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
