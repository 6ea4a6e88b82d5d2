"""One builder per Compose aspect of a service. `build_service` runs them in this order; each returns
the values keys it owns (values.yaml keeps this order), and its schema is that of those keys.

| builder | compose keys | values keys |
|---|---|---|
| workload | deploy.mode/replicas, scale, image, pull_policy, build, entrypoint, command | enabled, replicas, image, command, args |
| env | environment, env_file | env |
| models | models | models (and `modelRunner`, chart-wide) |
| ports | ports, expose | ports, service, published, ingress |
| resources | deploy.resources, cpus, mem_*, gpus | resources |
| security | user, group_add, cap_*, privileged, read_only, sysctls, security_opt | securityContext, podSecurityContext |
| probes | healthcheck | livenessProbe, readinessProbe, startupProbe |
| scheduling | deploy.placement, platform, labels, annotations, extra_hosts, dns* | nodeSelector, tolerations, affinity, podAnnotations, podLabels, hostAliases, dnsConfig |
| runtime | hostname, working_dir, stdin_open, tty, stop_grace_period | hostname, workingDir, stdin, tty, terminationGracePeriodSeconds |
| job | restart (one-shots) | job |
| lifecycle | post_start, pre_stop | lifecycle |
| networks | networks, network_mode: host | hostNetwork |
| unsupported | keys without a Kubernetes equivalent (bridge/keys.py) | (warnings) |
| volumes | volumes, tmpfs, shm_size, secrets, configs | (mounts; `persistence`, chart-wide) |
| depends_on | depends_on | waitFor |

Names and Services (names.py), secrets and configs objects (files.py) and named volumes are
project-wide and built once, in bridge/build.py.
"""

from __future__ import annotations

from typing import Any

from ..keys import unsupported_warnings
from ..model import Context, ServiceModel
from .base import Builder, obj
from .env import ENV
from .lifecycle import LIFECYCLE
from .models import BINDINGS
from .networks import NETWORKS
from .oneshots import JOB, WAITS
from .ports import PORTS
from .probes import PROBES
from .resources import RESOURCE_BUILDER
from .runtime import RUNTIME
from .scheduling import SCHEDULING
from .security import SECURITY
from .volumes import MOUNTS
from .workload import WORKLOAD, workload_kind


def _unsupported(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    """One warning per key without a Kubernetes equivalent (bridge/keys.py lists every key)."""
    for text in unsupported_warnings(service.name, service.compose):
        ctx.warnings.add(text)
    return {}


UNSUPPORTED = Builder("unsupported", _unsupported, {})

SERVICE_BUILDERS: list[Builder] = [
    WORKLOAD, ENV, BINDINGS, PORTS, RESOURCE_BUILDER, SECURITY, PROBES, SCHEDULING, RUNTIME, JOB, LIFECYCLE,
    NETWORKS, UNSUPPORTED, MOUNTS, WAITS,
]


def build_service(name: str, svc: dict, ctx: Context) -> ServiceModel:
    """One canonical compose service -> its typed model, values included."""
    service = ServiceModel(name=name, key=ctx.keys[name], label=ctx.labels[name],
                           kind=workload_kind(name, svc, ctx.oneshots), compose=svc,
                           aliases=list(ctx.names[name].aliases))
    for builder in SERVICE_BUILDERS:
        service.values.update(builder.build(service, ctx))
    return service


def service_schema() -> dict[str, Any]:
    """The JSON schema of one service's values: every builder's keys."""
    props: dict[str, Any] = {}
    for builder in SERVICE_BUILDERS:
        props.update(builder.schema)
    return obj(props, ["enabled", "replicas", "image"])
