"""Every builder describes exactly the values it returns, and the chart's values validate against
values.schema.json (checked here with jsonschema, before Helm ever sees them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from builder_context import context
from jsonschema import Draft7Validator

from bridge.build import build_chart
from bridge.builders import SERVICE_BUILDERS, build_service
from bridge.loader import Options, load
from bridge.schema import values_schema

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_each_builder_owns_its_keys_alone() -> None:
    seen: dict[str, str] = {}
    for builder in SERVICE_BUILDERS:
        for key in builder.schema:
            assert key not in seen, f"{key} is described by {seen[key]} and {builder.name}"
            seen[key] = builder.name


@pytest.mark.parametrize("fixture", ["kitchen-sink/compose.yaml", "runtime/compose.yaml", "models/compose.yaml"])
def test_builders_return_only_what_their_schema_describes(fixture: str) -> None:
    project = load(Options(files=[str(FIXTURES / fixture)], environ={}))
    services = {k: v for k, v in project.data["services"].items() if not v.get("provider")}
    ctx = context(services, project.data.get("models"), project.working_dir)
    for name, svc in services.items():
        service = build_service(name, svc, ctx)
        for builder in SERVICE_BUILDERS:
            returned = builder.build(service, ctx)
            assert set(returned) <= set(builder.schema), f"{builder.name} returns keys its schema lacks"


@pytest.mark.parametrize("fixture", ["kitchen-sink/compose.yaml", "runtime/compose.yaml", "models/compose.yaml",
                                     "multi/compose.yaml"])
def test_values_validate_against_the_chart_schema(fixture: str) -> None:
    chart = build_chart(load(Options(files=[str(FIXTURES / fixture)], environ={"HOME": "/home/user"})))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(values_schema(chart)).iter_errors(chart.values)]
    assert errors == []
