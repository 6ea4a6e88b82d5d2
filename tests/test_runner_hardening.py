"""Runner under stress and faults: a bounded soak on loopback, a pull killed mid-blob, a full disk."""

from __future__ import annotations

import errno
import hashlib
import http.server
import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: pip install '.[runner]' (make test does)")
httpx = pytest.importorskip("httpx")

from oci_registry import push_model, registry  # noqa: E402
from test_runner import NO_EOS, pull, start_runner, stop  # noqa: E402
from tiny_gguf import write_tiny_llama  # noqa: E402

pytestmark = pytest.mark.runner


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory):
    with registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf").read_bytes()


def test_soak_sixteen_clients(tmp_path: Path, reg: str, tiny: bytes) -> None:
    push_model(reg, "ai/soak", "v1", [tiny])
    proc, base = start_runner(tmp_path / "models")
    model = f"{reg}/ai/soak:v1"
    try:
        assert pull(base, model)[-1]["type"] == "success"
        deadline = time.monotonic() + 20
        errors: list[str] = []
        done = [0]
        lock = threading.Lock()

        def client(i: int) -> None:
            with httpx.Client(timeout=60) as c:
                for j in range(4):
                    if time.monotonic() > deadline:
                        return
                    body = {"model": model, "max_tokens": 6, "stream": True, "logit_bias": NO_EOS}
                    if (i + j) % 2:
                        url, body["messages"] = f"{base}/engines/v1/chat/completions", [{"role": "user", "content": "hi"}]
                    else:
                        url, body["prompt"] = f"{base}/engines/v1/completions", "the"
                    try:
                        with c.stream("POST", url, json=body) as resp:
                            events = [line for line in resp.iter_lines() if line.startswith("data: ")]
                        if resp.status_code != 200 or events[-1] != "data: [DONE]":
                            errors.append(f"client {i}: HTTP {resp.status_code}, last {events[-1:]}")
                            continue
                        last = json.loads(events[-2][6:])
                        if last["choices"][0].get("finish_reason") != "length":
                            errors.append(f"client {i}: stream cut short: {last}")
                            continue
                        with lock:
                            done[0] += 1
                    except httpx.HTTPError as exc:
                        errors.append(f"client {i}: {exc}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert errors == []
        assert done[0] >= 16
        assert httpx.get(f"{base}/engines/status").status_code == 200
    finally:
        stop(proc)


class _SlowProxy(http.server.ThreadingHTTPServer):
    """Forwards GETs to the registry, slowly, recording Range headers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.ranges: list[str | None] = []
        super().__init__(("127.0.0.1", 0), _SlowHandler)


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    server: _SlowProxy

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("range", "accept", "authorization")}
        if "/blobs/" in self.path:
            self.server.ranges.append(self.headers.get("Range"))
        req = urllib.request.Request(f"http://{self.server.upstream}{self.path}", headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=60)
        except urllib.error.HTTPError as exc:
            resp = exc
        self.send_response(resp.status if hasattr(resp, "status") else resp.code)
        for k, v in resp.headers.items():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        try:
            while True:
                block = resp.read(64 * 1024)
                if not block:
                    break
                self.wfile.write(block)
                if "/blobs/" in self.path:
                    time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_pull_killed_mid_blob_resumes_and_verifies(tmp_path: Path, reg: str, tiny: bytes) -> None:
    data = tiny + os.urandom(8 * 2**20)
    push_model(reg, "ai/killme", "v1", [data])
    digest_hex = hashlib.sha256(data).hexdigest()
    proxy = _SlowProxy(reg)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{proxy.server_address[1]}"
    models = tmp_path / "models"
    model = f"{address}/ai/killme:v1"
    try:
        proc, base = start_runner(models)
        partial = models / "blobs" / "sha256" / f"{digest_hex}.incomplete"

        def start_pull() -> None:
            try:
                httpx.post(f"{base}/models/create", json={"from": model}, timeout=60)
            except httpx.HTTPError:
                pass

        threading.Thread(target=start_pull, daemon=True).start()
        deadline = time.monotonic() + 30
        while not (partial.exists() and partial.stat().st_size > 2**20):
            assert time.monotonic() < deadline, "the pull never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kept = partial.stat().st_size
        assert 0 < kept < len(data)
        assert json.loads((models / "models.json").read_text())["models"] == []  # nothing registered

        proc, base = start_runner(models)
        assert pull(base, model)[-1]["type"] == "success"
        blob = models / "blobs" / "sha256" / digest_hex
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest_hex
        assert not partial.exists()
        assert any(r and r.startswith("bytes=") and int(r[6:].rstrip("-")) > 0 for r in proxy.ranges), proxy.ranges
        stop(proc)
    finally:
        proxy.shutdown()


def test_disk_full_leaves_the_store_consistent(tmp_path: Path, reg: str, tiny: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from runner import registry as regmod
    from runner.names import normalize
    from runner.store import NotFound, Store

    data = tiny + os.urandom(4 * 2**20)
    push_model(reg, "ai/diskfull", "v1", [data])
    store = Store(tmp_path / "store")
    monkeypatch.setenv("INSECURE_REGISTRY", "true")
    real_open = builtins.open

    class Full:
        def __init__(self, fh: object) -> None:
            self.fh = fh
            self.written = 0

        def write(self, block: bytes) -> int:
            if self.written + len(block) > 2**20:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(block)
            return self.fh.write(block)

        def __getattr__(self, name: str) -> object:
            return getattr(self.fh, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    def full_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        fh = real_open(path, mode, *args, **kwargs)
        return Full(fh) if "a" in mode or "w" in mode else fh

    monkeypatch.setattr(regmod, "open", full_open, raising=False)
    ref = normalize(f"{reg}/ai/diskfull:v1")
    with pytest.raises(regmod.PullError, match="No space left"):
        regmod.pull(ref, store, lambda ev: None)
    assert json.loads((store.root / "models.json").read_text()) == {"models": []}
    with pytest.raises(NotFound):
        store.find(ref)
    assert not store.blob_path("sha256:" + hashlib.sha256(data).hexdigest()).exists()
    monkeypatch.setattr(regmod, "open", real_open, raising=False)
    regmod.pull(ref, store, lambda ev: None)  # space is back: the pull resumes and completes
    assert store.find(ref)
    assert store.blob_path("sha256:" + hashlib.sha256(data).hexdigest()).read_bytes() == data
