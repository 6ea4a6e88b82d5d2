"""Unit tests of bridge.writer: a chart is written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import BridgeError
from bridge.writer import compare_chart, write_chart

pytestmark = pytest.mark.unit


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


FILES = {"Chart.yaml": b"name: x\n", "templates/a.yaml": b"a", "files/mounts/w/0001/deep/f": b"\x00\x01"}


def test_write_chart_writes_and_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "chart"
    write_chart({"Chart.yaml": b"old\n", "templates/gone.yaml": b"g"}, dest)
    write_chart(FILES, dest)
    assert _tree(dest) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


def test_a_failed_write_leaves_the_old_chart(tmp_path: Path) -> None:
    dest = tmp_path / "chart"
    write_chart({"Chart.yaml": b"old\n"}, dest)
    with pytest.raises(BridgeError, match="cannot write the chart"):
        write_chart({"templates": b"a file where a folder must be", "templates/a.yaml": b"a"}, dest)
    assert _tree(dest) == {"Chart.yaml": b"old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


@pytest.mark.parametrize("path", ["../evil", "/etc/evil", "a/../../evil"])
def test_paths_outside_the_chart_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(BridgeError, match="outside the chart"):
        write_chart({"Chart.yaml": b"x", path: b"x"}, tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_a_chart_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(BridgeError, match="holds no chart"):
        write_chart(FILES, tmp_path / "c")
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine"


def test_compare_chart_lists_each_difference(tmp_path: Path) -> None:
    write_chart(FILES, tmp_path / "c")
    changed = {**FILES, "Chart.yaml": b"name: y\n", "templates/new.yaml": b"n"}
    del changed["templates/a.yaml"]
    assert compare_chart(changed, tmp_path / "c") == [
        "changed: Chart.yaml", "extra: templates/a.yaml", "missing: templates/new.yaml"]
    assert compare_chart(FILES, tmp_path / "c") == []
