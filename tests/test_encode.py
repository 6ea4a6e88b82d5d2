"""Unit tests of bridge.encode: Go literals and YAML text that read back as their input."""

from __future__ import annotations

import ast
import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bridge.encode import go_literal, to_yaml, yaml_key, yaml_scalar

pytestmark = pytest.mark.unit

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


@pytest.mark.parametrize(("key", "text"), [
    ("web", "web"), ("web-app", "web-app"), ("a.b_c", "a.b_c"),
    ("on", '"on"'), ("Y", '"Y"'), ("null", '"null"'), ("~", '"~"'),  # YAML 1.1 words read as booleans/null
    ("1abc", '"1abc"'), ("svc:/data", '"svc:/data"'), ("", '""'), (5, "5"), (True, "true"),
])
def test_yaml_key(key: object, text: str) -> None:
    assert yaml_key(key) == text
    assert list(yaml.safe_load(f"{text}: 1")) == [key]
