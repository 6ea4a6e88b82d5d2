"""Provider services (`provider: {type: model, options: {model: ai/smollm2}}`), the older compose model
syntax, run no container: `docker compose up` asks the provider (Docker Model Runner) for the model and
gives every service that depends on it `<SERVICE>_URL` and `<SERVICE>_MODEL`, the prefix being the
provider service's name upper-cased (docker/compose pkg/compose/plugins.go: `strings.ToUpper(name)`,
dashes kept). Here a model provider becomes a model like a top-level `models` entry, bound to its
dependents under those names; other provider types warn.
"""

from __future__ import annotations

import copy
from typing import Any


def _first(options: dict, key: str) -> str | None:
    value = options.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def apply_providers(services: dict[str, dict], models: dict[str, Any], warnings: list[str]
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
            warnings.append(f"service {name}: provider type {provider.get('type')!r} has no Kubernetes "
                            f"equivalent; it is not deployed and its dependents get none of its variables")
            continue
        spec: dict[str, Any] = {"model": _first(options, "model")}
        if _first(options, "context-size"):
            spec["context_size"] = int(_first(options, "context-size") or 0)
        flags = options.get("runtime-flags")
        if flags:
            spec["runtime_flags"] = [f for value in flags for f in str(value).split()]
        models[name] = spec
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
