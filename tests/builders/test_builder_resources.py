"""bridge/builders/resources.py: compose resources as Kubernetes quantities."""

from __future__ import annotations

import pytest

from bridge.builders.resources import DEFAULT_REQUESTS, quantity_bytes, quantity_cpu, resources

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("n", "text"), [(268435456, "256Mi"), (1073741824, "1Gi"), (1536 * 2**20, "1536Mi"),
                                         (1000, "1000"), (2**40, "1Ti"), (4096, "4Ki")])
def test_quantity_bytes(n: int, text: str) -> None:
    assert quantity_bytes(n) == text


@pytest.mark.parametrize(("cpus", "text"), [(0.5, "500m"), (2, "2"), (1.5, "1500m"), (0.0001, "1m"), ("0.25", "250m")])
def test_quantity_cpu(cpus: float, text: str) -> None:
    assert quantity_cpu(cpus) == text


@pytest.mark.parametrize(("svc", "expected"), [
    ({}, {"requests": DEFAULT_REQUESTS}),
    ({"mem_limit": 268435456, "cpus": 0.5}, {"limits": {"cpu": "500m", "memory": "256Mi"}}),
    ({"deploy": {"resources": {"limits": {"cpus": 2, "memory": "1073741824"},
                               "reservations": {"cpus": 0.25, "memory": "134217728"}}}},
     {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "128Mi"}}),
    ({"mem_limit": 1, "deploy": {"resources": {"limits": {"memory": "2147483648"}}}},  # deploy wins
     {"limits": {"memory": "2Gi"}}),
    ({"mem_reservation": 67108864}, {"requests": {"memory": "64Mi"}}),
    ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["gpu"], "count": 2}]}}}},
     {"limits": {"nvidia.com/gpu": "2"}}),
    ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["gpu"], "driver": "amd", "count": "all"}]}}}},
     {"limits": {"amd.com/gpu": "1"}}),
    ({"gpus": "all"}, {"limits": {"nvidia.com/gpu": "1"}}),
    ({"gpus": [{"count": 2}, {"count": "all"}]}, {"limits": {"nvidia.com/gpu": "3"}}),
])
def test_resources(svc: dict, expected: dict) -> None:
    assert resources(svc) == expected
