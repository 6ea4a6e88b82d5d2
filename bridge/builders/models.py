"""Models: a service's `models` bindings (`<KEY>_URL`/`<KEY>_MODEL` or `endpoint_var`/`model_var`, named
exactly as `docker compose up` names them), the chart-wide `modelRunner` values, and provider services.

Provider services (`provider: {type: model, options: {model: ai/smollm2}}`), the older compose model
syntax, run no container: `docker compose up` asks the provider (Docker Model Runner) for the model and
gives every service that depends on it `<SERVICE>_URL` and `<SERVICE>_MODEL`, the prefix being the
provider service's name upper-cased (docker/compose pkg/compose/plugins.go: `strings.ToUpper(name)`,
dashes kept). Here a model provider becomes a model like a top-level `models` entry, bound to its
dependents under those names; other provider types warn.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import BridgeError
from ..model import Context, ServiceModel, Warnings
from ..naming import env_prefix
from .base import ACCESS_MODES, OBJ, PULL_POLICY, QUANTITY, RESOURCES, STR_MAP, Builder, obj

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
    "fsGroup": 10001,
    "env": {},
    "resources": {
        "limits": {"cpu": "1000m", "memory": "2Gi"},
        "requests": {"cpu": "100m", "memory": "256Mi"},
    },
    "replicas": 1,
    "storage": {"size": "100Gi", "storageClass": "", "mode": "shared", "accessModes": ["ReadWriteOnce"],
                "existingClaim": "", "retention": {"whenDeleted": "Delete", "whenScaled": "Delete"}},
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
    "spread": {"enabled": True, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
    "autoscaling": {"enabled": False, "minReplicas": 2, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70},
    "models": [],
    "configure": [],
    "prePull": {"image": "curlimages/curl:8.10.1", "timeoutSeconds": 1800},
}

RUNNER_COMMENTS = {
    ("modelRunner",): (
        "Where services find their AI models (compose `models:`). enabled: false points them at hostEndpoint,\n"
        "Docker Desktop's host model runner; enabled: true deploys a model runner in the cluster."),
    ("modelRunner", "clusterEndpoint"): "Endpoint used when enabled; empty: the in-cluster runner Service.",
    ("modelRunner", "gpu"): "GPU for the runner: vendor nvidia or amd, count >= 1.",
    ("modelRunner", "replicas"): (
        "Runner replicas. Above 1 a container beside each replica pulls the models into it through the runner's\n"
        "API and the replica is Ready once it has them; the Service spreads requests. Needs storage.mode\n"
        "perReplica, or accessModes [ReadWriteMany] to share one volume."),
    ("modelRunner", "storage"): (
        "Volume for downloaded models; storageClass \"\" uses the cluster default. mode: shared (one claim, or\n"
        "existingClaim) or perReplica (a StatefulSet, a claim per replica from these settings; retention: what\n"
        "happens to a replica's claim when the StatefulSet is deleted or scaled down: Delete or Retain)."),
    ("modelRunner", "podDisruptionBudget"): "With several replicas: how many may be down at once during drains.",
    ("modelRunner", "spread"): "With several replicas: spread them over nodes (topologySpreadConstraints).",
    ("modelRunner", "autoscaling"): "A HorizontalPodAutoscaler on CPU for the runner (replicas is then its business).",
    ("modelRunner", "models"): "Models pulled by the runner before apps need them (from compose).",
    ("modelRunner", "configure"): (
        "Per-model context size, runtime flags and speculative decoding (a draft model, also pulled, proposes\n"
        "numTokens tokens the model verifies; drafting stops below minAcceptanceRate), from compose, applied\n"
        "after the pull with POST /engines/_configure in Docker Model Runner's shape."),
    ("modelRunner", "prePull"): "Image and time limit of the Job that pulls and configures the models.",
    ("modelRunner", "fsGroup"): (
        "Group that owns the models volume (the pod's fsGroup): 10001 is compose-bridge's runner image's user,\n"
        "so it can write a fresh volume; null leaves the volume as the storage provides it."),
    ("modelRunner", "env"): "Extra environment for the runner, e.g. {DMR_ORIGINS: \"http://localhost:31246\"}.",
}

RUNNER_SCHEMA = obj(
    {
        "enabled": {"type": "boolean"},
        "hostEndpoint": {"type": "string", "minLength": 1},
        "clusterEndpoint": {"type": "string"},
        "image": {"type": "string", "minLength": 1},
        "imagePullPolicy": PULL_POLICY,
        "gpu": obj({"enabled": {"type": "boolean"}, "vendor": {"type": "string", "enum": ["nvidia", "amd"]},
                    "count": {"type": "integer", "minimum": 1}}, ["enabled", "vendor", "count"]),
        "nodeSelector": STR_MAP,
        "tolerations": {"type": "array", "items": OBJ},
        "affinity": OBJ,
        "securityContext": OBJ,
        "fsGroup": {"type": "integer", "minimum": 0},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "resources": RESOURCES,
        "replicas": {"type": "integer", "minimum": 1},
        "storage": obj({
            "size": QUANTITY, "storageClass": {"type": "string"},
            "mode": {"type": "string", "enum": ["shared", "perReplica"]},
            "accessModes": ACCESS_MODES,
            "existingClaim": {"type": "string"},
            "retention": obj({k: {"type": "string", "enum": ["Retain", "Delete"]} for k in ("whenDeleted", "whenScaled")}),
        }, ["size"]),
        "podDisruptionBudget": obj({"enabled": {"type": "boolean"},
                                    "maxUnavailable": {"type": ["integer", "string"]}}),
        "spread": obj({"enabled": {"type": "boolean"}, "topologyKey": {"type": "string", "minLength": 1},
                       "whenUnsatisfiable": {"type": "string", "enum": ["ScheduleAnyway", "DoNotSchedule"]}}),
        "autoscaling": obj({"enabled": {"type": "boolean"}, "minReplicas": {"type": "integer", "minimum": 1},
                            "maxReplicas": {"type": "integer", "minimum": 1},
                            "targetCPUUtilizationPercentage": {"type": "integer", "minimum": 1, "maximum": 100}}),
        "models": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "configure": {"type": "array", "items": obj({
            "model": {"type": "string", "minLength": 1},
            "contextSize": {"type": "integer", "minimum": 1},
            "runtimeFlags": {"type": "array", "items": {"type": "string"}},
            "speculative": obj({"draftModel": {"type": "string", "minLength": 1},
                                "numTokens": {"type": "integer", "minimum": 1},
                                "minAcceptanceRate": {"type": "number", "minimum": 0, "maximum": 1}}),
        }, ["model"])},
        "prePull": obj({"image": {"type": "string", "minLength": 1}, "timeoutSeconds": {"type": "integer", "minimum": 1}}),
    },
    ["enabled", "hostEndpoint", "image", "gpu", "storage", "models"],
)


def runner_values(services: dict[str, dict], models: dict[str, Any]) -> dict[str, Any]:
    """The `modelRunner` block: the defaults, with the models the services use (in key order) and their
    context sizes and runtime flags."""
    runner = copy.deepcopy(DEFAULT_RUNNER)
    used = sorted({m for svc in services.values() for m in (svc.get("models") or {})})
    for key in used:
        spec = models.get(key) or {}
        ref = str(spec.get("model") or "")
        if not ref:
            raise BridgeError(f"model {key} has no `model` reference", path=("models", key))
        if ref not in runner["models"]:
            runner["models"].append(ref)
        item: dict[str, Any] = {"model": ref}
        if spec.get("context_size") is not None:
            item["contextSize"] = int(spec["context_size"])
        if spec.get("runtime_flags"):
            item["runtimeFlags"] = [str(f) for f in spec["runtime_flags"]]
        speculative = spec.get("speculative") or {}
        if speculative:
            item["speculative"] = {k: v for k, v in (("draftModel", speculative.get("draft_model")),
                                                     ("numTokens", speculative.get("num_tokens")),
                                                     ("minAcceptanceRate", speculative.get("min_acceptance_rate"))) if v}
            draft = speculative.get("draft_model")
            if draft and draft not in runner["models"]:
                runner["models"].append(str(draft))  # pulled beside the main model, before the configure
        if len(item) > 1 and item not in runner["configure"]:
            runner["configure"].append(item)
    return runner


def binding_variables(svc: dict) -> set[str]:
    """The variable names a service's model bindings set."""
    names = set()
    for key, binding in (svc.get("models") or {}).items():
        binding = binding or {}
        names.add(binding.get("endpoint_var") or f"{env_prefix(key)}_URL")
        names.add(binding.get("model_var") or f"{env_prefix(key)}_MODEL")
    return names


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    """The service's model bindings; the templates turn each into its two variables."""
    bindings = []
    for key, binding in sorted((service.compose.get("models") or {}).items()):
        binding = binding or {}
        prefix = env_prefix(key)
        url_var = binding.get("endpoint_var") or f"{prefix}_URL"
        model_var = binding.get("model_var") or f"{prefix}_MODEL"
        if url_var == model_var:
            ctx.warnings.add(f"service {service.name}: model {key} uses {url_var} for both the endpoint and the "
                             f"model; as with docker compose, it holds the endpoint")
        bindings.append({"key": key, "urlVar": url_var, "modelVar": model_var,
                         "model": str((ctx.models.get(key) or {}).get("model") or "")})
    service.models = bindings
    return {"models": bindings}


BINDINGS = Builder("models", build, {
    "models": {"type": "array", "items": obj({
        "key": {"type": "string"},
        "urlVar": {"type": "string", "minLength": 1},
        "modelVar": {"type": "string", "minLength": 1},
        "model": {"type": "string"},
    }, ["urlVar", "modelVar", "model"])},
})


def _first(options: dict, key: str) -> str | None:
    value = options.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


# The options of a `provider: {type: model}` service that DMR's compose plugin takes (`docker model
# compose up`, cmd/cli/commands/compose.go in docker/model-runner): it pulls `model` and sends one
# POST /engines/_configure with the context size, the runtime flags and the speculative settings.
PROVIDER_OPTIONS = ("model", "context-size", "runtime-flags", "backend", "speculative-draft-model",
                    "speculative-num-tokens", "speculative-min-acceptance-rate")


def _number(name: str, options: dict, key: str, kind: type) -> Any:
    raw = _first(options, key)
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        raise BridgeError(f"service {name}: provider option {key} must be a number, not {raw!r}",
                          path=("services", name, "provider", "options", key)) from None


def provider_model(name: str, options: dict, warnings: Warnings) -> dict[str, Any]:
    """A provider service's options as a model spec (compose `models:` keys, plus `speculative`)."""
    spec: dict[str, Any] = {"model": _first(options, "model")}
    context = _number(name, options, "context-size", int)
    if context:
        spec["context_size"] = context
    flags = options.get("runtime-flags")
    if flags:
        spec["runtime_flags"] = [f for value in (flags if isinstance(flags, list) else [flags]) for f in str(value).split()]
    draft = _first(options, "speculative-draft-model")
    tokens = _number(name, options, "speculative-num-tokens", int)
    rate = _number(name, options, "speculative-min-acceptance-rate", float)
    if draft or tokens or rate:  # as DMR's plugin: any of them turns speculative decoding on
        spec["speculative"] = {k: v for k, v in (("draft_model", draft), ("num_tokens", tokens),
                                                 ("min_acceptance_rate", rate)) if v}
    backend = _first(options, "backend")
    if backend and backend != "llama.cpp":
        warnings.add(f"service {name}: provider option backend={backend}: the chart configures llama.cpp, the "
                     f"backend both Docker's runner image and compose-bridge's run everywhere; {backend} is not used")
    for key in sorted(set(options) - set(PROVIDER_OPTIONS)):
        warnings.add(f"service {name}: provider option {key} is not one DMR's compose plugin takes; ignored")
    return spec


def apply_providers(services: dict[str, dict], models: dict[str, Any], warnings: Warnings
                    ) -> tuple[dict[str, dict], dict[str, Any]]:
    """(the services that run containers, the models including those of model providers)."""
    providers = {n: s for n, s in services.items() if s.get("provider")}
    if not providers:
        return services, models
    models = dict(models)
    for name, svc in sorted(providers.items()):
        provider = svc["provider"] or {}
        options = provider.get("options") or {}
        if provider.get("type") != "model" or not _first(options, "model"):
            warnings.add(f"service {name}: provider type {provider.get('type')!r} has no Kubernetes "
                            f"equivalent; it is not deployed and its dependents get none of its variables")
            continue
        models[name] = provider_model(name, options, warnings)
    out: dict[str, dict] = {}
    for name, svc in services.items():
        if name in providers:
            continue
        deps = svc.get("depends_on") or {}
        bound = [d for d in deps if d in providers and d in models]
        if not bound and not any(d in providers for d in deps):
            out[name] = svc
            continue
        svc = copy.copy(svc)
        svc["depends_on"] = {d: spec for d, spec in deps.items() if d not in providers}
        bindings = dict(svc.get("models") or {})
        for dep in bound:
            prefix = dep.upper()
            bindings[dep] = {"endpoint_var": f"{prefix}_URL", "model_var": f"{prefix}_MODEL"}
        svc["models"] = bindings
        out[name] = svc
    return out, models
