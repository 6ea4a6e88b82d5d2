"""Compose `secrets` and `configs` -> Secret and ConfigMap objects (mounted by volumes.py).

A config's content (`file`, `content` or `environment`) is copied into the chart (`files/configs/`).
A secret's content is not (charts get committed and pushed): it is supplied at install time
(`--set-file`/`--set-literal`, see secrets.py) unless `--embed-secrets` copies it into `files/secrets/`.
External ones, and file sources that do not exist, name an existing object in values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BridgeError
from ..limits import MAX_OBJECT_DATA
from ..loader import Project
from ..model import Warnings
from ..secrets import InstallValue, install_value, set_key
from ..sources import content_root, is_inside, is_system
from .base import obj


def secrets_schema(names: list[str]) -> dict:
    return obj({k: obj({"existingSecret": {"type": "string"}, "value": {"type": "string"}}) for k in names})


def configs_schema(names: list[str]) -> dict:
    return obj({k: obj({"existingConfigMap": {"type": "string"}}) for k in names})


def file_objects(
    kind: str, data: dict, labels: dict[str, str], project: Project, files: dict[str, bytes], warnings: Warnings,
    embed_secrets: bool = False,
) -> tuple[list[dict], dict]:
    """(Secret or ConfigMap objects, their values) for the compose `secrets` or `configs` services use."""
    used = {
        ref.get("source")
        for svc in (data.get("services") or {}).values()
        for ref in (svc.get(kind) or [])
    }
    models: list[dict] = []
    values: dict[str, Any] = {}
    root = content_root(project.working_dir)
    for key in sorted(data.get(kind) or {}):
        if key not in used:
            continue
        spec = data[kind][key] or {}
        if spec.get("file") and is_system(Path(spec["file"])):
            raise BridgeError(f"{kind[:-1]} file {spec['file']} is a system path: it holds the converting machine's "
                              f"data, not the app's", path=(kind, key, "file"))
        outside = bool(spec.get("file")) and Path(spec["file"]).exists() and not is_inside(Path(spec["file"]), root)
        label = labels[key]
        entry: dict[str, Any] = {
            "key": key, "label": label, "external": bool(spec.get("external")), "install": None, "file": None,
        }
        existing = str(spec.get("name")) if spec.get("external") else ""
        content: bytes | None = None
        if spec.get("external"):
            pass
        elif kind == "secrets" and not embed_secrets:
            # The content is supplied at install time; the file need not exist yet.
            entry["install"] = install_value(key, spec)
            entry["required"] = (entry["install"] or InstallValue("--set-file", set_key("secrets", key, "value"))
                                 ).missing_message(key, project.working_dir)
            file = Path(spec["file"]) if spec.get("file") else None
            if file is not None and not file.is_file():
                warnings.add(f"secret {key}: file {spec['file']} not found; supply the content at install time")
            elif file is not None and file.stat().st_size > MAX_OBJECT_DATA:
                raise BridgeError(f"secret {key} is larger than Kubernetes allows in one Secret (1 MiB)",
                                  path=(kind, key))
            elif spec.get("environment") and str(spec["environment"]) not in project.environment:
                warnings.add(f"secret {key}: variable {spec['environment']} is not set; supply the value at install")
        elif spec.get("file") and (outside or not Path(spec["file"]).exists()):
            # Compose only reads the file at `up`; the chart expects the operator to provide it.
            existing = str(spec.get("name") or key)
            why = f"is outside the project ({root}), so it is not copied into the chart" if outside else "not found"
            warnings.add(f"{kind[:-1]} {key}: file {spec['file']} {why}; the chart expects an existing "
                  f"{'Secret' if kind == 'secrets' else 'ConfigMap'} named {existing!r} (key {key!r}), "
                  f"set {kind}.{key}.{'existingSecret' if kind == 'secrets' else 'existingConfigMap'} to change it")
            entry["external"] = True
        else:
            if spec.get("file"):
                path = Path(spec["file"])
                if kind == "secrets":
                    warnings.add(f"secret {key}: --embed-secrets copies its content into the chart "
                          f"(files/secrets/{label}); anyone who can read the chart can read the secret")
                try:
                    content = path.read_bytes()
                except IsADirectoryError:
                    raise BridgeError(
                        f"{kind[:-1]} file {spec['file']} is a directory; only files are supported",
                        path=(kind, key, "file"),
                    ) from None
                except OSError as exc:
                    raise BridgeError(f"cannot read {spec['file']}: {exc.strerror}", path=(kind, key, "file")) from None
            elif "content" in spec:
                content = str(spec.get("content") or "").encode()
            elif spec.get("environment"):
                var = str(spec["environment"])
                if var not in project.environment:
                    warnings.add(f"{kind[:-1]} {key}: variable {var} is not set; the value is empty")
                content = project.environment.get(var, "").encode()
            else:
                content = b""
            if len(content) > MAX_OBJECT_DATA:
                raise BridgeError(
                    f"{kind[:-1]} {key} is larger than Kubernetes allows (1 MiB)", path=(kind, key)
                )
            entry["file"] = f"files/{kind}/{label}"
            files[entry["file"]] = content
        models.append(entry)
        if kind == "secrets":
            values[key] = {"existingSecret": existing, "value": ""}
        else:
            values[key] = {"existingConfigMap": existing}
    return models, values
