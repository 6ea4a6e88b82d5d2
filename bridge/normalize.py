"""Short syntax to long syntax, and paths made absolute, for one file's worth of Compose data.

Each function takes the interpolated document of one file and returns it in the canonical form
that `docker compose config` prints, so files can then be merged with simple rules.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from typing import Any

from .errors import BridgeError
from .parse import Override, Reset
from .units import format_duration, parse_bytes, parse_duration


class Ctx:
    """Where a document came from: its file (for errors) and the folder its paths are relative to."""

    def __init__(self, file: str, base: str, positions: Any = None) -> None:
        self.file = file
        self.base = base
        self.positions = positions

    def error(self, message: str, path: tuple) -> BridgeError:
        mark = self.positions.find(path) if self.positions else None
        return BridgeError(message, self.file, *(mark or (None, None)), path=path)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, (Reset, Override)) else value


def _retag(original: Any, value: Any) -> Any:
    if isinstance(original, (Reset, Override)):
        return type(original)(value)
    return value


def scalar_text(value: Any) -> str | None:
    """A YAML scalar as the string Compose would see (`true`, `8080`, `1.5`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if "e" not in repr(value) else repr(value)
    return str(value)


def resolve_path(base: str, path: str) -> str:
    """Make a relative local path absolute against `base` (cleaned like Go's filepath.Join);
    absolute and Windows paths are kept as written, `~` is expanded."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if os.path.isabs(path) or re.match(r"^[a-zA-Z]:[\\/]", path):
        return path
    return os.path.normpath(os.path.join(base, path))


def _is_remote(context: str) -> bool:
    return bool(re.match(r"^(https?://|git@|git://|ssh://|github\.com/)", context)) or context.endswith(".git")


def _kv_mapping(value: Any, ctx: Ctx, path: tuple, allow_null: bool = True) -> dict:
    """`["A=1", "B"]` or `{A: 1}` -> `{"A": "1", "B": None}`."""
    value = _plain(value)
    if value is None:
        return {}
    if isinstance(value, dict):
        out: dict = {}
        for k, v in value.items():
            if isinstance(v, Reset):
                out[str(k)] = v
                continue
            v = _plain(v)
            if isinstance(v, (dict, list)):
                raise ctx.error("must be a string, number, boolean or null", path + (k,))
            out[str(k)] = scalar_text(v)
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            item = _plain(item)
            if isinstance(item, (dict, list)) or item is None:
                raise ctx.error("must be a string", path + (i,))
            text = scalar_text(item) or ""
            key, sep, val = text.partition("=")
            out[key] = val if sep else None
        return out
    raise ctx.error("must be a mapping or a list", path)


def _str_list(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [scalar_text(value)]
    if isinstance(value, list):
        return [scalar_text(_plain(v)) for v in value]
    raise ctx.error("must be a string or a list", path)


def _command(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    if isinstance(value, list):
        return [scalar_text(v) for v in value]
    return value


def _hooks(value: Any, ctx: Ctx, path: tuple) -> Any:
    """`post_start`/`pre_stop`: each hook's `command` string split like `command` (docker-compose does)."""
    value = _plain(value)
    if not isinstance(value, list):
        return value
    return [{**hook, "command": _command(hook["command"])} if isinstance(hook, dict) and "command" in hook else hook
            for hook in value]


_PORT = re.compile(
    r"^(?:(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<ip>[0-9.]+|[^:\[\]/]*?)):)??"
    r"(?:(?P<pub>[0-9]*(?:-[0-9]+)?)?:)?"
    r"(?P<target>[0-9]+(?:-[0-9]+)?)"
    r"(?:/(?P<proto>[a-zA-Z]+))?$"
)


def _range(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-", 1)
        a, b = int(lo), int(hi)
        if b < a:
            raise ValueError(text)
        return list(range(a, b + 1))
    return [int(text)]


def parse_port(spec: str) -> list[dict]:
    """`[ip:][published[-range]:]target[-range][/proto]` -> long-syntax port entries."""
    text = spec.strip()
    host_ip = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise ValueError(spec)
        host_ip = text[1:end]
        text = text[end + 2 :]
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
    parts = text.split(":")
    if len(parts) == 1:
        published, target = "", parts[0]
    elif len(parts) == 2:
        published, target = parts
    elif len(parts) == 3 and host_ip is None:
        host_ip, published, target = parts
    else:
        raise ValueError(spec)
    targets = _range(target)
    for t in targets:
        if not 0 < t < 65536:
            raise ValueError(spec)
    pubs: list[str]
    if published == "":
        pubs = [""] * len(targets)
    else:
        prange = _range(published)
        for p in prange:
            if not 0 <= p < 65536:
                raise ValueError(spec)
        if len(targets) == 1 and len(prange) > 1:
            pubs = [published]
        elif len(prange) == 1 and len(targets) > 1:
            pubs = [str(prange[0] + i) for i in range(len(targets))]
        elif len(prange) != len(targets):
            raise ValueError(spec)
        else:
            pubs = [str(p) for p in prange]
    out = []
    for t, p in zip(targets, pubs):
        entry: dict[str, Any] = {"mode": "ingress"}
        if host_ip:
            entry["host_ip"] = host_ip
        entry["target"] = t
        if p:
            entry["published"] = p
        entry["protocol"] = proto.lower()
        out.append(entry)
    return out


def _ports(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error("must be a list", path)
    out: list = []
    for i, item in enumerate(value):
        item = _plain(item)
        if isinstance(item, dict):
            entry = dict(item)
            entry.setdefault("mode", "ingress")
            entry.setdefault("protocol", "tcp")
            try:
                if "target" in entry:
                    entry["target"] = int(entry["target"])
                if entry.get("published") is not None:
                    entry["published"] = scalar_text(entry["published"])
            except (TypeError, ValueError):
                raise ctx.error(f"invalid port {entry!r}", path + (i,)) from None
            out.append(entry)
        elif isinstance(item, (str, int)) and not isinstance(item, bool):
            try:
                out.extend(parse_port(str(item)))
            except ValueError:
                raise ctx.error(f'invalid port "{item}"', path + (i,)) from None
        else:
            raise ctx.error(f"invalid port {item!r}", path + (i,))
    return out


_VOLUME_MODES = {"ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent",
                 "shared", "rshared", "slave", "rslave", "private", "rprivate"}


def _is_path(source: str) -> bool:
    return source.startswith((".", "/", "~")) or bool(re.match(r"^[a-zA-Z]:[\\/]", source))


def parse_volume(spec: str) -> dict:
    """`[source:]target[:mode]` -> a long-syntax volume entry."""
    raw = spec.split(":")
    parts: list[str] = []
    i = 0
    while i < len(raw):  # re-join Windows drive letters (`C:\\data`)
        if len(raw[i]) == 1 and raw[i].isalpha() and i + 1 < len(raw) and raw[i + 1][:1] in ("\\", "/"):
            parts.append(raw[i] + ":" + raw[i + 1])
            i += 2
        else:
            parts.append(raw[i])
            i += 1
    if len(parts) == 1:
        return {"type": "volume", "target": posixpath.normpath(parts[0]) if parts[0].startswith("/") else parts[0], "volume": {}}
    if len(parts) > 3:
        raise ValueError(spec)
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    for mode in modes:
        if mode not in _VOLUME_MODES:
            raise ValueError(spec)
    if not target:
        raise ValueError(spec)
    target = posixpath.normpath(target) if target.startswith("/") else target
    entry: dict[str, Any] = {}
    if not source:
        entry = {"type": "volume", "target": target}
    elif _is_path(source):
        entry = {"type": "bind", "source": source, "target": target}
    else:
        entry = {"type": "volume", "source": source, "target": target}
    if "ro" in modes:
        entry["read_only"] = True
    # As compose-go: SELinux and propagation options land in `bind` whatever the type; short-syntax
    # binds also get create_host_path.
    bind: dict[str, Any] = {}
    for mode in modes:
        if mode in ("z", "Z"):
            bind["selinux"] = mode
        elif mode in ("shared", "rshared", "slave", "rslave", "private", "rprivate"):
            bind["propagation"] = mode
    if entry["type"] == "bind":
        bind["create_host_path"] = True
    if bind:
        entry["bind"] = bind
    if entry["type"] != "bind":
        entry["volume"] = {"nocopy": True} if "nocopy" in modes else {}
    return entry


def _volumes(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error("must be a list", path)
    out = []
    for i, item in enumerate(value):
        item = _plain(item)
        if isinstance(item, str):
            try:
                entry = parse_volume(item)
            except ValueError:
                raise ctx.error(f'invalid volume "{item}"', path + (i,)) from None
        elif isinstance(item, dict):
            entry = dict(item)
            if "read_only" in entry:
                entry["read_only"] = _bool(entry["read_only"], ctx, path + (i, "read_only"))
        else:
            raise ctx.error("invalid volume", path + (i,))
        if entry.get("type") == "bind" and isinstance(entry.get("source"), str):
            entry["source"] = resolve_path(ctx.base, entry["source"])
        out.append(entry)
    return out


def _mounts(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error("must be a list", path)
    out = []
    for i, item in enumerate(value):
        item = _plain(item)
        if isinstance(item, str):
            entry = {"source": item}
            if path[-1] == "secrets" and path[-2] != "build":
                entry["target"] = f"/run/secrets/{item}"
            out.append(entry)
        elif isinstance(item, dict):
            entry = dict(item)
            if isinstance(entry.get("mode"), str):
                try:
                    entry["mode"] = int(entry["mode"], 8)
                except ValueError:
                    raise ctx.error(f"invalid file mode {entry['mode']!r}", path + (i, "mode")) from None
            out.append(entry)
        else:
            raise ctx.error("must be a string or a mapping", path + (i,))
    return out


def _depends_on(value: Any, ctx: Ctx, path: tuple) -> dict:
    value = _plain(value)
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(_plain(v)): {"condition": "service_started", "required": True} for v in value}
    if isinstance(value, dict):
        out = {}
        for name, spec in value.items():
            spec = dict(_plain(spec) or {})
            spec.setdefault("condition", "service_started")
            spec.setdefault("required", True)
            out[name] = spec
        return out
    raise ctx.error("must be a list or a mapping", path)


def _names_map(value: Any, ctx: Ctx, path: tuple) -> dict:
    """Service `networks` / `models`: a list of names or a mapping of name -> options or null."""
    value = _plain(value)
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(_plain(v)): None for v in value}
    if isinstance(value, dict):
        return {k: (dict(_plain(v)) if isinstance(_plain(v), dict) else None) for k, v in value.items()}
    raise ctx.error("must be a list or a mapping", path)


def _duration(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if value is None:
        return None
    try:
        return format_duration(parse_duration(value))
    except ValueError:
        raise ctx.error(f"invalid duration {value!r}", path) from None


def _bytes(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if value is None:
        return None
    try:
        return str(parse_bytes(value))
    except ValueError:
        raise ctx.error(f"invalid size {value!r}", path) from None


def _float(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ctx.error(f"invalid number {value!r}", path) from None


def _int(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if value is None or isinstance(value, bool):
        return value
    try:
        return int(str(value), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ctx.error(f"invalid integer {value!r}", path) from None


def _bool(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        low = value.lower()
        if low in ("true", "yes", "y", "on", "1"):
            return True
        if low in ("false", "no", "n", "off", "0", ""):
            return False
        raise ctx.error(f"invalid boolean {value!r}", path)
    return value


def _healthcheck(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if not isinstance(value, dict):
        return value
    out = dict(value)
    test = _plain(out.get("test"))
    if isinstance(test, str):
        out["test"] = ["CMD-SHELL", test]
    elif isinstance(test, list):
        out["test"] = [scalar_text(_plain(t)) for t in test]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in out:
            out[key] = _duration(out[key], ctx, path + (key,))
    if "retries" in out:
        out["retries"] = _int(out["retries"], ctx, path + ("retries",))
    if "disable" in out:
        out["disable"] = _bool(out["disable"], ctx, path + ("disable",))
    return out


def _resources(value: Any, ctx: Ctx, path: tuple) -> dict:
    value = _plain(value) or {}
    out = dict(value)
    for part in ("limits", "reservations"):
        if isinstance(out.get(part), dict):
            spec = dict(out[part])
            if "cpus" in spec:
                spec["cpus"] = _float(spec["cpus"], ctx, path + (part, "cpus"))
            if "memory" in spec:
                spec["memory"] = _bytes(spec["memory"], ctx, path + (part, "memory"))
            if "pids" in spec:
                spec["pids"] = _int(spec["pids"], ctx, path + (part, "pids"))
            out[part] = spec
    return out


def _deploy(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if not isinstance(value, dict):
        return value
    out = dict(value)
    out["resources"] = _resources(out.get("resources"), ctx, path + ("resources",))
    out.setdefault("placement", {})
    if out["placement"] is None:
        out["placement"] = {}
    if "replicas" in out:
        out["replicas"] = _int(out["replicas"], ctx, path + ("replicas",))
    if "labels" in out:
        out["labels"] = _kv_mapping(out["labels"], ctx, path + ("labels",))
    for block in ("restart_policy", "update_config", "rollback_config"):
        if isinstance(out.get(block), dict):
            spec = dict(out[block])
            for key in ("delay", "window", "monitor"):
                if key in spec:
                    spec[key] = _duration(spec[key], ctx, path + (block, key))
            out[block] = spec
    return out


def _build(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        value = {"context": value}
    if not isinstance(value, dict):
        return value
    out = dict(value)
    context = out.get("context")
    if context is None:
        context = "."
    context = scalar_text(context) or "."
    out["context"] = context if _is_remote(context) else resolve_path(ctx.base, context)
    if "dockerfile" not in out and "dockerfile_inline" not in out:
        out["dockerfile"] = "Dockerfile"
    for key in ("args", "labels"):
        if key in out:
            out[key] = _kv_mapping(out[key], ctx, path + (key,))
    if "additional_contexts" in out:
        ctxs = _kv_mapping(out["additional_contexts"], ctx, path + ("additional_contexts",))
        out["additional_contexts"] = {
            k: (v if v is None or _is_remote(v) or "://" in v or ":" in v.split("/")[0] else resolve_path(ctx.base, v))
            for k, v in ctxs.items()
        }
    if "extra_hosts" in out:
        out["extra_hosts"] = _extra_hosts(out["extra_hosts"], ctx, path + ("extra_hosts",))
    if "secrets" in out:
        out["secrets"] = _mounts(out["secrets"], ctx, path + ("secrets",))
    if "shm_size" in out:
        out["shm_size"] = _bytes(out["shm_size"], ctx, path + ("shm_size",))
    if "cache_from" in out:
        out["cache_from"] = _str_list(out["cache_from"], ctx, path + ("cache_from",))
    if "ulimits" in out:
        out["ulimits"] = _ulimits(out["ulimits"], ctx, path + ("ulimits",))
    return out


def _extra_hosts(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    if isinstance(value, dict):
        out = []
        for host, ip in value.items():
            ip = _plain(ip)
            ips = ip if isinstance(ip, list) else [ip]
            for one in ips:
                out.append(f"{host}={scalar_text(one) or ''}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            text = scalar_text(_plain(item)) or ""
            if "=" in text:
                out.append(text)
            else:
                host, sep, ip = text.partition(":")
                out.append(f"{host}={ip}" if sep else text)
        return out
    raise ctx.error("must be a list or a mapping", path)


def _ulimits(value: Any, ctx: Ctx, path: tuple) -> dict:
    value = _plain(value) or {}
    out = {}
    for name, spec in value.items():
        spec = _plain(spec)
        if isinstance(spec, dict):
            out[name] = {k: _int(v, ctx, path + (name, k)) for k, v in spec.items()}
        else:
            out[name] = _int(spec, ctx, path + (name,))
    return out


def _env_files(value: Any, ctx: Ctx, path: tuple) -> list:
    value = _plain(value)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        item = _plain(item)
        if isinstance(item, str):
            out.append({"path": resolve_path(ctx.base, item), "required": True})
        elif isinstance(item, dict):
            entry = dict(item)
            if not isinstance(entry.get("path"), str):
                raise ctx.error("env_file entry needs a path", path + (i,))
            entry["path"] = resolve_path(ctx.base, entry["path"])
            entry["required"] = _bool(entry.get("required", True), ctx, path + (i, "required"))
            out.append(entry)
        else:
            raise ctx.error("must be a string or a mapping", path + (i,))
    return out


def _develop(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if not isinstance(value, dict) or not isinstance(value.get("watch"), list):
        return value
    out = dict(value)
    watches = []
    for item in out["watch"]:
        item = dict(_plain(item))
        if isinstance(item.get("path"), str):
            item["path"] = resolve_path(ctx.base, item["path"])
        exec_ = item.get("exec") or {}
        exec_ = dict(exec_)
        exec_["command"] = _command(exec_.get("command")) if exec_.get("command") is not None else None
        item["exec"] = exec_
        for key in ("include", "ignore"):
            if isinstance(item.get(key), str):
                item[key] = [item[key]]
        if "initial_sync" in item:
            item["initial_sync"] = _bool(item["initial_sync"], ctx, path + ("watch", key))
        watches.append(item)
    out["watch"] = watches
    return out


def canonical_service(svc: Any, ctx: Ctx, path: tuple) -> Any:
    """One service definition in long syntax. `!reset`/`!override` tags on keys are preserved."""
    if svc is None:
        return {}
    if isinstance(svc, (Reset, Override)):
        return _retag(svc, canonical_service(svc.value, ctx, path))
    if not isinstance(svc, dict):
        raise ctx.error("service must be a mapping", path)
    out: dict[str, Any] = {}
    for key, raw in svc.items():
        value = raw
        p = path + (key,)
        if isinstance(_plain(raw), type(None)) and isinstance(raw, Reset):
            out[key] = raw
            continue
        conv = _SERVICE_KEYS.get(key)
        if conv is not None:
            value = _retag(raw, conv(raw, ctx, p))
        out[key] = value
    return out


def _blkio(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key in ("device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops", "weight_device"):
        if isinstance(out.get(key), list):
            entries = []
            for i, item in enumerate(out[key]):
                item = _plain(item) or {}
                entry: dict[str, Any] = {"Path": item.get("path")}
                if key == "weight_device":
                    entry["Weight"] = _int(item.get("weight"), ctx, path + (key, i, "weight"))
                elif key.endswith("bps"):
                    entry["Rate"] = _bytes(item.get("rate"), ctx, path + (key, i, "rate"))
                else:
                    entry["Rate"] = scalar_text(_int(item.get("rate"), ctx, path + (key, i, "rate")))
                entries.append(entry)
            out[key] = entries
    return out


def _labels(value: Any, ctx: Ctx, path: tuple) -> dict:
    return _kv_mapping(value, ctx, path)


def _environment(value: Any, ctx: Ctx, path: tuple) -> dict:
    return _kv_mapping(value, ctx, path)


def _expose(value: Any, ctx: Ctx, path: tuple) -> list:
    return _str_list(value, ctx, path)


def _extends(value: Any, ctx: Ctx, path: tuple) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        return {"service": value}
    if isinstance(value, dict) and isinstance(value.get("file"), str):
        return {**value, "file": resolve_path(ctx.base, value["file"])}
    return value


def _label_file(value: Any, ctx: Ctx, path: tuple) -> list:
    return [resolve_path(ctx.base, v) for v in _str_list(value, ctx, path) if v is not None]


def _sysctls(value: Any, ctx: Ctx, path: tuple) -> dict:
    return _kv_mapping(value, ctx, path)


def _provider(value: Any, ctx: Ctx, path: tuple) -> Any:
    """Provider options as compose-go holds them: every option a list of strings."""
    value = _plain(value)
    if not isinstance(value, dict):
        return value
    out = dict(value)
    options = _plain(out.get("options"))
    if isinstance(options, dict):
        out["options"] = {
            k: [scalar_text(_plain(x)) for x in v] if isinstance(v, list) else [scalar_text(_plain(v))]
            for k, v in options.items()
        }
    return out


def _devices(value: Any, ctx: Ctx, path: tuple) -> list:
    """`/dev/a[:/dev/b[:perms]]` -> `{source, target, permissions}` (permissions default to rwm, as
    compose-go's short syntax); long-syntax entries stay as written."""
    value = _plain(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error("must be a list", path)
    out: list = []
    for i, item in enumerate(value):
        item = _plain(item)
        if isinstance(item, dict):
            out.append(dict(item))
            continue
        if not isinstance(item, str):
            raise ctx.error("must be a string or a mapping", path + (i,))
        parts = item.split(":")
        if len(parts) > 3 or not parts[0]:
            raise ctx.error(f'invalid device "{item}"', path + (i,))
        source = parts[0]
        target = parts[1] if len(parts) > 1 and parts[1] else source
        out.append({"source": source, "target": target, "permissions": parts[2] if len(parts) > 2 else "rwm"})
    return out


_SERVICE_KEYS = {
    "annotations": _labels,
    "blkio_config": _blkio,
    "build": _build,
    "command": lambda v, c, p: _command(v),
    "entrypoint": lambda v, c, p: _command(v),
    "cpus": _float,
    "depends_on": _depends_on,
    "deploy": _deploy,
    "devices": _devices,
    "provider": _provider,
    "develop": _develop,
    "dns": _str_list,
    "dns_search": _str_list,
    "dns_opt": _str_list,
    "env_file": _env_files,
    "environment": _environment,
    "expose": _expose,
    "extends": _extends,
    "extra_hosts": _extra_hosts,
    "healthcheck": _healthcheck,
    "label_file": _label_file,
    "labels": _labels,
    "mem_limit": _bytes,
    "mem_reservation": _bytes,
    "memswap_limit": _bytes,
    "shm_size": _bytes,
    "models": _names_map,
    "networks": _names_map,
    "ports": _ports,
    "secrets": _mounts,
    "configs": _mounts,
    "stop_grace_period": _duration,
    "sysctls": _sysctls,
    "tmpfs": _str_list,
    "ulimits": _ulimits,
    "volumes": _volumes,
    "scale": _int,
    "post_start": _hooks,
    "pre_stop": _hooks,
    "privileged": _bool,
    "read_only": _bool,
    "stdin_open": _bool,
    "tty": _bool,
    "init": _bool,
}


def canonical_top(kind: str, value: Any, ctx: Ctx) -> Any:
    """Top-level `volumes`, `networks`, `secrets`, `configs`, `models` entries in long syntax."""
    value = _plain(value)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.error("must be a mapping", (kind,))
    out = {}
    for name, spec in value.items():
        spec = _plain(spec)
        spec = dict(spec) if isinstance(spec, dict) else {}
        if kind in ("secrets", "configs") and isinstance(spec.get("file"), str):
            spec["file"] = resolve_path(ctx.base, spec["file"])
        if kind in ("networks", "volumes") and "labels" in spec:
            spec["labels"] = _kv_mapping(spec["labels"], ctx, (kind, name, "labels"))
        if "external" in spec:
            ext = _plain(spec["external"])
            if isinstance(ext, dict):
                if ext.get("name") and not spec.get("name"):
                    spec["name"] = ext["name"]
                spec["external"] = True
            elif _bool(ext, ctx, (kind, name, "external")):
                spec["external"] = True
            else:
                del spec["external"]  # `external: false` is the default, which docker-compose does not print
        if kind == "models" and "context_size" in spec:
            spec["context_size"] = _int(spec["context_size"], ctx, (kind, name, "context_size"))
        out[name] = spec
    return out


def canonical_document(doc: dict, ctx: Ctx) -> dict:
    """Canonicalise every service and top-level resource of one document."""
    out = dict(doc)
    services = doc.get("services")
    if isinstance(services, (dict, Reset, Override)):
        plain = _plain(services) or {}
        out["services"] = _retag(
            services, {name: canonical_service(svc, ctx, ("services", name)) for name, svc in plain.items()}
        )
    for kind in ("volumes", "networks", "secrets", "configs", "models"):
        if kind in doc and doc[kind] is not None:
            out[kind] = canonical_top(kind, doc[kind], ctx)
    return out
