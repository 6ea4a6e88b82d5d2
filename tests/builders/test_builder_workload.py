"""bridge/builders/workload.py: kind, replicas, image, command."""

from __future__ import annotations

import pytest
from builder_context import run

from bridge.builders.workload import WORKLOAD, split_image, workload_kind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("image", "parts"), [
    ("nginx", {"repository": "nginx", "tag": "latest", "digest": ""}),
    ("nginx:1.27-alpine", {"repository": "nginx", "tag": "1.27-alpine", "digest": ""}),
    ("registry:5000/team/app:v2", {"repository": "registry:5000/team/app", "tag": "v2", "digest": ""}),
    ("registry:5000/team/app", {"repository": "registry:5000/team/app", "tag": "latest", "digest": ""}),
    ("app@sha256:abc", {"repository": "app", "tag": "", "digest": "sha256:abc"}),
    ("app:v1@sha256:abc", {"repository": "app", "tag": "v1", "digest": "sha256:abc"}),
])
def test_split_image(image: str, parts: dict) -> None:
    assert split_image(image) == parts


@pytest.mark.parametrize(("svc", "kind"), [
    ({}, "Deployment"),
    ({"deploy": {"mode": "global"}}, "DaemonSet"),
    ({"deploy": {"mode": "replicated"}}, "Deployment"),
])
def test_workload_kind(svc: dict, kind: str) -> None:
    assert workload_kind("web", svc, set()) == kind
    assert workload_kind("web", svc, {"web"}) == "Job"


@pytest.mark.parametrize(("svc", "expected"), [
    ({"image": "nginx"}, {"replicas": 1, "command": [], "args": []}),
    ({"image": "nginx", "scale": 3}, {"replicas": 3}),
    ({"image": "nginx", "scale": 3, "deploy": {"replicas": 2}}, {"replicas": 2}),  # deploy.replicas wins
    ({"image": "nginx", "deploy": {"replicas": 0}}, {"replicas": 0}),
    ({"image": "app", "entrypoint": ["/init"], "command": ["serve", "--port", "80"]},
     {"command": ["/init"], "args": ["serve", "--port", "80"]}),
    ({"image": "app", "entrypoint": [], "command": ["x"]}, {"command": [], "args": ["x"]}),
])
def test_values(svc: dict, expected: dict) -> None:
    values, _, ctx = run(WORKLOAD, svc)
    assert {k: values[k] for k in expected} == expected
    assert values["enabled"] is True and list(ctx.warnings) == []


@pytest.mark.parametrize(("policy", "mapped", "warns"), [
    (None, "IfNotPresent", False), ("always", "Always", False), ("never", "Never", False),
    ("missing", "IfNotPresent", False), ("build", "IfNotPresent", False), ("daily", "Always", True),
    ("every_12h", "Always", True),
])
def test_pull_policy(policy: str | None, mapped: str, warns: bool) -> None:
    values, _, ctx = run(WORKLOAD, {"image": "nginx", "pull_policy": policy})
    assert values["image"]["pullPolicy"] == mapped
    assert bool(ctx.warnings) == warns


def test_build_only_names_an_image_and_warns() -> None:
    values, _, ctx = run(WORKLOAD, {"build": {"context": "/p"}}, name="api")
    assert values["image"] == {"repository": "proj-api", "tag": "latest", "digest": "", "pullPolicy": "IfNotPresent"}
    assert ctx.warnings == ["service api: has only `build`; build and push image proj-api:latest, or set "
                            "api.image.repository"]
