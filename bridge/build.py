"""Build the chart model from a canonical Compose project: names, values, references. No text here.

Project-wide parts are built here (chart settings, names, named volumes, secrets and configs, the
model runner); each service goes through the builders in bridge/builders/ (one per Compose aspect).
"""

from __future__ import annotations

import re
from typing import Any

from .builders import build_service
from .builders.files import file_objects
from .builders.models import RUNNER_COMMENTS, apply_providers, runner_values
from .builders.names import referenced_ports, service_names, sidecar_roots
from .builders.oneshots import oneshot_services
from .builders.volumes import named_volume_claims
from .errors import BridgeError
from .loader import Project
from .model import Chart, Context, ServiceModel, Warnings
from .naming import unique_labels, values_key
from .secrets import keys_holding, secret_values

# The waits resolve names and read Job status with curl: it resolves through libc, which applies the
# pod's DNS search path (busybox's own nslookup, since 1.29, does not, so short names never resolve).
WAIT_IMAGE = "curlimages/curl:8.10.1"
# The seed containers run their commands with this image's /bin/busybox, copied into the pod: Docker's
# official busybox images are statically linked, so it runs inside any service image (distroless too).
SEED_IMAGE = "busybox:1.37.0-musl"


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


def _chart_settings(values: dict[str, Any], comments: dict[tuple, str]) -> None:
    values["nameOverride"] = ""
    values["fullnameOverride"] = ""
    comments[("nameOverride",)] = "Override the chart name used in object names."
    comments[("fullnameOverride",)] = "Override the whole name prefix of every object (default: <release>-<chart>)."
    values["global"] = {"imageRegistry": ""}
    comments[("global",)] = (
        "imageRegistry: a registry that mirrors every image the chart runs (it replaces each image's registry,\n"
        "or goes in front of a Docker Hub name).")
    values["imagePullSecrets"] = []
    comments[("imagePullSecrets",)] = "Secrets for pulling images from private registries, e.g. [{name: regcred}]."
    values["serviceAccount"] = {"create": False, "name": "", "annotations": {}, "automount": False}
    comments[("serviceAccount",)] = (
        "The account the app's pods run as: create one (named name, or <release>-<chart>), or name one you\n"
        "have; empty: the namespace's default. automount: mount its token into the pods (compose apps need\n"
        "none; cloud identity bindings may).")
    values["podSecurity"] = ""
    comments[("podSecurity",)] = (
        "\"restricted\": run every container as Kubernetes' restricted Pod Security Standard asks (non-root,\n"
        "no privilege escalation, all capabilities dropped). Off by default: images that start as root break.")
    values["tests"] = {"enabled": True}
    comments[("tests",)] = "`helm test RELEASE`: a pod checks that each Service with a known TCP port accepts connections."
    values["serviceAliases"] = {"enabled": True}
    comments[("serviceAliases",)] = (
        "Services named like the compose services and their other compose names (db, redis, network aliases,\n"
        "container_name, links), so the app's own host names work: ClusterIP on the known ports, else headless.\n"
        "They are the namespace's: a second app with one of these names is refused at install."
    )
    values["hostPath"] = {"enabled": False}
    comments[("hostPath",)] = (
        "Bind mounts of host paths outside the project (/var/run/docker.sock, /sys, ...) become hostPath\n"
        "volumes when enabled (single-node clusters only); otherwise they are not mounted (project files are\n"
        "ConfigMaps, data paths claims, either way)."
    )
    values["seedVolumes"] = {"enabled": True, "image": SEED_IMAGE}
    comments[("seedVolumes",)] = (
        "Docker's copy-up for new volumes: before a pod starts, an init container from the service's own image\n"
        "(as root, with only CHOWN, DAC_OVERRIDE, FOWNER, FSETID) copies the image's content at each claim's mount\n"
        "path into the claim when it is empty, with its owner and mode, so non-root images can write a fresh\n"
        "volume and find the defaults they ship. A claim holding anything is left alone. Off per volume with\n"
        "persistence.<volume>.seed: false (pre-provisioned volumes), or here; skipped when podSecurity is\n"
        "restricted (it runs as root). image: any image with a static /bin/busybox.")
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



def _values_keys(services: dict[str, dict]) -> dict[str, str]:
    """service -> its top-level values key; two services may not share one."""
    keys: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in sorted(services):
        key = values_key(name)
        if key in owner:
            raise BridgeError(f"services {owner[key]!r} and {name!r} share the values key {key!r}; rename one",
                              path=("services", name))
        owner[key] = name
        keys[name] = key
    return keys


def _build(project: Project, chart_name: str | None, chart_version: str, app_version: str | None,
           embed_secrets: bool) -> Chart:
    data = project.data
    warnings = Warnings()
    services, models = apply_providers(data.get("services") or {}, data.get("models") or {}, warnings)
    if not services:
        warnings.add("the project has no services; the chart holds no workloads")
    name = chart_name or project.name
    chart_label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:53] or "chart"
    values: dict[str, Any] = {}
    comments: dict[tuple, str] = {}
    files: dict[str, bytes] = {}
    _chart_settings(values, comments)

    volumes = data.get("volumes") or {}
    volume_labels = unique_labels(list(volumes), "volumes")
    persistence, claims = named_volume_claims(services, volumes, volume_labels)
    values["persistence"] = persistence
    comments[("persistence",)] = (
        "Named compose volumes, and bind-mounted data paths (\"<service>:<target>\"), one PersistentVolumeClaim\n"
        "each, kept by helm uninstall. storageClass \"\" uses the cluster default; existingClaim uses a claim you\n"
        "created; enabled: false uses an emptyDir instead; subPath: the folder inside the claim the data lives in\n"
        "(\"data\": a fresh volume's root holds lost+found; \"\": the root, where releases converted earlier keep it);\n"
        "seed: copy the image's content into the claim when it is empty (seedVolumes)."
    )
    secrets, values["secrets"] = file_objects("secrets", data, unique_labels(list(data.get("secrets") or {}), "secrets"),
                                              project, files, warnings, embed_secrets)
    comments[("secrets",)] = (
        "Compose secrets. Their content is not in the chart: supply it at install time with\n"
        "--set-file secrets.<name>.value=PATH (see README.md for the exact command), or set existingSecret\n"
        "to use a Secret you created (its key: the secret name)."
    )
    configs, values["configs"] = file_objects("configs", data, unique_labels(list(data.get("configs") or {}), "configs"),
                                              project, files, warnings)
    comments[("configs",)] = "Compose configs. existingConfigMap: use a ConfigMap you created."
    values["modelRunner"] = runner = runner_values(services, models)
    comments.update(RUNNER_COMMENTS)

    network_labels = unique_labels(list(data.get("networks") or {}), "networks")
    ctx = Context(
        project=project, services=services, models=models, labels=unique_labels(list(services), "services"),
        keys=_values_keys(services), names=service_names(services, warnings), oneshots=oneshot_services(services),
        sidecar_roots=sidecar_roots(services, warnings), network_labels=network_labels, volume_labels=volume_labels,
        referenced_ports=referenced_ports(services, project.working_dir),
        claimed_volumes={c["key"] for c in claims}, secrets=secrets, configs=configs, files=files,
        persistence=persistence, claims=claims, warnings=warnings,
        secret_values=secret_values(project.interpolated, [s.get("environment") or {} for s in services.values()]),
    )
    service_models: list[ServiceModel] = []
    from_env = secret_values(project.interpolated, [])
    for sname in sorted(services):
        service = build_service(sname, services[sname], ctx)
        for key in keys_holding(service.values, from_env):
            warnings.add(f"service {sname}: {key} holds the value of a secret variable from .env or the environment; "
                         f"it stays in values.yaml (use the variable inside the container, e.g. $$VAR, instead)")
        values[service.key] = service.values
        comments[(service.key,)] = f"compose service `{sname}`"
        service_models.append(service)
    _join_pods(service_models, ctx.sidecar_roots)
    values["envSecrets"] = {"existingSecret": "", "values": dict(ctx.env_secrets) if embed_secrets else {}}
    comments[("envSecrets",)] = (
        "Environment variables secret by name (PASSWORD, SECRET, TOKEN, KEY, PASS, CREDENTIAL) or holding such a\n"
        "value, from .env and the environment at convert time. Their values are not in the chart: bridge convert\n"
        "wrote them to <chart>-secret-values.yaml beside it; pass that file with -f (values: key -> value, keys\n"
        "<service>.<VARIABLE>), or name a Secret you created with those keys in existingSecret.")
    if embed_secrets and ctx.env_secrets:
        warnings.add(f"--embed-secrets: {len(ctx.env_secrets)} secret environment values are written into the "
                     f"chart's values.yaml (envSecrets.values); keep the chart private")

    members: dict[str, list[str]] = {}
    for sname in sorted(services):
        for net in services[sname].get("networks") or {}:
            members.setdefault(net, []).append(sname)
    networks = [{"key": n, "label": network_labels[n], "services": sorted(s)}
                for n, s in sorted(members.items()) if n in network_labels]
    return Chart(
        name=chart_label,
        version=chart_version,
        app_version=app_version or "latest",
        description=f"Helm chart for the compose project {project.name}, generated by compose-bridge",
        project=project.name,
        services=service_models,
        volumes=claims,
        secrets=secrets,
        configs=configs,
        networks=networks,
        values=values,
        comments=comments,
        files=files,
        warnings=warnings + list(project.warnings),
        models=[{"ref": r} for r in runner["models"]],
        working_dir=project.working_dir,
        env_secrets=dict(ctx.env_secrets),
        embed_secrets=embed_secrets,
    )


def _join_pods(services: list[ServiceModel], roots: dict[str, str]) -> None:
    """`network_mode: service:X`: the service becomes a container of X's pod, which takes its names,
    networks and need to recreate."""
    by_name = {s.name: s for s in services}
    for service in services:
        root = roots.get(service.name)
        if root is None:
            continue
        owner = by_name[root]
        service.sidecar_of = owner.label
        owner.sidecars.append(service)
        owner.aliases += [a for a in service.aliases if a not in owner.aliases]
        service.aliases = []
        owner.recreate = owner.recreate or service.recreate
        owner.networks = sorted(set(owner.networks) | set(service.networks))
