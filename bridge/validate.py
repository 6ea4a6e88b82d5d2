"""Validation: the official compose-spec JSON schema (draft-07), then the project's semantics."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import py_compile
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema

from .errors import BridgeError
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


def cache_dir() -> Path:
    """Where compose-bridge keeps what it derives from its inputs between runs (the compose-spec
    validator, Jinja's compiled templates)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "compose-bridge"


@lru_cache(maxsize=1)
def _validator() -> Callable[[Any], Any]:
    """The compose-spec schema compiled to Python by fastjsonschema (`compile_to_code`, unmodified),
    generated on first use into the cache directory and imported from there like any module, with
    its bytecode written by py_compile (also where PYTHONDONTWRITEBYTECODE is set). fastjsonschema
    rather than jsonschema: importing jsonschema and validating with it costs about 0.1 s of every
    conversion and 0.35 s more at 1000 services, on a CLI that CI jobs run on every commit. Where the
    cache cannot be written, fastjsonschema compiles the schema in memory (about a second)."""
    raw = compose_schema_path().read_bytes()
    key = hashlib.sha256(raw + fastjsonschema.VERSION.encode()).hexdigest()[:16]
    path = cache_dir() / f"compose_spec_{key}.py"
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(fastjsonschema.compile_to_code(json.loads(raw)), encoding="utf-8")
            os.replace(tmp, path)  # another process may generate the same file: either copy is whole
        if not Path(importlib.util.cache_from_source(str(path))).is_file():
            py_compile.compile(str(path), doraise=True)
        spec = importlib.util.spec_from_file_location(f"compose_spec_{key}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, next(n for n in vars(module) if n.startswith("validate")))
    except (OSError, py_compile.PyCompileError, StopIteration, AttributeError):
        return fastjsonschema.compile(json.loads(raw))


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _resolve(schema: Any) -> Any:
    """A subschema with its `$ref` (to the compose-spec's own definitions) followed."""
    while isinstance(schema, dict) and "$ref" in schema:
        schema = compose_schema()["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _unknown_keys(error: fastjsonschema.JsonSchemaValueException) -> list[str]:
    """The keys an additionalProperties error is about, sorted."""
    schema = _resolve(error.definition)
    if error.rule != "additionalProperties" or not isinstance(error.value, dict) or not isinstance(schema, dict):
        return []
    return sorted(k for k in error.value if k not in schema.get("properties", {})
                  and not any(re.search(p, k) for p in schema.get("patternProperties", {})))


def _types(schema: Any) -> list[str]:
    schema = _resolve(schema)
    if not isinstance(schema, dict):
        return []
    if "type" in schema:
        return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return [t for alt in schema.get("oneOf", schema.get("anyOf", [])) for t in _types(alt)]


def _json_type(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    return {dict: {"object"}, list: {"array"}, str: {"string"}, float: {"number"}, type(None): {"null"}}.get(
        type(value), set())


def _type_message(expected: Any, value: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return f"must be {' or '.join(_article(n) for n in names)}, not {json.dumps(value, ensure_ascii=False, default=str)[:60]}"


def _entry_of_wrong_type(schema: dict, value: Any) -> tuple[Any, str] | None:
    """(key or index, message) of the first entry of a list or mapping whose type its schema does not
    allow: fastjsonschema reports a failed oneOf at the list or mapping; this names the entry."""
    if isinstance(value, list) and isinstance(_resolve(schema.get("items")), dict):
        items = [(i, v, _resolve(schema["items"])) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        patterns = schema.get("patternProperties") or {}
        items = [(k, v, _resolve(next((patterns[p] for p in patterns if re.search(p, str(k))),
                                      (schema.get("properties") or {}).get(k, {})))) for k, v in value.items()]
    else:
        return None
    for key, item, item_schema in items:
        allowed = _types(item_schema)
        if allowed and not _json_type(item) & set(allowed):
            return key, _type_message(allowed if len(allowed) > 1 else allowed[0], item)
    return None


def _describe(error: fastjsonschema.JsonSchemaValueException) -> tuple[tuple, str]:
    """(path below the error's, message): fastjsonschema's message without its `data.key.path` prefix,
    in the words earlier versions used for the common cases."""
    value = json.dumps(error.value, ensure_ascii=False, default=str)[:60]
    if error.rule == "additionalProperties":
        extra = _unknown_keys(error)
        if extra:
            # point at the (first) unknown key itself, not at the mapping that holds it
            return (extra[0],), f"additional properties {', '.join(repr(k) for k in extra)} not allowed"
    if error.rule == "type":
        return (), _type_message(error.rule_definition, error.value)
    if error.rule in ("oneOf", "anyOf"):
        for alt in map(_resolve, error.rule_definition):
            if isinstance(alt, dict) and _json_type(error.value) & set(_types(alt)):
                found = _entry_of_wrong_type(alt, error.value)
                if found:
                    return (found[0],), found[1]
        forms = list(dict.fromkeys(t for alt in error.rule_definition for t in _types(alt)))
        allowed = " or ".join(_article(t) for t in forms) if forms else "one of its forms"
        return (), f"is none of the forms the compose specification allows ({allowed}): {value}"
    return (), error.message.removeprefix(error.name).strip()[:200]


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


def _error_path(data: Any, name: str) -> tuple:
    """The key path of fastjsonschema's error name (`data.services.web.ports[0]`), read against the data
    itself: compose keys may hold dots and brackets, which the name does not escape."""
    rest, node, path = name.removeprefix("data"), data, []
    while rest:
        if isinstance(node, list) and (m := re.match(r"\[(\d+)\]", rest)):
            index = int(m.group(1))
            path.append(index)
            rest, node = rest[m.end():], node[index] if index < len(node) else None
        elif isinstance(node, dict) and rest.startswith("."):
            # the longest key that the rest of the name continues from
            key = max((k for k in node if isinstance(k, str) and rest[1:].startswith(k)
                       and rest[1 + len(k):][:1] in ("", ".", "[")), key=len, default=None)
            if key is None:
                break
            path.append(key)
            rest, node = rest[1 + len(key):], node[key]
        else:
            break
    return tuple(path)


def validate_schema(doc: Any, filename: str, positions: Positions | None) -> None:
    """Validate one file's document against the compose-spec schema; raise on the first error."""
    data = strip_tags(doc)
    if isinstance(data, dict):
        data = _null_bindings_as_empty(data)
    if not isinstance(data, dict):
        raise BridgeError("top-level element must be a mapping", filename, 1, 1)
    try:
        _validator()(data)
    except fastjsonschema.JsonSchemaValueException as error:
        below, message = _describe(error)
        path = _error_path(data, error.name) + below
        mark = positions.find(path) if positions else None
        raise BridgeError(message, filename, *(mark or (None, None)), path=path) from None


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
