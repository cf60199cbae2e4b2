"""Static server: loopback binding, security headers, MIME types and mounted folders, over real HTTP."""

from __future__ import annotations

import html
import html.parser
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from conftest import make_image_model
from exporter.bundle import export_web
from exporter.serve import BundleServer

SECRET = "secret marker beside the mounted folder"
MOUNT = "/x/"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """A bundle exported from a tiny YOLOv8-layout model with 2 classes."""
    folder = tmp_path_factory.mktemp("serve")
    model = make_image_model(
        folder / "tiny_yolov8.onnx",
        {"output0": [1, 6, 84]},
        metadata={"names": "{0: 'scratch', 1: 'dent'}", "stride": "32", "imgsz": "[64, 64]", "task": "detect"},
    )
    return export_web(model, folder / "bundle").out


@pytest.fixture(scope="module")
def mount_dir(tmp_path_factory) -> Path:
    """A folder to mount, with a file beside it that must never be served."""
    outer = tmp_path_factory.mktemp("mounted")
    (outer / "secret.txt").write_text(SECRET, encoding="utf-8")
    inner = outer / "inner"
    inner.mkdir()
    (inner / "plain.txt").write_text("plain file\n", encoding="utf-8")
    (inner / "two words.txt").write_text("file with a space in its name\n", encoding="utf-8")
    return inner


@pytest.fixture(scope="module")
def server(bundle_dir, mount_dir):
    bundle_server = BundleServer(bundle_dir, port=0, mounts={MOUNT: mount_dir}).start()
    yield bundle_server
    bundle_server.stop()


def fetch(server: BundleServer, path: str) -> Response:
    """Send GET ``path`` to the test server on 127.0.0.1 and return the response, for HTTP errors too."""
    url = f"http://127.0.0.1:{server.httpd.server_address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return Response(reply.status, reply.headers, reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read())


def csp_sources(policy: str, directive: str) -> list[str]:
    """Return the source list of one CSP directive, or an empty list when it is absent."""
    for part in policy.split(";"):
        tokens = part.split()
        if tokens and tokens[0] == directive:
            return tokens[1:]
    return []


class ScriptTagParser(html.parser.HTMLParser):
    """Collect the attributes of every <script> tag and the text inside them."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_text += data.strip()


class MetaCspParser(html.parser.HTMLParser):
    """Find the policy of a <meta http-equiv="Content-Security-Policy"> tag."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.policy = values.get("content")


HEADER_PATHS = ["/", "/manifest.json", "/runtime/ort-wasm-simd-threaded.wasm", "/missing.js", f"{MOUNT}plain.txt"]


def test_server_binds_loopback(server):
    assert server.httpd.server_address[0] == "127.0.0.1"


def test_server_url_loopback(server):
    assert server.url == f"http://127.0.0.1:{server.httpd.server_address[1]}/"


@pytest.mark.parametrize("path", HEADER_PATHS)
def test_isolation_headers(server, path):
    headers = fetch(server, path).headers

    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin"
    assert headers.get("Cross-Origin-Embedder-Policy") == "require-corp"


@pytest.mark.parametrize("path", HEADER_PATHS)
def test_csp_header(server, path):
    policy = fetch(server, path).headers.get("Content-Security-Policy", "")

    assert "script-src 'self' 'wasm-unsafe-eval'" in policy, policy
    assert "unsafe-inline" not in policy, policy
    assert "'unsafe-eval'" not in csp_sources(policy, "script-src"), policy


def test_index_meta_csp_matches_header(server):
    response = fetch(server, "/")
    parser = MetaCspParser()
    parser.feed(response.body.decode("utf-8"))

    assert parser.policy is not None, "index.html has no Content-Security-Policy meta tag"
    assert html.unescape(parser.policy) == response.headers.get("Content-Security-Policy")


def test_index_has_no_inline_script(server):
    parser = ScriptTagParser()
    parser.feed(fetch(server, "/").body.decode("utf-8"))

    assert parser.scripts, "index.html loads no script"
    for attributes in parser.scripts:
        assert attributes.get("src"), f"script tag without src, which the CSP blocks: {attributes}"
    assert parser.inline_text == "", f"inline script text, which the CSP blocks: {parser.inline_text[:80]!r}"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/runtime/ort-wasm-simd-threaded.wasm", "application/wasm"),
        ("/runtime/ort.wasm.min.mjs", "text/javascript"),
        ("/runtime/ort-wasm-simd-threaded.mjs", "text/javascript"),
        ("/vision-export.js", "text/javascript"),
        ("/app/app.js", "text/javascript"),
        ("/manifest.json", "application/json"),
        ("/index.html", "text/html"),
    ],
)
def test_content_type(server, path, content_type):
    response = fetch(server, path)

    assert response.status == 200
    assert response.headers.get_content_type() == content_type


@pytest.mark.parametrize("name", ["manifest.json", "model.onnx", "runtime/ort.wasm.min.mjs"])
def test_served_bytes_match_file(server, bundle_dir, name):
    assert fetch(server, f"/{name}").body == (bundle_dir / name).read_bytes()


def test_missing_file_404(server):
    assert fetch(server, "/missing.js").status == 404


def test_mount_serves_file(server, mount_dir):
    response = fetch(server, f"{MOUNT}plain.txt")

    assert response.status == 200
    assert response.body == (mount_dir / "plain.txt").read_bytes()


def test_mount_ignores_query(server, mount_dir):
    response = fetch(server, f"{MOUNT}plain.txt?v=2")

    assert response.status == 200
    assert response.body == (mount_dir / "plain.txt").read_bytes()


def test_mount_missing_file_404(server):
    assert fetch(server, f"{MOUNT}missing.txt").status == 404


def test_mount_percent_encoded_name(server, mount_dir):
    response = fetch(server, f"{MOUNT}two%20words.txt")

    assert response.status == 200
    assert response.body == (mount_dir / "two words.txt").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        f"{MOUNT}../secret.txt",
        f"{MOUNT}%2e%2e/secret.txt",
        f"{MOUNT}%2E%2E/secret.txt",
        f"{MOUNT}..%2fsecret.txt",
        f"{MOUNT}%2e%2e%2fsecret.txt",
        f"{MOUNT}./../secret.txt",
    ],
)
def test_mount_rejects_traversal(server, path):
    response = fetch(server, path)

    assert SECRET.encode() not in response.body, f"{path} served the file outside the mount"
    assert response.status == 404


@pytest.mark.parametrize(
    "path",
    [
        f"{MOUNT}../../etc/passwd",
        f"{MOUNT}{'../' * 30}etc/passwd",
        f"{MOUNT}{'%2e%2e/' * 30}etc/passwd",
        f"{MOUNT}{'..%2f' * 30}etc/passwd",
        f"/{'../' * 30}etc/passwd",
        f"/{'%2e%2e/' * 30}etc/passwd",
    ],
)
def test_traversal_to_etc_passwd(server, path):
    passwd = Path("/etc/passwd")
    if not passwd.is_file() or passwd.stat().st_size == 0:
        pytest.skip("/etc/passwd is missing or empty here, so its content cannot be recognised")
    response = fetch(server, path)

    assert passwd.read_bytes() not in response.body, f"{path} served /etc/passwd"
    assert response.status == 404


def test_no_isolation_server_headers(bundle_dir):
    with BundleServer(bundle_dir, port=0, cross_origin_isolation=False) as plain_server:
        headers = fetch(plain_server, "/").headers

    assert headers.get("Cross-Origin-Opener-Policy") is None
    assert headers.get("Cross-Origin-Embedder-Policy") is None
    assert "script-src 'self' 'wasm-unsafe-eval'" in headers.get("Content-Security-Policy", "")
