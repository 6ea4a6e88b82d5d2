"""Hostile input: every file in tests/hostile/ gives either a one-line error (with location, non-zero
exit, nothing written) or a chart that lints and renders its strings literally; nothing is ever
written outside -o."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chartcheck import lint, template, validate

pytestmark = pytest.mark.helm

HOSTILE = Path(__file__).parent / "hostile"
ROOT = Path(__file__).resolve().parent.parent


def expectations() -> dict[str, str]:
    out = {}
    for line in (HOSTILE / "EXPECTED.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, expect = line.partition("|")
            out[name.strip()] = expect.strip()
    return out


def run_convert(src: Path, out: Path, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", "convert", str(src), "-o", str(out)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)


def snapshot(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_suite_is_big_enough() -> None:
    assert len(expectations()) >= 40
    assert set(expectations()) == {p.name for p in HOSTILE.iterdir() if p.name != "EXPECTED.txt"}


@pytest.mark.parametrize("name", sorted(expectations()))
def test_hostile_file(name: str, tmp_path: Path) -> None:
    import os
    import shutil

    expect = expectations()[name]
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(HOSTILE / name, work / name)
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "HOSTILE_SECRET": "{{ .Release.Name }}\n"}
    result = run_convert(Path(name), out, work, env)
    assert "Traceback" not in result.stderr
    if expect.startswith("error:"):
        assert result.returncode == 1, result.stdout + result.stderr
        # exactly one line: the file as given, the line and column, the key path, the message
        assert result.stderr == f"bridge: {name}{expect[len('error:'):].replace('{dir}', str(work))}\n"
        assert snapshot(tmp_path) == before, "a failed convert left files behind"
        return
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path) - before <= {"out"} | {f"out/{p}" for p in snapshot(out)}
    lint([out], 4)
    docs = template(out)
    validate(docs)
    rendered = yaml.safe_dump_all(docs)
    assert "boom" not in result.stderr
    text = (HOSTILE / name).read_text()
    if "{{" in text:
        # Template syntax from the compose file comes out as data, never evaluated.
        assert "{{" in rendered


def test_literal_values_survive(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_convert(HOSTILE / "38-template-in-env.yaml", out, tmp_path)
    assert result.returncode == 0
    docs = template(out)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    env = {e["name"]: e["value"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {
        "A": "{{ .Release.Name }}",
        "B": '{{- fail "boom" -}}',
        "C": '{{ lookup "v1" "Secret" "" "" }}',
        "D": "line1\nline2: with colon # and hash",
        "E": '"quoted" & *star !bang %pct @at `tick`',
    }


def test_huge_file(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("w") as fh:
        fh.write("services:\n")
        for i in range(3200):
            fh.write(f"  svc{i}:\n    image: nginx\n    environment:\n")
            for j in range(40):
                fh.write(f"      K{j}: '{'v' * 400}'\n")
    assert big.stat().st_size > 50 * 2**20
    result = run_convert(big, tmp_path / "out", tmp_path)
    assert "Traceback" not in result.stderr
    # 51 MiB of environment cannot become a chart Helm loads (5 MiB per file): a clear error, no chart.
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "over Helm's limit" in result.stderr and "huge.yaml:" in result.stderr
    assert not (tmp_path / "out").exists()


def test_file_over_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "over.yaml"
    with big.open("wb") as fh:
        fh.write(b"services: {}\n# " + b"x" * (65 * 2**20) + b"\n")
    result = run_convert(big, tmp_path / "out", tmp_path)
    assert result.returncode == 1 and "larger than 64 MiB" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_huge_file_is_handled(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w") as fh:
        fh.write("services:\n  web:\n    image: x\n    labels:\n")
        line = "      k{0}: " + "v" * 100 + "\n"
        for i in range(460_000):
            fh.write(line.format(i))
    assert big.stat().st_size > 50 * 2**20
    result = subprocess.run([sys.executable, "-m", "bridge", "config", "-q", "-f", str(big)], cwd=tmp_path,
                            capture_output=True, text=True)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1)
    if result.returncode:
        assert result.stderr.count("\n") == 1
