"""Statistics and bundle file sizes for ``vision-export bench``."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any, Sequence

# zlib's default level, which Apache's mod_deflate also uses. nginx defaults to level 1 and
# some hosts serve Brotli, so real transfer sizes can differ a little.
GZIP_LEVEL = 6

STAGES = ("preprocess", "inference", "postprocess", "total")


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) with linear interpolation, as numpy's default does."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Return median, p90, min, max and count of timings in milliseconds."""
    return {
        "median": percentile(values, 50),
        "p90": percentile(values, 90),
        "min": min(values),
        "max": max(values),
        "count": len(values),
    }


def ratio(browser: float, native: float) -> float | None:
    """Return browser / native, or None when the native time is 0 (nothing to compare)."""
    return browser / native if native > 0 else None


def stage_table(browser: list[dict[str, float]], native: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Summarise per-frame stage timings of both sides; the ratio compares medians."""
    table = {}
    for stage in STAGES:
        web = summarize([frame[stage] for frame in browser])
        ref = summarize([frame[stage] for frame in native])
        table[stage] = {"browser": web, "native": ref, "ratio": ratio(web["median"], ref["median"])}
    return table


def file_sizes(root: Path) -> list[dict[str, Any]]:
    """Return every file of a bundle with its size raw and gzip-compressed, in bytes, largest first."""
    files = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        data = path.read_bytes()
        files.append({"path": path.relative_to(root).as_posix(), "bytes": len(data), "gzip_bytes": len(gzip.compress(data, GZIP_LEVEL, mtime=0))})
    files.sort(key=lambda entry: (-entry["bytes"], entry["path"]))
    return files


def size_summary(files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total_bytes": sum(entry["bytes"] for entry in files),
        "total_gzip_bytes": sum(entry["gzip_bytes"] for entry in files),
        "gzip_level": GZIP_LEVEL,
        "files": files,
    }
