"""`user`, `group_add`, `cap_add`, `cap_drop`, `privileged`, `read_only`, `sysctls`, `security_opt`
-> the container's and the pod's securityContext.

Secure defaults that do not break images: `allowPrivilegeEscalation: false`, `NET_RAW` dropped
(raw sockets, ARP spoofing) unless compose grants it, `seccompProfile: RuntimeDefault`; what compose
says wins. Kubernetes takes numeric ids only: names are warned about and left to the image.
"""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel, Warnings
from .base import OBJ, Builder


def _user(svc: dict, name: str, warnings: Warnings) -> dict:
    ctx: dict[str, Any] = {}
    user = svc.get("user")
    if not user:
        return ctx
    uid, _, gid = str(user).partition(":")
    if uid.isdigit():
        ctx["runAsUser"] = int(uid)
        if int(uid) != 0:
            ctx["runAsNonRoot"] = True
    else:
        warnings.add(f"service {name}: user {user!r} is not numeric; Kubernetes needs a UID (left to the image)")
    if gid:
        if gid.isdigit():
            ctx["runAsGroup"] = int(gid)
        else:
            warnings.add(f"service {name}: group {gid!r} is not numeric; ignored")
    return ctx


def container_security(svc: dict, name: str, warnings: Warnings) -> dict:
    ctx: dict[str, Any] = {"allowPrivilegeEscalation": False}
    ctx.update(_user(svc, name, warnings))
    caps: dict[str, list[str]] = {}
    if svc.get("cap_add"):
        caps["add"] = sorted({c.upper().removeprefix("CAP_") for c in svc["cap_add"]})
    drop = {c.upper().removeprefix("CAP_") for c in svc.get("cap_drop") or []}
    added = set(caps.get("add", []))
    if "ALL" not in drop and not added & {"NET_RAW", "ALL"} and not svc.get("privileged"):
        drop.add("NET_RAW")
    if drop:
        caps["drop"] = sorted(drop)
    if caps:
        ctx["capabilities"] = caps
    if svc.get("privileged"):
        ctx["privileged"] = True
    if svc.get("privileged") or added & {"SYS_ADMIN", "ALL"}:
        ctx["allowPrivilegeEscalation"] = True
    if svc.get("read_only"):
        ctx["readOnlyRootFilesystem"] = True
    return ctx


def pod_security(svc: dict, name: str, warnings: Warnings) -> dict:
    ctx: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    for opt in svc.get("security_opt") or []:
        if str(opt).replace("=", ":") == "seccomp:unconfined":
            ctx["seccompProfile"] = {"type": "Unconfined"}
    groups = []
    for g in svc.get("group_add") or []:
        if str(g).isdigit():
            groups.append(int(g))
        else:
            warnings.add(f"service {name}: group_add {g!r} is not numeric; ignored")
    if groups:
        ctx["supplementalGroups"] = sorted(set(groups))
    sysctls = svc.get("sysctls") or {}
    if sysctls:
        ctx["sysctls"] = [{"name": k, "value": str(v if v is not None else "")} for k, v in sorted(sysctls.items())]
    return ctx


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    return {"securityContext": container_security(service.compose, service.name, ctx.warnings),
            "podSecurityContext": pod_security(service.compose, service.name, ctx.warnings)}


SECURITY = Builder("security", build, {"securityContext": OBJ, "podSecurityContext": OBJ})
