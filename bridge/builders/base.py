"""What a builder is: one Compose aspect of a service turned into its values and their schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model import Context, ServiceModel


@dataclass(frozen=True)
class Builder:
    """`build` reads the service's compose settings (`service.compose`) and the project (`ctx`), may set
    the typed fields of `service` the templates read (volumes, waits, ...), and returns the values keys
    it owns; `schema` is the JSON schema of each of those keys in values.schema.json."""

    name: str
    build: Callable[[ServiceModel, Context], dict[str, Any]]
    schema: dict[str, Any]


# Schema fragments several builders use.
OBJ: dict[str, Any] = {"type": "object"}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"}
PULL_POLICY = {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]}
PORT_NUMBER = {"type": "integer", "minimum": 1, "maximum": 65535}
PROTOCOL = {"type": "string", "enum": ["TCP", "UDP", "SCTP"]}
ACCESS_MODES = {"type": "array", "minItems": 1,
                "items": {"type": "string", "enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}}


def obj(props: dict, required: list[str] | None = None, extra: bool = False) -> dict:
    """A JSON schema object with these properties (and no others unless `extra`)."""
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        out["required"] = required
    return out


RESOURCES = obj({"limits": {"type": "object", "additionalProperties": QUANTITY},
                 "requests": {"type": "object", "additionalProperties": QUANTITY}})


def protocol(value: Any) -> str:
    """A compose port protocol as Kubernetes spells it (`tcp` -> `TCP`; unknown ones are TCP)."""
    proto = str(value or "tcp").upper()
    return proto if proto in ("TCP", "UDP", "SCTP") else "TCP"
