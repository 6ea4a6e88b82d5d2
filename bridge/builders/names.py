"""Names and Services: every compose name of a service resolves in the cluster, on every port.

On a compose network a service is reachable by its name, its network aliases, its container_name and
the aliases other services give it with `links`, whether or not it declares ports. Here each service
gets a headless Service (`clusterIP: None`: DNS answers with the ready pods' own IPs, so every port
works, as compose-on-kubernetes did for intra-stack traffic), and each of its names that Kubernetes can
hold becomes one more headless Service of that exact name with the same selector (values
`serviceAliases.enabled`; off to install two releases in one namespace). Names Kubernetes cannot hold
get a warning naming the variables that use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Warnings
from ..naming import dns1035_label

# (A headless Service of a service that declares no port lists the placeholder port 55555 that
# compose-on-kubernetes used: templates/helpers.tpl.j2, headlessPorts.)
# Service names a namespace may already hold for the cluster itself.
RESERVED_NAMES = {"kubernetes"}


@dataclass
class Names:
    """The names one service answers to on its compose networks."""

    service: str
    aliases: list[str] = field(default_factory=list)  # valid names -> a headless Service each
    invalid: list[str] = field(default_factory=list)  # names Kubernetes cannot hold


def compose_names(services: dict[str, dict]) -> dict[str, list[str]]:
    """Every name each service is reachable by, in compose's order: the service name, network aliases,
    container_name, hostname, and aliases given by other services' `links`."""
    names: dict[str, list[str]] = {s: [s] for s in services}

    def add(service: str, name: str) -> None:
        if service in names and name and name not in names[service]:
            names[service].append(name)

    for sname, svc in services.items():
        for net in (svc.get("networks") or {}).values():
            for alias in (net or {}).get("aliases") or []:
                add(sname, str(alias))
        if svc.get("container_name"):
            add(sname, str(svc["container_name"]))
        if svc.get("hostname"):
            add(sname, str(svc["hostname"]))
    for svc in services.values():
        for link in svc.get("links") or []:
            target, _, alias = str(link).partition(":")
            add(target, alias or target)
    return names


def service_names(services: dict[str, dict], warnings: Warnings) -> dict[str, Names]:
    """Which names become alias Services; a name two services claim goes to the first (sorted), with a
    warning; names Kubernetes cannot hold are reported with the variables that use them."""
    out: dict[str, Names] = {}
    claimed: dict[str, str] = {}
    all_names = compose_names(services)
    for sname in sorted(services):
        entry = Names(sname)
        for name in all_names[sname]:
            label = dns1035_label(name)
            if label is None:
                entry.invalid.append(name)
                users = referencing_variables(services, name)
                used = f" (used by {', '.join(users)})" if users else ""
                warnings.add(f"service {sname}: the name {name!r} cannot be a Kubernetes Service name "
                                f"(lower case, digits and '-', at most 63), so it does not resolve in the "
                                f"cluster{used}; use the chart's Service name instead")
                continue
            if label in RESERVED_NAMES:
                warnings.add(f"service {sname}: the name {name!r} is taken by Kubernetes itself (the API "
                                f"server's Service); it does not resolve to this service")
                continue
            if label in claimed and claimed[label] != sname:
                warnings.add(f"service {sname}: the name {name!r} is also a name of service "
                                f"{claimed[label]}; it resolves to {claimed[label]}")
                continue
            claimed[label] = sname
            entry.aliases.append(label)
        out[sname] = entry
    return out


def referencing_variables(services: dict[str, dict], name: str) -> list[str]:
    """`service.VAR` for each environment variable whose value uses `name` as a host name."""
    pattern = host_pattern(name)
    found = []
    for sname in sorted(services):
        for key, value in sorted(((services[sname].get("environment")) or {}).items()):
            if isinstance(value, str) and pattern.search(value):
                found.append(f"{sname}.{key}")
    return found


def host_pattern(name: str) -> re.Pattern[str]:
    """`name` used as a host: the whole value, `name:port`, `//name`, `@name`, followed by `/` or end."""
    n = re.escape(name)
    return re.compile(rf"(?:^|[/@=,\s(]){n}(?=$|[:/,\s)?])")


def sidecar_roots(services: dict[str, dict], warnings: Warnings) -> dict[str, str]:
    """service -> the service whose pod it joins (`network_mode: service:X`, followed through chains),
    as compose shares X's network namespace with it; `localhost` then reaches X as it does in compose."""
    out: dict[str, str] = {}
    for name in sorted(services):
        seen, current = [name], name
        while True:
            mode = str(services[current].get("network_mode") or "")
            target = mode[len("service:"):] if mode.startswith("service:") else None
            if target is None or target not in services:
                break
            if target in seen:
                warnings.add(f"service {name}: network_mode service: loops through {', '.join(seen)}; "
                                f"it runs in a pod of its own")
                current = name
                break
            seen.append(target)
            current = target
        if current != name:
            out[name] = current
    return out


# Ports a URL implies when it names none (`http://web/`, `redis://cache`).
SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "redis": 6379, "rediss": 6379,
                "postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mongodb": 27017,
                "amqp": 5672, "amqps": 5671, "nats": 4222, "memcached": 11211}
MAX_SCANNED_FILE = 256 * 1024


def _texts(svc: dict, project_dir: Path) -> list[str]:
    """What a service says about others: environment values, command, entrypoint, healthcheck, and the
    text of the project files it mounts (an nginx.conf's `proxy_pass http://web:8000`)."""
    texts = [str(v) for v in (svc.get("environment") or {}).values() if v is not None]
    for key in ("command", "entrypoint"):
        texts += [str(v) for v in svc.get(key) or []]
    texts += [str(v) for v in ((svc.get("healthcheck") or {}).get("test") or [])]
    root = project_dir.resolve()
    for vol in svc.get("volumes") or []:
        source = Path(str(vol.get("source") or "")) if vol.get("type") == "bind" else None
        if source is None or not (source.resolve() == root or root in source.resolve().parents):
            continue
        files = [source] if source.is_file() else sorted(source.rglob("*"))[:500] if source.is_dir() else []
        for path in files:
            try:
                if path.is_file() and path.stat().st_size <= MAX_SCANNED_FILE:
                    texts.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
    return texts


_HOST_PORT = re.compile(r"(?:^|[/@=,\s\"'])([A-Za-z0-9._-]+):(\d{1,5})(?![\d.])")
_URL_HOST = re.compile(r"\b([a-z][a-z0-9+]*)://(?:[^@/\s]*@)?([A-Za-z0-9._-]+)(?=$|[/?#\s\"',;)])")


def referenced_ports(services: dict[str, dict], project_dir: str) -> dict[str, list[int]]:
    """service -> the ports services (itself included) reach it on by one of its compose names:
    `name:port`, or the port a URL's scheme implies (`http://name/` is 80). They are known ports of the
    service as much as its `ports` and `expose` are. Each text is read once, whatever the number of
    services (a name -> service map, not a pattern per name)."""
    owner = {name: service for service, names in compose_names(services).items() for name in names}
    out: dict[str, set[int]] = {}
    for svc in services.values():
        for text in _texts(svc, Path(project_dir)):
            for host, port in _HOST_PORT.findall(text):
                if host in owner and 0 < int(port) < 65536:
                    out.setdefault(owner[host], set()).add(int(port))
            for scheme, host in _URL_HOST.findall(text):
                if host in owner and scheme in SCHEME_PORTS:
                    out.setdefault(owner[host], set()).add(SCHEME_PORTS[scheme])
    return {service: sorted(ports) for service, ports in out.items()}
