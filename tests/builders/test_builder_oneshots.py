"""bridge/builders/oneshots.py: one-shot Jobs and depends_on waits."""

from __future__ import annotations

import pytest

from bridge.builders.oneshots import job_settings, oneshot_services, waits
from bridge.model import Warnings

pytestmark = pytest.mark.unit


def test_oneshots_and_their_retries() -> None:
    services = {
        "migrate": {"restart": "on-failure:3"},
        "seed": {},
        "app": {"depends_on": {"migrate": {"condition": "service_completed_successfully"},
                               "seed": {"condition": "service_completed_successfully"},
                               "db": {"condition": "service_healthy"}}},
        "db": {},
    }
    assert oneshot_services(services) == {"migrate", "seed"}
    assert job_settings("migrate", services["migrate"], Warnings()) == {"backoffLimit": 3, "restartPolicy": "OnFailure"}
    assert job_settings("seed", services["seed"], Warnings()) == {"backoffLimit": 0, "restartPolicy": "Never"}
    warnings = Warnings()
    assert job_settings("x", {"restart": "always"}, warnings)["backoffLimit"] == 6 and warnings


def test_waits_follow_conditions_and_optional_ones_go_on_when_they_fail() -> None:
    svc = {"depends_on": {"db": {"condition": "service_healthy"}, "migrate": {"condition": "service_completed_successfully"},
                          "cache": {"condition": "service_started", "required": False},
                          "gone": {"condition": "service_started", "required": False}}}  # left out by a profile
    labels = {"db": "db", "migrate": "migrate", "cache": "cache"}
    out = waits("app", svc, labels, dict(labels), {"migrate"}, Warnings())
    assert [(w["service"], w["condition"], w["optional"]) for w in out] == [
        ("cache", "started", True), ("db", "healthy", False), ("migrate", "completed", False)]


def test_the_job_builder_warns_for_restarts_a_deployment_cannot_honour() -> None:
    from builder_context import run

    from bridge.builders.oneshots import JOB, WAITS

    values, _, ctx = run(JOB, {"restart": "on-failure:3"}, name="migrate",
                         others={"app": {"depends_on": {"migrate": {"condition": "service_completed_successfully"}}}})
    assert values == {"job": {"backoffLimit": 3, "restartPolicy": "OnFailure"}} and not ctx.warnings
    values, _, ctx = run(JOB, {"restart": "no"})
    assert values == {} and ctx.warnings == ["service web: restart: no is not possible for a Deployment; pods always restart"]
    values, service, _ = run(WAITS, {"depends_on": {"db": {"condition": "service_healthy"}}}, others={"db": {}})
    assert values == {"waitFor": ["db"]} and service.wait_for[0]["condition"] == "healthy"
