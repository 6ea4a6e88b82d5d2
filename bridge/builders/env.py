"""`environment` and `env_file` (merged by the loader) -> the container's `env`.

Values stay literal strings (the templates escape `$` so the kubelet passes them byte for byte);
variables compose leaves unset (`FOO` with no value and none in the environment) are left out, as
compose leaves them out. A model binding's variables (models.py) win over an entry of the same name,
as `docker compose up` overrides them.
"""

from __future__ import annotations

from typing import Any

from ..model import Context, ServiceModel
from .base import Builder, obj
from .models import binding_variables


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    taken = binding_variables(service.compose)
    env = [{"name": k, "value": str(v)} for k, v in (service.compose.get("environment") or {}).items()
           if v is not None and k not in taken]
    return {"env": env}


ENV = Builder("env", build, {
    "env": {"type": "array", "items": obj({"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}},
                                          ["name", "value"])},
})
