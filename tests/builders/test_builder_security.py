"""bridge/builders/security.py: securityContext with secure defaults that compose overrides."""

from __future__ import annotations

import pytest

from bridge.builders.security import container_security, pod_security
from bridge.model import Warnings

pytestmark = pytest.mark.unit

DEFAULT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["NET_RAW"]}}


@pytest.mark.parametrize(("svc", "expected"), [
    ({}, DEFAULT),
    ({"user": "1000:1000"}, {**DEFAULT, "runAsUser": 1000, "runAsNonRoot": True, "runAsGroup": 1000}),
    ({"user": "0"}, {**DEFAULT, "runAsUser": 0}),
    ({"cap_add": ["cap_net_admin", "SYS_TIME"]},
     {"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["NET_RAW"]}}),
    ({"cap_add": ["NET_RAW"]}, {"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_RAW"]}}),
    ({"cap_drop": ["ALL"]}, {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
    ({"cap_add": ["SYS_ADMIN"]},
     {"allowPrivilegeEscalation": True, "capabilities": {"add": ["SYS_ADMIN"], "drop": ["NET_RAW"]}}),
    ({"privileged": True}, {"allowPrivilegeEscalation": True, "privileged": True}),
    ({"read_only": True}, {**DEFAULT, "readOnlyRootFilesystem": True}),
])
def test_container_security(svc: dict, expected: dict) -> None:
    warnings = Warnings()
    assert container_security(svc, "web", warnings) == expected and not warnings


@pytest.mark.parametrize(("user", "warning"), [
    ("www-data", "service web: user 'www-data' is not numeric; Kubernetes needs a UID (left to the image)"),
    ("1000:staff", "service web: group 'staff' is not numeric; ignored"),
])
def test_names_are_left_to_the_image_with_a_warning(user: str, warning: str) -> None:
    warnings = Warnings()
    out = container_security({"user": user}, "web", warnings)
    assert warnings == [warning] and "runAsGroup" not in out


@pytest.mark.parametrize(("svc", "expected"), [
    ({}, {"seccompProfile": {"type": "RuntimeDefault"}}),
    ({"security_opt": ["seccomp=unconfined"]}, {"seccompProfile": {"type": "Unconfined"}}),
    ({"group_add": ["20", 20, "5"]}, {"seccompProfile": {"type": "RuntimeDefault"}, "supplementalGroups": [5, 20]}),
    ({"sysctls": {"net.core.somaxconn": "1024", "b": None}},
     {"seccompProfile": {"type": "RuntimeDefault"},
      "sysctls": [{"name": "b", "value": ""}, {"name": "net.core.somaxconn", "value": "1024"}]}),
])
def test_pod_security(svc: dict, expected: dict) -> None:
    assert pod_security(svc, "web", Warnings()) == expected
