"""bridge/builders/runtime.py, lifecycle-free container settings; and networks.py."""

from __future__ import annotations

import pytest
from builder_context import run

from bridge.builders.networks import NETWORKS
from bridge.builders.runtime import RUNTIME

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("svc", "expected", "warning"), [
    ({}, {"hostname": "", "workingDir": "", "stdin": False, "tty": False, "terminationGracePeriodSeconds": 30}, None),
    ({"hostname": "db-1", "working_dir": "/app", "stdin_open": True, "tty": True, "stop_grace_period": "1m30s"},
     {"hostname": "db-1", "workingDir": "/app", "stdin": True, "tty": True, "terminationGracePeriodSeconds": 90}, None),
    ({"hostname": "Db_1"}, {"hostname": ""}, "service web: hostname 'Db_1' is not a DNS label; ignored"),
])
def test_runtime(svc: dict, expected: dict, warning: str | None) -> None:
    values, _, ctx = run(RUNTIME, svc)
    assert {k: values[k] for k in expected} == expected
    assert [w for w in ctx.warnings if "hostname" in w] == ([warning] if warning else [])


def test_networks_label_the_pod_and_host_mode_is_host_network() -> None:
    values, service, _ = run(NETWORKS, {"networks": {"front": None, "back_end": None}},
                             network_labels={"front": "front", "back_end": "back-end"})
    assert service.networks == ["back-end", "front"] and values == {"hostNetwork": False}
    assert run(NETWORKS, {"network_mode": "host"})[0] == {"hostNetwork": True}
