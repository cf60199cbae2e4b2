"""Write the HTML parity report: each image with reference and browser boxes drawn."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

from .compare import describe_tolerance
from .templates import template_root


def write_html_report(report, destination: Path) -> None:
    """Render ``report`` (a VerifyReport) to a single self-contained HTML file."""
    import jinja2

    from .reference import load_image_rgb

    items = []
    for path, parity in zip(report.image_paths, report.images):
        height, width = load_image_rgb(path).shape[:2]
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data_url = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        items.append({
            "name": path.name,
            "width": width,
            "height": height,
            "data_url": data_url,
            "parity": parity,
            "reference": parity.reference_detections,
            "browser": parity.browser_detections,
        })
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_root() / "report")),
        autoescape=True,  # labels and file names are untrusted text
        undefined=jinja2.StrictUndefined,
    )
    html = environment.get_template("parity.html.j2").render(
        bundle=report.bundle,
        backend=report.backend,
        threads=report.threads,
        tolerance=report.tolerance,
        tolerance_text=describe_tolerance(report.tolerance),
        passed=report.passed,
        images=items,
    )
    Path(destination).write_text(html, encoding="utf-8")
