"""bridge.normalize: short syntax to the long syntax `docker compose config` prints, key by key.

Each row is one compose key in a short form and the canonical form docker-compose prints for it (the
corpus-wide comparison with the real binary is tests/test_config_oracle.py; these pin the rules)."""

from __future__ import annotations

import pytest

from bridge.errors import BridgeError
from bridge.normalize import Ctx, canonical_service, canonical_top, parse_port, parse_volume
from bridge.parse import Positions

pytestmark = pytest.mark.unit

CTX = Ctx("/p/compose.yaml", "/p")

SERVICE_KEYS = [
    ("ports", ["8080:80"], [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]),
    ("ports", ["127.0.0.1:53:53/udp"],
     [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 53, "published": "53", "protocol": "udp"}]),
    ("ports", ["3000-3001:4000-4001"],
     [{"mode": "ingress", "target": 4000, "published": "3000", "protocol": "tcp"},
      {"mode": "ingress", "target": 4001, "published": "3001", "protocol": "tcp"}]),
    ("ports", [{"target": 80, "published": 8080}],
     [{"target": 80, "published": "8080", "mode": "ingress", "protocol": "tcp"}]),
    ("expose", [80, "5000-5001/udp"], ["80", "5000-5001/udp"]),
    ("volumes", ["data:/var/lib/db"], [{"type": "volume", "source": "data", "target": "/var/lib/db", "volume": {}}]),
    ("volumes", ["./conf:/etc/app:ro"],
     [{"type": "bind", "source": "/p/conf", "target": "/etc/app", "read_only": True, "bind": {"create_host_path": True}}]),
    ("volumes", ["/anonymous"], [{"type": "volume", "target": "/anonymous", "volume": {}}]),
    ("volumes", [{"type": "bind", "source": "../shared", "target": "/s"}],
     [{"type": "bind", "source": "/shared", "target": "/s"}]),
    ("environment", ["A=1", "B", "C="], {"A": "1", "B": None, "C": ""}),
    ("environment", {"N": 5, "T": True}, {"N": "5", "T": "true"}),
    ("depends_on", ["db"], {"db": {"condition": "service_started", "required": True}}),
    ("healthcheck", {"test": "curl -f http://x", "retries": "3"}, {"test": ["CMD-SHELL", "curl -f http://x"], "retries": 3}),
    ("stop_grace_period", "1m", "1m0s"),
    ("mem_limit", "256m", "268435456"),  # docker-compose prints byte sizes as strings
    ("shm_size", "1gb", "1073741824"),
    ("cpus", "0.5", 0.5),
    ("command", "echo 'a b' c", ["echo", "a b", "c"]),
    ("entrypoint", "/bin/sh -c", ["/bin/sh", "-c"]),
    ("extra_hosts", ["db:10.0.0.2"], ["db=10.0.0.2"]),
    ("extra_hosts", {"db": "10.0.0.2"}, ["db=10.0.0.2"]),
    ("secrets", ["s1", {"source": "s2", "target": "/x"}],
     [{"source": "s1", "target": "/run/secrets/s1"}, {"source": "s2", "target": "/x"}]),
    ("networks", ["front", "back"], {"front": None, "back": None}),
    ("models", ["llm"], {"llm": None}),
    ("env_file", [".env", {"path": "other.env", "required": False}],
     [{"path": "/p/.env", "required": True}, {"path": "/p/other.env", "required": False}]),
    ("privileged", "true", True),
    ("tmpfs", "/run", ["/run"]),
    ("dns", "8.8.8.8", ["8.8.8.8"]),
    ("sysctls", ["net.core.somaxconn=1024"], {"net.core.somaxconn": "1024"}),
    ("build", ".", {"context": "/p", "dockerfile": "Dockerfile"}),
    ("scale", "3", 3),
    ("post_start", [{"command": "echo 'a b' c"}], [{"command": ["echo", "a b", "c"]}]),
    ("pre_stop", [{"command": ["a", "b c"], "user": "root"}], [{"command": ["a", "b c"], "user": "root"}]),
    ("image", "nginx", "nginx"),  # keys without a rule are kept as written
]


@pytest.mark.parametrize(("key", "short", "canonical"), SERVICE_KEYS,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SERVICE_KEYS)])
def test_service_key_in_long_syntax(key: str, short: object, canonical: object) -> None:
    assert canonical_service({key: short}, CTX, ("services", "s")) == {key: canonical}


def test_canonical_form_is_a_fixed_point() -> None:
    for key, _, canonical in SERVICE_KEYS:
        assert canonical_service({key: canonical}, CTX, ("services", "s")) == {key: canonical}, key


MARKS = {("services", "s", "ports", 0): (5, 9), ("services", "s", "stop_grace_period"): (6, 5),
         ("services", "s", "mem_limit"): (7, 5), ("services", "s"): (3, 3)}
ERRORS = [
    ("ports", ["80:abc"], '/p/compose.yaml:5:9: services.s.ports[0]: invalid port "80:abc"'),
    ("stop_grace_period", "soon", "/p/compose.yaml:6:5: services.s.stop_grace_period: invalid duration 'soon'"),
    ("mem_limit", "lots", "/p/compose.yaml:7:5: services.s.mem_limit: invalid size 'lots'"),
    ("cpus", "x", "/p/compose.yaml:3:3: services.s.cpus: invalid number 'x'"),
    ("privileged", "maybe", "/p/compose.yaml:3:3: services.s.privileged: invalid boolean 'maybe'"),
    ("scale", "x", "/p/compose.yaml:3:3: services.s.scale: invalid integer 'x'"),
    ("environment", 5, "/p/compose.yaml:3:3: services.s.environment: must be a mapping or a list"),
    ("depends_on", 7, "/p/compose.yaml:3:3: services.s.depends_on: must be a list or a mapping"),
]


@pytest.mark.parametrize(("key", "value", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_values_name_file_line_and_key(key: str, value: object, message: str) -> None:
    ctx = Ctx("/p/compose.yaml", "/p", Positions("/p/compose.yaml", MARKS))
    with pytest.raises(BridgeError) as info:
        canonical_service({key: value}, ctx, ("services", "s"))
    assert str(info.value) == message


@pytest.mark.parametrize(("spec", "entries"), [
    ("80", [{"mode": "ingress", "target": 80, "protocol": "tcp"}]),
    ("9090-9091:8080-8081/tcp", [{"mode": "ingress", "target": 8080, "published": "9090", "protocol": "tcp"},
                                 {"mode": "ingress", "target": 8081, "published": "9091", "protocol": "tcp"}]),
    ("[::1]:8080:80", [{"mode": "ingress", "host_ip": "::1", "target": 80, "published": "8080", "protocol": "tcp"}]),
])
def test_parse_port(spec: str, entries: list[dict]) -> None:
    assert parse_port(spec) == entries


@pytest.mark.parametrize(("spec", "entry"), [
    ("data:/d", {"type": "volume", "source": "data", "target": "/d", "volume": {}}),
    ("data:/d:ro", {"type": "volume", "source": "data", "target": "/d", "read_only": True, "volume": {}}),
    ("./x:/d", {"type": "bind", "source": "./x", "target": "/d", "bind": {"create_host_path": True}}),
    ("/d", {"type": "volume", "target": "/d", "volume": {}}),
])
def test_parse_volume(spec: str, entry: dict) -> None:
    assert parse_volume(spec) == entry


@pytest.mark.parametrize(("kind", "value", "canonical"), [
    ("volumes", {"a": None}, {"a": {}}),
    ("volumes", {"b": {"external": {"name": "x"}}}, {"b": {"external": True, "name": "x"}}),
    ("networks", {"n": {"external": False}}, {"n": {}}),  # the default, which docker-compose does not print
    ("secrets", {"s": {"external": "true"}}, {"s": {"external": True}}),
    ("secrets", {"s": {"file": "./s.txt"}}, {"s": {"file": "/p/s.txt"}}),
    ("models", {"m": {"model": "ai/x", "context_size": "4096"}}, {"m": {"model": "ai/x", "context_size": 4096}}),
])
def test_top_level_entries(kind: str, value: dict, canonical: dict) -> None:
    assert canonical_top(kind, value, CTX) == canonical
