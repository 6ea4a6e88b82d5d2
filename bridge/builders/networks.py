"""`networks` -> the pod's network labels, which the NetworkPolicy of each network selects (one per
compose network: pods accept traffic from pods on a shared network); `network_mode: host` ->
hostNetwork. (`network_mode: service:X` is a sidecar, handled where the chart is assembled: build.py.)"""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel
from .base import Builder


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    service.networks = [ctx.network_labels.get(net, net) for net in sorted(service.compose.get("networks") or {})]
    return {"hostNetwork": service.compose.get("network_mode") == "host"}


NETWORKS = Builder("networks", build, {"hostNetwork": {"type": "boolean"}})
