"""The chart model: what `build` makes of a canonical compose project and the templates render.

`ServiceModel` is one compose service, typed: its identity (names, kind), its `values` (the block
`values.yaml` holds under the service's key, assembled by the builders in `bridge/builders/`) and what
the templates need beyond values (volumes, waits, networks, sidecars). `Chart` is the whole chart;
`Context` is what building one service may read about the rest of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .builders.names import Names
    from .loader import Project
    from .secrets import InstallValue


class Warnings(list[str]):
    """The conversion's warnings, in order, each once."""

    def add(self, text: str) -> None:
        if text not in self:
            self.append(text)


@dataclass
class ServiceModel:
    """One compose service as the chart holds it."""

    name: str  # compose name
    key: str  # values key
    label: str  # DNS label used in object names
    kind: str  # Deployment | DaemonSet | Job
    compose: dict[str, Any] = field(default_factory=dict, repr=False)  # the canonical compose service
    values: dict[str, Any] = field(default_factory=dict)  # values.yaml under `key`
    has_service: bool = False  # a ClusterIP Service on its container ports
    aliases: list[str] = field(default_factory=list)  # headless Services named like the compose names
    volumes: list[dict] = field(default_factory=list)
    wait_for: list[dict] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    recreate: bool = False  # mounts a ReadWriteOnce claim: a rollout must stop the old pod first
    bind_configs: list[dict] = field(default_factory=list)  # project files mounted from ConfigMaps
    # network_mode: service:X -- this service is a container in X's pod (sidecar_of), X lists it.
    sidecar_of: str | None = None
    sidecars: list[ServiceModel] = field(default_factory=list)

    @property
    def pod_label(self) -> str:
        """Component label of the pods this service's containers run in."""
        return self.sidecar_of or self.label

    @property
    def containers(self) -> list[ServiceModel]:
        return [self, *self.sidecars]

    @property
    def pod_volumes(self) -> list[dict]:
        return [m for c in self.containers for m in c.volumes]

    @property
    def pod_models(self) -> bool:
        return any(c.models for c in self.containers)

    @property
    def pod_waits(self) -> list[dict]:
        """The waits of every container in the pod, once each, none on the pod itself."""
        seen, out = {self.name} | {c.name for c in self.sidecars}, []
        for c in self.containers:
            for w in c.wait_for:
                if w["service"] not in seen:
                    seen.add(w["service"])
                    out.append(w)
        return out

    @property
    def waits_for_jobs(self) -> bool:
        return any(w["condition"] == "completed" for w in self.pod_waits)


@dataclass
class Context:
    """What building one service may read about the whole project, and where it records chart-wide
    results (files for the chart, claims for bind-mounted data, warnings)."""

    project: Project
    services: dict[str, dict]  # canonical compose services that run containers
    models: dict[str, Any]  # top-level models, provider services' models included
    labels: dict[str, str]  # service -> DNS label
    keys: dict[str, str]  # service -> values key
    names: dict[str, Names]  # service -> the names it resolves by
    oneshots: set[str]  # services that run as Jobs
    sidecar_roots: dict[str, str]  # service -> the service whose pod it joins
    referenced_ports: dict[str, list[int]]  # service -> ports other services reach it on (names.py)
    network_labels: dict[str, str]  # network -> DNS label
    volume_labels: dict[str, str]  # named volume -> DNS label
    claimed_volumes: set[str]  # named volumes that have a claim
    secrets: list[dict]  # Secret objects
    configs: list[dict]  # ConfigMap objects
    files: dict[str, bytes]  # chart files (files/...)
    persistence: dict[str, Any]  # values `persistence`, bind-mounted data paths added as found
    claims: list[dict]  # PersistentVolumeClaim objects
    warnings: Warnings
    # bind-mounted data directories: real path -> (persistence key, claim component) of their one claim
    bind_claims: dict[str, tuple[str, str]] = field(default_factory=dict)
    secret_values: frozenset[str] = frozenset()  # values secret wherever they appear (secrets.py)
    env_secrets: dict[str, str] = field(default_factory=dict)  # Secret key -> value of secret environment entries


@dataclass
class Chart:
    """The chart model: what the templates render."""

    name: str
    version: str
    app_version: str
    description: str
    project: str
    services: list[ServiceModel]
    volumes: list[dict]
    secrets: list[dict]
    configs: list[dict]
    networks: list[dict]
    values: dict
    comments: dict[tuple, str]
    files: dict[str, bytes]
    warnings: list[str]
    models: list[dict]
    working_dir: str = "."
    env_secrets: dict[str, str] = field(default_factory=dict)  # Secret key -> value, for the secret values file
    embed_secrets: bool = False

    @property
    def install_values(self) -> list[InstallValue]:
        """Values `helm install` must be given (secret contents), in a stable order."""
        return [s["install"] for s in self.secrets if s.get("install")]
