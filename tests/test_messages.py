"""What a new user reads: error positions and wording, warnings docker compose also prints, the summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli import invoke

pytestmark = pytest.mark.unit


def _convert(tmp_path: Path, text: str, *args: str):
    (tmp_path / "compose.yaml").write_text(text)
    return invoke(["convert", str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "out"), *args])


def test_unknown_key_points_at_the_key_itself(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  web:\n    image: nginx\n    imagee: typo\n")
    assert result.exit_code == 1
    assert f"{tmp_path / 'compose.yaml'}:4:5: services.web.imagee: additional properties 'imagee' not allowed" \
        in result.output


def test_type_errors_use_the_right_article(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  web: [nginx]\n")
    assert result.exit_code == 1 and "must be an object" in result.output
    result = _convert(tmp_path, "services:\n  web:\n    image: nginx\n    environment: [[a]]\n")
    assert result.exit_code == 1 and "must be a " in result.output and "must be a object" not in result.output


def test_obsolete_version_warns_like_docker_compose(tmp_path: Path) -> None:
    result = _convert(tmp_path, "version: '3.8'\nservices:\n  web:\n    image: nginx\n")
    assert result.exit_code == 0
    assert "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion" \
        in result.output


def test_summary_counts_in_singular_and_plural(tmp_path: Path) -> None:
    result = _convert(tmp_path, "services:\n  web:\n    image: nginx\n    volumes: [data:/data]\nvolumes:\n  data: {}\n")
    assert result.exit_code == 0
    assert "1 service, 1 volume, 0 models)" in result.output
    assert "install it with:\n  helm install " in result.output


def test_cli_basics(tmp_path: Path) -> None:
    version = invoke(["--version"])
    assert version.exit_code == 0 and version.output.startswith("bridge, version ")
    assert invoke([]).exit_code == 2
    unknown = invoke(["convert", "--frobnicate"])
    assert unknown.exit_code == 2 and "unrecognized arguments: --frobnicate" in unknown.output
    # an option's value is taken as given, even when it starts with a dash (as click did)
    bad = invoke(["convert", "--chart-version", "-1", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 2 and "'-1' is not a SemVer 2 version" in bad.output
