"""`environment` and `env_file` (merged by the loader) -> the container's `env`.

Values stay literal strings (the templates escape `$` so the kubelet passes them byte for byte);
variables compose leaves unset (`FOO` with no value and none in the environment) are left out, as
compose leaves them out. A model binding's variables (models.py) win over an entry of the same name,
as `docker compose up` overrides them. Entries secret by name or value (secrets.is_secret_env) are
`secretEnv`: read from the chart's env Secret (env-secret.yaml), their values kept out of values.yaml.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Context, ServiceModel
from ..naming import unique_name
from ..secrets import is_secret_env
from .base import Builder, obj
from .models import binding_variables


def secret_key(label: str, name: str, used: dict[str, str]) -> str:
    """The env Secret's key of a service's variable: `<service label>.<NAME>` (a Secret key's characters)."""
    base = re.sub(r"[^-._a-zA-Z0-9]", "_", f"{label}.{name}")[:250]
    return base if base not in used else unique_name(base, set(used))


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    taken = binding_variables(service.compose)
    env: list[dict[str, str]] = []
    secret: list[dict[str, str]] = []
    for name, value in (service.compose.get("environment") or {}).items():
        if value is None or name in taken:
            continue
        if is_secret_env(name, str(value), ctx.secret_values):
            key = secret_key(service.label, name, ctx.env_secrets)
            ctx.env_secrets[key] = str(value)
            secret.append({"name": name, "key": key})
        else:
            env.append({"name": name, "value": str(value)})
    return {"env": env, "secretEnv": secret}


ENV = Builder("env", build, {
    "env": {"type": "array", "items": obj({"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}},
                                          ["name", "value"])},
    "secretEnv": {"type": "array", "items": obj({"name": {"type": "string", "minLength": 1},
                                                 "key": {"type": "string", "pattern": "^[-._a-zA-Z0-9]+$"}},
                                                ["name", "key"])},
})
