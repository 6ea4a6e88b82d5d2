"""bridge config == docker-compose config, on our own fixtures and on the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES, corpus_params
from oracle import diff, oracle_env, run_bridge, run_oracle

pytestmark = pytest.mark.oracle

CASES = {
    "interp": (["compose.yaml"], ()),
    "multi": (["compose.yaml", "compose.override.yaml"], ()),
    "extends": (["compose.yaml"], ()),
    "include": (["compose.yaml"], ()),
    "profiles-none": (["../profiles/compose.yaml"], ()),
    "profiles-debug": (["../profiles/compose.yaml"], ("debug",)),
    "profiles-all": (["../profiles/compose.yaml"], ("*",)),
    "models": (["compose.yaml"], ()),
    "envfiles": (["compose.yaml"], ()),
    "reset": (["compose.yaml", "override.yaml"], ()),
    "shortsyntax": (["compose.yaml"], ()),
    "providers": (["compose.yaml"], ()),
    "loader": (["compose.yaml"], ()),
    "shared-dirs": (["../shared-dirs/compose.yaml"], ()),
    "loader-jobs": (["../loader/compose.yaml"], ("jobs",)),
}

# Files the reference accepts or rejects differently from us, with the reason. Nothing here may
# touch services, models, volumes, secrets, configs or networks content the chart uses.
KNOWN_DIFFERENCES_FILE = Path(__file__).parent / "data" / "config-differences.txt"


def known_differences() -> dict[str, str]:
    out = {}
    for line in KNOWN_DIFFERENCES_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition("|")
            out[name.strip()] = reason.strip()
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixture_matches_docker_compose(case: str, compose_binary: Path) -> None:
    names, profiles = CASES[case]
    folder = FIXTURES / case.split("-")[0] if not names[0].startswith("..") else FIXTURES / "models"
    files = [(folder / n).resolve() for n in names]
    env = oracle_env()
    rc, expected, stderr = run_oracle(compose_binary, files, env, profiles)
    assert rc == 0, stderr
    error, actual = run_bridge(files, env, profiles)
    assert error is None
    assert diff(expected, actual) == []


@pytest.mark.parametrize("name", corpus_params())
def test_corpus_matches_docker_compose(name: str, compose_binary: Path) -> None:
    path = CORPUS / name
    env = oracle_env()
    rc, expected, stderr = run_oracle(compose_binary, [path], env)
    error, actual = run_bridge([path], env)
    known = known_differences()
    if name in known:
        pytest.xfail(known[name])
    if rc != 0:
        assert error is not None, f"docker-compose rejects it ({stderr.strip()[-200:]}) but bridge accepted it"
        assert "\n" not in error and "Traceback" not in error
        return
    assert error is None, error
    assert diff(expected, actual) == []
