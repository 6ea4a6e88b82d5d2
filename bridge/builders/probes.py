"""Compose `healthcheck` -> Kubernetes probes, with compose's semantics and timings.

Compose's health status gates traffic and dependents and never restarts a container, so the check is a
readinessProbe (the headless Service lists only ready pods, and `depends_on` waits on that), not a
livenessProbe (values may add one). Unset timings take compose's defaults (interval 30s, timeout 30s,
retries 3), not Kubernetes' (10s, 1s, 3). `start_period` becomes a startupProbe that checks every
`start_interval` (default 5s) before readiness checks begin. A failed startupProbe restarts the
container, which compose never does, so its budget is at least compose's own time to call the
container unhealthy: `start_period` + `retries` x `interval`.
"""

from __future__ import annotations

import math
from typing import Any

from ..model import Context, ServiceModel
from ..units import duration_seconds, parse_duration
from .base import OBJ, Builder

DEFAULT_INTERVAL = 30
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_START_INTERVAL = 5


def _seconds(hc: dict, key: str, default: int) -> int:
    value = hc.get(key)
    return max(1, duration_seconds(parse_duration(value))) if value else default


def health_command(hc: dict | None) -> list[str] | None:
    """The check as an exec command (`CMD-SHELL` through /bin/sh -c), or None when there is none."""
    if not hc or hc.get("disable"):
        return None
    test = hc.get("test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        command = ["/bin/sh", "-c", " ".join(test[1:])]
    elif test[0] == "CMD":
        command = list(test[1:])
    else:
        command = list(test)
    return command or None


def probes(hc: dict | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(readinessProbe, startupProbe) for a healthcheck; empty dicts when there is none."""
    command = health_command(hc)
    if command is None or hc is None:
        return {}, {}
    interval = _seconds(hc, "interval", DEFAULT_INTERVAL)
    timeout = _seconds(hc, "timeout", DEFAULT_TIMEOUT)
    retries = max(1, int(hc["retries"])) if hc.get("retries") else DEFAULT_RETRIES
    readiness = {
        "exec": {"command": command},
        "periodSeconds": interval,
        "timeoutSeconds": timeout,
        "failureThreshold": retries,
    }
    startup: dict[str, Any] = {}
    start_period = _seconds(hc, "start_period", 0) if hc.get("start_period") else 0
    if start_period:
        step = _seconds(hc, "start_interval", DEFAULT_START_INTERVAL)
        startup = {
            "exec": {"command": command},
            "periodSeconds": step,
            "timeoutSeconds": timeout,
            # Failures during the start period do not count in compose; after it, `retries` checks
            # `interval` apart do. Only past all of that may the kubelet give up on the container.
            "failureThreshold": math.ceil((start_period + retries * interval) / step),
        }
    return readiness, startup


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    """Probes from the healthcheck; without one, readiness on the first TCP port (read from the ports
    builder's values), so dependents and Services wait for a listening server."""
    hc = service.compose.get("healthcheck")
    readiness, startup = probes(hc)
    tcp = next((p for p in service.values.get("ports", []) if p["protocol"] == "TCP"), None)
    if not readiness and tcp and not (hc or {}).get("disable") and service.kind != "Job":
        readiness = {"tcpSocket": {"port": tcp["name"]}, "periodSeconds": 10, "failureThreshold": 3}
    # compose never restarts an unhealthy container; operators may set a livenessProbe here
    return {"livenessProbe": {}, "readinessProbe": readiness, "startupProbe": startup}


PROBES = Builder("probes", build, {"livenessProbe": OBJ, "readinessProbe": OBJ, "startupProbe": OBJ})
