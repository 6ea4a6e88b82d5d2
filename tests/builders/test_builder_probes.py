"""bridge/builders/probes.py: compose healthchecks as probes, with compose's timings."""

from __future__ import annotations

import pytest

from bridge.builders.probes import probes

pytestmark = pytest.mark.unit


def test_probes_take_composes_defaults() -> None:
    readiness, startup = probes({"test": ["CMD", "true"]})
    assert readiness == {"exec": {"command": ["true"]}, "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}
    assert startup == {}


def test_start_period_is_a_startup_probe() -> None:
    hc = {"test": ["CMD-SHELL", "pg_isready"], "interval": "10s", "timeout": "2s", "retries": 5,
          "start_period": "1m", "start_interval": "3s"}
    readiness, startup = probes(hc)
    assert readiness["exec"]["command"] == ["/bin/sh", "-c", "pg_isready"] and readiness["periodSeconds"] == 10
    assert startup == {"exec": {"command": ["/bin/sh", "-c", "pg_isready"]}, "periodSeconds": 3,
                       "timeoutSeconds": 2, "failureThreshold": 37}
    # 3 s x 37 >= compose's 60 s start period + 5 retries x 10 s: the kubelet gives up no sooner than compose


def test_disabled_or_none_healthchecks_have_no_probe() -> None:
    assert probes({"test": ["NONE"]}) == ({}, {})
    assert probes({"test": ["CMD", "x"], "disable": True}) == ({}, {})
    assert probes(None) == ({}, {})


@pytest.mark.parametrize(("svc", "readiness"), [
    ({"ports": [{"target": 80}]}, {"tcpSocket": {"port": "tcp-80"}, "periodSeconds": 10, "failureThreshold": 3}),
    ({"ports": [{"target": 53, "protocol": "udp"}]}, {}),  # no TCP port to check
    ({"ports": [{"target": 80}], "healthcheck": {"disable": True}}, {}),
    ({}, {}),
])
def test_without_a_healthcheck_readiness_is_the_first_tcp_port(svc: dict, readiness: dict) -> None:
    from builder_context import run

    from bridge.builders.ports import PORTS
    from bridge.builders.probes import PROBES

    _, service, ctx = run(PORTS, svc)
    assert PROBES.build(service, ctx) == {"livenessProbe": {}, "readinessProbe": readiness, "startupProbe": {}}
