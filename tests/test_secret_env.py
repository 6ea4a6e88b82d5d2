"""bridge/secrets.py: which environment values are secret, and the values file beside the chart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from bridge.secrets import is_secret_name, keys_holding, secret_values, secret_values_path
from bridge.writer import write_secret_values

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("name", "secret"), [
    ("POSTGRES_PASSWORD", True), ("AUTHENTIK_SECRET_KEY", True), ("PG_PASS", True), ("github_token", True),
    ("AWS_SHARED_CREDENTIALS_FILE", True), ("OPENAI_API_KEY", True), ("Passphrase", True),
    ("POSTGRES_USER", False), ("LOG_LEVEL", False), ("DATABASE_URL", False),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_values_come_from_secret_named_variables_and_entries() -> None:
    found = secret_values({"PG_PASS": "hunter22", "PG_HOST": "db", "FEATURE_TOKEN_ON": "true", "API_KEY": "1234"},
                          [{"SESSION_SECRET": "abcdef", "NAME": "shop"}, {"X_KEY": None}])
    # booleans and numbers are too common to mark other values secret; they are secret by name only
    assert found == frozenset({"hunter22", "abcdef"})


def test_keys_holding_names_the_keys_that_spell_out_a_secret() -> None:
    values = {"env": [{"name": "A", "value": "hunter22"}], "command": ["psql", "-p", "hunter22"],
              "livenessProbe": {"exec": {"command": ["sh", "-c", "x"]}}}
    assert keys_holding(values, frozenset({"hunter22"})) == ["command"]
    assert keys_holding(values, frozenset()) == []


def test_the_values_file_is_beside_the_chart_and_private(tmp_path: Path) -> None:
    chart = tmp_path / "out" / "app-chart"
    chart.mkdir(parents=True)
    path = write_secret_values({"web.B": "two", "db.A": "o'ne: #x"}, chart)
    assert path == secret_values_path(chart) == tmp_path / "out" / "app-chart-secret-values.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == {"envSecrets": {"values": {"db.A": "o'ne: #x", "web.B": "two"}}}
