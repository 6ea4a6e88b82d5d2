"""Build the chart model from a canonical Compose project: names, values, references. No text here."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BridgeError
from .keys import unsupported_warnings
from .lifecycle import lifecycle_hooks
from .loader import Project
from .mounts import bind_label, bind_persistence, plan_bind
from .naming import (
    env_prefix,
    is_qualified_key,
    port_name,
    unique_labels,
    unique_name,
    values_key,
)
from .oneshot import job_settings, oneshot_services, waits
from .probes import probes
from .providers import apply_providers
from .reach import Names, published_service, service_names, sidecar_roots
from .secrets import InstallValue, install_value, set_key
from .units import duration_seconds, parse_bytes, parse_duration

DEFAULT_RUNNER = {
    "enabled": False,
    "hostEndpoint": "http://host.docker.internal:12434/engines/v1/",
    "clusterEndpoint": "",
    "image": "docker/model-runner:latest",
    "imagePullPolicy": "IfNotPresent",
    "gpu": {"enabled": False, "vendor": "nvidia", "count": 1},
    "nodeSelector": {},
    "tolerations": [],
    "affinity": {},
    "securityContext": {"allowPrivilegeEscalation": False},
    "env": {},
    "resources": {
        "limits": {"cpu": "1000m", "memory": "2Gi"},
        "requests": {"cpu": "100m", "memory": "256Mi"},
    },
    "replicas": 1,
    "storage": {"size": "100Gi", "storageClass": "", "mode": "shared", "accessModes": ["ReadWriteOnce"],
                "existingClaim": ""},
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
    "spread": {"enabled": True, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
    "autoscaling": {"enabled": False, "minReplicas": 2, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70},
    "models": [],
    "configure": [],
    "prePull": {"image": "curlimages/curl:8.10.1", "timeoutSeconds": 1800},
}

DEFAULT_REQUESTS = {"cpu": "10m", "memory": "32Mi"}
# Kubernetes caps a ConfigMap's or Secret's data at 1 MiB; keep room for the object's metadata.
MAX_OBJECT_DATA = 1024 * 1024 - 4096
# The waits resolve names and read Job status with curl: it resolves through libc, which applies the
# pod's DNS search path (busybox's own nslookup, since 1.29, does not, so short names never resolve).
WAIT_IMAGE = "curlimages/curl:8.10.1"


@dataclass
class ServiceModel:
    """One compose service as the templates see it (its settings are in values[key])."""

    name: str  # compose name
    key: str  # values key
    label: str  # DNS label used in object names
    kind: str  # Deployment | DaemonSet | Job
    has_service: bool
    aliases: list[str] = field(default_factory=list)  # headless Services named like the compose names
    volumes: list[dict] = field(default_factory=list)
    wait_for: list[dict] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    recreate: bool = False
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

    @property
    def install_values(self) -> list[InstallValue]:
        """Values `helm install` must be given (secret contents), in a stable order."""
        return [s["install"] for s in self.secrets if s.get("install")]


def _warn(warnings: list[str], text: str) -> None:
    if text not in warnings:
        warnings.append(text)


def split_image(image: str) -> dict:
    """`registry:5000/repo:tag@sha256:...` -> repository, tag, digest."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = ""
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return {"repository": image, "tag": tag or ("" if digest else "latest"), "digest": digest}


PULL_POLICIES = {
    "always": "Always",
    "never": "Never",
    "missing": "IfNotPresent",
    "if_not_present": "IfNotPresent",
    "build": "IfNotPresent",
}


def pull_policy(value: str | None, warnings: list[str], svc: str) -> str:
    if not value:
        return "IfNotPresent"
    mapped = PULL_POLICIES.get(value)
    if mapped:
        return mapped
    if value == "refresh" or value == "daily" or value == "weekly" or value.startswith("every_"):
        _warn(warnings, f"service {svc}: pull_policy {value} has no Kubernetes equivalent; using Always")
        return "Always"
    return "IfNotPresent"


def quantity_bytes(n: int) -> str:
    """Bytes as a Kubernetes quantity: `268435456` -> `256Mi`."""
    for suffix, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def quantity_cpu(cpus: float) -> str:
    milli = max(1, round(float(cpus) * 1000))
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


def _resources(svc: dict) -> dict:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    res = ((svc.get("deploy") or {}).get("resources")) or {}
    lim = res.get("limits") or {}
    req = res.get("reservations") or {}
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
    for gpu in _gpu_devices(res):
        limits[gpu[0]] = str(gpu[1])
    gpus = svc.get("gpus")
    if gpus and "nvidia.com/gpu" not in limits:  # `gpus: all` or a list of device requests
        count = 1 if gpus == "all" else sum(1 if g.get("count") in (None, "all") else int(g["count"])
                                            for g in gpus if isinstance(g, dict)) or 1
        limits["nvidia.com/gpu"] = str(count)
    if not requests and not limits:
        requests = dict(DEFAULT_REQUESTS)
    out: dict[str, dict] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _gpu_devices(res: dict) -> list[tuple[str, int]]:
    out = []
    for dev in ((res.get("reservations") or {}).get("devices")) or []:
        caps = {c for group in [dev.get("capabilities") or []] for c in group}
        if "gpu" in caps:
            driver = (dev.get("driver") or "nvidia").lower()
            key = "amd.com/gpu" if driver == "amd" else "nvidia.com/gpu"
            count = dev.get("count", 1)
            out.append((key, 1 if count in ("all", None) else int(count)))
    return out


def _user(svc: dict, warnings: list[str], name: str) -> dict:
    ctx: dict[str, Any] = {}
    user = svc.get("user")
    if user:
        uid, _, gid = str(user).partition(":")
        if uid.isdigit():
            ctx["runAsUser"] = int(uid)
            if int(uid) != 0:
                ctx["runAsNonRoot"] = True
        else:
            _warn(warnings, f"service {name}: user {user!r} is not numeric; Kubernetes needs a UID (left to the image)")
        if gid:
            if gid.isdigit():
                ctx["runAsGroup"] = int(gid)
            else:
                _warn(warnings, f"service {name}: group {gid!r} is not numeric; ignored")
    return ctx


def _security(svc: dict, name: str, warnings: list[str]) -> dict:
    ctx: dict[str, Any] = {"allowPrivilegeEscalation": False}
    ctx.update(_user(svc, warnings, name))
    caps: dict[str, list[str]] = {}
    if svc.get("cap_add"):
        caps["add"] = sorted({c.upper().removeprefix("CAP_") for c in svc["cap_add"]})
    drop = {c.upper().removeprefix("CAP_") for c in svc.get("cap_drop") or []}
    added = set(caps.get("add", []))
    # NET_RAW (raw sockets, ARP spoofing) is dropped unless compose grants it or all capabilities.
    if "ALL" not in drop and not added & {"NET_RAW", "ALL"} and not svc.get("privileged"):
        drop.add("NET_RAW")
    if drop:
        caps["drop"] = sorted(drop)
    if caps:
        ctx["capabilities"] = caps
    if svc.get("privileged"):
        ctx["privileged"] = True
    if svc.get("privileged") or "SYS_ADMIN" in caps.get("add", []) or "ALL" in caps.get("add", []):
        ctx["allowPrivilegeEscalation"] = True
    if svc.get("read_only"):
        ctx["readOnlyRootFilesystem"] = True
    return ctx


def _pod_security(svc: dict, name: str, warnings: list[str]) -> dict:
    ctx: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    for opt in svc.get("security_opt") or []:
        if str(opt).replace("=", ":") in ("seccomp:unconfined",):
            ctx["seccompProfile"] = {"type": "Unconfined"}
    groups = []
    for g in svc.get("group_add") or []:
        if str(g).isdigit():
            groups.append(int(g))
        else:
            _warn(warnings, f"service {name}: group_add {g!r} is not numeric; ignored")
    if groups:
        ctx["supplementalGroups"] = sorted(set(groups))
    sysctls = svc.get("sysctls") or {}
    if sysctls:
        ctx["sysctls"] = [{"name": k, "value": str(v if v is not None else "")} for k, v in sorted(sysctls.items())]
    return ctx


_CONSTRAINT = re.compile(r"^\s*([\w.\-/]+)\s*(==|!=)\s*(.+?)\s*$")
_NODE_KEYS = {
    "node.hostname": "kubernetes.io/hostname",
    "node.platform.os": "kubernetes.io/os",
    "node.platform.arch": "kubernetes.io/arch",
}


def _placement(svc: dict, name: str, warnings: list[str]) -> tuple[dict, dict]:
    selector: dict[str, str] = {}
    exprs: list[dict] = []
    for c in (((svc.get("deploy") or {}).get("placement") or {}).get("constraints")) or []:
        m = _CONSTRAINT.match(str(c))
        if not m:
            _warn(warnings, f"service {name}: placement constraint {c!r} not understood; ignored")
            continue
        key, op, value = m.groups()
        if key.startswith("node.labels."):
            key = key[len("node.labels."):]
        elif key in _NODE_KEYS:
            key = _NODE_KEYS[key]
        else:
            _warn(warnings, f"service {name}: placement constraint on {key} has no Kubernetes equivalent; ignored")
            continue
        if not is_qualified_key(key):
            _warn(warnings, f"service {name}: node label {key!r} is not a valid Kubernetes label key; ignored")
            continue
        if op == "==":
            selector[key] = value
        else:
            exprs.append({"key": key, "operator": "NotIn", "values": [value]})
    affinity: dict = {}
    if exprs:
        affinity = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": exprs}]}
            }
        }
    if svc.get("platform") and "/" in str(svc["platform"]):
        os_, arch = str(svc["platform"]).split("/")[:2]
        selector.setdefault("kubernetes.io/os", os_)
        selector.setdefault("kubernetes.io/arch", arch)
    return selector, affinity


def _host_aliases(svc: dict, name: str, warnings: list[str]) -> list[dict]:
    by_ip: dict[str, list[str]] = {}
    for entry in svc.get("extra_hosts") or []:
        host, _, ip = str(entry).partition("=")
        if ip == "host-gateway" or not re.fullmatch(r"[0-9a-fA-F:.]+", ip or ""):
            _warn(warnings, f"service {name}: extra_hosts {host}={ip} has no Kubernetes equivalent; ignored")
            continue
        by_ip.setdefault(ip, [])
        if host not in by_ip[ip]:
            by_ip[ip].append(host)
    return [{"ip": ip, "hostnames": hosts} for ip, hosts in sorted(by_ip.items())]


def _dns(svc: dict) -> dict:
    cfg: dict[str, Any] = {}
    if svc.get("dns"):
        cfg["nameservers"] = list(svc["dns"])[:3]
    if svc.get("dns_search"):
        cfg["searches"] = list(svc["dns_search"])[:32]
    if svc.get("dns_opt"):
        opts = []
        for o in svc["dns_opt"]:
            k, sep, v = str(o).partition(":")
            opts.append({"name": k, "value": v} if sep else {"name": k})
        cfg["options"] = opts
    return cfg


def _annotations(svc: dict, name: str, warnings: list[str]) -> dict:
    out: dict[str, str] = {}
    for source in ("labels", "annotations"):
        for k, v in sorted((svc.get(source) or {}).items()):
            if not is_qualified_key(k):
                _warn(warnings, f"service {name}: {source[:-1]} {k!r} is not a valid Kubernetes annotation key; dropped")
                continue
            out[k] = "" if v is None else str(v)
    return out


def _mount_target(target: str, default_dir: str) -> str:
    return target if target.startswith("/") else posixpath.join(default_dir, target)


def build_chart(
    project: Project,
    chart_name: str | None = None,
    chart_version: str = "0.1.0",
    app_version: str | None = None,
    embed_secrets: bool = False,
) -> Chart:
    """The chart model; a BridgeError raised while building points at the compose file and line."""
    try:
        return _build(project, chart_name, chart_version, app_version, embed_secrets)
    except BridgeError as exc:
        if exc.file is None:
            exc.file, exc.line, exc.column = project.locate(exc.path)
        raise


def _build(project: Project, chart_name: str | None, chart_version: str, app_version: str | None,
           embed_secrets: bool) -> Chart:
    data = project.data
    warnings: list[str] = []
    services_data, models_top = apply_providers(data.get("services") or {}, data.get("models") or {}, warnings)
    if not services_data:
        _warn(warnings, "the project has no services; the chart holds no workloads")
    labels = unique_labels(list(services_data), "services")
    name = chart_name or project.name
    chart_label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:53] or "chart"
    volumes_top = data.get("volumes") or {}
    vol_labels = unique_labels(list(volumes_top), "volumes")
    secret_labels = unique_labels(list(data.get("secrets") or {}), "secrets")
    config_labels = unique_labels(list(data.get("configs") or {}), "configs")
    net_labels = unique_labels(list(data.get("networks") or {}), "networks")
    values: dict[str, Any] = {}
    comments: dict[tuple, str] = {}
    files: dict[str, bytes] = {}

    # Chart-wide settings.
    values["nameOverride"] = ""
    values["fullnameOverride"] = ""
    comments[("nameOverride",)] = "Override the chart name used in object names."
    comments[("fullnameOverride",)] = "Override the whole name prefix of every object (default: <release>-<chart>)."
    values["imagePullSecrets"] = []
    comments[("imagePullSecrets",)] = "Secrets for pulling images from private registries, e.g. [{name: regcred}]."
    values["serviceAliases"] = {"enabled": True}
    comments[("serviceAliases",)] = (
        "Headless Services named like the compose services and their other compose names (db, redis, network\n"
        "aliases, container_name, links), so the app's own host names resolve to its pods on every port.\n"
        "Disable to install two releases of this chart in one namespace."
    )
    values["hostPath"] = {"enabled": False}
    comments[("hostPath",)] = (
        "Bind mounts of host paths outside the project (/var/run/docker.sock, /sys, ...) become hostPath\n"
        "volumes when enabled (single-node clusters only); otherwise they are not mounted (project files are\n"
        "ConfigMaps, data paths claims, either way)."
    )
    values["networkPolicies"] = {"enabled": True}
    comments[("networkPolicies",)] = (
        "One NetworkPolicy per compose network: pods accept traffic from pods on a shared network and,\n"
        "on published ports, from anywhere. Egress and DNS are not restricted."
    )
    values["waitForDependencies"] = {"enabled": True, "image": WAIT_IMAGE, "timeoutSeconds": 300}
    comments[("waitForDependencies",)] = (
        "depends_on: init containers wait until each dependency is ready (its headless Service resolves)\n"
        "or, for one-shots (condition: service_completed_successfully), until its Job completed (read with a\n"
        "token allowed only that). image needs curl and sh; timeoutSeconds bounds each wait."
    )

    # Named volumes -> PVCs.
    used_volumes: dict[str, list[str]] = {}
    for sname, svc in services_data.items():
        for vol in svc.get("volumes") or []:
            if vol.get("type") == "volume" and vol.get("source"):
                used_volumes.setdefault(vol["source"], []).append(sname)
    persistence: dict[str, Any] = {}
    pvcs: list[dict] = []
    for vkey in sorted(volumes_top):
        if vkey not in used_volumes:
            continue
        spec = volumes_top[vkey] or {}
        size = "1Gi"
        opts = spec.get("driver_opts") or {}
        if opts.get("size"):
            try:
                size = quantity_bytes(parse_bytes(opts["size"]))
            except ValueError:
                pass
        entry = {
            "enabled": True,
            "size": size,
            "storageClass": "",
            "accessModes": ["ReadWriteOnce"] if len(set(used_volumes[vkey])) == 1 else ["ReadWriteMany"],
            "existingClaim": str(spec.get("name")) if spec.get("external") else "",
        }
        persistence[vkey] = entry
        pvcs.append({"key": vkey, "label": vol_labels[vkey], "external": bool(spec.get("external")),
                     "component": f"data-{vol_labels[vkey]}"})
    values["persistence"] = persistence
    comments[("persistence",)] = (
        "Named compose volumes, and bind-mounted data paths (\"<service>:<target>\"), one PersistentVolumeClaim\n"
        "each. storageClass \"\" uses the cluster default; existingClaim uses a claim you created;\n"
        "enabled: false uses an emptyDir instead."
    )

    # Secrets and configs -> Secret / ConfigMap objects with their content in files/.
    secret_models, secret_values = _file_objects("secrets", data, secret_labels, project, files, warnings,
                                                 embed_secrets)
    config_models, config_values = _file_objects("configs", data, config_labels, project, files, warnings)
    values["secrets"] = secret_values
    comments[("secrets",)] = (
        "Compose secrets. Their content is not in the chart: supply it at install time with\n"
        "--set-file secrets.<name>.value=PATH (see README.md for the exact command), or set existingSecret\n"
        "to use a Secret you created (its key: the secret name)."
    )
    values["configs"] = config_values
    comments[("configs",)] = "Compose configs. existingConfigMap: use a ConfigMap you created."

    # Models.
    runner = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in DEFAULT_RUNNER.items()}
    used_models = sorted({m for svc in services_data.values() for m in (svc.get("models") or {})})
    refs: list[str] = []
    configure = []
    for mkey in used_models:
        spec = models_top.get(mkey) or {}
        ref = str(spec.get("model") or "")
        if not ref:
            raise BridgeError(f"model {mkey} has no `model` reference", path=("models", mkey))
        if ref not in refs:
            refs.append(ref)
        if spec.get("context_size") is not None or spec.get("runtime_flags"):
            item: dict[str, Any] = {"model": ref}
            if spec.get("context_size") is not None:
                item["contextSize"] = int(spec["context_size"])
            if spec.get("runtime_flags"):
                item["runtimeFlags"] = [str(f) for f in spec["runtime_flags"]]
            if item not in configure:
                configure.append(item)
    runner["models"] = refs
    runner["configure"] = configure
    values["modelRunner"] = runner
    comments[("modelRunner",)] = (
        "Where services find their AI models (compose `models:`). enabled: false points them at hostEndpoint,\n"
        "Docker Desktop's host model runner; enabled: true deploys a model runner in the cluster."
    )
    comments[("modelRunner", "clusterEndpoint")] = "Endpoint used when enabled; empty: the in-cluster runner Service."
    comments[("modelRunner", "gpu")] = "GPU for the runner: vendor nvidia or amd, count >= 1."
    comments[("modelRunner", "replicas")] = (
        "Runner replicas. Above 1 every replica pulls the models itself and is Ready once it has them; the\n"
        "Service spreads requests. Needs storage.mode perReplica, or accessModes [ReadWriteMany] to share one volume.")
    comments[("modelRunner", "storage")] = (
        "Volume for downloaded models; storageClass \"\" uses the cluster default. mode: shared (one claim, or\n"
        "existingClaim) or perReplica (a StatefulSet, a claim per replica from these settings).")
    comments[("modelRunner", "podDisruptionBudget")] = "With several replicas: how many may be down at once during drains."
    comments[("modelRunner", "spread")] = "With several replicas: spread them over nodes (topologySpreadConstraints)."
    comments[("modelRunner", "autoscaling")] = "A HorizontalPodAutoscaler on CPU for the runner (replicas is then its business)."
    comments[("modelRunner", "models")] = "Models pulled by the runner before apps need them (from compose)."
    comments[("modelRunner", "configure")] = "Per-model context size and runtime flags (from compose), applied after the pull."
    comments[("modelRunner", "prePull")] = "Image and time limit of the Job that pulls and configures the models."
    comments[("modelRunner", "env")] = "Extra environment for the runner, e.g. {DMR_ORIGINS: \"http://localhost:31246\"}."

    # Services.
    service_models: list[ServiceModel] = []
    networks_used: dict[str, list[str]] = {}
    ports_by_service: dict[str, list[dict]] = {}
    for sname in sorted(services_data):
        svc = services_data[sname]
        ports_by_service[sname] = _ports(svc)
    ctx = _Ctx(
        project=project, services=services_data, ports_by_service=ports_by_service, vol_labels=vol_labels,
        secret_models=secret_models, config_models=config_models, models_top=models_top, warnings=warnings,
        pvcs=pvcs, labels=labels, names=service_names(services_data, warnings), oneshots=oneshot_services(services_data),
        files=files, persistence=persistence, sidecar_roots=sidecar_roots(services_data, warnings),
    )
    keys_seen: dict[str, str] = {}
    for sname in sorted(services_data):
        svc = services_data[sname]
        key = values_key(sname)
        if key in keys_seen:
            raise BridgeError(
                f"services {keys_seen[key]!r} and {sname!r} share the values key {key!r}; rename one",
                path=("services", sname),
            )
        keys_seen[key] = sname
        label = labels[sname]
        v, model = _service_values(sname, svc, key, label, ctx)
        values[key] = v
        comments[(key,)] = f"compose service `{sname}`"
        for net in sorted(svc.get("networks") or {}):
            networks_used.setdefault(net, []).append(sname)
            model.networks.append(net_labels.get(net, net))
        service_models.append(model)

    by_name = {m.name: m for m in service_models}
    for model in service_models:
        root = ctx.sidecar_roots.get(model.name)
        if root is None:
            continue
        owner = by_name[root]
        model.sidecar_of = owner.label
        owner.sidecars.append(model)
        owner.aliases += [a for a in model.aliases if a not in owner.aliases]
        model.aliases = []
        owner.recreate = owner.recreate or model.recreate
        owner.networks = sorted(set(owner.networks) | set(model.networks))
    networks = [
        {"key": n, "label": net_labels[n], "services": sorted(s)} for n, s in sorted(networks_used.items()) if n in net_labels
    ]
    return Chart(
        name=chart_label,
        version=chart_version,
        app_version=app_version or "latest",
        description=f"Helm chart for the compose project {project.name}, generated by compose-bridge",
        project=project.name,
        services=service_models,
        volumes=pvcs,
        secrets=secret_models,
        configs=config_models,
        networks=networks,
        values=values,
        comments=comments,
        files=files,
        warnings=warnings + list(project.warnings),
        models=[{"ref": r} for r in refs],
        working_dir=project.working_dir,
    )


def _file_objects(
    kind: str, data: dict, labels: dict[str, str], project: Project, files: dict[str, bytes], warnings: list[str],
    embed_secrets: bool = False,
) -> tuple[list[dict], dict]:
    used = {
        ref.get("source")
        for svc in (data.get("services") or {}).values()
        for ref in (svc.get(kind) or [])
    }
    models: list[dict] = []
    values: dict[str, Any] = {}
    for key in sorted(data.get(kind) or {}):
        if key not in used:
            continue
        spec = data[kind][key] or {}
        label = labels[key]
        entry: dict[str, Any] = {
            "key": key, "label": label, "external": bool(spec.get("external")), "install": None, "file": None,
        }
        existing = str(spec.get("name")) if spec.get("external") else ""
        content: bytes | None = None
        if spec.get("external"):
            pass
        elif kind == "secrets" and not embed_secrets:
            # The content is supplied at install time; the file need not exist yet.
            entry["install"] = install_value(key, spec)
            entry["required"] = (entry["install"] or InstallValue("--set-file", set_key("secrets", key, "value"))
                                 ).missing_message(key, project.working_dir)
            file = Path(spec["file"]) if spec.get("file") else None
            if file is not None and not file.is_file():
                _warn(warnings, f"secret {key}: file {spec['file']} not found; supply the content at install time")
            elif file is not None and file.stat().st_size > MAX_OBJECT_DATA:
                raise BridgeError(f"secret {key} is larger than Kubernetes allows in one Secret (1 MiB)",
                                  path=(kind, key))
            elif spec.get("environment") and str(spec["environment"]) not in project.environment:
                _warn(warnings, f"secret {key}: variable {spec['environment']} is not set; supply the value at install")
        elif spec.get("file") and not Path(spec["file"]).exists():
            # Compose only reads the file at `up`; the chart expects the operator to provide it.
            existing = str(spec.get("name") or key)
            _warn(warnings, f"{kind[:-1]} {key}: file {spec['file']} not found; the chart expects an existing "
                  f"{'Secret' if kind == 'secrets' else 'ConfigMap'} named {existing!r} (key {key!r}), "
                  f"set {kind}.{key}.{'existingSecret' if kind == 'secrets' else 'existingConfigMap'} to change it")
            entry["external"] = True
        else:
            if spec.get("file"):
                path = Path(spec["file"])
                if kind == "secrets":
                    _warn(warnings, f"secret {key}: --embed-secrets copies its content into the chart "
                          f"(files/secrets/{label}); anyone who can read the chart can read the secret")
                if Path(project.working_dir).resolve() not in path.resolve().parents:
                    _warn(warnings, f"{kind[:-1]} {key}: {path} is outside the project directory; "
                          f"its content is copied into the chart")
                try:
                    content = path.read_bytes()
                except IsADirectoryError:
                    raise BridgeError(
                        f"{kind[:-1]} file {spec['file']} is a directory; only files are supported",
                        path=(kind, key, "file"),
                    ) from None
                except OSError as exc:
                    raise BridgeError(f"cannot read {spec['file']}: {exc.strerror}", path=(kind, key, "file")) from None
            elif "content" in spec:
                content = str(spec.get("content") or "").encode()
            elif spec.get("environment"):
                var = str(spec["environment"])
                if var not in project.environment:
                    _warn(warnings, f"{kind[:-1]} {key}: variable {var} is not set; the value is empty")
                content = project.environment.get(var, "").encode()
            else:
                content = b""
            if len(content) > MAX_OBJECT_DATA:
                raise BridgeError(
                    f"{kind[:-1]} {key} is larger than Kubernetes allows (1 MiB)", path=(kind, key)
                )
            entry["file"] = f"files/{kind}/{label}"
            files[entry["file"]] = content
        models.append(entry)
        if kind == "secrets":
            values[key] = {"existingSecret": existing, "value": ""}
        else:
            values[key] = {"existingConfigMap": existing}
    return models, values


def _ports(svc: dict) -> list[dict]:
    """Container ports of a service: published ports, their targets, and `expose`."""
    out: list[dict] = []
    seen: set[tuple] = set()
    for p in svc.get("ports") or []:
        target = int(p["target"])
        proto = str(p.get("protocol") or "tcp").upper()
        if proto not in ("TCP", "UDP", "SCTP"):
            proto = "TCP"
        # In compose, other services reach a container on its target port (the published port is the
        # host's), so the Service port is the target port: `db:5432` keeps working in the cluster.
        port = target
        ident = (port, proto)
        if ident in seen:
            continue
        seen.add(ident)
        out.append({"port": port, "target": target, "protocol": proto, "name": p.get("name")})
    for e in svc.get("expose") or []:
        text = str(e)
        proto = "TCP"
        if "/" in text:
            text, pr = text.split("/", 1)
            proto = pr.upper() if pr.upper() in ("TCP", "UDP", "SCTP") else "TCP"
        lo, _, hi = text.partition("-")
        if not lo.isdigit():
            continue
        for port in range(int(lo), int(hi or lo) + 1):
            if (port, proto) in seen or not 0 < port < 65536:
                continue
            seen.add((port, proto))
            out.append({"port": port, "target": port, "protocol": proto, "name": None})
    return out


class _Ctx:
    """What building one service needs from the whole project."""

    def __init__(self, project: Project, services: dict[str, dict], ports_by_service: dict[str, list[dict]],
                 vol_labels: dict[str, str], secret_models: list[dict], config_models: list[dict],
                 models_top: dict, warnings: list[str], pvcs: list[dict], labels: dict[str, str],
                 names: dict[str, Names], oneshots: set[str], files: dict[str, bytes],
                 persistence: dict[str, Any], sidecar_roots: dict[str, str]) -> None:
        self.project = project
        self.services = services
        self.ports_by_service = ports_by_service
        self.vol_labels = vol_labels
        self.secret_models = secret_models
        self.config_models = config_models
        self.models_top = models_top
        self.warnings = warnings
        self.pvcs = pvcs
        self.labels = labels
        self.names = names
        self.oneshots = oneshots
        self.files = files
        self.persistence = persistence
        self.sidecar_roots = sidecar_roots
        self.keys = {s: values_key(s) for s in services}  # service -> values key
        self.volume_keys = {p["key"] for p in pvcs}  # named volumes that have a claim


def _service_values(sname: str, svc: dict, key: str, label: str, ctx: _Ctx) -> tuple[dict, ServiceModel]:
    project, warnings, names, labels = ctx.project, ctx.warnings, ctx.names, ctx.labels
    ports_by_service, vol_labels, pvcs = ctx.ports_by_service, ctx.vol_labels, ctx.pvcs
    secret_models, config_models, models_top = ctx.secret_models, ctx.config_models, ctx.models_top
    v: dict[str, Any] = {"enabled": True}
    if sname in ctx.oneshots:
        kind = "Job"
    elif (svc.get("deploy") or {}).get("mode") == "global":
        kind = "DaemonSet"
    else:
        kind = "Deployment"
    replicas = (svc.get("deploy") or {}).get("replicas")
    if replicas is None:
        replicas = svc.get("scale")
    v["replicas"] = 1 if replicas is None else max(0, int(replicas))
    if svc.get("image"):
        image = split_image(str(svc["image"]))
    else:
        image = {"repository": f"{project.name}-{sname}", "tag": "latest", "digest": ""}
        _warn(warnings, f"service {sname}: has only `build`; build and push image {image['repository']}:latest, "
              f"or set {key}.image.repository")
    image["pullPolicy"] = pull_policy(svc.get("pull_policy"), warnings, sname)
    v["image"] = image
    v["command"] = list(svc["entrypoint"]) if svc.get("entrypoint") else []
    v["args"] = list(svc["command"]) if svc.get("command") else []
    if isinstance(svc.get("entrypoint"), list) and svc["entrypoint"] == [] and svc.get("command"):
        v["command"] = []

    # Environment: compose values stay literal strings; unset (null) variables are left out, as compose does.
    env_items: dict[str, str] = {}
    for k, val in (svc.get("environment") or {}).items():
        if val is None:
            continue
        env_items[k] = str(val)
    model_bindings: list[dict] = []
    for mkey, binding in sorted((svc.get("models") or {}).items()):
        binding = binding or {}
        prefix = env_prefix(mkey)
        url_var = binding.get("endpoint_var") or f"{prefix}_URL"
        model_var = binding.get("model_var") or f"{prefix}_MODEL"
        ref = str((models_top.get(mkey) or {}).get("model") or "")
        if url_var == model_var:
            _warn(warnings, f"service {sname}: model {mkey} uses {url_var} for both the endpoint and the model; "
                  f"as with docker compose, it holds the endpoint")
        model_bindings.append({"key": mkey, "urlVar": url_var, "modelVar": model_var, "model": ref})
        env_items.pop(url_var, None)
        env_items.pop(model_var, None)
    v["env"] = [{"name": k, "value": val} for k, val in env_items.items()]
    v["models"] = model_bindings

    ports = ports_by_service[sname]
    used_names: set[str] = set()
    container_ports = []
    service_ports = []
    for p in ports:
        pname = port_name(p["protocol"], p["target"], p.get("name"), used_names)
        container_ports.append({"name": pname, "containerPort": p["target"], "protocol": p["protocol"]})
        service_ports.append({"name": pname, "port": p["port"], "targetPort": pname, "protocol": p["protocol"]})
    # The same target may appear on several published ports: keep one containerPort per (port, protocol).
    dedup: dict[tuple, dict] = {}
    for cp in container_ports:
        dedup.setdefault((cp["containerPort"], cp["protocol"]), cp)
    name_map = {cp["name"]: dedup[(cp["containerPort"], cp["protocol"])]["name"] for cp in container_ports}
    for sp in service_ports:
        sp["targetPort"] = name_map[sp["targetPort"]]
    v["ports"] = list(dedup.values())
    v["service"] = {"enabled": bool(service_ports), "type": "ClusterIP", "annotations": {}, "ports": service_ports}
    v["published"] = published_service(svc, v["ports"])
    tcp_published = [p for p in v["published"]["ports"] if p["protocol"] == "TCP"]
    if tcp_published:
        # An Ingress in front of the first published TCP port, off until the operator names a host.
        v["ingress"] = {"enabled": False, "className": "", "host": "", "path": "/", "port": tcp_published[0]["port"],
                        "annotations": {}, "tls": []}

    v["resources"] = _resources(svc)
    v["securityContext"] = _security(svc, sname, warnings)
    v["podSecurityContext"] = _pod_security(svc, sname, warnings)
    readiness, startup = probes(svc.get("healthcheck"))
    v["livenessProbe"] = {}  # compose never restarts an unhealthy container; set one here to do so
    v["readinessProbe"] = readiness
    v["startupProbe"] = startup
    tcp = next((cp for cp in v["ports"] if cp["protocol"] == "TCP"), None)
    if not readiness and tcp and not (svc.get("healthcheck") or {}).get("disable") and kind != "Job":
        # No healthcheck: the pod is ready once its first TCP port accepts connections.
        v["readinessProbe"] = {"tcpSocket": {"port": tcp["name"]}, "periodSeconds": 10, "failureThreshold": 3}
    node_selector, affinity = _placement(svc, sname, warnings)
    v["nodeSelector"] = node_selector
    v["tolerations"] = []
    v["affinity"] = affinity
    v["podAnnotations"] = _annotations(svc, sname, warnings)
    v["podLabels"] = {}
    v["hostAliases"] = _host_aliases(svc, sname, warnings)
    v["dnsConfig"] = _dns(svc)
    hostname = svc.get("hostname")
    v["hostname"] = hostname if hostname and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", hostname) and len(hostname) <= 63 else ""
    if hostname and not v["hostname"]:
        _warn(warnings, f"service {sname}: hostname {hostname!r} is not a DNS label; ignored")
    v["workingDir"] = svc.get("working_dir") or ""
    v["stdin"] = bool(svc.get("stdin_open"))
    v["tty"] = bool(svc.get("tty"))
    grace = svc.get("stop_grace_period")
    v["terminationGracePeriodSeconds"] = duration_seconds(parse_duration(grace)) if grace else 30
    restart = svc.get("restart")
    if kind == "Job":
        v["job"] = job_settings(sname, svc, warnings)
    elif restart and restart not in ("always", "unless-stopped"):
        _warn(warnings, f"service {sname}: restart: {restart} is not possible for a {kind}; pods always restart")
    v["lifecycle"] = lifecycle_hooks(sname, svc, warnings)
    v["hostNetwork"] = svc.get("network_mode") == "host"
    for text in unsupported_warnings(sname, svc):
        _warn(warnings, text)

    # Volumes.
    model = ServiceModel(sname, key, label, kind, bool(service_ports), list(names[sname].aliases))
    mounts: list[dict] = []
    vol_names: set[str] = set()

    # Containers sharing a pod (network_mode: service:X) keep their volume names apart.
    prefix = f"{label[:10].strip('-')}-" if sname in ctx.sidecar_roots else ""

    def vol_name(base: str) -> str:
        return unique_name(prefix + (re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:50].strip("-") or "vol"),
                           vol_names)

    pvc_keys = ctx.volume_keys
    for vol in svc.get("volumes") or []:
        target = vol.get("target")
        if not target:
            continue
        entry: dict[str, Any] = {"mountPath": target, "readOnly": bool(vol.get("read_only"))}
        vtype = vol.get("type")
        if vtype == "volume" and vol.get("source") in pvc_keys:
            entry.update({"name": vol_name("data-" + vol_labels[vol["source"]]), "type": "persistentVolumeClaim",
                          "volume": vol["source"], "claim": "data-" + vol_labels[vol["source"]]})
            if (vol.get("volume") or {}).get("subpath"):
                entry["subPath"] = vol["volume"]["subpath"]
            model.recreate = True
        elif vtype == "volume":
            entry.update({"name": vol_name("anon-" + target), "type": "emptyDir"})
        elif vtype == "bind":
            source = str(vol.get("source") or "")
            blabel = bind_label(label, target)
            plan = plan_bind(source, target, bool(vol.get("read_only")), project.working_dir,
                             f"files/mounts/{blabel}", ctx.files)
            if plan.kind == "config":
                entry.update({"name": vol_name("bind-" + target), "type": "bindConfig", "readOnly": True,
                              "component": f"bind-{blabel}", "files": plan.files})
                if len(plan.files) == 1 and plan.files[0].path == "":
                    entry["subPath"] = plan.files[0].key  # a single file, mounted as that file
                model.bind_configs.append(entry)
            elif plan.kind == "data":
                pkey = f"{sname}:{target}"
                ctx.persistence[pkey] = bind_persistence()
                pvcs.append({"key": pkey, "label": blabel, "external": False, "component": f"bind-{blabel}"})
                entry.update({"name": vol_name("bind-" + target), "type": "persistentVolumeClaim", "volume": pkey,
                              "claim": f"bind-{blabel}"})
                _warn(warnings, f"service {sname}: bind mount {source} -> {target} {plan.reason}: it becomes a "
                      f"PersistentVolumeClaim (values persistence.\"{pkey}\")")
                model.recreate = True
            else:
                entry.update({"name": vol_name("host-" + target), "type": "bind", "hostPath": source})
                _warn(warnings, f"service {sname}: bind mount of the host path {source} -> {target} has no "
                      f"Kubernetes equivalent on a multi-node cluster; no volume unless hostPath.enabled=true")
        elif vtype == "tmpfs":
            entry.update({"name": vol_name("tmpfs-" + target), "type": "tmpfs"})
            size = (vol.get("tmpfs") or {}).get("size")
            if size:
                entry["sizeLimit"] = quantity_bytes(parse_bytes(size))
        else:
            _warn(warnings, f"service {sname}: volume type {vtype} is not supported; ignored")
            continue
        mounts.append(entry)
    if svc.get("shm_size"):
        mounts.append({"mountPath": "/dev/shm", "readOnly": False, "name": vol_name("shm"), "type": "tmpfs",
                       "sizeLimit": quantity_bytes(int(svc["shm_size"]))})
    for t in svc.get("tmpfs") or []:
        path, _, opts = str(t).partition(":")
        entry = {"mountPath": path, "readOnly": False, "name": vol_name("tmpfs-" + path), "type": "tmpfs"}
        for opt in opts.split(","):
            if opt.startswith("size="):
                try:
                    entry["sizeLimit"] = quantity_bytes(parse_bytes(opt[5:]))
                except ValueError:
                    pass
        mounts.append(entry)
    secret_by_key = {s["key"]: s for s in secret_models}
    config_by_key = {c["key"]: c for c in config_models}
    for kind_name, refs, by_key, default_dir in (
        ("secret", svc.get("secrets") or [], secret_by_key, "/run/secrets"),
        ("configMap", svc.get("configs") or [], config_by_key, "/"),
    ):
        for ref in refs:
            source = ref.get("source")
            if source not in by_key:
                continue
            target = _mount_target(str(ref.get("target") or source), default_dir)
            entry = {
                "mountPath": target, "readOnly": True, "name": vol_name(f"{kind_name[:3]}-{by_key[source]['label']}"),
                "type": kind_name, "source": source, "subPath": by_key[source]["label"],
            }
            if isinstance(ref.get("mode"), int):
                entry["mode"] = ref["mode"]
            mounts.append(entry)
    model.volumes = mounts
    model.models = model_bindings

    # depends_on -> init containers that wait (see oneshot.py).
    model.wait_for = waits(sname, svc, labels, ctx.keys, ctx.oneshots, warnings)
    v["waitFor"] = [w["service"] for w in model.wait_for]
    model.kind = kind
    return v, model
