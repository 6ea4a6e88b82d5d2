"""A chart holds content from the user's tree only (bridge/sources.py): hostile compose files cannot copy
the converting machine into it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeline import convert

from bridge.sources import content_root, is_inside, is_system

pytestmark = pytest.mark.unit

SECRET = "AKIA-not-for-the-chart"


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    """A file of the converting machine's, outside the project (a CI runner's credentials, say)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials").write_text(f"TOKEN={SECRET}\n")
    return home / "credentials"


def project(tmp_path: Path, compose: str) -> Path:
    folder = tmp_path / "repo" / "app"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compose.yaml").write_text(compose)
    return folder / "compose.yaml"


def everything(files: dict[str, bytes]) -> bytes:
    return b"\n".join(files.values())


def test_env_file_outside_the_project_is_read_with_a_warning(tmp_path: Path, machine: Path) -> None:
    # docker compose reads it, and a project outside git cannot tell its tree from its parents': the values
    # are the service's environment, so they are read, and the warning names the file
    compose = project(tmp_path, f"services:\n  web:\n    image: nginx\n    env_file: {machine}\n")
    converted = convert([compose])
    assert any(f"env file {machine} of service web is outside the project" in w for w in converted.chart.warnings)


def test_a_symlink_out_of_the_project_is_not_read(tmp_path: Path, machine: Path) -> None:
    compose = project(tmp_path, "services:\n  web:\n    image: nginx\n    volumes: ['./conf:/etc/app:ro']\n")
    conf = compose.parent / "conf"
    conf.mkdir()
    (conf / "app.ini").write_text("port=80\n")
    os.symlink(machine, conf / "stolen")
    # a bind-mounted folder with a link out: the folder's own files are content, the link's target is not
    converted = convert([compose])
    assert SECRET.encode() not in everything(converted.files)
    assert b"port=80" in everything(converted.files)


def test_config_and_secret_files_outside_the_project_are_not_copied(tmp_path: Path, machine: Path) -> None:
    compose = project(tmp_path, f"services:\n  web:\n    image: nginx\n    configs: [c]\n    secrets: [s]\n"
                                f"configs:\n  c:\n    file: {machine}\nsecrets:\n  s:\n    file: {machine}\n")
    for embed in (False, True):
        converted = convert([compose], embed_secrets=embed)
        assert SECRET.encode() not in everything(converted.files)
        assert any(f"config c: file {machine} is outside the project" in w for w in converted.chart.warnings)
        assert converted.chart.values["configs"]["c"]["existingConfigMap"] == "app_c"  # compose's name for it


def test_a_bind_mount_of_a_system_path_is_never_content(tmp_path: Path) -> None:
    compose = project(tmp_path, "services:\n  web:\n    image: nginx\n    volumes: ['/proc/self/environ:/env:ro']\n")
    converted = convert([compose], environ={"CI_TOKEN": SECRET})
    assert SECRET.encode() not in everything(converted.files)
    assert any("host path /proc/self/environ" in w for w in converted.chart.warnings)


def test_the_content_root_is_the_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "docker").mkdir()
    assert content_root(str(tmp_path / "repo" / "docker")) == (tmp_path / "repo").resolve()
    assert content_root(str(tmp_path)) == tmp_path.resolve()
    assert is_inside(tmp_path / "repo" / "config" / "app.yml", (tmp_path / "repo").resolve())
    assert is_system(Path("/proc/self/environ")) and is_system(Path("/dev/null")) and not is_system(tmp_path)
