"""Variable interpolation as Compose does it: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
`${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting in the default, `$$` escape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import BridgeError
from .parse import Override, Reset

_NAME_START = "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NAME_CHARS = _NAME_START + "0123456789"


class TemplateError(ValueError):
    """A malformed or failing `${...}` expression."""


def substitute(
    text: str,
    env: Mapping[str, str],
    on_missing: Callable[[str], None] | None = None,
) -> str:
    """Interpolate one string."""
    if "$" not in text:
        return text
    out, end = _expand(text, 0, env, on_missing, stop=None)
    return out


def _expand(
    text: str,
    pos: int,
    env: Mapping[str, str],
    on_missing: Callable[[str], None] | None,
    stop: str | None,
) -> tuple[str, int]:
    """Expand from `pos` up to an unmatched `stop` character (`}`) or the end."""
    parts: list[str] = []
    n = len(text)
    i = pos
    while i < n:
        ch = text[i]
        if stop is not None and ch == stop:
            return "".join(parts), i
        if ch != "$":
            parts.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            parts.append("$")
            i += 2
        elif nxt == "{":
            value, i = _braced(text, i + 2, env, on_missing)
            parts.append(value)
        elif nxt and nxt in _NAME_START:
            j = i + 1
            while j < n and text[j] in _NAME_CHARS:
                j += 1
            name = text[i + 1 : j]
            if name in env:
                parts.append(env[name])
            else:
                if on_missing:
                    on_missing(name)
            i = j
        else:
            parts.append("$")  # `$(`, `$1`, a trailing `$`: Compose keeps these literally
            i += 1
    if stop is not None:
        raise TemplateError(f"invalid interpolation format for {text!r}: missing '}}'")
    return "".join(parts), i


def _braced(
    text: str, i: int, env: Mapping[str, str], on_missing: Callable[[str], None] | None
) -> tuple[str, int]:
    n = len(text)
    j = i
    while j < n and text[j] in _NAME_CHARS:
        j += 1
    name = text[i:j]
    if not name or name[0] not in _NAME_START:
        raise TemplateError(f"invalid interpolation format for {text!r}: bad variable name in '${{'")
    if j >= n:
        raise TemplateError(f"invalid interpolation format for {text!r}: missing '}}'")
    if text[j] == "}":
        if name in env:
            return env[name], j + 1
        if on_missing:
            on_missing(name)
        return "", j + 1
    colon = text[j] == ":"
    op_at = j + 1 if colon else j
    op = text[op_at] if op_at < n else ""
    if op not in "-?+" or not op:
        raise TemplateError(f"invalid interpolation format for {text!r}: unknown operator after ${{{name}")
    rest_start = op_at + 1
    # The argument is expanded lazily: only when it is used, so `${X:-${Y:?}}` fails only when X is unset.
    arg_raw_end = _find_close(text, rest_start)
    if arg_raw_end < 0:
        raise TemplateError(f"invalid interpolation format for {text!r}: missing '}}'")
    is_set = name in env
    value = env.get(name, "")
    present = is_set and (value != "" or not colon)

    def arg() -> str:
        out, _ = _expand(text, rest_start, env, on_missing, stop="}")
        return out

    end = arg_raw_end + 1
    if op == "-":
        return (value if present else arg()), end
    if op == "+":
        return (arg() if present else ""), end
    # op == "?"
    if present:
        return value, end
    message = arg()
    if message:
        raise TemplateError(f"required variable {name} is missing a value: {message}")
    raise TemplateError(f"required variable {name} is missing a value")


def _find_close(text: str, i: int) -> int:
    """Index of the `}` closing a `${...}` whose argument starts at `i`, honouring nesting."""
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "$" and i + 1 < n and text[i + 1] == "$":
            i += 2
            continue
        if ch == "$" and i + 1 < n and text[i + 1] == "{":
            depth += 1
            i += 2
            continue
        if ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def interpolate_tree(
    data: Any,
    env: Mapping[str, str],
    filename: str,
    positions: Any = None,
    on_missing: Callable[[str], None] | None = None,
    path: tuple = (),
) -> Any:
    """Interpolate every string value (not keys) of a parsed document."""
    if isinstance(data, str):
        try:
            return substitute(data, env, on_missing)
        except TemplateError as exc:
            mark = positions.find(path) if positions else None
            raise BridgeError(str(exc), filename, *(mark or (None, None)), path=path) from None
    if isinstance(data, dict):
        return {
            k: interpolate_tree(v, env, filename, positions, on_missing, path + (k,))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            interpolate_tree(v, env, filename, positions, on_missing, path + (i,))
            for i, v in enumerate(data)
        ]
    if isinstance(data, (Reset, Override)):
        return type(data)(interpolate_tree(data.value, env, filename, positions, on_missing, path))
    return data
