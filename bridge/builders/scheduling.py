"""Where and with what metadata pods run: `deploy.placement.constraints` and `platform` ->
nodeSelector / node affinity; `labels`, `annotations` -> pod annotations; `extra_hosts` -> hostAliases;
`dns`, `dns_search`, `dns_opt` -> dnsConfig. Tolerations and pod labels are empty values for operators."""

from __future__ import annotations

import re
from typing import Any

from ..model import Context, ServiceModel, Warnings
from ..naming import is_qualified_key
from .base import OBJ, STR_MAP, Builder

_CONSTRAINT = re.compile(r"^\s*([\w.\-/]+)\s*(==|!=)\s*(.+?)\s*$")
_NODE_KEYS = {
    "node.hostname": "kubernetes.io/hostname",
    "node.platform.os": "kubernetes.io/os",
    "node.platform.arch": "kubernetes.io/arch",
}
_IP = re.compile(r"[0-9a-fA-F:.]+")


def placement(svc: dict, name: str, warnings: Warnings) -> tuple[dict, dict]:
    """(nodeSelector, affinity): `==` constraints select nodes, `!=` ones exclude them."""
    selector: dict[str, str] = {}
    exprs: list[dict] = []
    for c in (((svc.get("deploy") or {}).get("placement") or {}).get("constraints")) or []:
        m = _CONSTRAINT.match(str(c))
        if not m:
            warnings.add(f"service {name}: placement constraint {c!r} not understood; ignored")
            continue
        key, op, value = m.groups()
        if key.startswith("node.labels."):
            key = key[len("node.labels."):]
        elif key in _NODE_KEYS:
            key = _NODE_KEYS[key]
        else:
            warnings.add(f"service {name}: placement constraint on {key} has no Kubernetes equivalent; ignored")
            continue
        if not is_qualified_key(key):
            warnings.add(f"service {name}: node label {key!r} is not a valid Kubernetes label key; ignored")
            continue
        if op == "==":
            selector[key] = value
        else:
            exprs.append({"key": key, "operator": "NotIn", "values": [value]})
    affinity: dict = {}
    if exprs:
        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": exprs}]}}}
    if svc.get("platform") and "/" in str(svc["platform"]):
        os_, arch = str(svc["platform"]).split("/")[:2]
        selector.setdefault("kubernetes.io/os", os_)
        selector.setdefault("kubernetes.io/arch", arch)
    return selector, affinity


def annotations(svc: dict, name: str, warnings: Warnings) -> dict[str, str]:
    out: dict[str, str] = {}
    for source in ("labels", "annotations"):
        for k, v in sorted((svc.get(source) or {}).items()):
            if not is_qualified_key(k):
                warnings.add(f"service {name}: {source[:-1]} {k!r} is not a valid Kubernetes annotation key; dropped")
                continue
            out[k] = "" if v is None else str(v)
    return out


def host_aliases(svc: dict, name: str, warnings: Warnings) -> list[dict]:
    by_ip: dict[str, list[str]] = {}
    for entry in svc.get("extra_hosts") or []:
        host, _, ip = str(entry).partition("=")
        if ip == "host-gateway" or not _IP.fullmatch(ip or ""):
            warnings.add(f"service {name}: extra_hosts {host}={ip} has no Kubernetes equivalent; ignored")
            continue
        hosts = by_ip.setdefault(ip, [])
        if host not in hosts:
            hosts.append(host)
    return [{"ip": ip, "hostnames": hosts} for ip, hosts in sorted(by_ip.items())]


def dns_config(svc: dict) -> dict:
    cfg: dict[str, Any] = {}
    if svc.get("dns"):
        cfg["nameservers"] = list(svc["dns"])[:3]
    if svc.get("dns_search"):
        cfg["searches"] = list(svc["dns_search"])[:32]
    if svc.get("dns_opt"):
        opts = []
        for o in svc["dns_opt"]:
            k, sep, v = str(o).partition(":")
            opts.append({"name": k, "value": v} if sep else {"name": k})
        cfg["options"] = opts
    return cfg


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    svc, name, warnings = service.compose, service.name, ctx.warnings
    selector, affinity = placement(svc, name, warnings)
    return {
        "nodeSelector": selector,
        "tolerations": [],
        "affinity": affinity,
        "podAnnotations": annotations(svc, name, warnings),
        "podLabels": {},
        "hostAliases": host_aliases(svc, name, warnings),
        "dnsConfig": dns_config(svc),
    }


SCHEDULING = Builder("scheduling", build, {
    "nodeSelector": STR_MAP,
    "tolerations": {"type": "array", "items": OBJ},
    "affinity": OBJ,
    "podAnnotations": STR_MAP,
    "podLabels": STR_MAP,
    "hostAliases": {"type": "array", "items": OBJ},
    "dnsConfig": OBJ,
})
