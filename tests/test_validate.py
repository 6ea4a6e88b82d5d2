"""bridge.validate: the compose-spec schema's one error, named by file, line, key path and message."""

from __future__ import annotations

import pytest

from bridge.errors import BridgeError
from bridge.parse import parse_text
from bridge.validate import _error_path, validate_schema

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("name", "path"), [
    ("data.services", ("services",)),
    ("data.services.0..volumes[1]", ("services", "0.", "volumes", 1)),
    ("data.services.a[1].x", ("services", "a[1]", "x")),
    ("data.services.web.ports[0]", ("services", "web", "ports", 0)),
])
def test_error_names_are_read_against_the_data(name: str, path: tuple) -> None:
    data = {"services": {"0.": {"volumes": ["/0", "/0"]}, "0": {}, "a[1]": {"x": 1}, "web": {"ports": [1]}}}
    assert _error_path(data, name) == path


@pytest.mark.parametrize(("text", "message"), [
    ("services:\n  web: [nginx]\n", "c.yaml:2:3: services.web: must be an object, not [\"nginx\"]"),
    ("services:\n  web:\n    image: nginx\n    environment: [[a]]\n",
     'c.yaml:4:19: services.web.environment[0]: must be a string, not ["a"]'),
    ("services:\n  '0.':\n    image: nginx\n    volumes: [/0, /0]\n",
     "c.yaml:4:5: services.0..volumes: must contain unique items"),
    ("services:\n  web:\n    image: nginx\n    imagex: 1\n",
     "c.yaml:4:5: services.web.imagex: additional properties 'imagex' not allowed"),
    ("services:\n  web:\n    image: nginx\n    healthcheck:\n      test: 5\n",
     "c.yaml:5:7: services.web.healthcheck.test: is none of the forms the compose specification allows "
     "(a string or an array): 5"),
])
def test_one_line_errors(text: str, message: str) -> None:
    (doc,), positions = parse_text(text, "c.yaml")
    with pytest.raises(BridgeError) as info:
        validate_schema(doc, "c.yaml", positions)
    assert str(info.value) == message
