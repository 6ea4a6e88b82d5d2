"""Unit tests of the render helpers: literals, YAML and JSON emission, and the chart writer."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import BridgeError
from bridge.render import ChartWriter, go_literal, json_indented, to_yaml, write_chart, yaml_scalar

TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@given(TEXT)
def test_go_literal_reads_back(text: str) -> None:
    # Go's escapes that go_literal uses (\\ \" \n \r \t \xNN) mean the same in Python; lone
    # surrogates cannot be UTF-8 and become U+FFFD.
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    out = go_literal(text)
    assert ast.literal_eval(out) == expected
    assert "\n" not in out and all(ord(c) >= 0x20 and ord(c) != 0x7F for c in out)


UTF8_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(st.one_of(UTF8_TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False)))
def test_yaml_scalar_reads_back(value: object) -> None:
    out = yaml_scalar(value)
    assert yaml.safe_load(out) == value
    assert json.loads(out) == value
    if not (isinstance(value, str) and any(0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\ufffe\uffff" for c in value)):
        expected = json.dumps(value, ensure_ascii=False)
        if isinstance(value, float) and "e" in expected and "." not in expected:
            expected = expected.replace("e", ".0e")  # YAML 1.1 reads 1e-05 as a string
        assert out == expected


def test_yaml_scalar_escapes_what_yaml_cannot_hold() -> None:
    assert yaml_scalar("a\x7fb\x85\x9f\u2028\uffff") == '"a\\u007fb\\u0085\\u009f\\u2028\\uffff"'


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet=st.characters(codec="utf-8"), max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=25,
)


@given(JSONISH)
def test_json_indented_is_json_dumps(value: object) -> None:
    assert json_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_json_indented_repeated_objects() -> None:
    shared = {"type": "object", "properties": {"size": {"type": "string"}}}
    doc = {"a": shared, "b": {"c": shared, "d": [shared, []]}}
    assert json_indented(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


@given(st.dictionaries(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6), JSONISH, max_size=5))
def test_to_yaml_reads_back(value: dict) -> None:
    assert yaml.safe_load(to_yaml(value) or "{}") == (value or {})


def test_to_yaml_comments_go_before_their_keys() -> None:
    value = {"a": {"b": 1, "c": [{"d": 2}]}, "e": "x", "on": True}
    comments = {("a",): "about a", ("a", "c", "*", "d"): "about d\n\nsecond", ("e",): "about e"}
    assert to_yaml(value, comments=comments) == (
        "# about a\n"
        "a:\n"
        "  b: 1\n"
        "  c:\n"
        "    - # about d\n"
        "      #\n"
        "      # second\n"
        "      d: 2\n"
        "\n"
        "# about e\n"
        'e: "x"\n'
        '"on": true'
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


FILES = {"Chart.yaml": b"name: x\n", "templates/a.yaml": b"a", "files/mounts/w/0001/deep/f": b"\x00\x01"}


@pytest.mark.parametrize("fork", [True, False])
def test_chart_writer_writes_and_replaces(tmp_path: Path, fork: bool) -> None:
    dest = tmp_path / "chart"
    write_chart({"Chart.yaml": b"old\n", "templates/gone.yaml": b"g"}, dest)
    with ChartWriter(dest, fork=fork) as writer:
        for rel, content in FILES.items():
            writer.put(rel, content)
        writer.commit()
    assert _tree(dest) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


@pytest.mark.parametrize("fork", [True, False])
def test_chart_writer_failure_leaves_the_old_chart(tmp_path: Path, fork: bool) -> None:
    dest = tmp_path / "chart"
    write_chart({"Chart.yaml": b"old\n"}, dest)
    with pytest.raises(BridgeError, match="cannot write the chart|Not a directory"), ChartWriter(dest, fork=fork) as writer:
        writer.put("templates", b"a file where a folder must be")
        writer.put("templates/a.yaml", b"a")
        writer.commit()
    assert _tree(dest) == {"Chart.yaml": b"old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


def test_chart_writer_refuses_paths_outside(tmp_path: Path) -> None:
    with pytest.raises(BridgeError, match="outside the chart"), ChartWriter(tmp_path / "c") as writer:
        writer.put("../evil", b"x")
    assert list(tmp_path.iterdir()) == []
