"""Compose `post_start` / `pre_stop` hooks -> the container's `lifecycle` handlers.

Kubernetes runs one exec handler per hook in the service's own container, so the first compose hook
maps exactly; several are chained through /bin/sh -c (the image needs a shell then), and hook settings
Kubernetes cannot give a handler (`user`, `privileged`, `working_dir`, `environment`) are warned about.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..model import Context, ServiceModel
from .base import OBJ, Builder

_UNSUPPORTED = ("user", "privileged", "working_dir", "environment")


def _command(hook: dict) -> list[str]:
    command = hook.get("command")
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return [str(c) for c in command or []]


def lifecycle_hooks(name: str, svc: dict, warnings: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, handler in (("post_start", "postStart"), ("pre_stop", "preStop")):
        hooks = [h for h in svc.get(key) or [] if isinstance(h, dict) and h.get("command")]
        if not hooks:
            continue
        for hook in hooks:
            for setting in _UNSUPPORTED:
                if hook.get(setting):
                    warnings.add(f"service {name}: {key}.{setting} has no Kubernetes equivalent; the hook "
                                    f"runs with the container's own settings")
        commands = [_command(h) for h in hooks]
        if len(commands) == 1:
            command = commands[0]
        else:
            command = ["/bin/sh", "-c", " && ".join(shlex.join(c) for c in commands)]
        out[handler] = {"exec": {"command": command}}
    return out


def build(service: ServiceModel, ctx: Context) -> dict[str, Any]:
    return {"lifecycle": lifecycle_hooks(service.name, service.compose, ctx.warnings)}


LIFECYCLE = Builder("lifecycle", build, {"lifecycle": OBJ})
