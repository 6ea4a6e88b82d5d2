"""Every corpus file docker-compose accepts converts into a chart that lints (Helm 4 and 3), renders,
and validates against Kubernetes 1.30 and 1.37, with model runner off and on."""

from __future__ import annotations

from pathlib import Path

import pytest
from chartcheck import lint, template, validate
from conftest import CORPUS, corpus_files
from oracle import oracle_env, run_oracle
from pipeline import convert

from bridge.errors import BridgeError

pytestmark = [pytest.mark.helm, pytest.mark.corpus]

CHUNKS = 8
MODES = ({}, {"modelRunner.enabled": "true"})


def _chunks() -> list:
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"))]
    return list(range(CHUNKS))


@pytest.mark.parametrize("chunk", _chunks())
def test_corpus_converts_lints_and_validates(chunk: int, tmp_path: Path, compose_binary: Path) -> None:
    files = corpus_files()[chunk::CHUNKS]
    env = oracle_env()
    charts: list[tuple[str, Path]] = []
    failures: list[str] = []
    for i, name in enumerate(files):
        path = CORPUS / name
        rc, _, _ = run_oracle(compose_binary, [path], env)
        if rc != 0:
            continue  # rejected by docker-compose: test_config_oracle checks we reject it too
        try:
            out = tmp_path / f"chart{i}"
            convert([path], out, environ=env, cwd=path.parent)
            charts.append((name, out))
        except BridgeError as exc:
            failures.append(f"{name}: {exc}")
    assert failures == []
    assert charts
    for mode in MODES:
        for version in (4, 3):
            lint([c for _, c in charts], version, mode)
    for name, chart in charts:
        for mode in MODES:
            try:
                validate(template(chart, 4, mode))
            except AssertionError as exc:
                raise AssertionError(f"{name} {mode}: {exc}") from None
