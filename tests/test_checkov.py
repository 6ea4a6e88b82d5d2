"""Security practice: checkov (its own venv) on `helm template` output of the examples and a corpus
sample finds nothing beyond the documented exceptions in tests/data/checkov-exceptions.txt."""

from __future__ import annotations

from pathlib import Path

import pytest
from chartcheck import template
from checkov_run import CHECKOV, failed_checks
from conftest import CORPUS, ROOT, corpus_files
from pipeline import convert

pytestmark = [pytest.mark.helm, pytest.mark.skipif(not CHECKOV.exists(), reason="checkov not installed: `make checkov` installs it in .tools/")]

EXCEPTIONS_FILE = ROOT / "tests" / "data" / "checkov-exceptions.txt"


def exceptions() -> set[str]:
    return {line.split("|")[0].strip() for line in EXCEPTIONS_FILE.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def charts() -> list:
    apps = [pytest.param(ROOT / "examples" / name / "compose.yaml", id=f"examples/{name}") for name in ("chat", "rag", "agents")]
    apps.append(pytest.param(ROOT / "tests" / "fixtures" / "multi" / "compose.yaml", id="fixtures/multi"))
    sample = [f for f in corpus_files() if f.startswith("awesome-compose/")][:12]
    apps += [pytest.param(CORPUS / f, id=f, marks=pytest.mark.corpus) for f in sample]
    return apps


@pytest.mark.parametrize("compose", charts())
def test_checkov_finds_only_documented_exceptions(compose: Path, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    convert([compose], chart, cwd=compose.parent)
    allowed = exceptions()
    for i, mode in enumerate(({}, {"modelRunner.enabled": "true"})):
        failed = failed_checks(template(chart, values=mode), tmp_path / f"manifests{i}")
        unexpected = {check: sorted(objs) for check, objs in failed.items() if check not in allowed}
        assert unexpected == {}, f"{mode}: {unexpected}"


def test_exception_list_is_short_and_explained() -> None:
    lines = [line for line in EXCEPTIONS_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) <= 15
    assert all(len(line.split("|", 1)[1].strip()) > 20 for line in lines)
