"""Validation: the official compose-spec JSON schema (draft-07), then the project's semantics."""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import relevance

from .errors import BridgeError, format_path
from .merge import strip_tags
from .parse import Positions


def _package_file(package: str, name: str) -> Path | None:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def compose_schema_path() -> Path:
    """The compose-spec schema file shipped by `check-jsonschema` (never hand-copied here). Found
    without importing check_jsonschema, whose CLI imports cost a third of a second."""
    if importlib.util.find_spec("check_jsonschema") is None:
        raise BridgeError("the check-jsonschema package (which ships the compose-spec schema) is not installed")
    path = _package_file("check_jsonschema", "builtin_schemas/vendor/compose-spec.json")
    if path is None:
        raise BridgeError("compose-spec.json not found in the check-jsonschema package")
    return path


@lru_cache(maxsize=1)
def compose_schema() -> dict:
    return json.loads(compose_schema_path().read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return Draft7Validator(compose_schema())


def _error_path(error: Any) -> tuple:
    return tuple(error.absolute_path)


def _unknown_keys(error: Any) -> list[str]:
    """The keys an additionalProperties error is about, sorted."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    return sorted(
        k for k in error.instance if k not in error.schema.get("properties", {})
        and not any(re.match(p, k) for p in error.schema.get("patternProperties", {}))
    )


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _describe(error: Any) -> str:
    validator = error.validator
    if validator == "additionalProperties":
        extra = _unknown_keys(error)
        if extra:
            names = ", ".join(repr(k) for k in extra)
            return f"additional properties {names} not allowed"
    if validator in ("oneOf", "anyOf") and error.context:
        best = min(error.context, key=lambda e: (len(e.absolute_path) * -1, e.validator != "type"))
        return _describe(best)
    if validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        return f"must be {' or '.join(_article(n) for n in names)}, not {json.dumps(error.instance)[:60]}"
    return error.message[:200]


def _null_bindings_as_empty(data: dict) -> dict:
    """docker-compose accepts `models: {KEY: null}` on a service (a binding with no names), which the
    schema file spells only as `{}`: validate it as `{}`."""
    services = data.get("services")
    if not isinstance(services, dict):
        return data
    for svc in services.values():
        models = svc.get("models") if isinstance(svc, dict) else None
        if isinstance(models, dict):
            svc["models"] = {k: ({} if v is None else v) for k, v in models.items()}
    return data


def validate_schema(doc: Any, filename: str, positions: Positions | None) -> None:
    """Validate one file's document against the compose-spec schema; raise on the first error."""
    data = strip_tags(doc)
    if isinstance(data, dict):
        data = _null_bindings_as_empty(data)
    if not isinstance(data, dict):
        raise BridgeError("top-level element must be a mapping", filename, 1, 1)
    errors = list(_validator().iter_errors(data))
    if not errors:
        return
    error = min(errors, key=lambda e: (relevance(e), format_path(_error_path(e))))
    path = _error_path(error)
    unknown = _unknown_keys(error)
    if unknown:  # point at the (first) unknown key itself, not at the mapping that holds it
        path = path + (unknown[0],)
    mark = positions.find(path) if positions else None
    raise BridgeError(_describe(error), filename, *(mark or (None, None)), path=path)


def _where(locate: Any, path: tuple) -> dict:
    file, line, col = locate(path) if locate else (None, None, None)
    return {"file": file, "line": line, "column": col, "path": path}


def check_project(project: dict, locate: Any = None) -> None:
    """Compose's consistency rules: references resolve, no cycles, no impossible combinations."""
    services = project.get("services", {})
    for name, svc in services.items():
        base = ("services", name)
        if not svc.get("image") and not svc.get("build") and not svc.get("provider"):
            raise BridgeError(
                f'service "{name}" has neither an image nor a build context specified',
                **_where(locate, base),
            )
        if svc.get("network_mode") and svc.get("networks"):
            raise BridgeError(
                f"service {name} declares mutually exclusive `network_mode` and `networks`",
                **_where(locate, base + ("network_mode",)),
            )
        for net in svc.get("networks") or {}:
            if net not in project.get("networks", {}):
                raise BridgeError(
                    f'service "{name}" refers to undefined network {net}', **_where(locate, base + ("networks", net))
                )
        for i, vol in enumerate(svc.get("volumes") or []):
            if vol.get("type") == "volume" and vol.get("source") and vol["source"] not in project.get("volumes", {}):
                raise BridgeError(
                    f'service "{name}" refers to undefined volume {vol["source"]}',
                    **_where(locate, base + ("volumes", i)),
                )
        for kind in ("secrets", "configs"):
            for i, ref in enumerate(svc.get(kind) or []):
                if ref.get("source") not in project.get(kind, {}):
                    raise BridgeError(
                        f'service "{name}" refers to undefined {kind[:-1]} {ref.get("source")}',
                        **_where(locate, base + (kind, i)),
                    )
        for model in svc.get("models") or {}:
            if model not in project.get("models", {}):
                raise BridgeError(
                    f'service "{name}" refers to undefined model {model}', **_where(locate, base + ("models", model))
                )
        for dep, spec in (svc.get("depends_on") or {}).items():
            if dep not in services and (spec or {}).get("required", True):
                raise BridgeError(
                    f'service "{name}" depends on undefined service "{dep}"',
                    **_where(locate, base + ("depends_on", dep)),
                )
        platform = svc.get("platform")
        platforms = (svc.get("build") or {}).get("platforms") if isinstance(svc.get("build"), dict) else None
        if platform and platforms and platform not in platforms:
            raise BridgeError(
                f'service.build.platforms MUST include service.platform "{platform}"',
                **_where(locate, base + ("build", "platforms")),
            )
    _check_cycles(services, locate)


def _check_cycles(services: dict, locate: Any) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in (services.get(name, {}).get("depends_on") or {}):
            if dep not in services:
                continue
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep):] + [dep] if dep in trail else [name, dep]
                raise BridgeError(
                    "dependency cycle detected: " + " -> ".join(cycle),
                    **_where(locate, ("services", name, "depends_on", dep)),
                )
            if state.get(dep) is None:
                visit(dep, trail + [dep])
        state[name] = 2

    for name in sorted(services):
        if name not in state:
            visit(name, [name])
