"""Container settings that map one to one: `hostname`, `working_dir`, `stdin_open`, `tty`,
`stop_grace_period` -> hostname, workingDir, stdin, tty, terminationGracePeriodSeconds."""

from __future__ import annotations

import re
from typing import Any

from ..model import Context, ServiceModel
from ..units import duration_seconds, parse_duration
from .base import Builder

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    svc = service.compose
    hostname = svc.get("hostname") or ""
    if hostname and not (_DNS_LABEL.fullmatch(hostname) and len(hostname) <= 63):
        ctx.warnings.add(f"service {service.name}: hostname {hostname!r} is not a DNS label; ignored")
        hostname = ""
    grace = svc.get("stop_grace_period")
    return {
        "hostname": hostname,
        "workingDir": svc.get("working_dir") or "",
        "stdin": bool(svc.get("stdin_open")),
        "tty": bool(svc.get("tty")),
        "terminationGracePeriodSeconds": duration_seconds(parse_duration(grace)) if grace else 30,
    }


RUNTIME = Builder("runtime", build, {
    "hostname": {"type": "string"},
    "workingDir": {"type": "string"},
    "stdin": {"type": "boolean"},
    "tty": {"type": "boolean"},
    "terminationGracePeriodSeconds": {"type": "integer", "minimum": 0},
})
