import pytest

from bridge.merge import merge, strip_tags, unique
from bridge.parse import Override, Reset

pytestmark = pytest.mark.unit


def test_mappings_merge_and_scalars_replace() -> None:
    base = {"services": {"a": {"image": "x", "environment": {"A": "1", "B": "2"}}}}
    over = {"services": {"a": {"image": "y", "environment": {"B": "3"}}}}
    assert merge(base, over) == {"services": {"a": {"image": "y", "environment": {"A": "1", "B": "3"}}}}


def test_command_and_entrypoint_are_replaced_not_appended() -> None:
    base = {"services": {"a": {"command": ["a", "b"], "entrypoint": ["x"]}}}
    over = {"services": {"a": {"command": ["c"]}}}
    assert merge(base, over)["services"]["a"] == {"command": ["c"], "entrypoint": ["x"]}


def test_ports_append_and_deduplicate() -> None:
    p80 = {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}
    p90 = {"mode": "ingress", "target": 90, "protocol": "tcp"}
    merged = merge({"services": {"a": {"ports": [p80]}}}, {"services": {"a": {"ports": [p80, p90]}}})
    assert merged["services"]["a"]["ports"] == [p80, p90]


def test_volumes_are_keyed_by_target() -> None:
    first = {"type": "bind", "source": "/a", "target": "/data"}
    second = {"type": "bind", "source": "/b", "target": "/data"}
    assert unique(("services", "s", "volumes"), [first, second]) == [second]


def test_reset_removes_and_override_replaces() -> None:
    base = {"services": {"a": {"ports": [1, 2], "environment": {"A": "1", "B": "2"}, "labels": {"x": "1"}}}}
    over = {"services": {"a": {"ports": Override([3]), "environment": {"B": Reset(None)}, "labels": Reset({})}}}
    assert merge(base, over) == {"services": {"a": {"ports": [3], "environment": {"A": "1"}}}}


def test_logging_with_another_driver_is_replaced() -> None:
    base = {"services": {"a": {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}}}}
    over = {"services": {"a": {"logging": {"driver": "syslog", "options": {"tag": "x"}}}}}
    assert merge(base, over)["services"]["a"]["logging"] == {"driver": "syslog", "options": {"tag": "x"}}


def test_strip_tags_drops_reset_entries() -> None:
    assert strip_tags({"a": Reset(1), "b": Override([1]), "c": [Reset(2), 3]}) == {"b": [1], "c": [3]}
