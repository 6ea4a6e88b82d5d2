"""How values become text in the chart: Go string literals for Helm actions, YAML for values.yaml and
the templates. Every function here writes text that reads back as exactly its input.

PyYAML's dumper is not used for values.yaml because the file carries a comment above many keys, and
because its quoting follows YAML 1.1 readers only in part (go-yaml, which Helm uses, reads `y` and
`on` as booleans); writing every string JSON-quoted is unambiguous for both.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

# Characters go_literal must escape; everything else is copied as is.
_GO_SPECIAL = re.compile("[\\\\\"\x00-\x1f\x7f\ud800-\udfff]")
_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _go_escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _GO_ESCAPES:
        return _GO_ESCAPES[ch]
    code = ord(ch)
    return "\\uFFFD" if 0xD800 <= code <= 0xDFFF else f"\\x{code:02x}"


def go_literal(text: str) -> str:
    """A Go string literal for `text` (safe inside a Helm action)."""
    return '"' + _GO_SPECIAL.sub(_go_escape, str(text)) + '"'


def lit(text: Any) -> str:
    """A compose string placed in a template as data: Helm prints it JSON-quoted, never evaluates it."""
    return "{{ " + go_literal(str(text)) + " | toJson }}"


def go_string(text: Any) -> str:
    """A compose string printed by Helm as it is (a Go string literal in an action)."""
    return "{{ " + go_literal(str(text)) + " }}"


# The characters a YAML document may not hold literally (DEL, C1 controls, U+FFFE/U+FFFF) or reads as
# line breaks (NEL, LS, PS in YAML 1.1, which go-yaml and PyYAML follow): written as \u escapes.
_NOT_YAML_PRINTABLE = re.compile("[\\x7f-\\x9f\\u2028\\u2029\\ufffe\\uffff]")
# What either JSON or YAML would escape in a string; a string without any is written between quotes as is.
_NEEDS_ESCAPES = re.compile('[\\x00-\\x1f"\\\\\\x7f-\\x9f\\u2028\\u2029\\ufffe\\uffff]')


def yaml_scalar(value: Any) -> str:
    """A YAML scalar that reads back as exactly `value` (JSON is valid YAML; characters YAML may not
    hold literally are written as \\u escapes, which JSON and YAML read alike)."""
    # The common scalars as json.dumps writes them, without the encoder it makes per call (values.yaml
    # holds about 60 scalars per service).
    if isinstance(value, str) and not _NEEDS_ESCAPES.search(value):
        return '"' + value + '"'
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if type(value) is int:
        return str(value)
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if isinstance(value, float) and "e" in text and "." not in text:
        return text.replace("e", ".0e")  # YAML 1.1 floats need a dot: "1e-05" would read as a string
    return text


# Words YAML 1.1 (go-yaml v2, which Helm reads values with) takes for booleans or null, in any case.
_YAML11_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@functools.lru_cache(maxsize=4096, typed=True)  # every service repeats the same few dozen keys
def yaml_key(key: Any) -> str:
    """A mapping key: plain where YAML reads it back as the same string, else quoted."""
    text = str(key)
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML11_WORDS:
        return text
    return yaml_scalar(key)


def _flow(value: Any) -> str:
    if isinstance(value, dict | list):
        return yaml_scalar(value) if value else ("{}" if isinstance(value, dict) else "[]")
    return yaml_scalar(value)


def to_yaml(value: Any, indent: int = 0, comments: dict[tuple, str] | None = None) -> str:
    """Block YAML with optional `# comment` lines before keys (`comments` maps key paths, `"*"` for
    list items, to text); stable, in the order given."""
    notes = comments or {}
    lines: list[str] = []

    def comment(path: tuple, pad: str) -> None:
        note = notes.get(path)
        if note:
            if len(path) == 1 and lines:
                lines.append("")  # a blank line before each commented top-level key
            lines.extend(pad + "# " + line if line else pad + "#" for line in note.split("\n"))

    def block(value: Any, indent: int, path: tuple) -> None:
        pad = " " * indent
        if isinstance(value, dict):
            if not value:
                lines.append(pad + "{}")
            for k, v in value.items():
                comment(path + (k,), pad)
                if v and isinstance(v, dict | list):
                    lines.append(f"{pad}{yaml_key(k)}:")
                    block(v, indent + 2, path + (k,))
                else:
                    lines.append(f"{pad}{yaml_key(k)}: {_flow(v)}")
        elif isinstance(value, list):
            if not value:
                lines.append(pad + "[]")
            for item in value:
                if item and isinstance(item, dict | list):
                    start = len(lines)
                    block(item, indent + 2, path + ("*",))
                    lines[start] = pad + "- " + lines[start][indent + 2:]
                else:
                    lines.append(pad + "- " + _flow(item))
        else:
            lines.append(pad + _flow(value))

    block(value, indent, ())
    return "\n".join(lines)
