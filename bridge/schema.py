"""values.schema.json (draft-07, self-contained) describing the chart's values: the chart-wide keys
here, each service's keys from its builders (bridge/builders), the runner's from builders/models.py."""

from __future__ import annotations

from typing import Any

from .builders import service_schema
from .builders.base import STR_MAP, obj
from .builders.files import configs_schema, secrets_schema
from .builders.models import RUNNER_SCHEMA
from .builders.volumes import VOLUME_SCHEMA
from .model import Chart


def values_schema(chart: Chart) -> dict:
    props: dict[str, Any] = {
        "global": obj({"imageRegistry": {"type": "string"}}, extra=True),
        "nameOverride": {"type": "string"},
        "fullnameOverride": {"type": "string"},
        "imagePullSecrets": {"type": "array", "items": obj({"name": {"type": "string"}}, ["name"])},
        "serviceAccount": obj({"create": {"type": "boolean"}, "name": {"type": "string"}, "annotations": STR_MAP,
                               "automount": {"type": "boolean"}}),
        "podSecurity": {"type": "string", "enum": ["", "restricted"]},
        "tests": obj({"enabled": {"type": "boolean"}}),
        "serviceAliases": obj({"enabled": {"type": "boolean"}}),
        "hostPath": obj({"enabled": {"type": "boolean"}}),
        "networkPolicies": obj({"enabled": {"type": "boolean"}}),
        "waitForDependencies": obj({
            "enabled": {"type": "boolean"},
            "image": {"type": "string", "minLength": 1},
            "timeoutSeconds": {"type": "integer", "minimum": 1},
        }),
        "seedVolumes": obj({"enabled": {"type": "boolean"}, "image": {"type": "string", "minLength": 1}}),
        "envSecrets": obj({"existingSecret": {"type": "string"}, "values": STR_MAP}),
        "persistence": obj(dict.fromkeys(chart.values["persistence"], VOLUME_SCHEMA)),
        "secrets": secrets_schema(list(chart.values["secrets"])),
        "configs": configs_schema(list(chart.values["configs"])),
        "modelRunner": RUNNER_SCHEMA,
    }
    for svc in chart.services:
        props[svc.key] = {"$ref": "#/definitions/service"}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"Values of the {chart.name} chart",
        "type": "object",
        "definitions": {"service": service_schema()},
        "properties": props,
        "additionalProperties": False,
    }
