"""Start headless Chromium through Playwright and load a bundle page."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import Iterator

from .errors import BrowserError

logger = logging.getLogger(__name__)

# Without the background-networking flags Chromium contacts outside hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-quic",
]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str:
    """Return the Chromium executable: $VISION_EXPORT_CHROMIUM, else a system install."""
    override = os.environ.get("VISION_EXPORT_CHROMIUM")
    if override:
        if not Path(override).is_file():
            raise BrowserError(f"VISION_EXPORT_CHROMIUM={override!r} is not a file: point it at a Chromium executable")
        return override
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise BrowserError(
        "Chromium not found: install it (Debian/Ubuntu: 'apt-get install chromium') "
        "or set VISION_EXPORT_CHROMIUM to its executable"
    )


@contextlib.contextmanager
def chromium_page(
    url: str | None, timeout_s: float = 120.0, extra_args: list[str] | None = None, device_scale_factor: float = 1.0
) -> Iterator[object]:
    """Open ``url`` (or nothing, when None) in a fresh headless Chromium and yield the Playwright page.

    Console errors and uncaught page errors are logged, so a failing bundle
    leaves a trace in the verify output.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserError("Playwright is not installed: pip install playwright") from exc

    executable = find_chromium()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + (extra_args or []))
        except PlaywrightError as exc:
            raise BrowserError(f"Chromium at {executable} failed to start: {exc}") from exc
        try:
            page = browser.new_page(device_scale_factor=device_scale_factor)
            page.set_default_timeout(timeout_s * 1000)
            page.on("console", lambda msg: msg.type in ("error", "warning") and logger.debug("browser %s: %s", msg.type, msg.text))
            page.on("pageerror", lambda err: logger.warning("browser page error: %s", err))
            if url is not None:
                page.goto(url)
            yield page
        finally:
            browser.close()
