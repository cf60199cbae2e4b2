"""Serve a bundle on 127.0.0.1 with correct MIME types and cross-origin isolation headers."""

from __future__ import annotations

import functools
import http.server
import logging
import threading
import urllib.parse
from pathlib import Path

from .security import ISOLATION_HEADERS, MIME_TYPES, SECURITY_HEADERS

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class BundleRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files plus optional extra folders mounted under URL prefixes."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, directory: str, mounts: dict[str, Path], headers: dict[str, str], **kwargs):
        self.mounts = mounts
        self.extra_headers = headers
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        for prefix, folder in self.mounts.items():
            if path.startswith(prefix):
                relative = urllib.parse.unquote(path[len(prefix):].split("?", 1)[0].split("#", 1)[0])
                candidate = (folder / relative).resolve()
                if candidate.is_relative_to(folder.resolve()):
                    return str(candidate)
                return str(folder / "__outside__")
        return super().translate_path(path)

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (signature fixed by the base class)
        logger.debug("%s %s", self.address_string(), format % args)

    def log_error(self, format: str, *args) -> None:  # noqa: A002
        logger.warning("%s %s", self.address_string(), format % args)


class BundleServer:
    """A threaded static server bound to 127.0.0.1; port 0 picks a free port.

    ``cross_origin_isolation=False`` leaves out the COOP/COEP headers, as a plain
    static host would, so the page runs wasm on one thread.
    """

    def __init__(self, root: Path, port: int = 0, mounts: dict[str, Path] | None = None, cross_origin_isolation: bool = True) -> None:
        headers = {k: v for k, v in SECURITY_HEADERS.items() if cross_origin_isolation or k not in ISOLATION_HEADERS}
        handler = functools.partial(BundleRequestHandler, directory=str(root), mounts=mounts or {}, headers=headers)
        self.httpd = http.server.ThreadingHTTPServer((HOST, port), handler)
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def start(self) -> "BundleServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="bundle-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "BundleServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
