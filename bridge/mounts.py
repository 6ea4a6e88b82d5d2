"""Compose bind mounts -> what the container sees under `docker compose up`.

- A file or directory of the project (under the compose project directory) is configuration the app
  reads (`./nginx.conf`, `./kong.yml`, init SQL): its bytes go into the chart (`files/mounts/`) and a
  ConfigMap mounted at the target (`subPath` for a file, `items` keeping the tree for a directory).
  Over the 1 MiB a ConfigMap holds, it is a warning and a PVC.
- A project path that does not exist yet (compose creates it), an empty directory, or a directory
  mounted read-write at a data path (`/var/lib/...`, `.../data`) holds data that must survive a
  restart: a PersistentVolumeClaim (values `persistence."<service>:<target>"`).
- A host path outside the project (`/var/run/docker.sock`, `/sys`, `~/.ssh`) is a hostPath only when
  `hostPath.enabled` is set (single-node clusters); otherwise a warning, and no volume.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .naming import dns_label, unique_name

MAX_CONFIGMAP_DATA = 1024 * 1024 - 4096
# Targets under which a read-write directory mount is data, not configuration.
_DATA_TARGET = re.compile(r"^/(var/lib|var/opt|data|srv/data|var/log)(/|$)|/data$|/data/|/db$|/storage$")


@dataclass
class MountFile:
    key: str  # ConfigMap key
    path: str  # path under the mount target ("" for a single-file mount)
    chart_file: str  # where the bytes are in the chart
    text: bool


@dataclass
class BindPlan:
    kind: str  # config | data | host
    files: list[MountFile] = field(default_factory=list)
    reason: str = ""


def is_text(data: bytes) -> bool:
    """Whether `data` can go into a ConfigMap's `data` (UTF-8), or needs `binaryData`."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _key(rel: str, used: set[str]) -> str:
    base = re.sub(r"[^-._a-zA-Z0-9]+", "_", rel.replace("/", "__")).strip(".") or "file"
    return unique_name(base[-200:], used)


def _tree(root: Path) -> list[tuple[str, Path]]:
    """Regular files under `root` (symlinks followed when they stay files), sorted by relative path."""
    out = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            p = Path(folder) / name
            if p.is_file():
                out.append((p.relative_to(root).as_posix(), p))
    return out


def plan_bind(source: str, target: str, read_only: bool, project_dir: str, chart_prefix: str,
              files: dict[str, bytes]) -> BindPlan:
    """Decide what one bind mount becomes; for config, put its bytes into `files` under `chart_prefix`."""
    src = Path(source)
    project = Path(project_dir).resolve()
    try:
        resolved = src.resolve()
    except OSError:
        resolved = src
    inside = resolved == project or project in resolved.parents
    if not inside:
        return BindPlan("host")
    if not src.exists():
        return BindPlan("data", reason="does not exist yet (compose creates it)")
    if src.is_file():
        entries = [("", src)]
    elif src.is_dir():
        entries = _tree(src)
        if not entries:
            return BindPlan("data", reason="is an empty directory")
        if not read_only and _DATA_TARGET.search(target):
            return BindPlan("data", reason=f"is mounted read-write at the data path {target}")
    else:
        return BindPlan("host")
    total = 0
    planned: list[MountFile] = []
    blobs: list[tuple[str, bytes]] = []
    used: set[str] = set()
    for i, (rel, path) in enumerate(entries):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        total += len(data)
        if total > MAX_CONFIGMAP_DATA:
            return BindPlan("data", reason="is larger than the 1 MiB a ConfigMap holds")
        chart_file = f"{chart_prefix}/{i:04d}"  # numbered: no .helmignore pattern can drop it
        planned.append(MountFile(_key(rel or src.name, used), rel, chart_file, is_text(data)))
        blobs.append((chart_file, data))
    for chart_file, data in blobs:
        files[chart_file] = data
    return BindPlan("config", planned)


def bind_label(service_label: str, target: str) -> str:
    """DNS label naming a bind mount's ConfigMap or claim: `<service>-<target>` (cut with a hash)."""
    return dns_label(f"{service_label}-{target}")


def bind_persistence() -> dict[str, Any]:
    """Values of the claim that holds a bind-mounted data path."""
    return {"enabled": True, "size": "1Gi", "storageClass": "", "accessModes": ["ReadWriteOnce"], "existingClaim": ""}
