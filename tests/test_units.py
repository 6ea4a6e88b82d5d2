import pytest

from bridge.units import format_duration, parse_bytes, parse_duration

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [("256m", 256 * 2**20), ("256M", 256 * 2**20), ("1g", 2**30), ("1.5gb", int(1.5 * 2**30)), ("64", 64),
     (1024, 1024), ("10k", 10240), ("10000Mb", 10000 * 2**20), ("2Gi", 2 * 2**30)],
)
def test_parse_bytes(text: object, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["", "12x", "m", "-1m", True])
def test_parse_bytes_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_bytes(bad)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m30s", 90), ("90s", 90), ("1h", 3600), ("1.5h", 5400), ("500ms", 0.5), ("10", 10), (5, 5), ("0", 0), ("2h45m", 9900)],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == int(seconds * 10**9)


@pytest.mark.parametrize("bad", ["", "1x", "m", "1m30", "abc"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0s"), (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (500 * 10**6, "500ms"), (1500 * 10**6, "1.5s"),
     (10**9 * 5400, "1h30m0s"), (1500, "1.5µs"), (7, "7ns")],
)
def test_format_duration_matches_go(ns: int, text: str) -> None:
    assert format_duration(ns) == text
