"""bridge/builders/volumes.py: what each mount becomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.builders.volumes import plan_bind

pytestmark = pytest.mark.unit


def test_project_file_is_config_with_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("server {}\n")
    files: dict[str, bytes] = {}
    plan = plan_bind(str(tmp_path / "nginx.conf"), "/etc/nginx/nginx.conf", True, str(tmp_path), "files/m/x", files)
    assert plan.kind == "config" and [f.key for f in plan.files] == ["nginx.conf"]
    assert files == {"files/m/x/0000": b"server {}\n"}


def test_project_directory_keeps_its_tree_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "conf" / "sub").mkdir(parents=True)
    (tmp_path / "conf" / "a.yml").write_text("a: 1\n")
    (tmp_path / "conf" / "sub" / "b.bin").write_bytes(b"\xff\x00")
    (tmp_path / "conf" / "x.bak").write_text("kept: .helmignore patterns cannot drop numbered files\n")
    files: dict[str, bytes] = {}
    plan = plan_bind(str(tmp_path / "conf"), "/etc/app", True, str(tmp_path), "files/m/c", files)
    assert plan.kind == "config"
    assert [(f.path, f.key, f.text) for f in plan.files] == [
        ("a.yml", "a.yml", True), ("x.bak", "x.bak", True), ("sub/b.bin", "sub__b.bin", False)]
    assert sorted(files) == ["files/m/c/0000", "files/m/c/0001", "files/m/c/0002"]


def test_data_paths_are_claims(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "PG_VERSION").write_text("16\n")
    files: dict[str, bytes] = {}
    assert plan_bind(str(tmp_path / "missing"), "/data", False, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "empty"), "/cfg", True, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "pg"), "/var/lib/postgresql/data", False, str(tmp_path), "f", files).kind == "data"
    assert plan_bind(str(tmp_path / "pg"), "/var/lib/postgresql/data", True, str(tmp_path), "f", files).kind == "config"
    (tmp_path / "big").write_bytes(b"x" * (1024 * 1024))
    assert plan_bind(str(tmp_path / "big"), "/big", True, str(tmp_path), "f", files).kind == "data"


def test_host_paths_are_host(tmp_path: Path) -> None:
    files: dict[str, bytes] = {}
    for host in ("/var/run/docker.sock", "/etc/localtime", "/proc", "/", "/lib/modules", "/dev/kvm"):
        assert plan_bind(host, "/x", False, str(tmp_path), "f", files).kind == "host", host


def test_the_users_paths_outside_the_project_are_data(tmp_path: Path) -> None:
    files: dict[str, bytes] = {}
    home = tmp_path.parent / "home-flowise"
    home.mkdir(exist_ok=True)
    (home / "database.sqlite").write_bytes(b"SQLite")
    for source in (str(home), "/home/someone/.flowise", str(tmp_path.parent)):
        plan = plan_bind(source, "/root/.flowise", False, str(tmp_path), "f", files)
        assert plan.kind == "data" and "outside the project" in plan.reason, source
    assert files == {}  # never content
