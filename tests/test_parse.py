"""The YAML layer reports its limits in its own words, whatever libyaml version is installed."""

from __future__ import annotations

import pytest
import yaml

from bridge import parse
from bridge.errors import BridgeError

pytestmark = pytest.mark.unit

DEEP = "services:\n  web:\n    image: nginx\n    x-deep: " + "[" * 150 + "]" * 150 + "\n"


def _error(text: str) -> str:
    with pytest.raises(BridgeError) as info:
        parse.parse_text(text, "compose.yaml")
    return str(info.value)


def test_depth_limit_is_ours_at_our_position() -> None:
    # Three mappings (top level, services, web) hold the brackets: the 98th bracket (column 13 + 97) is
    # the 101st level.
    assert _error(DEEP) == f"compose.yaml:4:{13 + parse.MAX_DEPTH - 3}: nesting deeper than {parse.MAX_DEPTH} levels"


def test_depth_limit_does_not_depend_on_libyaml_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    """A libyaml that gives up earlier, in other words, still yields the same message and position."""
    real_parse = yaml.parse

    class StrictCLoader(yaml.SafeLoader):
        pass

    def fake_parse(text: str, Loader: type) -> object:  # noqa: N803 - PyYAML's own argument name
        if Loader is StrictCLoader:
            mark = yaml.Mark("<unicode string>", 0, 3, 40, None, None)
            raise yaml.parser.ParserError(None, None, "flow collections nested too deeply", mark)
        return real_parse(text, Loader=Loader)

    monkeypatch.setattr(parse, "_Loader", StrictCLoader)
    monkeypatch.setattr(parse.yaml, "parse", fake_parse)
    assert _error(DEEP) == f"compose.yaml:4:{13 + parse.MAX_DEPTH - 3}: nesting deeper than {parse.MAX_DEPTH} levels"


def test_other_yaml_errors_keep_the_parsers_position() -> None:
    message = _error("services:\n  web:\n    image: [nginx\n")
    assert message.startswith("compose.yaml:") and "invalid YAML" in message


def test_nesting_below_the_limit_parses() -> None:
    depth = parse.MAX_DEPTH - 3
    docs, _ = parse.parse_text("x: " + "[" * depth + "]" * depth + "\n", "compose.yaml")
    value = docs[0]["x"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == []
