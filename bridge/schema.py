"""values.schema.json (draft-07, self-contained) describing the chart's values."""

from __future__ import annotations

from typing import Any

from .build import Chart

QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"}
OBJ: dict[str, Any] = {"type": "object"}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
PULL_POLICY = {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]}


def _obj(props: dict, required: list[str] | None = None, extra: bool = False) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        out["required"] = required
    return out


RESOURCES = _obj(
    {
        "limits": {"type": "object", "additionalProperties": QUANTITY},
        "requests": {"type": "object", "additionalProperties": QUANTITY},
    }
)

ENV_LIST = {
    "type": "array",
    "items": _obj({"name": {"type": "string", "minLength": 1}, "value": {"type": "string"}}, ["name", "value"]),
}

PORT = _obj(
    {
        "name": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$"},
        "containerPort": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"]},
    },
    ["containerPort"],
)

SERVICE_PORT = _obj(
    {
        "name": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "targetPort": {"type": ["string", "integer"]},
        "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"]},
        "nodePort": {"type": "integer", "minimum": 1, "maximum": 65535},
    },
    ["port"],
)

SERVICE = _obj(
    {
        "enabled": {"type": "boolean"},
        "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        "annotations": STR_MAP,
        "ports": {"type": "array", "items": SERVICE_PORT},
    }
)

MODEL_BINDING = _obj(
    {
        "key": {"type": "string"},
        "urlVar": {"type": "string", "minLength": 1},
        "modelVar": {"type": "string", "minLength": 1},
        "model": {"type": "string"},
    },
    ["urlVar", "modelVar", "model"],
)


def service_schema() -> dict:
    return _obj(
        {
            "enabled": {"type": "boolean"},
            "replicas": {"type": "integer", "minimum": 0},
            "image": _obj(
                {
                    "repository": {"type": "string", "minLength": 1},
                    "tag": {"type": "string"},
                    "digest": {"type": "string"},
                    "pullPolicy": PULL_POLICY,
                },
                ["repository"],
            ),
            "command": {"type": "array", "items": {"type": "string"}},
            "args": {"type": "array", "items": {"type": "string"}},
            "env": ENV_LIST,
            "models": {"type": "array", "items": MODEL_BINDING},
            "ports": {"type": "array", "items": PORT},
            "service": SERVICE,
            "published": SERVICE,
            "ingress": _obj(
                {
                    "enabled": {"type": "boolean"},
                    "className": {"type": "string"},
                    "host": {"type": "string"},
                    "path": {"type": "string", "pattern": "^/"},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "annotations": STR_MAP,
                    "tls": {"type": "array", "items": OBJ},
                }
            ),
            "resources": RESOURCES,
            "securityContext": OBJ,
            "podSecurityContext": OBJ,
            "livenessProbe": OBJ,
            "readinessProbe": OBJ,
            "startupProbe": OBJ,
            "lifecycle": OBJ,
            "job": _obj(
                {
                    "backoffLimit": {"type": "integer", "minimum": 0},
                    "restartPolicy": {"type": "string", "enum": ["Never", "OnFailure"]},
                },
                ["backoffLimit", "restartPolicy"],
            ),
            "nodeSelector": STR_MAP,
            "tolerations": {"type": "array", "items": OBJ},
            "affinity": OBJ,
            "podAnnotations": STR_MAP,
            "podLabels": STR_MAP,
            "hostAliases": {"type": "array", "items": OBJ},
            "dnsConfig": OBJ,
            "hostname": {"type": "string"},
            "workingDir": {"type": "string"},
            "stdin": {"type": "boolean"},
            "hostNetwork": {"type": "boolean"},
            "tty": {"type": "boolean"},
            "terminationGracePeriodSeconds": {"type": "integer", "minimum": 0},
            "waitFor": {"type": "array", "items": {"type": "string"}},
        },
        ["enabled", "replicas", "image"],
    )


def runner_schema() -> dict:
    return _obj(
        {
            "enabled": {"type": "boolean"},
            "hostEndpoint": {"type": "string", "minLength": 1},
            "clusterEndpoint": {"type": "string"},
            "image": {"type": "string", "minLength": 1},
            "imagePullPolicy": PULL_POLICY,
            "gpu": _obj(
                {
                    "enabled": {"type": "boolean"},
                    "vendor": {"type": "string", "enum": ["nvidia", "amd"]},
                    "count": {"type": "integer", "minimum": 1},
                },
                ["enabled", "vendor", "count"],
            ),
            "nodeSelector": STR_MAP,
            "tolerations": {"type": "array", "items": OBJ},
            "affinity": OBJ,
            "securityContext": OBJ,
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
            "resources": RESOURCES,
            "replicas": {"type": "integer", "minimum": 1},
            "storage": _obj({
                "size": QUANTITY, "storageClass": {"type": "string"},
                "mode": {"type": "string", "enum": ["shared", "perReplica"]},
                "accessModes": {"type": "array", "minItems": 1, "items": {
                    "type": "string", "enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}},
                "existingClaim": {"type": "string"},
            }, ["size"]),
            "podDisruptionBudget": _obj({"enabled": {"type": "boolean"},
                                         "maxUnavailable": {"type": ["integer", "string"]}}),
            "spread": _obj({"enabled": {"type": "boolean"}, "topologyKey": {"type": "string", "minLength": 1},
                            "whenUnsatisfiable": {"type": "string", "enum": ["ScheduleAnyway", "DoNotSchedule"]}}),
            "autoscaling": _obj({"enabled": {"type": "boolean"}, "minReplicas": {"type": "integer", "minimum": 1},
                                 "maxReplicas": {"type": "integer", "minimum": 1},
                                 "targetCPUUtilizationPercentage": {"type": "integer", "minimum": 1, "maximum": 100}}),
            "models": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "configure": {
                "type": "array",
                "items": _obj(
                    {
                        "model": {"type": "string", "minLength": 1},
                        "contextSize": {"type": "integer", "minimum": 1},
                        "runtimeFlags": {"type": "array", "items": {"type": "string"}},
                    },
                    ["model"],
                ),
            },
            "prePull": _obj(
                {"image": {"type": "string", "minLength": 1}, "timeoutSeconds": {"type": "integer", "minimum": 1}}
            ),
        },
        ["enabled", "hostEndpoint", "image", "gpu", "storage", "models"],
    )


def _volume_schema() -> dict:
    return _obj(
        {
            "enabled": {"type": "boolean"},
            "size": QUANTITY,
            "storageClass": {"type": "string"},
            "accessModes": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]},
            },
            "existingClaim": {"type": "string"},
        },
        ["size"],
    )


def values_schema(chart: Chart) -> dict:
    props: dict[str, Any] = {
        "global": OBJ,
        "nameOverride": {"type": "string"},
        "fullnameOverride": {"type": "string"},
        "imagePullSecrets": {"type": "array", "items": _obj({"name": {"type": "string"}}, ["name"])},
        "serviceAliases": _obj({"enabled": {"type": "boolean"}}),
        "hostPath": _obj({"enabled": {"type": "boolean"}}),
        "networkPolicies": _obj({"enabled": {"type": "boolean"}}),
        "waitForDependencies": _obj(
            {
                "enabled": {"type": "boolean"},
                "image": {"type": "string", "minLength": 1},
                "timeoutSeconds": {"type": "integer", "minimum": 1},
            }
        ),
        # One volume schema object for every volume: the encoder writes it out once (json_indented).
        "persistence": _obj(dict.fromkeys(chart.values["persistence"], _volume_schema())),
        "secrets": _obj({
            k: _obj({"existingSecret": {"type": "string"}, "value": {"type": "string"}}) for k in chart.values["secrets"]
        }),
        "configs": _obj({k: _obj({"existingConfigMap": {"type": "string"}}) for k in chart.values["configs"]}),
        "modelRunner": runner_schema(),
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
