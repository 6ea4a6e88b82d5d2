"""bridge/builders/ports.py: container ports, Services, published ports, Ingress."""

from __future__ import annotations

import pytest
from builder_context import run

from bridge.builders.ports import PORTS, published_ports

pytestmark = pytest.mark.unit


def test_published_service_listens_on_published_ports() -> None:
    svc = {"ports": [{"target": 80, "published": "8080", "protocol": "tcp"},
                     {"target": 53, "published": "5353", "protocol": "udp"},
                     {"target": 9000}]}
    ports = [{"name": "http", "containerPort": 80, "protocol": "TCP"},
             {"name": "udp-53", "containerPort": 53, "protocol": "UDP"},
             {"name": "tcp-9000", "containerPort": 9000, "protocol": "TCP"}]
    assert published_ports(svc, ports) == [
        {"name": "tcp-8080", "port": 8080, "targetPort": "http", "protocol": "TCP"},
        {"name": "udp-5353", "port": 5353, "targetPort": "udp-53", "protocol": "UDP"}]
    assert published_ports({"expose": ["80"]}, ports) == []


@pytest.mark.parametrize(("svc", "ports"), [
    ({"ports": [{"target": 80, "published": "8080", "protocol": "tcp"}]},
     [{"name": "tcp-80", "containerPort": 80, "protocol": "TCP"}]),
    ({"ports": [{"target": 80, "published": "8080"}, {"target": 80, "published": "8081"}]},  # one target, twice
     [{"name": "tcp-80", "containerPort": 80, "protocol": "TCP"}]),
    ({"ports": [{"target": 53, "protocol": "udp"}, {"target": 53, "protocol": "tcp"}]},
     [{"name": "udp-53", "containerPort": 53, "protocol": "UDP"}, {"name": "tcp-53", "containerPort": 53, "protocol": "TCP"}]),
    ({"ports": [{"target": 8080, "name": "web-ui"}]}, [{"name": "web-ui", "containerPort": 8080, "protocol": "TCP"}]),
    ({"expose": ["5432", "7000-7001/udp", "9000/xyz", "nope"]},
     [{"name": "tcp-5432", "containerPort": 5432, "protocol": "TCP"},
      {"name": "udp-7000", "containerPort": 7000, "protocol": "UDP"},
      {"name": "udp-7001", "containerPort": 7001, "protocol": "UDP"},
      {"name": "tcp-9000", "containerPort": 9000, "protocol": "TCP"}]),
    ({}, []),
])
def test_container_ports(svc: dict, ports: list) -> None:
    values, service, _ = run(PORTS, svc)
    assert values["ports"] == ports
    assert values["service"]["ports"] == [{"name": p["name"], "port": p["containerPort"], "targetPort": p["name"],
                                           "protocol": p["protocol"]} for p in ports]
    assert values["service"]["enabled"] is service.has_service is bool(ports)


def test_published_ports_get_a_service_and_an_ingress_that_is_off() -> None:
    values, _, _ = run(PORTS, {"ports": [{"target": 80, "published": "8080"}, {"target": 53, "published": "53",
                                                                            "protocol": "udp"}]})
    assert values["published"]["enabled"] and [p["port"] for p in values["published"]["ports"]] == [8080, 53]
    assert values["ingress"] == {"enabled": False, "className": "", "host": "", "path": "/", "port": 8080,
                                 "annotations": {}, "tls": []}


def test_expose_only_publishes_nothing() -> None:
    values, _, _ = run(PORTS, {"expose": ["5432"]})
    assert values["published"] == {"enabled": False, "type": "ClusterIP", "annotations": {}, "ports": []}
    assert "ingress" not in values
