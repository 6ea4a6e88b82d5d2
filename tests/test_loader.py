"""Loader behaviour on our own fixtures, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from bridge.errors import BridgeError
from bridge.loader import Options, load

pytestmark = pytest.mark.unit


def project(*files: str, **kw: object) -> dict:
    paths = [str(FIXTURES / f) for f in files]
    return load(Options(files=paths, environ={}, **kw)).data  # type: ignore[arg-type]


def test_extends_across_files_resolves_paths_against_the_base_file() -> None:
    services = project("extends/compose.yaml")["services"]
    web = services["web"]
    assert web["image"] == "example/base:2"
    assert web["environment"] == {"FROM_BASE": "yes", "SHARED": "web"}
    assert web["volumes"][0]["source"] == str(FIXTURES / "extends" / "data")
    assert web["healthcheck"]["test"] == ["CMD-SHELL", "wget -qO- http://localhost:8080/health"]
    worker = services["worker"]
    assert worker["command"] == ["worker", "--queue", "default"]
    assert worker["environment"]["SHARED"] == "web"


def test_include_brings_services_with_their_own_env() -> None:
    data = project("include/compose.yaml")
    backend = data["services"]["backend"]
    assert backend["image"] == "example/backend:7"
    assert backend["environment"] == {"DATABASE_URL": "postgres://db/app"}
    assert backend["volumes"][0]["source"] == str(FIXTURES / "include" / "sub" / "state")
    assert data["services"]["frontend"]["depends_on"]["backend"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [([], {"app"}), (["debug"], {"app", "debug"}), (["metrics"], {"app", "metrics"}), (["*"], {"app", "debug", "metrics"})],
)
def test_profiles(profiles: list[str], expected: set[str]) -> None:
    assert set(project("profiles/compose.yaml", profiles=profiles)["services"]) == expected


def test_compose_profiles_variable() -> None:
    data = load(Options(files=[str(FIXTURES / "profiles/compose.yaml")], environ={"COMPOSE_PROFILES": "ops"})).data
    assert set(data["services"]) == {"app", "metrics"}


def test_model_syntaxes_normalise_to_a_mapping() -> None:
    data = project("models/compose.yaml")
    assert data["services"]["chat"]["models"] == {"llm": None, "embedding-model": None}
    assert data["services"]["agent"]["models"] == {
        "llm": {"endpoint_var": "AI_URL", "model_var": "AI_NAME"}, "my.model": {}, "bare": None,
    }
    assert data["models"]["llm"] == {"model": "ai/smollm2", "context_size": 4096, "runtime_flags": ["--temp", "0.2"]}


def test_env_file_required_false_and_raw_format() -> None:
    env = project("envfiles/compose.yaml")["services"]["app"]["environment"]
    assert env == {
        "GREETING": "hello world",
        "SINGLE": "no $expansion here",
        "OVERRIDE": "from-environment",
        "COMPOSED": "hello world-suffix",
        "INLINE": "value",
        "RAW": '"quotes stay" and $dollars too',
    }


def test_override_files_and_reset() -> None:
    app = project("reset/compose.yaml", "reset/override.yaml")["services"]["app"]
    assert [p["target"] for p in app["ports"]] == [70]
    assert app["environment"] == {"KEEP": "1"}
    assert "command" not in app


def test_project_name_precedence(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("name: from-file\nservices:\n  a:\n    image: x\n")
    opts = {"files": [str(tmp_path / "compose.yaml")]}
    assert load(Options(**opts, environ={})).name == "from-file"
    assert load(Options(**opts, environ={"COMPOSE_PROJECT_NAME": "Env.Name"})).name == "envname"
    assert load(Options(**opts, environ={}, project_name="cli")).name == "cli"


def test_default_file_discovery_with_override(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  a:\n    image: y\n")
    data = load(Options(environ={}, cwd=str(tmp_path))).data
    assert data["services"]["a"]["image"] == "y"


def test_compose_file_variable(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("services:\n  a:\n    image: x\n")
    (tmp_path / "two.yaml").write_text("services:\n  b:\n    image: y\n")
    env = {"COMPOSE_FILE": f"{tmp_path / 'one.yaml'}:{tmp_path / 'two.yaml'}"}
    assert set(load(Options(environ=env, cwd=str(tmp_path))).data["services"]) == {"a", "b"}


BAD_INPUTS = {
    "broken.yaml": ("services:\n  web:\n    image: [unclosed\n", "invalid YAML"),
    "empty.yaml": ("", "empty compose file"),
    "binary.yaml": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8|NUL"),
    "schema.yaml": ("services:\n  web:\n    image: x\n    ports:\n      - {target: 80, bogus: 1}\n", "bogus"),
    "badport.yaml": ('services:\n  web:\n    image: x\n    ports: ["80:99999"]\n', 'invalid port "80:99999"'),
    "dupkey.yaml": ("services:\n  web:\n    image: x\n    image: y\n", "already defined at line 3"),
    "undefined-model.yaml": ("services:\n  web:\n    image: x\n    models: [nope]\n", "undefined model nope"),
    "cycle.yaml": (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
        "dependency cycle",
    ),
    "extends-cycle.yaml": (
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: x\n    extends: a\n", "extends cycle"
    ),
    "required.yaml": ("services:\n  web:\n    image: ${TAG:?set TAG}\n", "required variable TAG"),
    "alias-bomb.yaml": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)),
        "alias bomb",
    ),
    "deep.yaml": ("services:\n  web:\n    image: x\n    labels: " + "[" * 500 + "]" * 500 + "\n", "nesting deeper"),
    "missing-envfile.yaml": ("services:\n  web:\n    image: x\n    env_file: nope.env\n", "not found"),
    "no-image.yaml": ("services:\n  web:\n    environment: {A: b}\n", "neither an image nor a build"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error(tmp_path: Path, name: str) -> None:
    content, message = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BridgeError) as info:
        load(Options(files=[str(path)], environ={}))
    text = str(info.value)
    assert "\n" not in text
    assert name in text
    import re

    assert re.search(message, text), text


def test_error_points_at_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text('services:\n  web:\n    image: x\n    ports:\n      - "80:99999"\n')
    with pytest.raises(BridgeError) as info:
        load(Options(files=[str(path)], environ={}))
    assert str(info.value).endswith('compose.yaml:5:9: services.web.ports[0]: invalid port "80:99999"')


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    result = run_cli("config", "-f", "dir.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "directory" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("config", "--format", "xml", cwd=tmp_path)
    assert result.returncode == 2
    result = run_cli("config", cwd=tmp_path)
    assert result.returncode == 2 and "no configuration file" in result.stderr


@pytest.mark.parametrize(("profiles", "services"), [([], ["empty-name", "plain"]), (["dev"], ["dev", "plain"]),
                                                    (["*"], ["dev", "empty-name", "plain"])])
def test_an_empty_profile_name_is_enabled_by_default(tmp_path: Path, profiles: list[str], services: list[str]) -> None:
    # docker compose's enabled profiles default to [""] (an empty COMPOSE_PROFILES split on commas)
    (tmp_path / "compose.yaml").write_text("services:\n  plain: {image: a}\n  empty-name: {image: a, profiles: ['']}\n"
                                           "  dev: {image: a, profiles: [dev]}\n")
    project = load(Options(files=[str(tmp_path / "compose.yaml")], profiles=profiles, environ={}))
    assert sorted(project.data["services"]) == services
