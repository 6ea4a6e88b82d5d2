"""Every key of the compose-spec service schema is mapped into the chart or warned about: never dropped
silently. The table is bridge/keys.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.build import build_chart
from bridge.keys import SERVICE_KEYS, WARN
from bridge.loader import Options, load
from bridge.validate import compose_schema

pytestmark = pytest.mark.unit


def test_table_lists_every_service_key_of_the_schema() -> None:
    schema_keys = set(compose_schema()["definitions"]["service"]["properties"])
    assert schema_keys - set(SERVICE_KEYS) == set(), "keys the table does not say what to do with"
    assert set(SERVICE_KEYS) - schema_keys == set(), "keys the schema does not have"


def _warnings(tmp_path: Path, service: dict) -> list[str]:
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {"svc": {"image": "nginx", **service}}}))
    return build_chart(load(Options(files=[str(tmp_path / "compose.yaml")], environ={}))).warnings


@pytest.mark.parametrize("key", sorted(k for k, (kind, _, _) in SERVICE_KEYS.items() if kind == WARN))
def test_each_unsupported_key_warns_naming_service_and_key(key: str, tmp_path: Path) -> None:
    warnings = _warnings(tmp_path, {key: SERVICE_KEYS[key][2]})
    assert [w for w in warnings if w.startswith(f"service svc: {key} ")], warnings


@pytest.mark.parametrize("extra, expected", [
    ({"deploy": {"restart_policy": {"condition": "on-failure"}}}, "service svc: deploy.restart_policy "),
    ({"network_mode": "none"}, "service svc: network_mode none "),
    ({"security_opt": ["no-new-privileges:true"]}, "service svc: security_opt no-new-privileges:true "),
])
def test_partly_mapped_keys_warn_for_the_rest(extra: dict, expected: str, tmp_path: Path) -> None:
    assert [w for w in _warnings(tmp_path, extra) if w.startswith(expected)]


def test_mapped_keys_do_not_warn(tmp_path: Path) -> None:
    service = {k: v for k, (kind, _, v) in SERVICE_KEYS.items() if kind != WARN and v is not None
               and k not in ("build", "image")}
    warnings = _warnings(tmp_path, service)
    assert not [w for w in warnings if "no Kubernetes equivalent" in w], warnings
