"""Charts stay inside Helm's and Kubernetes' limits: over them, convert fails with a clear error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from chartcheck import helm

from bridge.build import build_chart
from bridge.errors import BridgeError
from bridge.limits import MAX_CHART_FILE, check_limits
from bridge.loader import Options, load
from bridge.render import render_chart
from bridge.writer import write_chart


def _project(tmp_path: Path, services: int, env_bytes: int):
    lines = ["services:"]
    for i in range(services):
        lines += [f"  svc{i}:", "    image: nginx", "    environment:"]
        lines += [f"      K{j}: '{'v' * 1000}'" for j in range(env_bytes // 1000)]
    (tmp_path / "compose.yaml").write_text("\n".join(lines) + "\n")
    return load(Options(files=[str(tmp_path / "compose.yaml")], environ={}))


@pytest.mark.unit
def test_values_over_helms_file_limit_is_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path, 8, 800_000)
    chart = build_chart(project)
    files = render_chart(chart)
    assert len(files["values.yaml"]) > MAX_CHART_FILE
    with pytest.raises(BridgeError) as info:
        check_limits(chart, files, project)
    message = str(info.value)
    assert "values.yaml would be" in message and "over Helm's limit of 5.0 MiB" in message
    assert message.startswith(f"{tmp_path / 'compose.yaml'}:") and "services.svc" in message


@pytest.mark.helm
def test_helm_really_refuses_such_a_chart(tmp_path: Path) -> None:
    """The limit is Helm's own: the same chart written without the check does not load."""
    project = _project(tmp_path, 8, 800_000)
    out = tmp_path / "chart"
    write_chart(render_chart(build_chart(project)), out)
    proc = subprocess.run([helm(4), "lint", str(out)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "larger than the maximum" in proc.stdout + proc.stderr


@pytest.mark.unit
def test_one_workload_over_the_object_limit_is_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path, 1, 1_200_000)
    chart = build_chart(project)
    with pytest.raises(BridgeError) as info:
        check_limits(chart, render_chart(chart), project)
    assert "service svc0: its settings" in str(info.value)
    assert ":2:" in str(info.value)  # the line of `svc0:`


@pytest.mark.unit
def test_normal_charts_pass(tmp_path: Path) -> None:
    project = _project(tmp_path, 3, 10_000)
    chart = build_chart(project)
    check_limits(chart, render_chart(chart), project)
    assert not [w for w in chart.warnings if "release record" in w]


@pytest.mark.unit
def test_big_random_files_warn_about_the_release_record(tmp_path: Path) -> None:
    import os

    (tmp_path / "blob.bin").write_bytes(os.urandom(900_000))
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    configs: [blob]\nconfigs:\n  blob:\n    file: ./blob.bin\n")
    project = load(Options(files=[str(tmp_path / "compose.yaml")], environ={}))
    chart = build_chart(project)
    check_limits(chart, render_chart(chart), project)
    assert [w for w in chart.warnings if "release record" in w]
