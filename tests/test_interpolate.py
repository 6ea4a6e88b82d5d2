import pytest

from bridge.interpolate import TemplateError, substitute

pytestmark = pytest.mark.unit

ENV = {"SET": "value", "EMPTY": "", "N": "3"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("$SET.suffix", "value.suffix"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        ("${UNSET:-default}", "default"),
        ("${EMPTY:-default}", "default"),
        ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"),
        ("${SET:-default}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-${ALSO:-deep-${N}}}", "deep-3"),
        ("${UNSET:-a}${SET}", "avalue"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("$$$SET", "$value"),
        ("cost: 5$", "cost: 5$"),
        ("$(cmd)", "$(cmd)"),
        ("${SET:?must be set}", "value"),
        ("${UNSET:-}", ""),
        ("${UNSET:-with } brace}", "with  brace}"),
    ],
)
def test_substitute(template: str, expected: str) -> None:
    assert substitute(template, ENV) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?needs a value}", "required variable UNSET is missing a value: needs a value"),
        ("${EMPTY:?}", "required variable EMPTY is missing a value"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${", "bad variable name"),
        ("${SET", "missing '}'"),
        ("${1BAD}", "bad variable name"),
        ("${SET:*x}", "unknown operator"),
    ],
)
def test_substitute_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(")):
        substitute(template, ENV)


def test_empty_but_set_passes_plain_question() -> None:
    assert substitute("${EMPTY?}", ENV) == ""


def test_missing_callback_reports_names() -> None:
    seen: list[str] = []
    substitute("$A ${B} ${C:-x} ${SET}", ENV, seen.append)
    assert seen == ["A", "B"]
