"""bridge/builders/names.py: the names a service resolves by, and network_mode: service: pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.builders.names import compose_names, service_names, sidecar_roots
from bridge.model import Warnings

pytestmark = pytest.mark.unit


def test_compose_names_in_compose_order() -> None:
    services = {
        "db": {"networks": {"back": {"aliases": ["postgres", "pg"]}}, "container_name": "main-db"},
        "app": {"links": ["db:database", "cache"], "hostname": "apphost"},
        "cache": {},
    }
    assert compose_names(services) == {
        "db": ["db", "postgres", "pg", "main-db", "database"],
        "app": ["app", "apphost"],
        "cache": ["cache"],
    }


def test_names_kubernetes_cannot_hold_warn_with_their_users() -> None:
    warnings = Warnings()
    services = {"search_engine": {}, "app": {"environment": {"URL": "http://search_engine:9200", "X": "1"}}}
    names = service_names(services, warnings)
    assert names["search_engine"].aliases == [] and names["search_engine"].invalid == ["search_engine"]
    assert names["app"].aliases == ["app"]
    assert len(warnings) == 1 and "'search_engine'" in warnings[0] and "(used by app.URL)" in warnings[0]


def test_the_api_servers_name_is_not_taken() -> None:
    warnings = Warnings()
    assert service_names({"kubernetes": {}}, warnings)["kubernetes"].aliases == []
    assert "taken by Kubernetes itself" in warnings[0]


def test_a_name_two_services_claim_goes_to_the_first() -> None:
    warnings = Warnings()
    services = {"a": {"networks": {"n": {"aliases": ["shared"]}}}, "b": {"networks": {"n": {"aliases": ["shared"]}}}}
    names = service_names(services, warnings)
    assert names["a"].aliases == ["a", "shared"] and names["b"].aliases == ["b"]
    assert "also a name of service a" in warnings[0]


def test_network_mode_service_joins_the_pod_of_the_chain_end() -> None:
    warnings = Warnings()
    services = {"vpn": {}, "app": {"network_mode": "service:vpn"}, "probe": {"network_mode": "service:app"},
                "a": {"network_mode": "service:b"}, "b": {"network_mode": "service:a"}, "host": {"network_mode": "host"}}
    assert sidecar_roots(services, warnings) == {"app": "vpn", "probe": "vpn"}
    assert len(warnings) == 2 and all("loops" in w for w in warnings)


def test_referenced_ports_are_known_ports(tmp_path: Path) -> None:
    from bridge.builders.names import referenced_ports

    (tmp_path / "nginx.conf").write_text("upstream app { server web:8000; }\nlocation /ws { proxy_pass http://web; }\n")
    services = {
        "proxy": {"volumes": [{"type": "bind", "source": str(tmp_path / "nginx.conf"), "target": "/etc/nginx.conf"}]},
        "web": {"environment": {"DATABASE_URL": "postgres://u:secret@db/app", "CACHE": "cache:6379", "X": None},
                "networks": {"back": {"aliases": ["app-backend"]}}},
        "worker": {"command": ["run", "--api", "https://app-backend/v1", "--version", "1.2:3"]},
        "kafka": {"environment": {"VOTERS": "1@kafka:29093"}},  # a service reaching itself by name
        "db": {}, "cache": {},
    }
    assert referenced_ports(services, str(tmp_path)) == {
        "web": [80, 443, 8000], "db": [5432], "cache": [6379], "kafka": [29093]}
