"""Pull security: the registry token never leaves the host that issued the challenge, the token realm
must be trusted, and the runner fetches plain URLs only when allowed."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.names import parse
from runner.registry import PullError, pull, pull_oci
from runner.store import MEDIA_CONFIG, MEDIA_GGUF, MEDIA_MANIFEST, Store

pytestmark = pytest.mark.runner

GGUF = b"GGUF" + b"\x00" * 60
CONFIG = json.dumps({"config": {"format": "gguf"}}).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _serve(handler: type) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


@pytest.fixture()
def storage() -> Iterator[dict]:
    """A second server standing in for object storage: it serves blobs and records any Authorization."""
    seen: dict = {"auth": [], "gets": 0}

    class Blobs(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen["gets"] += 1
            if self.headers.get("Authorization"):
                seen["auth"].append(self.headers["Authorization"])
                self.send_response(400)
                self.end_headers()
                return
            data = {_digest(GGUF): GGUF, _digest(CONFIG): CONFIG}[self.path.rsplit("/", 1)[-1]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server, host = _serve(Blobs)
    seen["host"] = host
    yield seen
    server.shutdown()


def _registry(storage_host: str, realm: str | None = None) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A registry that demands a bearer token and redirects every blob download to `storage_host`."""
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": _digest(CONFIG), "size": len(CONFIG)},
        "layers": [{"mediaType": MEDIA_GGUF, "digest": _digest(GGUF), "size": len(GGUF)}],
    }).encode()
    state = {}

    class Registry(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/token"):
                body = json.dumps({"token": "registry-secret"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.headers.get("Authorization") != "Bearer registry-secret":
                self.send_response(401)
                token_realm = realm or f"http://{state['host']}/token"
                self.send_header("WWW-Authenticate", f'Bearer realm="{token_realm}",service="test"')
                self.end_headers()
                return
            if "/manifests/" in self.path:
                self.send_response(200)
                self.send_header("Content-Type", MEDIA_MANIFEST)
                self.send_header("Content-Length", str(len(manifest)))
                self.end_headers()
                self.wfile.write(manifest)
                return
            self.send_response(307)
            self.send_header("Location", f"http://{storage_host}/signed/{self.path.rsplit('/', 1)[-1]}")
            self.end_headers()

    server, host = _serve(Registry)
    state["host"] = host
    return server, host


def test_token_is_not_sent_where_blobs_are_redirected(tmp_path: Path, storage: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSECURE_REGISTRY", "true")
    server, host = _registry(storage["host"])
    try:
        digest = pull_oci(parse(f"{host}/ai/tiny:v1"), Store(tmp_path), lambda event: None)
    finally:
        server.shutdown()
    assert digest.startswith("sha256:")
    assert storage["gets"] == 2 and storage["auth"] == []


@pytest.mark.parametrize("realm", ["http://evil.example:9/token", "ftp://127.0.0.1/token", "file:///etc/passwd"])
def test_untrusted_token_realms_are_refused(realm: str, tmp_path: Path, storage: dict,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSECURE_REGISTRY", "true")
    server, host = _registry(storage["host"], realm=realm)
    try:
        with pytest.raises(PullError, match="untrusted token service"):
            pull_oci(parse(f"{host}/ai/tiny:v1"), Store(tmp_path), lambda event: None)
    finally:
        server.shutdown()


def test_plain_http_realm_needs_insecure_registry(tmp_path: Path, storage: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSECURE_REGISTRY", raising=False)
    from runner import registry

    client = registry._Client(parse("registry.example/ai/tiny:v1"), None)
    with pytest.raises(PullError, match="untrusted token service"):
        client._check_realm("http://registry.example/token")
    client._check_realm("https://auth.registry.example/token")


def test_url_sources_are_off_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELS_ALLOW_URL_PULLS", raising=False)
    with pytest.raises(PullError, match="MODELS_ALLOW_URL_PULLS"):
        pull("http://127.0.0.1:9/model.gguf", Store(tmp_path), lambda event: None)
    monkeypatch.delenv("MODELS_IMPORT_DIR", raising=False)
    with pytest.raises(PullError, match="MODELS_IMPORT_DIR"):
        pull("file:///etc/passwd", Store(tmp_path), lambda event: None)
