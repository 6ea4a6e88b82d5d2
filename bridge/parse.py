"""Parse one Compose YAML file into plain Python data, remembering where each key was.

YAML is read event by event (libyaml when available) and built here, so that:
- scalars resolve like go-yaml v3 / YAML 1.2 (`80:80` and `yes` stay strings),
- duplicate keys, alias bombs, very deep nesting and huge files give a `BridgeError`,
- `!reset` / `!override` tags survive as markers for the merge step,
- every mapping key's line and column is kept, keyed by its path, for error messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BridgeError

try:  # libyaml's parser is several times faster than the pure-Python one
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 2_000_000


class Reset:
    """A value tagged `!reset`: drop what earlier files said for this key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Override:
    """A value tagged `!override`: replace, do not merge, what earlier files said."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class Positions:
    """Line/column (1-based) of each key path in one file."""

    file: str
    marks: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: tuple) -> tuple[int, int] | None:
        """Position of the deepest prefix of `path` that this file defines."""
        for end in range(len(path), 0, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark:
                return mark
        return None


_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_OCT = re.compile(r"^0o?[0-7_]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F_]+$")
_BIN = re.compile(r"^0b[01_]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NAN = {".nan", ".NaN", ".NAN"}
_TAG = "tag:yaml.org,2002:"


def resolve_plain(text: str) -> Any:
    """Resolve a plain scalar the way go-yaml v3 does when decoding into `any`."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if first.isdigit() or first in "+-.":
        if _INT.match(text):
            return int(text.replace("_", ""))
        if _HEX.match(text):
            return int(text[2:].replace("_", ""), 16)
        if _BIN.match(text):
            return int(text[2:].replace("_", ""), 2)
        if _OCT.match(text) and len(text) > 1:
            digits = text[2:] if text.startswith("0o") else text[1:]
            return int(digits.replace("_", ""), 8)
        if _FLOAT.match(text):
            return float(text)
        if text in _INF:
            return math.inf
        if text in {"-.inf", "-.Inf", "-.INF"}:
            return -math.inf
        if text in _NAN:
            return math.nan
    return text


def _scalar(event: yaml.ScalarEvent, where: str) -> Any:
    tag = event.tag
    text = event.value
    plain = event.style in (None, "")
    if tag in (None, "!", "!reset", "!override"):
        value: Any = resolve_plain(text) if plain and tag != "!" else text
        if tag == "!reset":
            return Reset(value)
        if tag == "!override":
            return Override(value)
        return value
    if tag.startswith(_TAG):
        kind = tag[len(_TAG):]
        if kind == "str":
            return text
        if kind == "null":
            return None
        value = resolve_plain(text)
        wanted = {"int": int, "float": (int, float), "bool": bool}.get(kind)
        if wanted is None or not isinstance(value, wanted) or (kind == "int" and isinstance(value, bool)):
            raise BridgeError(f"cannot read {text!r} as !!{kind}", where)
        return float(value) if kind == "float" else value
    raise BridgeError(f"unknown YAML tag {tag}", where)


class _Frame:
    __slots__ = ("container", "path", "key", "key_mark", "tag", "anchor", "merges", "explicit", "start")

    def __init__(self, container: Any, path: tuple, tag: str | None, anchor: str | None,
                 start: tuple[int, int] = (0, 0)) -> None:
        self.container = container
        self.start = start  # where the collection begins (a list item's position)
        self.path = path
        self.key: Any = _NOKEY
        self.key_mark: tuple[int, int] | None = None
        self.tag = tag
        self.anchor = anchor
        self.merges: list[dict] = []
        self.explicit: set[str] = set()


_NOKEY = object()


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count(v) for v in value)
    return 1


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, (Reset, Override)):
        return type(value)(_copy(value.value))
    return value


def _key_text(key: Any, where: str, mark: tuple[int, int]) -> str:
    if isinstance(key, (dict, list)):
        raise BridgeError("mapping keys must be scalars", where, *mark)
    if isinstance(key, (Reset, Override)):
        key = key.value
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def parse_text(text: str | bytes, filename: str) -> tuple[list[Any], Positions]:
    """Parse every YAML document in `text`; return the documents and key positions."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise BridgeError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", filename)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BridgeError(f"file is not UTF-8 text (byte {exc.start})", filename) from None
    if len(text) > MAX_FILE_BYTES:
        raise BridgeError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", filename)
    if "\x00" in text:
        raise BridgeError("file contains NUL bytes; it is not YAML text", filename)
    try:
        return _build_documents(text, filename, _Loader)
    except yaml.YAMLError as exc:
        if _Loader is not yaml.SafeLoader and _may_be_depth(exc, text):
            # libyaml has a nesting limit of its own, reached at a version-dependent depth and
            # worded its own way (and, scanning ahead, often before our check sees the events).
            # The pure-Python parser has none, so a second pass reports our limit at our position.
            try:
                _build_documents(text, filename, yaml.SafeLoader)
            except BridgeError:
                raise
            except (yaml.YAMLError, RecursionError):
                pass
        raise _yaml_error(exc, filename) from None
    except RecursionError:
        raise BridgeError(f"nesting deeper than {MAX_DEPTH} levels", filename) from None


def _may_be_depth(exc: yaml.YAMLError, text: str) -> bool:
    """Whether a libyaml error could hide a nesting-depth error (the re-parse is only worth it then)."""
    problem = str(getattr(exc, "problem", "") or exc).lower()
    return "nest" in problem or "depth" in problem or len(text) <= 1024 * 1024


def _yaml_error(exc: yaml.YAMLError, filename: str) -> BridgeError:
    if isinstance(exc, yaml.MarkedYAMLError):
        m = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        return BridgeError(
            f"invalid YAML: {problem}", filename, (m.line + 1) if m else None, (m.column + 1) if m else None
        )
    return BridgeError(f"invalid YAML: {exc}", filename)


def _build_documents(text: str, filename: str, loader: type) -> tuple[list[Any], Positions]:
    """Build the documents from the parser's events, checking depth, aliases and duplicate keys."""
    positions = Positions(filename)
    docs: list[Any] = []
    anchors: dict[str, Any] = {}
    stack: list[_Frame] = []
    budget = [MAX_NODES]
    root: list[Any] = []

    def attach(value: Any, mark: tuple[int, int], anchor: str | None) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise BridgeError(
                "document expands to too many nodes (YAML alias bomb?)", filename, *mark
            )
        if anchor:
            anchors[anchor] = value
        if not stack:
            root.append(value)
            return
        frame = stack[-1]
        if isinstance(frame.container, list):
            positions.marks[frame.path + (len(frame.container),)] = mark
            frame.container.append(value)
            return
        if frame.key is _NOKEY:
            frame.key = value
            frame.key_mark = mark
            return
        key = frame.key
        frame.key = _NOKEY
        if key == "<<" and frame.tag is None:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    raise BridgeError("merge key << needs a mapping or a list of mappings", filename, *mark)
                frame.merges.append(src)
            return
        name = _key_text(key, filename, frame.key_mark or mark)
        if name in frame.explicit:
            line = positions.marks.get(frame.path + (name,), (0, 0))[0]
            raise BridgeError(
                f'mapping key "{name}" already defined at line {line}',
                filename,
                *(frame.key_mark or mark),
                path=frame.path + (name,),
            )
        frame.explicit.add(name)
        frame.container[name] = value
        positions.marks[frame.path + (name,)] = frame.key_mark or mark

    for event in yaml.parse(text, Loader=loader):
        mark = (event.start_mark.line + 1, event.start_mark.column + 1) if event.start_mark else (0, 0)
        if isinstance(event, yaml.ScalarEvent):
            attach(_scalar(event, filename), mark, event.anchor)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise BridgeError(f"nesting deeper than {MAX_DEPTH} levels", filename, *mark)
            path = ()
            if stack:
                parent = stack[-1]
                if isinstance(parent.container, list):
                    path = parent.path + (len(parent.container),)
                elif parent.key is not _NOKEY:
                    key = parent.key
                    path = parent.path + (
                        "<<" if key == "<<" else _key_text(key, filename, parent.key_mark or mark),
                    )
                else:
                    path = parent.path + ("?",)
            tag = event.tag if event.tag not in (None, "!") else None
            if tag not in (None, "!reset", "!override", _TAG + "map", _TAG + "seq"):
                raise BridgeError(f"unknown YAML tag {tag}", filename, *mark)
            container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append(_Frame(container, path, tag, event.anchor, mark))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            value = frame.container
            if frame.merges:
                merged: dict = {}
                for src in frame.merges:
                    for k, v in src.items():
                        merged.setdefault(k, _copy(v))
                for k, v in value.items():
                    merged[k] = v
                value = merged
            if frame.tag == "!reset":
                value = Reset(value)
            elif frame.tag == "!override":
                value = Override(value)
            attach(value, frame.start, frame.anchor)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise BridgeError(f"unknown anchor *{event.anchor}", filename, *mark)
            target = anchors[event.anchor]
            size = _count(target) if isinstance(target, (dict, list)) else 1
            budget[0] -= size
            if budget[0] < 0:
                raise BridgeError(
                    "document expands to too many nodes (YAML alias bomb?)", filename, *mark
                )
            attach(_copy(target), mark, None)
            budget[0] += 1
        elif isinstance(event, yaml.DocumentEndEvent):
            docs.append(root[0] if root else None)
            root.clear()
    return docs, positions


def parse_file(path: Path, display: str | None = None) -> tuple[list[Any], Positions]:
    """Read and parse a compose file from disk."""
    name = display or str(path)
    try:
        if path.is_dir():
            raise BridgeError("is a directory, not a compose file", name)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BridgeError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", name)
        data = path.read_bytes()
    except FileNotFoundError:
        raise BridgeError("no such file", name) from None
    except PermissionError:
        raise BridgeError("permission denied", name) from None
    except IsADirectoryError:
        raise BridgeError("is a directory, not a compose file", name) from None
    except OSError as exc:
        raise BridgeError(f"cannot read file: {exc.strerror}", name) from None
    return parse_text(data, name)
