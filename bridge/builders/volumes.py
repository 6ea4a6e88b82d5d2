"""Volumes: named volumes -> PersistentVolumeClaims; a service's `volumes`, `tmpfs`, `shm_size`,
`secrets` and `configs` -> its mounts.

Bind mounts are planned as `docker compose up` would see them:

- A file or directory of the project's tree (sources.content_root: its git work tree, else its folder)
  is configuration the app reads (`./nginx.conf`, `./kong.yml`, init SQL): its bytes go into the chart (`files/mounts/`) and a
  ConfigMap mounted at the target (`subPath` for a file, `items` keeping the tree for a directory).
  Over the 1 MiB a ConfigMap holds, it is a warning and a PVC.
- A project path that does not exist yet (compose creates it), an empty directory, or a directory
  mounted read-write at a data path (`/var/lib/...`, `.../data`) holds data that must survive a
  restart: a PersistentVolumeClaim (values `persistence."<service>:<target>"`).
- A path of the host itself (`/var/run/docker.sock`, `/sys`, `/etc/localtime`: sources.HOST_PATHS) is a
  hostPath only when `hostPath.enabled` is set (single-node clusters); otherwise a warning, and no volume.
- Any other path outside the project's content root (`~/.flowise`) is the app's data: a claim, never
  content in the chart.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..limits import MAX_OBJECT_DATA
from ..model import Context, ServiceModel
from ..naming import dns_label, unique_name
from ..sources import content_root, is_host_path, is_inside, is_system
from ..units import parse_bytes
from .base import ACCESS_MODES, QUANTITY, Builder, obj
from .resources import quantity_bytes

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
    """Decide what one bind mount becomes; for config, put its bytes into `files` under `chart_prefix`.
    Content comes only from the project's content root (sources.py: its git work tree, else its folder),
    symlinks followed: a file that leads out of it is left out of the chart."""
    src = Path(source)
    root = content_root(project_dir)
    if is_system(src) or is_host_path(src):
        return BindPlan("host")
    if not is_inside(src, root):
        # `~/.flowise`, `${CONFIG}` under the home directory: the user's data, never content in the chart
        return BindPlan("data", reason=f"is outside the project ({root}), the app's own data")
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
        if not is_inside(path, root):
            continue  # a symlink out of the project: never its content
        try:
            data = path.read_bytes()
        except OSError:
            continue
        total += len(data)
        if total > MAX_OBJECT_DATA:
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
    return {"enabled": True, "size": "1Gi", "storageClass": "", "accessModes": ["ReadWriteOnce"], "existingClaim": "",
            "subPath": DATA_SUBPATH, "seed": True}


# Where the data goes inside a claim: not its root, which on a fresh block volume (EBS, Persistent Disk,
# Azure Disk: ext4) holds lost+found, which postgres' and mysql's initialisation refuse.
DATA_SUBPATH = "data"
VOLUME_SCHEMA = obj({"enabled": {"type": "boolean"}, "size": QUANTITY, "storageClass": {"type": "string"},
                     "accessModes": ACCESS_MODES, "existingClaim": {"type": "string"},
                     "subPath": {"type": "string", "pattern": "^([^/.][^/]*)(/[^/.][^/]*)*$|^$"},
                     "seed": {"type": "boolean"}}, ["size"])


def named_volume_claims(services: dict[str, dict], volumes: dict[str, Any], labels: dict[str, str]
                        ) -> tuple[dict[str, Any], list[dict]]:
    """(values `persistence`, claim objects) of the named volumes some service mounts: 1Gi unless
    `driver_opts.size` says otherwise; ReadWriteMany when several services mount one volume."""
    users: dict[str, set[str]] = {}
    for sname, svc in services.items():
        for vol in svc.get("volumes") or []:
            if vol.get("type") == "volume" and vol.get("source"):
                users.setdefault(vol["source"], set()).add(sname)
    persistence: dict[str, Any] = {}
    claims: list[dict] = []
    for key in sorted(v for v in volumes if v in users):
        spec = volumes[key] or {}
        size = "1Gi"
        if (spec.get("driver_opts") or {}).get("size"):
            try:
                size = quantity_bytes(parse_bytes(spec["driver_opts"]["size"]))
            except ValueError:
                pass
        persistence[key] = {
            "enabled": True,
            "size": size,
            "storageClass": "",
            "accessModes": ["ReadWriteOnce"] if len(users[key]) == 1 else ["ReadWriteMany"],
            "existingClaim": str(spec.get("name")) if spec.get("external") else "",
            # an external volume is the user's, laid out as it is; a new claim keeps data off its root
            "subPath": "" if spec.get("external") else DATA_SUBPATH,
            "seed": True,
        }
        claims.append({"key": key, "label": labels[key], "external": bool(spec.get("external")),
                       "component": f"data-{labels[key]}"})
    return persistence, claims


def _mount_target(target: str, default_dir: str) -> str:
    return target if target.startswith("/") else posixpath.join(default_dir, target)


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    """The service's mounts (service.volumes); bind-mounted data paths add claims to ctx."""
    svc, sname, label = service.compose, service.name, service.label
    mounts: list[dict] = []
    names: set[str] = set()
    # Containers sharing a pod (network_mode: service:X) keep their volume names apart.
    prefix = f"{label[:10].strip('-')}-" if sname in ctx.sidecar_roots else ""

    def vol_name(base: str) -> str:
        return unique_name(prefix + (re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:50].strip("-") or "vol"), names)

    for vol in svc.get("volumes") or []:
        target = vol.get("target")
        if not target:
            continue
        entry: dict[str, Any] = {"mountPath": target, "readOnly": bool(vol.get("read_only"))}
        vtype = vol.get("type")
        if vtype == "volume" and vol.get("source") in ctx.claimed_volumes:
            claim = "data-" + ctx.volume_labels[vol["source"]]
            entry.update({"name": vol_name(claim), "type": "persistentVolumeClaim", "volume": vol["source"],
                          "claim": claim})
            if (vol.get("volume") or {}).get("subpath"):
                entry["subPath"] = vol["volume"]["subpath"]
            service.recreate = True
        elif vtype == "volume":
            entry.update({"name": vol_name("anon-" + target), "type": "emptyDir"})
        elif vtype == "bind":
            source = str(vol.get("source") or "")
            blabel = bind_label(label, target)
            plan = plan_bind(source, target, bool(vol.get("read_only")), ctx.project.working_dir,
                             f"files/mounts/{blabel}", ctx.files)
            if plan.kind == "config":
                entry.update({"name": vol_name("bind-" + target), "type": "bindConfig", "readOnly": True,
                              "component": f"bind-{blabel}", "files": plan.files})
                if len(plan.files) == 1 and plan.files[0].path == "":
                    entry["subPath"] = plan.files[0].key  # a single file, mounted as that file
                service.bind_configs.append(entry)
            elif plan.kind == "data":
                # One directory is one claim, whichever services mount it, as compose shares it: the first
                # service (by name) to mount it names it; a claim several services mount is ReadWriteMany.
                shared = ctx.bind_claims.get(os.path.realpath(source))
                if shared is None:
                    pkey, claim = f"{sname}:{target}", f"bind-{blabel}"
                    ctx.bind_claims[os.path.realpath(source)] = (pkey, claim)
                    ctx.persistence[pkey] = bind_persistence()
                    ctx.claims.append({"key": pkey, "label": blabel, "external": False, "component": claim})
                    ctx.warnings.add(f"service {sname}: bind mount {source} -> {target} {plan.reason}: it becomes a "
                                     f"PersistentVolumeClaim (values persistence.\"{pkey}\")")
                else:
                    pkey, claim = shared
                    ctx.persistence[pkey]["accessModes"] = ["ReadWriteMany"]
                    ctx.warnings.add(f"service {sname}: bind mount {source} -> {target} shares the claim of "
                                     f"persistence.\"{pkey}\" (one directory, one volume, as compose shares it; "
                                     f"ReadWriteMany)")
                entry.update({"name": vol_name("bind-" + target), "type": "persistentVolumeClaim", "volume": pkey,
                              "claim": claim})
                service.recreate = True
            else:
                entry.update({"name": vol_name("host-" + target), "type": "bind", "hostPath": source})
                ctx.warnings.add(f"service {sname}: bind mount of the host path {source} -> {target} has no "
                                 f"Kubernetes equivalent on a multi-node cluster; no volume unless hostPath.enabled=true")
        elif vtype == "tmpfs":
            entry.update({"name": vol_name("tmpfs-" + target), "type": "tmpfs"})
            size = (vol.get("tmpfs") or {}).get("size")
            if size:
                entry["sizeLimit"] = quantity_bytes(parse_bytes(size))
        else:
            ctx.warnings.add(f"service {sname}: volume type {vtype} is not supported; ignored")
            continue
        mounts.append(entry)
    if svc.get("shm_size"):
        mounts.append({"mountPath": "/dev/shm", "readOnly": False, "name": vol_name("shm"), "type": "tmpfs",
                       "sizeLimit": quantity_bytes(int(svc["shm_size"]))})
    for t in svc.get("tmpfs") or []:
        path, _, opts = str(t).partition(":")
        entry = {"mountPath": path, "readOnly": False, "name": vol_name("tmpfs-" + path), "type": "tmpfs"}
        for opt in opts.split(","):
            if opt.startswith("size="):
                try:
                    entry["sizeLimit"] = quantity_bytes(parse_bytes(opt[5:]))
                except ValueError:
                    pass
        mounts.append(entry)
    for kind, refs, objects, default_dir in (("secret", svc.get("secrets") or [], ctx.secrets, "/run/secrets"),
                                             ("configMap", svc.get("configs") or [], ctx.configs, "/")):
        by_key = {o["key"]: o for o in objects}
        for ref in refs:
            source = ref.get("source")
            if source not in by_key:
                continue
            entry = {
                "mountPath": _mount_target(str(ref.get("target") or source), default_dir), "readOnly": True,
                "name": vol_name(f"{kind[:3]}-{by_key[source]['label']}"), "type": kind, "source": source,
                "subPath": by_key[source]["label"],
            }
            if isinstance(ref.get("mode"), int):
                entry["mode"] = ref["mode"]
            mounts.append(entry)
    service.volumes = mounts
    return {}


MOUNTS = Builder("volumes", build, {})
