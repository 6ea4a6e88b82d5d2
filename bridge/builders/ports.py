"""`ports` and `expose` -> containerPorts, the service's ClusterIP Service, the Service on the
published ports, and an Ingress (off until the operator names a host). The ports other services reach
this one on (`web:8000`, `http://web/`: names.referenced_ports) are known ports too: the compose names'
Services are ClusterIP Services on the known ports (a stable address that survives rollouts).

In compose other services reach a container on its *target* port (the published port is the host's),
so the Service listens on the target port and `db:5432` keeps working in the cluster. Published ports
(`"8080:80"`) are also served by `<svc>-published` on the published port, with a type from values
(ClusterIP by default; NodePort or LoadBalancer to reach it from outside).
"""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel
from ..naming import port_name
from .base import OBJ, PORT_NUMBER, PROTOCOL, STR_MAP, Builder, obj, protocol


def container_ports(svc: dict) -> list[dict]:
    """(target port, protocol, wanted name) of every port the container serves, once each: the targets of
    `ports`, then `expose` (single ports and ranges)."""
    out: list[dict] = []
    seen: set[tuple] = set()
    for p in svc.get("ports") or []:
        ident = (int(p["target"]), protocol(p.get("protocol")))
        if ident not in seen:
            seen.add(ident)
            out.append({"target": ident[0], "protocol": ident[1], "name": p.get("name")})
    for e in svc.get("expose") or []:
        text, _, proto = str(e).partition("/")
        lo, _, hi = text.partition("-")
        if not lo.isdigit():
            continue
        for port in range(int(lo), int(hi or lo) + 1):
            ident = (port, protocol(proto or "tcp"))
            if ident not in seen and 0 < port < 65536:
                seen.add(ident)
                out.append({"target": port, "protocol": ident[1], "name": None})
    return out


def published_ports(svc: dict, ports: list[dict]) -> list[dict]:
    """The Service ports of `ports` entries with a fixed host port, each to its container port's name."""
    by_target = {(p["containerPort"], p["protocol"]): p["name"] for p in ports}
    out: list[dict] = []
    seen: set[tuple[int, str]] = set()
    for p in svc.get("ports") or []:
        published = str(p.get("published") or "")
        if not published.isdigit():
            continue  # no host port (or a random one): nothing is published on a known port
        ident = (int(published), protocol(p.get("protocol")))
        target = by_target.get((int(p["target"]), ident[1]))
        if ident in seen or target is None:
            continue
        seen.add(ident)
        out.append({"name": f"{ident[1].lower()}-{published}"[:15], "port": ident[0], "targetPort": target,
                    "protocol": ident[1]})
    return out


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    used: set[str] = set()
    ports = []
    known = container_ports(service.compose)
    declared = {p["target"] for p in known if p["protocol"] == "TCP"}
    known += [{"target": p, "protocol": "TCP", "name": None}
              for p in ctx.referenced_ports.get(service.name, []) if p not in declared]
    for p in known:
        name = port_name(p["protocol"], p["target"], p["name"], used)
        ports.append({"name": name, "containerPort": p["target"], "protocol": p["protocol"]})
    service_ports = [{"name": p["name"], "port": p["containerPort"], "targetPort": p["name"], "protocol": p["protocol"]}
                     for p in ports]
    published = published_ports(service.compose, ports)
    service.has_service = bool(service_ports)
    out: dict[str, Any] = {
        "ports": ports,
        "service": {"enabled": bool(service_ports), "type": "ClusterIP", "annotations": {}, "ports": service_ports},
        "published": {"enabled": bool(published), "type": "ClusterIP", "annotations": {}, "ports": published},
    }
    tcp = [p for p in published if p["protocol"] == "TCP"]
    if tcp:  # an Ingress in front of the first published TCP port, off until the operator names a host
        out["ingress"] = {"enabled": False, "className": "", "host": "", "path": "/", "port": tcp[0]["port"],
                          "annotations": {}, "tls": []}
    return out


SERVICE = obj({
    "enabled": {"type": "boolean"},
    "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
    "annotations": STR_MAP,
    "ports": {"type": "array", "items": obj({
        "name": {"type": "string"},
        "port": PORT_NUMBER,
        "targetPort": {"type": ["string", "integer"]},
        "protocol": PROTOCOL,
        "nodePort": PORT_NUMBER,
    }, ["port"])},
})

PORTS = Builder("ports", build, {
    "ports": {"type": "array", "items": obj({
        "name": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$"},
        "containerPort": PORT_NUMBER,
        "protocol": PROTOCOL,
    }, ["containerPort"])},
    "service": SERVICE,
    "published": SERVICE,
    "ingress": obj({
        "enabled": {"type": "boolean"},
        "className": {"type": "string"},
        "host": {"type": "string"},
        "path": {"type": "string", "pattern": "^/"},
        "port": PORT_NUMBER,
        "annotations": STR_MAP,
        "tls": {"type": "array", "items": OBJ},
    }),
})
