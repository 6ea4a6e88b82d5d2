"""bridge/builders/scheduling.py: placement, annotations, host aliases, DNS."""

from __future__ import annotations

import pytest

from bridge.builders.scheduling import annotations, dns_config, host_aliases, placement
from bridge.model import Warnings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("svc", "selector", "affinity", "warns"), [
    ({}, {}, {}, 0),
    ({"deploy": {"placement": {"constraints": ["node.labels.disk == ssd", "node.platform.os==linux"]}}},
     {"disk": "ssd", "kubernetes.io/os": "linux"}, {}, 0),
    ({"deploy": {"placement": {"constraints": ["node.hostname != n1"]}}}, {},
     {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
         {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["n1"]}]}]}}}, 0),
    ({"deploy": {"placement": {"constraints": ["node.role == manager", "garbage"]}}}, {}, {}, 2),
    ({"platform": "linux/arm64"}, {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}, {}, 0),
])
def test_placement(svc: dict, selector: dict, affinity: dict, warns: int) -> None:
    warnings = Warnings()
    assert placement(svc, "web", warnings) == (selector, affinity)
    assert len(warnings) == warns


def test_labels_and_annotations_become_pod_annotations() -> None:
    warnings = Warnings()
    out = annotations({"labels": {"b": "1", "bad key!": "x"}, "annotations": {"a.example/c": None}}, "web", warnings)
    assert out == {"b": "1", "a.example/c": ""}
    assert warnings == ["service web: label 'bad key!' is not a valid Kubernetes annotation key; dropped"]


@pytest.mark.parametrize(("hosts", "aliases", "warns"), [
    (["db=10.0.0.2", "cache=10.0.0.2", "db=10.0.0.2"], [{"ip": "10.0.0.2", "hostnames": ["db", "cache"]}], 0),
    (["v6=::1"], [{"ip": "::1", "hostnames": ["v6"]}], 0),
    (["host.docker.internal=host-gateway", "x=not-an-ip"], [], 2),
])
def test_host_aliases(hosts: list, aliases: list, warns: int) -> None:
    warnings = Warnings()
    assert host_aliases({"extra_hosts": hosts}, "web", warnings) == aliases and len(warnings) == warns


def test_dns_config() -> None:
    assert dns_config({"dns": ["1.1.1.1", "8.8.8.8", "9.9.9.9", "4.4.4.4"], "dns_search": ["corp"],
                       "dns_opt": ["ndots:2", "rotate"]}) == {
        "nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"], "searches": ["corp"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}]}
    assert dns_config({}) == {}
