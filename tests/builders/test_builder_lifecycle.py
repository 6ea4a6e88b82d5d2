"""bridge/builders/lifecycle.py: post_start/pre_stop hooks."""

from __future__ import annotations

import pytest

from bridge.builders.lifecycle import lifecycle_hooks
from bridge.model import Warnings

pytestmark = pytest.mark.unit


def test_lifecycle_hooks() -> None:
    warnings = Warnings()
    svc = {"post_start": [{"command": ["touch", "/ready"], "user": "root"}],
           "pre_stop": [{"command": "nginx -s quit"}, {"command": ["sleep", "1"]}]}
    hooks = lifecycle_hooks("web", svc, warnings)
    assert hooks["postStart"] == {"exec": {"command": ["touch", "/ready"]}}
    assert hooks["preStop"] == {"exec": {"command": ["/bin/sh", "-c", "/bin/sh -c 'nginx -s quit' && sleep 1"]}}
    assert warnings == ["service web: post_start.user has no Kubernetes equivalent; the hook runs with the "
                        "container's own settings"]
