"""Locate the web template: packaged inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_web_template"
CHECKOUT = Path(__file__).resolve().parent.parent / "web_template"


def template_root() -> Path:
    for candidate in (PACKAGED, CHECKOUT):
        if (candidate / "index.html.j2").is_file():
            return candidate
    raise FileNotFoundError(f"web template not found in {PACKAGED} or {CHECKOUT}: reinstall vision-export")
