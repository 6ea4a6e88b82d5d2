"""One-shot services (migrations, init jobs) and the waits of `depends_on`.

A service that others wait on with `condition: service_completed_successfully` runs to completion in
compose; as a Deployment it would exit 0, be restarted forever and gate nothing. It becomes a Job
(`backoffLimit` from `restart: on-failure[:N]`, else 0 as with `restart: "no"`), named per release
revision so `helm upgrade` runs it again, as `docker compose up` does, instead of failing on the Job's
immutable pod template; its dependents start only after it completed.

depends_on becomes init containers: `service_started` and `service_healthy` wait until the
dependency's headless Service resolves (it lists only ready pods, and readiness is the compose
healthcheck), `service_completed_successfully` until its Job reports Complete (read through the API
with a token mounted into that init container alone, under a Role that may only read Jobs).
`required: false` does not block.
"""

from __future__ import annotations

import re
from typing import Any

CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}


def oneshot_services(services: dict[str, dict]) -> set[str]:
    """Services some other service waits on with `condition: service_completed_successfully`."""
    return {
        dep
        for svc in services.values()
        for dep, spec in (svc.get("depends_on") or {}).items()
        if (spec or {}).get("condition") == "service_completed_successfully" and dep in services
    }


def job_settings(name: str, svc: dict, warnings: list[str]) -> dict[str, Any]:
    """Values of a one-shot's Job: how often a failed run is retried."""
    restart = str(svc.get("restart") or "no")
    m = re.fullmatch(r"on-failure(?::(\d+))?", restart)
    if m:
        retries = int(m.group(1)) if m.group(1) else 6  # compose retries without end; Kubernetes' default
        return {"backoffLimit": retries, "restartPolicy": "OnFailure" if retries else "Never"}
    if restart in ("always", "unless-stopped"):
        warnings.append(f"service {name}: restart: {restart} on a service others wait to complete; it runs "
                        f"as a Job that is retried on failure only")
        return {"backoffLimit": 6, "restartPolicy": "OnFailure"}
    return {"backoffLimit": 0, "restartPolicy": "Never"}


def waits(name: str, svc: dict, labels: dict[str, str], keys: dict[str, str], oneshots: set[str],
          warnings: list[str]) -> list[dict[str, Any]]:
    """One wait per blocking dependency, in name order."""
    out = []
    for dep, spec in sorted((svc.get("depends_on") or {}).items()):
        spec = spec or {}
        if dep not in labels:
            continue
        if spec.get("required") is False:
            continue  # compose starts the service anyway
        condition = CONDITIONS.get(str(spec.get("condition") or "service_started"), "started")
        if condition == "completed" and dep not in oneshots:
            condition = "started"
        if condition != "completed" and dep in oneshots:
            warnings.append(f"service {name}: depends on one-shot {dep} with {spec.get('condition')}; "
                            f"it waits until {dep} completed")
            condition = "completed"
        out.append({"service": dep, "key": keys[dep], "label": labels[dep], "condition": condition})
    return out
