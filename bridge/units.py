"""Byte sizes (`256m`) and durations (`1m30s`) as Compose reads them, and Go-style duration text."""

from __future__ import annotations

import re

_BYTES = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtpe]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


def parse_bytes(value: object) -> int:
    """`256m` -> 268435456. Compose (go-units RAMInBytes) uses binary multiples for every suffix."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    match = _BYTES.match(str(value))
    if not match:
        raise ValueError(f"invalid size: {value!r}")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * (1024 ** _POWERS[unit]))


_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_duration(value: object) -> int:
    """Duration in nanoseconds: Go syntax (`1m30s`, `1.5h`, `500ms`); a bare number means seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration: {value!r}")
    if isinstance(value, (int, float)):
        return int(value * 10**9)
    text = str(value).strip()
    if not text:
        raise ValueError("invalid duration: empty")
    sign = 1
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if _SECONDS.fullmatch(text):
        return sign * int(float(text) * 10**9)
    total = 0
    pos = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos or match.group(1) in ("", "."):
            raise ValueError(f"invalid duration: {value!r}")
        total += int(float(match.group(1)) * _UNIT_NS[match.group(2)])
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"invalid duration: {value!r}")
    return sign * total


def _fmt_frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_duration(ns: int) -> str:
    """Go's time.Duration.String(): 90s -> `1m30s`, 1h -> `1h0m0s`, 0 -> `0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 10**9:
        if ns < 1_000:
            return f"{sign}{ns}ns"
        if ns < 1_000_000:
            return f"{sign}{_fmt_frac(ns, 1_000)}µs"
        return f"{sign}{_fmt_frac(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _fmt_frac(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{seconds}"


def duration_seconds(ns: int) -> int:
    """Whole seconds, rounded up, at least 1 for any positive duration."""
    if ns <= 0:
        return 0
    return max(1, -(-ns // 10**9))
