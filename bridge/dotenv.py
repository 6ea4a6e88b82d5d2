"""`.env` and `env_file` parsing, compatible with Compose's dotenv dialect."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .errors import BridgeError
from .interpolate import TemplateError, substitute

_KEY = re.compile(r"^[A-Za-z_.\-\[\]0-9][A-Za-z0-9_.\-\[\]]*$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "\\$", "'": "'"}


def parse_env_text(
    text: str, filename: str, lookup: Mapping[str, str] | None = None, raw: bool = False
) -> dict[str, str | None]:
    """Parse dotenv text. Later lines may use earlier values and `lookup` in `${VAR}`."""
    lookup = lookup or {}
    result: dict[str, str | None] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw:
            key, sep, value = stripped.partition("=")
            result[key.strip()] = value if sep else None
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[7:].lstrip()
        match = re.match(r"^([^=:\s]+)\s*([=:])?\s*(.*)$", stripped, re.DOTALL)
        if not match:
            raise BridgeError(f"invalid line {stripped!r}", filename, lineno)
        key, sep, rest = match.group(1), match.group(2), match.group(3)
        if not _KEY.match(key):
            raise BridgeError(f"invalid variable name {key!r}", filename, lineno)
        if not sep:
            if rest.strip() and not rest.strip().startswith("#"):
                raise BridgeError(f"invalid line {stripped!r}", filename, lineno)
            if key in lookup:
                result[key] = lookup[key]
            else:
                result[key] = None
            continue
        env = {**{k: v for k, v in lookup.items()}, **{k: v for k, v in result.items() if v is not None}}
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            while True:
                end = _closing(body, quote)
                if end >= 0:
                    break
                if i >= len(lines):
                    raise BridgeError(f"unterminated quoted value for {key}", filename, lineno)
                body += "\n" + lines[i]
                i += 1
            value = body[:end]
            if quote == '"':
                value = _unescape(value)
                value = _interp(value, env, filename, lineno)
            result[key] = value
            continue
        value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        result[key] = _interp(value, env, filename, lineno)
    return result


def _closing(body: str, quote: str) -> int:
    j = 0
    while j < len(body):
        if body[j] == "\\" and quote == '"':
            j += 2
            continue
        if body[j] == quote:
            return j
        j += 1
    return -1


def _unescape(value: str) -> str:
    out = []
    j = 0
    while j < len(value):
        ch = value[j]
        if ch == "\\" and j + 1 < len(value):
            nxt = value[j + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt] if nxt != "$" else "$$")
                j += 2
                continue
        out.append(ch)
        j += 1
    return "".join(out)


def _interp(value: str, env: Mapping[str, str], filename: str, lineno: int) -> str:
    try:
        return substitute(value, env)
    except TemplateError as exc:
        raise BridgeError(str(exc), filename, lineno) from None


def read_env_file(
    path: Path, display: str | None = None, lookup: Mapping[str, str] | None = None, raw: bool = False
) -> dict[str, str | None]:
    name = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BridgeError("env file not found", name) from None
    except IsADirectoryError:
        raise BridgeError("env file is a directory", name) from None
    except OSError as exc:
        raise BridgeError(f"cannot read env file: {exc.strerror}", name) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BridgeError("env file is not UTF-8 text", name) from None
    return parse_env_text(text, name, lookup, raw)
