"""Print the canonical project the way `docker compose config` prints it."""

from __future__ import annotations

import json
from typing import Any


def escape_dollars(value: Any) -> Any:
    """Double every `$` so the output can be loaded again (as `docker compose config` does)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_dollars(v) for v in value]
    return value


def used_resources(services: dict) -> dict[str, set]:
    """Names of the top-level networks, volumes, secrets, configs and models the services use."""
    used: dict[str, set] = {k: set() for k in ("networks", "volumes", "secrets", "configs", "models")}
    for svc in services.values():
        used["networks"].update(svc.get("networks") or {})
        used["models"].update(svc.get("models") or {})
        for vol in svc.get("volumes") or []:
            if vol.get("type") == "volume" and vol.get("source"):
                used["volumes"].add(vol["source"])
        for kind in ("secrets", "configs"):
            used[kind].update(ref.get("source") for ref in svc.get(kind) or [])
        build = svc.get("build")
        if isinstance(build, dict):
            used["secrets"].update(ref.get("source") for ref in build.get("secrets") or [])
    return used


def _mode(refs: list) -> list:
    return [{**r, "mode": f"0{r['mode']:o}"} if isinstance(r.get("mode"), int) else r for r in refs]


def config_document(data: dict, escape: bool = True) -> dict:
    """The project shaped like Compose's own JSON: unused resources dropped, every service with
    `command`/`entrypoint`, every network with an `ipam` block, empty settings omitted."""
    out: dict[str, Any] = {"name": data["name"]}
    used = used_resources(data.get("services", {}))
    for key in sorted(data):
        if key in ("name", "services"):
            continue
        value = data[key]
        if key in used:
            value = {k: v for k, v in value.items() if k in used[key]}
            if not value:
                continue
        out[key] = value
    services = {}
    for name in sorted(data.get("services", {})):
        svc = {
            k: v for k, v in data["services"][name].items()
            if not k.startswith("x-") and v != {} and v != []
        }
        svc.setdefault("command", None)
        svc.setdefault("entrypoint", None)
        for kind in ("secrets", "configs"):
            if kind in svc:
                svc[kind] = _mode(svc[kind])
        if isinstance(svc.get("build"), dict) and "secrets" in svc["build"]:
            svc["build"] = {**svc["build"], "secrets": _mode(svc["build"]["secrets"])}
        services[name] = {k: svc[k] for k in sorted(svc)}
    out["services"] = services
    if "networks" in out:
        out["networks"] = {k: {**v, "ipam": v.get("ipam") or {}} for k, v in sorted(out["networks"].items())}
    return escape_dollars(out) if escape else out


def to_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(doc: dict) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 30)
