"""Take a screenshot of a bundle's demo page after it has processed some photos.

    python scripts/screenshot.py BUNDLE PHOTO... -o docs/demo.png
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from exporter.browser import chromium_page
from exporter.serve import BundleServer

logger = logging.getLogger("screenshot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path, help="exported bundle folder")
    parser.add_argument("photos", type=Path, nargs="+", help="photos to open in the page")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--width", type=int, default=1200, help="viewport width in CSS pixels (default: 1200)")
    parser.add_argument("--height", type=int, default=900, help="viewport height in CSS pixels (default: 900)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    with BundleServer(args.bundle) as server, chromium_page(None) as page:
        page.set_viewport_size({"width": args.width, "height": args.height})
        page.goto(server.url + "index.html")
        page.wait_for_selector("#status:has-text('Ready')")
        # The gallery shows the newest photo first; open them in reverse to keep the given order.
        for photo in reversed(args.photos):
            count = page.locator(".card .stats:has-text('detections')").count()
            page.set_input_files("#file-input", str(photo))
            page.locator(".card .stats:has-text('detections')").nth(count).wait_for()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.output), full_page=False)
    logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
