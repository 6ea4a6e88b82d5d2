"""The workload and what it runs: `deploy.mode`, `deploy.replicas`/`scale`, `image`, `pull_policy`,
`build` (image only), `entrypoint`, `command`.

A one-shot (see oneshots.py) is a Job, `deploy.mode: global` a DaemonSet, anything else a Deployment.
`entrypoint` is the container's `command` and `command` its `args`, as Kubernetes names them.
"""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel
from .base import PULL_POLICY, Builder, obj

PULL_POLICIES = {
    "always": "Always",
    "never": "Never",
    "missing": "IfNotPresent",
    "if_not_present": "IfNotPresent",
    "build": "IfNotPresent",
}


def workload_kind(name: str, svc: dict, oneshots: set[str]) -> str:
    if name in oneshots:
        return "Job"
    if (svc.get("deploy") or {}).get("mode") == "global":
        return "DaemonSet"
    return "Deployment"


def split_image(image: str) -> dict:
    """`registry:5000/repo:tag@sha256:...` -> repository, tag, digest."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = ""
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return {"repository": image, "tag": tag or ("" if digest else "latest"), "digest": digest}


def pull_policy(value: str | None, warnings: Any, svc: str) -> str:
    if not value:
        return "IfNotPresent"
    mapped = PULL_POLICIES.get(value)
    if mapped:
        return mapped
    if value in ("refresh", "daily", "weekly") or value.startswith("every_"):
        warnings.add(f"service {svc}: pull_policy {value} has no Kubernetes equivalent; using Always")
        return "Always"
    return "IfNotPresent"


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    svc, name = service.compose, service.name
    replicas = (svc.get("deploy") or {}).get("replicas")
    if replicas is None:
        replicas = svc.get("scale")
    if svc.get("image"):
        image = split_image(str(svc["image"]))
    else:
        image = {"repository": f"{ctx.project.name}-{name}", "tag": "latest", "digest": ""}
        ctx.warnings.add(f"service {name}: has only `build`; build and push image {image['repository']}:latest, "
                         f"or set {service.key}.image.repository")
    image["pullPolicy"] = pull_policy(svc.get("pull_policy"), ctx.warnings, name)
    command = list(svc["entrypoint"]) if svc.get("entrypoint") else []
    return {
        "enabled": True,
        "replicas": 1 if replicas is None else max(0, int(replicas)),
        "image": image,
        "command": command,
        "args": list(svc["command"]) if svc.get("command") else [],
    }


WORKLOAD = Builder("workload", build, {
    "enabled": {"type": "boolean"},
    "replicas": {"type": "integer", "minimum": 0},
    "image": obj({"repository": {"type": "string", "minLength": 1}, "tag": {"type": "string"},
                  "digest": {"type": "string"}, "pullPolicy": PULL_POLICY}, ["repository"]),
    "command": {"type": "array", "items": {"type": "string"}},
    "args": {"type": "array", "items": {"type": "string"}},
})
