"""`deploy.resources` (limits, reservations, GPU devices), `cpus`, `mem_limit`, `mem_reservation`,
`gpus` -> the container's resources, in Kubernetes quantities. Compose's own keys win over the older
top-level ones, as in compose; a service that says nothing gets small requests (DEFAULT_REQUESTS), so
the scheduler does not count it as free."""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel
from .base import RESOURCES, Builder

DEFAULT_REQUESTS = {"cpu": "10m", "memory": "32Mi"}


def quantity_bytes(n: int) -> str:
    """Bytes as a Kubernetes quantity: `268435456` -> `256Mi`."""
    for suffix, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def quantity_cpu(cpus: float) -> str:
    milli = max(1, round(float(cpus) * 1000))
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


def gpu_devices(res: dict) -> list[tuple[str, int]]:
    """(resource name, count) of each GPU in `deploy.resources.reservations.devices`."""
    out = []
    for dev in ((res.get("reservations") or {}).get("devices")) or []:
        if "gpu" in (dev.get("capabilities") or []):
            key = "amd.com/gpu" if (dev.get("driver") or "nvidia").lower() == "amd" else "nvidia.com/gpu"
            count = dev.get("count", 1)
            out.append((key, 1 if count in ("all", None) else int(count)))
    return out


def resources(svc: dict) -> dict[str, dict[str, str]]:
    res = ((svc.get("deploy") or {}).get("resources")) or {}
    lim = res.get("limits") or {}
    req = res.get("reservations") or {}
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if lim.get("cpus"):
        limits["cpu"] = quantity_cpu(lim["cpus"])
    if lim.get("memory"):
        limits["memory"] = quantity_bytes(int(lim["memory"]))
    if req.get("cpus"):
        requests["cpu"] = quantity_cpu(req["cpus"])
    if req.get("memory"):
        requests["memory"] = quantity_bytes(int(req["memory"]))
    if svc.get("cpus") and "cpu" not in limits:
        limits["cpu"] = quantity_cpu(svc["cpus"])
    if svc.get("mem_limit") and "memory" not in limits:
        limits["memory"] = quantity_bytes(int(svc["mem_limit"]))
    if svc.get("mem_reservation") and "memory" not in requests:
        requests["memory"] = quantity_bytes(int(svc["mem_reservation"]))
    for key, count in gpu_devices(res):
        limits[key] = str(count)
    gpus = svc.get("gpus")
    if gpus and "nvidia.com/gpu" not in limits:  # `gpus: all` or a list of device requests
        count = 1 if gpus == "all" else sum(1 if g.get("count") in (None, "all") else int(g["count"])
                                            for g in gpus if isinstance(g, dict)) or 1
        limits["nvidia.com/gpu"] = str(count)
    if not requests and not limits:
        requests = dict(DEFAULT_REQUESTS)
    out: dict[str, dict[str, str]] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    return {"resources": resources(service.compose)}


RESOURCE_BUILDER = Builder("resources", build, {"resources": RESOURCES})
