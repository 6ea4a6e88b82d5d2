"""Compose's override rules for merging files (`-f a -f b`), `extends` and `include`.

Both sides are already in canonical (long) syntax, so the rules are: mappings merge key by key,
sequences append and are de-duplicated by each key's identity, scalars are replaced; a few keys are
always replaced whole, and `!reset` / `!override` markers drop or replace what came before.
"""

from __future__ import annotations

from typing import Any

from .parse import Override, Reset

# Keys replaced whole instead of merged.
_REPLACE = (
    "services.*.command",
    "services.*.entrypoint",
    "services.*.healthcheck.test",
    "services.*.ulimits.*",
    "services.*.build.ssh",
)


def _ident(pattern: str, item: Any) -> Any:
    """Identity of a sequence entry: a later entry with the same identity replaces an earlier one."""
    if isinstance(item, dict):
        if pattern == "services.*.ports":
            return (
                item.get("host_ip"), str(item.get("published", "")), item.get("target"),
                item.get("protocol", "tcp"), item.get("mode", "ingress"),
            )
        if pattern in ("services.*.volumes", "services.*.devices"):
            return item.get("target") or item.get("source")
        if pattern in ("services.*.secrets", "services.*.configs"):
            return item.get("target") or item.get("source")
        if pattern == "services.*.env_file":
            return item.get("path")
        return repr(sorted(item.items(), key=str))
    if isinstance(item, str) and pattern == "services.*.extra_hosts":
        return item.split("=", 1)[0]
    return item


_UNIQUE = (
    "services.*.ports",
    "services.*.volumes",
    "services.*.devices",
    "services.*.secrets",
    "services.*.configs",
    "services.*.env_file",
    "services.*.expose",
    "services.*.dns",
    "services.*.dns_opt",
    "services.*.dns_search",
    "services.*.cap_add",
    "services.*.cap_drop",
    "services.*.tmpfs",
    "services.*.profiles",
    "services.*.links",
    "services.*.extra_hosts",
    "services.*.networks.*.aliases",
    "services.*.networks.*.link_local_ips",
    "services.*.build.tags",
    "services.*.build.platforms",
    "services.*.build.extra_hosts",
    "services.*.group_add",
    "services.*.security_opt",
    "services.*.external_links",
    "services.*.volumes_from",
)


def _match(path: tuple, pattern: str) -> bool:
    parts = pattern.split(".")
    if len(parts) != len(path):
        return False
    return all(p == "*" or p == str(k) for p, k in zip(parts, path))


def unique(path: tuple, seq: list) -> list:
    """Drop earlier duplicates of a sequence's entries, keeping the first position."""
    for pattern in _UNIQUE:
        if _match(path, pattern):
            out: list = []
            index: dict = {}
            for item in seq:
                key = _ident(pattern, item)
                try:
                    hash(key)
                except TypeError:
                    key = repr(key)
                if key in index:
                    out[index[key]] = item
                else:
                    index[key] = len(out)
                    out.append(item)
            return out
    return seq


def merge(base: Any, over: Any, path: tuple = ()) -> Any:
    """Merge `over` onto `base` at `path` with Compose's rules."""
    if isinstance(over, Reset):
        return _DELETE
    if isinstance(over, Override):
        return strip_tags(over.value)
    if over is None and path and path[0] in ("services",) and len(path) == 2:
        return base
    if any(_match(path, p) for p in _REPLACE):
        return strip_tags(over)
    if isinstance(base, dict) and isinstance(over, dict):
        if len(path) == 3 and path[0] == "services" and path[2] == "logging":
            if over.get("driver") not in (None, base.get("driver")):
                return strip_tags(over)
        out = dict(base)
        for key, value in over.items():
            if key in out:
                merged = merge(out[key], value, path + (key,))
            else:
                merged = merge_new(value)
            if merged is _DELETE:
                out.pop(key, None)
            else:
                out[key] = merged
        return out
    if isinstance(base, list) and isinstance(over, list):
        return unique(path, base + strip_tags(over))
    return strip_tags(over)


def merge_new(value: Any) -> Any:
    """A value with nothing under it: a `!reset` means absent, tags are dropped."""
    if isinstance(value, Reset):
        return _DELETE
    return strip_tags(value)


_LEAVES = (str, int, float, bool, type(None))


def strip_tags(value: Any) -> Any:
    """Remove `!reset` / `!override` markers from a tree (a reset entry disappears); a copy."""
    if type(value) is dict:  # the common case first, leaves copied without a call each
        out = {}
        for k, v in value.items():
            if type(v) in _LEAVES:
                out[k] = v
            else:
                s = strip_tags(v)
                if s is not _DELETE:
                    out[k] = s
        return out
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, Reset):
        return _DELETE
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            s = strip_tags(v)
            if s is not _DELETE:
                out[k] = s
        return out
    if isinstance(value, list):
        return [s for s in (strip_tags(v) for v in value) if s is not _DELETE]
    return value


class _Delete:
    def __repr__(self) -> str:
        return "<delete>"


_DELETE: Any = _Delete()
