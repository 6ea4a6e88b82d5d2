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
`required: false` waits the same way and goes on (with a log line) when the wait fails, as
`docker compose up` does.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Context, ServiceModel
from .base import Builder, obj

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


def job_settings(name: str, svc: dict, warnings: Any) -> dict[str, Any]:
    """Values of a one-shot's Job: how often a failed run is retried."""
    restart = str(svc.get("restart") or "no")
    m = re.fullmatch(r"on-failure(?::(\d+))?", restart)
    if m:
        retries = int(m.group(1)) if m.group(1) else 6  # compose retries without end; Kubernetes' default
        return {"backoffLimit": retries, "restartPolicy": "OnFailure" if retries else "Never"}
    if restart in ("always", "unless-stopped"):
        warnings.add(f"service {name}: restart: {restart} on a service others wait to complete; it runs "
                        f"as a Job that is retried on failure only")
        return {"backoffLimit": 6, "restartPolicy": "OnFailure"}
    return {"backoffLimit": 0, "restartPolicy": "Never"}


def waits(name: str, svc: dict, labels: dict[str, str], keys: dict[str, str], oneshots: set[str],
          warnings: Any) -> list[dict[str, Any]]:
    """One wait per dependency in the project, in name order. `required: false` ones are `optional`:
    `docker compose up` waits for them too, and starts the service anyway when the wait fails."""
    out = []
    for dep, spec in sorted((svc.get("depends_on") or {}).items()):
        spec = spec or {}
        if dep not in labels:
            continue  # not part of the project (a profile left it out): compose does not wait either
        condition = CONDITIONS.get(str(spec.get("condition") or "service_started"), "started")
        if condition == "completed" and dep not in oneshots:
            condition = "started"
        if condition != "completed" and dep in oneshots:
            warnings.add(f"service {name}: depends on one-shot {dep} with {spec.get('condition')}; "
                            f"it waits until {dep} completed")
            condition = "completed"
        out.append({"service": dep, "key": keys[dep], "label": labels[dep], "condition": condition,
                    "optional": spec.get("required") is False})
    return out


def build_job(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    """A one-shot's Job settings; other workloads always restart, whatever `restart` says."""
    restart = service.compose.get("restart")
    if service.kind == "Job":
        return {"job": job_settings(service.name, service.compose, ctx.warnings)}
    if restart and restart not in ("always", "unless-stopped"):
        ctx.warnings.add(f"service {service.name}: restart: {restart} is not possible for a {service.kind}; "
                         f"pods always restart")
    return {}


def build_waits(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    service.wait_for = waits(service.name, service.compose, ctx.labels, ctx.keys, ctx.oneshots, ctx.warnings)
    return {"waitFor": [w["service"] for w in service.wait_for]}


JOB = Builder("job", build_job, {
    "job": obj({"backoffLimit": {"type": "integer", "minimum": 0},
                "restartPolicy": {"type": "string", "enum": ["Never", "OnFailure"]}},
               ["backoffLimit", "restartPolicy"]),
})
WAITS = Builder("depends_on", build_waits, {"waitFor": {"type": "array", "items": {"type": "string"}}})
