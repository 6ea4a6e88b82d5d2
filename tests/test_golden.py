"""Golden charts for representative apps: output must stay byte-identical (UPDATE_GOLDEN=1 rewrites)."""

from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, ROOT

from bridge.build import build_chart
from bridge.loader import Options, load
from bridge.render import render_chart

pytestmark = pytest.mark.unit

GOLDEN = ROOT / "tests" / "golden"
APPS = {
    "multi": ["multi/compose.yaml", "multi/compose.override.yaml"],
    "kitchen-sink": ["kitchen-sink/compose.yaml"],
    "models": ["models/compose.yaml"],
    "chat": ["../../examples/chat/compose.yaml"],
    "rag": ["../../examples/rag/compose.yaml"],
    "shop": ["../../examples/shop/compose.yaml"],
}


def _render(files: list[str]) -> dict[str, bytes]:
    paths = [str((FIXTURES / f).resolve()) for f in files]
    project = load(Options(files=paths, environ={"HOME": "/home/user"}))
    rendered = render_chart(build_chart(project))
    # Absolute paths of bind mounts depend on where the repository is checked out.
    root = str(ROOT).encode()
    return {k: v.replace(root, b"<repo>") for k, v in rendered.items()}


@pytest.mark.parametrize("app", sorted(APPS))
def test_golden(app: str) -> None:
    rendered = _render(APPS[app])
    assert rendered == _render(APPS[app]), "two renders of the same input differ"
    folder = GOLDEN / app
    if os.environ.get("UPDATE_GOLDEN"):
        for old in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            old.unlink() if old.is_file() else old.rmdir()
        for rel, content in rendered.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(content)
    stored = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(stored) == sorted(rendered)
    for rel in rendered:
        assert stored[rel] == rendered[rel], f"{app}/{rel} differs from the golden copy (UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("app", sorted(APPS))
def test_every_values_key_in_the_readme_has_a_description(app: str) -> None:
    readme = _render(APPS[app])["README.md"].decode()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[-1], f"{app}: no description in {row}"
