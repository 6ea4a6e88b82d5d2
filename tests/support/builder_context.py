"""A Context for running one builder on one compose service, with no project on disk."""

from __future__ import annotations

from typing import Any

from bridge.builders.base import Builder
from bridge.builders.names import referenced_ports, service_names, sidecar_roots
from bridge.builders.oneshots import oneshot_services
from bridge.builders.workload import workload_kind
from bridge.loader import Project
from bridge.model import Context, ServiceModel, Warnings
from bridge.naming import unique_labels, values_key


def context(services: dict[str, dict], models: dict[str, Any] | None = None, working_dir: str = "/p") -> Context:
    warnings = Warnings()
    project = Project(data={"name": "proj", "services": services}, working_dir=working_dir,
                      files=[f"{working_dir}/compose.yaml"], environment={}, positions=[])
    return Context(
        project=project, services=services, models=models or {}, labels=unique_labels(list(services), "services"),
        keys={s: values_key(s) for s in services}, names=service_names(services, warnings),
        oneshots=oneshot_services(services), sidecar_roots=sidecar_roots(services, warnings), network_labels={},
        referenced_ports=referenced_ports(services, working_dir),
        volume_labels={}, claimed_volumes=set(), secrets=[], configs=[], files={}, persistence={}, claims=[],
        warnings=warnings,
    )


def run(builder: Builder, svc: dict, name: str = "web", others: dict[str, dict] | None = None,
        **ctx_fields: Any) -> tuple[dict[str, Any], ServiceModel, Context]:
    """(the values the builder returns, the service model it filled in, the context with its warnings)."""
    services = {name: svc, **(others or {})}
    ctx = context(services)
    for field, value in ctx_fields.items():
        setattr(ctx, field, value)
    service = ServiceModel(name=name, key=ctx.keys[name], label=ctx.labels[name],
                           kind=workload_kind(name, svc, ctx.oneshots), compose=svc)
    values = builder.build(service, ctx)
    service.values.update(values)
    return values, service, ctx
