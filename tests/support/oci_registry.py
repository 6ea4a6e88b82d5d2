"""A real OCI registry (Debian's `docker-registry`) on 127.0.0.1, and a pusher for DMR model artifacts."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MEDIA_CONFIG = "application/vnd.docker.ai.model.config.v0.1+json"
MEDIA_GGUF = "application/vnd.docker.ai.gguf.v3"
MEDIA_LICENSE = "application/vnd.docker.ai.license"
MEDIA_TEMPLATE = "application/vnd.docker.ai.chat.template.jinja"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def registry(workdir: Path) -> Iterator[str]:
    """Start docker-registry on a free loopback port; yield `127.0.0.1:PORT`."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry not installed (Debian package docker-registry; `make runner-tools`)")
    port = free_port()
    (workdir / "storage").mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _request(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> urllib.response.addinfourl:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req, timeout=60)


def push_blob(address: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with _request("POST", f"http://{address}/v2/{repo}/blobs/uploads/") as resp:
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = f"http://{address}{location}"
    sep = "&" if "?" in location else "?"
    with _request("PUT", f"{location}{sep}digest={digest}", data,
                  {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}):
        pass
    return digest


def push_model(address: str, repo: str, tag: str, ggufs: list[bytes], license_text: bytes | None = None,
               config: dict | None = None, chat_template: str | None = None) -> tuple[str, dict]:
    """Push a DMR-style model artifact; return (manifest digest, manifest)."""
    cfg = config or {"config": {"format": "gguf", "quantization": "F32", "parameters": "0.3M",
                                "architecture": "llama", "size": f"{sum(map(len, ggufs))} B"},
                     "descriptor": {"created": "2026-01-01T00:00:00Z"}}
    cfg_raw = json.dumps(cfg).encode()
    layers = []
    for g in ggufs:
        layers.append({"mediaType": MEDIA_GGUF, "digest": push_blob(address, repo, g), "size": len(g)})
    if license_text is not None:
        layers.append({"mediaType": MEDIA_LICENSE, "digest": push_blob(address, repo, license_text), "size": len(license_text)})
    if chat_template is not None:
        raw_template = chat_template.encode()
        layers.append({"mediaType": MEDIA_TEMPLATE, "digest": push_blob(address, repo, raw_template), "size": len(raw_template)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": push_blob(address, repo, cfg_raw), "size": len(cfg_raw)},
        "layers": layers,
    }
    raw = json.dumps(manifest).encode()
    with _request("PUT", f"http://{address}/v2/{repo}/manifests/{tag}", raw, {"Content-Type": MEDIA_MANIFEST}):
        pass
    return "sha256:" + hashlib.sha256(raw).hexdigest(), manifest
