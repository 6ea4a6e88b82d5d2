"""bridge/builders/models.py: model bindings, the modelRunner block, provider services."""

from __future__ import annotations

import pytest

from bridge.builders.models import apply_providers
from bridge.model import Warnings

pytestmark = pytest.mark.unit


def test_model_providers_become_models_bound_like_compose_up() -> None:
    services = {
        "app": {"image": "x", "depends_on": {"my-llm": {"condition": "service_started"}, "db": {}}},
        "db": {"image": "postgres"},
        "my-llm": {"provider": {"type": "model", "options": {"model": ["ai/smollm2"], "context-size": ["512"]}}},
        "other": {"provider": {"type": "awesomecloud", "options": {}}},
    }
    warnings = Warnings()
    out, models = apply_providers(services, {}, warnings)
    assert sorted(out) == ["app", "db"]
    assert models == {"my-llm": {"model": "ai/smollm2", "context_size": 512}}
    assert out["app"]["models"] == {"my-llm": {"endpoint_var": "MY-LLM_URL", "model_var": "MY-LLM_MODEL"}}
    assert out["app"]["depends_on"] == {"db": {}}
    assert services["app"]["depends_on"] != out["app"]["depends_on"]  # the project is not changed
    assert "provider type 'awesomecloud'" in warnings[0]
