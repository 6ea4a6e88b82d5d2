"""Property: for compose documents generated within the schema, convert raises nothing but BridgeError,
and every chart it writes lints (Helm 4) and renders manifests that validate against Kubernetes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from chartcheck import lint, template, validate
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pipeline import convert

from bridge.errors import BridgeError, format_path

pytestmark = pytest.mark.helm

names = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,30}", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
env_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,20}", fullmatch=True)
port = st.integers(1, 65535)
duration = st.sampled_from(["1s", "30s", "1m30s", "2h", "500ms", "10"])
size = st.sampled_from(["64m", "1g", "512M", "1024k", "2gb"])


@st.composite
def services(draw: st.DrawFn, volume_names: list[str], model_names: list[str]) -> dict:
    svc: dict = {"image": draw(st.sampled_from(["nginx", "redis:7", "registry.example.com:5000/a/b:1.2",
                                                 "ghcr.io/x/y@sha256:" + "ab" * 32]))}
    if draw(st.booleans()):
        svc["environment"] = draw(st.dictionaries(env_name, st.one_of(text, st.integers(), st.booleans(), st.none()),
                                                  max_size=5))
    if draw(st.booleans()):
        svc["ports"] = draw(st.lists(st.one_of(
            port.map(str),
            st.tuples(port, port).map(lambda p: f"{p[0]}:{p[1]}"),
            st.tuples(port, st.sampled_from(["tcp", "udp"])).map(lambda p: f"{p[0]}/{p[1]}"),
            st.fixed_dictionaries({"target": port}, optional={"published": port.map(str), "name": names}),
        ), max_size=4))
    if draw(st.booleans()):
        svc["command"] = draw(st.one_of(text, st.lists(text, max_size=4)))
    if draw(st.booleans()):
        svc["labels"] = draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9.\-/]{0,20}", fullmatch=True), text, max_size=3))
    vols = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["named", "bind", "anon", "tmpfs"]))
        target = "/" + draw(st.from_regex(r"[a-z0-9_.{} -]{1,20}", fullmatch=True))
        if kind == "named" and volume_names:
            vols.append(f"{draw(st.sampled_from(volume_names))}:{target}")
        elif kind == "bind":
            vols.append(f"./{draw(names)}:{target}")
        elif kind == "tmpfs":
            vols.append({"type": "tmpfs", "target": target, "tmpfs": {"size": draw(size)}})
        else:
            vols.append(target)
    if vols:
        svc["volumes"] = vols
    if draw(st.booleans()):
        svc["healthcheck"] = {"test": draw(st.one_of(text.map(lambda t: ["CMD-SHELL", t or "true"]),
                                                     st.lists(text, min_size=1, max_size=3).map(lambda t: ["CMD", *t]))),
                              "interval": draw(duration), "retries": draw(st.integers(1, 10))}
    if draw(st.booleans()):
        svc["deploy"] = {"replicas": draw(st.integers(0, 5)),
                         "resources": {"limits": {"cpus": draw(st.sampled_from(["0.5", "1", "2.25"])), "memory": draw(size)}}}
    if model_names and draw(st.booleans()):
        if draw(st.booleans()):
            svc["models"] = draw(st.lists(st.sampled_from(model_names), unique=True, min_size=1))
        else:
            svc["models"] = {m: {"endpoint_var": draw(env_name)} for m in draw(st.lists(st.sampled_from(model_names), unique=True, min_size=1))}
    for key, strategy in (("user", st.sampled_from(["1000", "1000:1000", "nobody"])), ("read_only", st.booleans()),
                          ("cap_add", st.lists(st.sampled_from(["NET_ADMIN", "SYS_TIME", "CHOWN"]), max_size=2)),
                          ("working_dir", st.just("/app")), ("stop_grace_period", duration), ("tty", st.booleans())):
        if draw(st.booleans()):
            svc[key] = draw(strategy)
    return svc


@st.composite
def projects(draw: st.DrawFn) -> dict:
    volume_names = draw(st.lists(names, unique=True, max_size=3))
    model_names = draw(st.lists(names, unique=True, max_size=2))
    service_names = draw(st.lists(names, unique_by=lambda n: n.lower().replace("_", "-").replace(".", "-"),
                                  min_size=1, max_size=4))
    doc: dict = {"services": {n: draw(services(volume_names, model_names)) for n in service_names}}
    if volume_names:
        doc["volumes"] = {v: {} for v in volume_names}
    if model_names:
        doc["models"] = {m: {"model": f"ai/{m.lower().strip('._-') or 'm'}",
                             **({"context_size": draw(st.integers(256, 8192))} if draw(st.booleans()) else {})}
                         for m in model_names}
    return doc


def _node_line(node: yaml.Node, path: tuple) -> int:
    """The 1-based line where PyYAML finds the key path (a mapping key's line, a list item's line)."""
    line = node.start_mark.line
    for part in path:
        if isinstance(node, yaml.MappingNode):
            key, node = next((k, v) for k, v in node.value if k.value == str(part))
            line = key.start_mark.line
        else:
            node = node.value[part]
            line = node.start_mark.line
    return line + 1


def assert_points_at_the_key(exc: BridgeError, compose: Path) -> None:
    """A rejected project gets one line naming this file, the line of the offending key and its path."""
    text = str(exc)
    assert "\n" not in text and exc.path and exc.line is not None, text
    assert exc.file == str(compose), text
    assert exc.line == _node_line(yaml.compose(compose.read_text()), exc.path), text
    assert text.startswith(f"{compose}:{exc.line}:{exc.column}: {format_path(exc.path)}: "), text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@example({"services": {"Y": {"image": "nginx"}, "On": {"image": "nginx"}}})  # YAML 1.1 booleans as keys
@example({"services": {"no": {"image": "nginx"}, "on": {"image": "nginx"}}})  # ... and as Service names
@given(projects())
def test_generated_projects_convert_lint_and_validate(doc: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        compose = Path(tmp) / "compose.yaml"
        compose.write_text(yaml.safe_dump(doc, allow_unicode=True))
        try:
            out = convert([compose], Path(tmp) / "chart").path
        except BridgeError as exc:
            assert_points_at_the_key(exc, compose)
            return
        lint([out], 4)
        for mode in ({}, {"modelRunner.enabled": "true"}):
            validate(template(out, 4, mode))
