"""The lock files in requirements/ match pyproject.toml: every declared requirement is pinned at a version
it allows, with hashes, and the locks agree with each other. Offline: no resolver, no index."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# lock -> (pyproject extras it covers, or None for none of pyproject; the .in files it covers)
LOCKS = {
    "build.txt": (None, ["build.in"]),
    "sdist-build.txt": (None, ["sdist-build.in"]),
    "base.txt": ([], ["build.in"]),
    "runner.txt": (["runner"], ["build.in"]),
    "test.txt": (sorted(PYPROJECT["project"]["optional-dependencies"]), ["build.in", "sdist-build.in"]),
    "checkov.txt": (None, ["checkov.in", "build.in"]),
    "uv.txt": (None, ["uv.in"]),
}
# Locks installed into the same venv must agree on every version.
SAME_VENV = ["build.txt", "sdist-build.txt", "base.txt", "runner.txt", "test.txt"]


def read_lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for the pins that apply on this machine's Python."""
    env = default_environment()
    text = re.sub(r"\\\n", " ", (REQ / name).read_text())
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        req = Requirement(re.sub(r"\s--hash=\S+", "", line).strip())
        if req.marker and not req.marker.evaluate(env):
            continue
        (version,) = [s.version for s in req.specifier if s.operator == "=="]
        pins[canonicalize_name(req.name)] = (version, hashes)
    return pins


def read_in(name: str) -> list[Requirement]:
    out: list[Requirement] = []
    for line in (REQ / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out += read_in(line[3:].strip())
        else:
            out.append(Requirement(line))
    return out


def declared(extras: list[str] | None, inputs: list[str]) -> list[Requirement]:
    reqs = [r for i in inputs for r in read_in(i)]
    if extras is not None:
        project = PYPROJECT["project"]
        reqs += [Requirement(r) for r in project["dependencies"]]
        reqs += [Requirement(r) for e in extras for r in project["optional-dependencies"][e]]
        reqs += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    return reqs


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_every_declared_requirement(lock: str) -> None:
    pins = read_lock(lock)
    env = default_environment()
    for req in declared(*LOCKS[lock]):
        if req.marker and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock} has no pin for {req}: run `make lock`"
        version = pins[name][0]
        assert req.specifier.contains(version, prereleases=True), \
            f"{lock} pins {name}=={version}, which {req} does not allow: run `make lock`"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_has_hashes(lock: str) -> None:
    for name, (version, hashes) in read_lock(lock).items():
        assert hashes, f"{lock}: {name}=={version} has no --hash"


def test_locks_of_one_venv_agree() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for lock in SAME_VENV:
        for name, (version, _) in read_lock(lock).items():
            if name in seen:
                assert seen[name][0] == version, f"{name}: {seen[name][1]} pins {seen[name][0]}, {lock} pins {version}"
            seen[name] = (version, lock)


def test_makefile_and_dockerfile_install_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for lock in ("build.txt", "base.txt", "sdist-build.txt", "test.txt", "checkov.txt"):
        assert f"$(REQ)/{lock}" in makefile
    assert "--require-hashes" in makefile
    dockerfile = (ROOT / "runner" / "Dockerfile").read_text()
    assert "requirements/runner.txt" in dockerfile and "--require-hashes" in dockerfile
