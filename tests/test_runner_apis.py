"""The runner's other APIs with their real PyPI clients (`anthropic`, `ollama`), OpenAI's streamed usage,
token accounting, and batched sampling against the unbatched path. The tiny random-weight GGUF checks
shapes and exact token counts; the real Gemma checks that text comes back through each API."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: pip install '.[runner]' (make test does)")
httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
ollama = pytest.importorskip("ollama")

from oci_registry import push_model, registry  # noqa: E402
from runner_proc import GEMMA_NAME, gemma_gguf, pull, start_runner, stop  # noqa: E402
from tiny_gguf import BIASED_OUT, write_tiny_llama  # noqa: E402

pytestmark = pytest.mark.runner

NO_EOS = BIASED_OUT


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    tiny = write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny.gguf").read_bytes()
    with registry(tmp_path_factory.mktemp("registry")) as address:
        push_model(address, "ai/tiny", "v1", [tiny])
        yield f"{address}/ai/tiny:v1"


@pytest.fixture(scope="module", params=["single", "batched"])
def runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model: str):
    args = "--ctx-size 1024" + (" --parallel 2" if request.param == "batched" else " --parallel 1")
    proc, base = start_runner(tmp_path_factory.mktemp(request.param), {"LLAMA_ARGS": args})
    pull(base, model)
    yield {"base": base, "model": model, "mode": request.param}
    stop(proc)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, model: str):
    started = [start_runner(tmp_path_factory.mktemp(m), {"LLAMA_ARGS": a})
               for m, a in (("one", "--ctx-size 256 --parallel 1"), ("two", "--ctx-size 256 --parallel 2"))]
    for _, base in started:
        pull(base, model)
    yield [base for _, base in started]
    for proc, _ in started:
        stop(proc)


def generated_tokens(base: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    return sum(float(v) for v in re.findall(r"^model_runner_generated_tokens_total\{[^}]*\} (\S+)$", text, re.M))


# ---- sampling and usage --------------------------------------------------------------------------
SAMPLED = {"prompt": "the", "max_tokens": 24, "temperature": 0.9, "top_k": 40, "top_p": 0.95, "seed": 7,
           "logit_bias": NO_EOS}
PENALTIES = {"repeat_penalty": 1.5, "presence_penalty": 0.8, "frequency_penalty": 0.6}


def test_batched_sampling_matches_the_unbatched_path_penalties_included(pair: list[str], model: str) -> None:
    def text(base: str, extra: dict) -> str:
        resp = httpx.post(f"{base}/engines/v1/completions", json={"model": model, **SAMPLED, **extra}, timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()["choices"][0]["text"]

    single, batched = pair
    with_penalties = text(single, PENALTIES)
    assert text(batched, PENALTIES) == with_penalties
    assert text(batched, {}) == text(single, {})
    assert text(batched, {}) != with_penalties  # the penalties change what is drawn: they are applied


def test_streamed_usage_and_tokens_counted_once(runner: dict) -> None:
    c = openai.OpenAI(base_url=f"{runner['base']}/engines/v1", api_key="unused", max_retries=0, timeout=60)
    before = generated_tokens(runner["base"])
    chunks = list(c.completions.create(model=runner["model"], prompt="a", max_tokens=6, logit_bias=NO_EOS,
                                       stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 6
    whole = c.completions.create(model=runner["model"], prompt="a", max_tokens=6, logit_bias=NO_EOS)
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens > 0
    chat = c.chat.completions.create(model=runner["model"], messages=[{"role": "user", "content": "hi"}],
                                     max_tokens=5, logit_bias=NO_EOS)
    assert chat.usage.completion_tokens == 5
    assert generated_tokens(runner["base"]) - before == 17
    plain = list(c.completions.create(model=runner["model"], prompt="a", max_tokens=3, logit_bias=NO_EOS, stream=True))
    assert all(ch.usage is None for ch in plain)  # only when asked for


def metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    return sum(float(v) for v in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


def test_default_is_continuous_batching_and_reuses_prompt_prefixes(tmp_path: Path, model: str) -> None:
    proc, base = start_runner(tmp_path / "models", {"LLAMA_ARGS": "--ctx-size 256"})
    try:
        pull(base, model)
        system = "the model is a test of the model " * 6
        body = {"model": model, "max_tokens": 6, "temperature": 0, "logit_bias": NO_EOS}
        first = httpx.post(f"{base}/engines/v1/completions", json={**body, "prompt": system + "hello"}, timeout=60).json()
        ps = httpx.get(f"{base}/engines/ps").json()
        assert [w["slots"] for w in ps if w["mode"] == "completion"][0] > 1
        assert metric(base, "model_runner_prompt_tokens_reused_total") == 0
        again = httpx.post(f"{base}/engines/v1/completions", json={**body, "prompt": system + "hello"}, timeout=60).json()
        other = httpx.post(f"{base}/engines/v1/completions", json={**body, "prompt": system + "world"}, timeout=60).json()
        reused = metric(base, "model_runner_prompt_tokens_reused_total")
        prompt = first["usage"]["prompt_tokens"]
        # the repeat keeps all but its last token; the next shares the system text
        assert reused >= (prompt - 1) + prompt // 2
        assert again["choices"][0]["text"] == first["choices"][0]["text"]
        fresh = httpx.post(f"{base}/engines/v1/completions",
                           json={**body, "prompt": "world " + system}, timeout=60).json()  # nothing shared
        assert fresh["usage"]["prompt_tokens"] > 0 and other["usage"]["completion_tokens"] == 6
    finally:
        stop(proc)


# ---- structured output, tools, logprobs -----------------------------------------------------------
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}},
          "required": ["n", "ok"], "additionalProperties": False}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}},
                                                           "required": ["city"], "additionalProperties": False}}}


def test_response_format(runner: dict) -> None:
    c = openai.OpenAI(base_url=f"{runner['base']}/engines/v1", api_key="unused", max_retries=0, timeout=60)
    resp = c.chat.completions.create(model=runner["model"], messages=[{"role": "user", "content": "hi"}], max_tokens=80,
                                     response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}})
    data = json.loads(resp.choices[0].message.content)
    assert set(data) == {"n", "ok"} and isinstance(data["n"], int) and isinstance(data["ok"], bool)
    obj = c.completions.create(model=runner["model"], prompt="the", max_tokens=120, extra_body={
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}}})
    assert set(json.loads(obj.choices[0].text)) == {"n", "ok"}
    bad = httpx.post(f"{runner['base']}/engines/v1/chat/completions", json={
        "model": runner["model"], "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}})
    assert bad.status_code == 400


def test_tool_calls(runner: dict) -> None:
    c = openai.OpenAI(base_url=f"{runner['base']}/engines/v1", api_key="unused", max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "weather in rome?"}]
    resp = c.chat.completions.create(model=runner["model"], messages=messages, tools=[WEATHER], tool_choice="required",
                                     max_tokens=200)  # the tiny vocabulary spells JSON a byte at a time
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] in ("Paris", "Rome")
    # the call and its result go back in, as agents send them
    follow = c.chat.completions.create(model=runner["model"], max_tokens=20, tools=[WEATHER], tool_choice="none",
                                       messages=[*messages, resp.choices[0].message.model_dump(exclude_none=True),
                                                 {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert follow.choices[0].message.tool_calls is None
    chunks = list(c.chat.completions.create(model=runner["model"], messages=messages, tools=[WEATHER], max_tokens=200,
                                            tool_choice={"type": "function", "function": {"name": "get_weather"}},
                                            stream=True, stream_options={"include_usage": True}))
    deltas = [ch.choices[0].delta for ch in chunks if ch.choices]
    assert any(d.tool_calls and d.tool_calls[0].function.name == "get_weather" for d in deltas)
    assert chunks[-1].usage.completion_tokens > 0


def test_logprobs(pair: list[str], model: str) -> None:
    single, batched = pair
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 0,
            "logit_bias": NO_EOS, "logprobs": True, "top_logprobs": 3}
    resp = httpx.post(f"{batched}/engines/v1/chat/completions", json=body, timeout=60).json()
    content = resp["choices"][0]["logprobs"]["content"]
    assert len(content) == 5 and all(len(e["top_logprobs"]) == 3 and e["logprob"] <= 0 for e in content)
    assert all(e["logprob"] == max(t["logprob"] for t in e["top_logprobs"]) for e in content)  # greedy
    assert "".join(e["token"] for e in content) == resp["choices"][0]["message"]["content"]
    streamed = [json.loads(line[6:]) for line in httpx.post(f"{batched}/engines/v1/chat/completions",
                                                            json={**body, "stream": True}, timeout=60).text.splitlines()
                if line.startswith("data: {")]
    tokens = [e["token"] for ch in streamed for e in ((ch["choices"][0].get("logprobs") or {}).get("content") or [])]
    assert tokens == [e["token"] for e in content]
    text = httpx.post(f"{batched}/engines/v1/completions", json={"model": model, "prompt": "the", "max_tokens": 4,
                                                                 "logprobs": 2, "logit_bias": NO_EOS}, timeout=60).json()
    lp = text["choices"][0]["logprobs"]
    assert len(lp["tokens"]) == 4 and len(lp["top_logprobs"][0]) <= 2 and lp["text_offset"][0] == 0
    # one generation loop: `--parallel 1` is one slot of it, and reports the same logprobs
    one_slot = httpx.post(f"{single}/engines/v1/chat/completions", json=body, timeout=60).json()
    assert one_slot["choices"][0]["logprobs"]["content"] == content


# ---- Anthropic Messages ----------------------------------------------------------------------------
def claude(runner: dict) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{runner['base']}/anthropic", api_key="unused", max_retries=0, timeout=60)


def test_anthropic_messages(runner: dict) -> None:
    c = claude(runner)
    msg = c.messages.create(model=runner["model"], max_tokens=8, system="be brief",
                            messages=[{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
                            metadata={"user_id": "u1"}, stop_sequences=["\n\n"],
                            # today's SDK no longer has sampling arguments; older clients send them
                            extra_body={"temperature": 0.5, "top_k": 10})
    assert msg.type == "message" and msg.role == "assistant" and msg.content[0].type == "text"
    # (llama-cpp-python's single path may run past max_tokens while a token ends mid-UTF-8 character,
    # which the random tiny model's output often does; its usage counts those tokens too.)
    assert msg.stop_reason in ("end_turn", "max_tokens") and msg.usage.input_tokens > 0
    assert msg.usage.output_tokens >= 8 if msg.stop_reason == "max_tokens" else msg.usage.output_tokens >= 0
    counted = c.messages.count_tokens(model=runner["model"], system="be brief",
                                      messages=[{"role": "user", "content": [{"type": "text", "text": "hello"}]}])
    assert counted.input_tokens == msg.usage.input_tokens


def test_anthropic_stream(runner: dict) -> None:
    with claude(runner).messages.stream(model=runner["model"], max_tokens=6,
                                        messages=[{"role": "user", "content": "hello"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds and "message_delta" in kinds
    assert final.usage.input_tokens > 0 and final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.output_tokens >= 6 if final.stop_reason == "max_tokens" else final.usage.output_tokens >= 0


def test_anthropic_errors(runner: dict) -> None:
    c = claude(runner)
    with pytest.raises(anthropic.NotFoundError):
        c.messages.create(model="ai/missing", max_tokens=4, messages=[{"role": "user", "content": "x"}])
    resp = httpx.post(f"{runner['base']}/anthropic/v1/messages",
                      json={"model": runner["model"], "max_tokens": "four", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 400
    assert resp.json()["type"] == "error" and "max_tokens" in resp.json()["error"]["message"]


# ---- Ollama --------------------------------------------------------------------------------------
def test_ollama_api(runner: dict) -> None:
    c = ollama.Client(host=runner["base"], timeout=60)
    names = [m.model for m in c.list().models]
    assert runner["model"] in names
    assert c.show(runner["model"]).details.format == "gguf"
    resp = c.chat(model=runner["model"], messages=[{"role": "user", "content": "hi"}], options={"num_predict": 4, "seed": 1})
    assert resp.done and resp.message.role == "assistant" and resp.done_reason == "length" and resp.eval_count >= 4
    parts = list(c.chat(model=runner["model"], messages=[{"role": "user", "content": "hi"}], stream=True,
                        options={"num_predict": 4}))
    assert parts[-1].done and not any(p.done for p in parts[:-1])
    greedy = {"num_predict": 6, "temperature": 0}
    gen = c.generate(model=runner["model"], prompt="the", options=greedy)
    assert gen.done and gen.response
    assert "".join(p.response for p in c.generate(model=runner["model"], prompt="the", options=greedy, stream=True)) == gen.response
    said = c.chat(model=runner["model"], messages=[{"role": "user", "content": "the"}], options=greedy).message.content
    assert said and "".join(p.message.content for p in c.chat(model=runner["model"], messages=[{"role": "user", "content": "the"}],
                                                              options=greedy, stream=True)) == said
    streamed = list(c.generate(model=runner["model"], prompt="the", raw=True, stream=True, options={"num_predict": 3}))
    assert streamed[-1].done and streamed[-1].eval_count >= 3
    shaped = c.chat(model=runner["model"], messages=[{"role": "user", "content": "hi"}], format=SCHEMA,
                    options={"num_predict": 120})
    assert set(json.loads(shaped.message.content)) == {"n", "ok"}
    vectors = c.embed(model=runner["model"], input=["a", "b"]).embeddings
    assert len(vectors) == 2 and len(vectors[0]) > 0
    assert len(c.embeddings(model=runner["model"], prompt="a").embedding) == len(vectors[0])
    with pytest.raises(ollama.ResponseError) as err:
        c.chat(model="ai/missing", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 404


# ---- the real model through each API ----------------------------------------------------------------
def test_gemma_answers_through_anthropic_ollama_and_responses(tmp_path: Path) -> None:
    path = gemma_gguf()
    proc, base = start_runner(tmp_path / "models", {"MODELS_IMPORT_DIR": str(path.parent), "LLAMA_ARGS": "--ctx-size 1024"})
    try:
        assert pull(base, f"file://{path}")[-1]["type"] == "success"
        c = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="unused", max_retries=0, timeout=120)
        msg = c.messages.create(model=GEMMA_NAME, max_tokens=16, extra_body={"temperature": 0},
                                messages=[{"role": "user", "content": "Say hello."}])
        assert msg.content[0].text.strip()
        with c.messages.stream(model=GEMMA_NAME, max_tokens=12, messages=[{"role": "user", "content": "Count to three."}]) as s:
            assert "".join(s.text_stream).strip()
        o = ollama.Client(host=base, timeout=120)
        assert o.chat(model=GEMMA_NAME, messages=[{"role": "user", "content": "Say hello."}],
                      options={"num_predict": 16, "temperature": 0}).message.content.strip()
        assert "".join(p.response for p in o.generate(model=GEMMA_NAME, prompt="Name a colour.", stream=True,
                                                      options={"num_predict": 12})).strip()
        r = openai.OpenAI(base_url=f"{base}/engines/v1", api_key="unused", max_retries=0, timeout=120)
        said = r.responses.create(model=GEMMA_NAME, input="Say hello.", max_output_tokens=16, temperature=0)
        assert said.output_text.strip()
        with r.responses.stream(model=GEMMA_NAME, input="Say hello.", max_output_tokens=16, temperature=0) as s:
            streamed = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        assert streamed == said.output_text  # greedy: the same words, streamed or not
    finally:
        stop(proc)


# ---- start-up pulls, readiness and model caps --------------------------------------------------------
def test_runner_pulls_configures_and_is_ready_after(tmp_path: Path, model: str) -> None:
    # the chart's configure items, speculative decoding included (the model as its own draft)
    env = {"MODELS": model, "MODELS_CONFIGURE": json.dumps([{"model": model, "contextSize": 96, "speculative": {
        "draftModel": model, "numTokens": 2}}])}
    proc, base = start_runner(tmp_path / "models", env)
    try:
        deadline = time.monotonic() + 60
        while (resp := httpx.get(f"{base}/ready")).status_code == 503 and time.monotonic() < deadline:
            assert resp.json()["waiting"] == [model]
            time.sleep(0.2)
        assert resp.status_code == 200
        short = httpx.post(f"{base}/engines/v1/completions", json={"model": model, "prompt": "the", "max_tokens": 2}, timeout=60)
        assert short.status_code == 200
        long = httpx.post(f"{base}/engines/v1/completions", json={"model": model, "prompt": "the " * 200, "max_tokens": 2},
                          timeout=60)
        assert long.status_code == 400 and "context" in long.json()["error"]["message"]  # contextSize applied
        (worker,) = [w for w in httpx.get(f"{base}/engines/ps").json() if w["mode"] == "completion"]
        assert worker["speculative"]["num_tokens"] == 2  # the draft too
    finally:
        stop(proc)


def test_a_model_that_cannot_be_loaded_now_is_a_503(tmp_path: Path, model: str) -> None:
    # one long generation (a 64k context the tiny model needs tens of seconds to fill) keeps it busy
    proc, base = start_runner(tmp_path / "models", {"MAX_LOADED_MODELS": "1", "LLAMA_ARGS": "--parallel 1 --ctx-size 65536"})

    def generate_long() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the runner is stopped before it ends
            httpx.post(f"{base}/engines/v1/completions", timeout=120, json={
                "model": model, "prompt": "the", "max_tokens": 100000, "logit_bias": NO_EOS})

    busy = threading.Thread(target=generate_long)
    try:
        pull(base, model)
        # the completion and embedding workers of one model count as two loaded models
        busy.start()
        deadline = time.monotonic() + 30
        while not [w for w in httpx.get(f"{base}/engines/ps").json() if w["pending"]] and time.monotonic() < deadline:
            time.sleep(0.05)
        resp = httpx.post(f"{base}/engines/v1/embeddings", json={"model": model, "input": "a"}, timeout=60)
        assert resp.status_code == 503 and "MAX_LOADED_MODELS=1" in resp.json()["error"]["message"]
        httpx.post(f"{base}/engines/unload", json={"all": True})
        # unloaded: the busy worker is no longer counted (it finishes its request on its own)
        assert httpx.post(f"{base}/engines/v1/embeddings", json={"model": model, "input": "a"}, timeout=60).status_code == 200
    finally:
        stop(proc)
        if busy.is_alive():
            busy.join(30)


# ---- reranking ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reranker(tmp_path_factory: pytest.TempPathFactory):
    gguf_bytes = write_tiny_llama(tmp_path_factory.mktemp("rerank") / "rerank.gguf", reranker=True).read_bytes()
    with registry(tmp_path_factory.mktemp("rerank-registry")) as address:
        push_model(address, "ai/tiny-reranker", "v1", [gguf_bytes])
        proc, base = start_runner(tmp_path_factory.mktemp("rerank-models"))
        try:
            pull(base, f"{address}/ai/tiny-reranker:v1")
            yield {"base": base, "model": f"{address}/ai/tiny-reranker:v1"}
        finally:
            stop(proc)


DOCS = ["the model is a test", "hello world", "count to three", "a b c"]


def test_rerank(reranker: dict) -> None:
    body = {"model": reranker["model"], "query": "what is the model?", "documents": DOCS}
    results = {}
    for path in ("/rerank", "/v1/rerank", "/engines/v1/rerank", "/engines/llama.cpp/v1/rerank"):
        resp = httpx.post(reranker["base"] + path, json=body, timeout=60)
        assert resp.status_code == 200, resp.text
        results[path] = resp.json()
    out = results["/v1/rerank"]
    assert all(r == out["results"] for r in (v["results"] for v in results.values()))  # deterministic
    scores = [r["relevance_score"] for r in out["results"]]
    assert sorted(r["index"] for r in out["results"]) == [0, 1, 2, 3]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)  # softmax of the yes/no head
    assert len(set(scores)) == 4 and out["usage"]["prompt_tokens"] > 4 * 3
    top = httpx.post(f"{reranker['base']}/v1/rerank", json={**body, "top_n": 2, "return_documents": True}).json()
    assert [r["index"] for r in top["results"]] == [r["index"] for r in out["results"][:2]]
    assert top["results"][0]["document"]["text"] == DOCS[top["results"][0]["index"]]
    # a document's score does not depend on the others
    alone = httpx.post(f"{reranker['base']}/v1/rerank", json={**body, "documents": [DOCS[2]]}).json()
    assert alone["results"][0]["relevance_score"] == pytest.approx(
        next(r["relevance_score"] for r in out["results"] if r["index"] == 2), rel=1e-5)
    bad = httpx.post(f"{reranker['base']}/v1/rerank", json={**body, "documents": "one"})
    assert bad.status_code == 400 and "documents" in bad.json()["error"]["message"]


def test_score_in_vllms_shape(reranker: dict) -> None:
    ranked = httpx.post(f"{reranker['base']}/v1/rerank", json={"model": reranker["model"], "query": "q",
                                                              "documents": DOCS}, timeout=60).json()["results"]
    by_index = {r["index"]: r["relevance_score"] for r in ranked}
    for path in ("/score", "/engines/score", "/engines/llama.cpp/score"):
        got = httpx.post(f"{reranker['base']}{path}", json={"model": reranker["model"], "text_1": "q", "text_2": DOCS},
                         timeout=60).json()
        assert got["object"] == "list" and [d["index"] for d in got["data"]] == [0, 1, 2, 3]
        assert [d["score"] for d in got["data"]] == pytest.approx([by_index[i] for i in range(4)], rel=1e-5)
    pairs = httpx.post(f"{reranker['base']}/score", json={"model": reranker["model"], "text_1": ["q", "q"],
                                                          "text_2": DOCS[:2]}, timeout=60).json()
    assert [d["score"] for d in pairs["data"]] == pytest.approx([by_index[0], by_index[1]], rel=1e-5)
    bad = httpx.post(f"{reranker['base']}/score", json={"model": reranker["model"], "text_1": ["a", "b"], "text_2": DOCS})
    assert bad.status_code == 400


def test_rerank_refuses_a_model_that_is_not_a_reranker(runner: dict) -> None:
    resp = httpx.post(f"{runner['base']}/v1/rerank", json={"model": runner["model"], "query": "q", "documents": ["d"]},
                      timeout=60)
    assert resp.status_code == 400 and "not a reranker" in resp.json()["error"]["message"]


# ---- OpenAI Responses API ------------------------------------------------------------------------------
RESPONSES_WEATHER = {"type": "function", **WEATHER["function"]}


def responses_client(runner: dict, prefix: str = "/engines/v1") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{runner['base']}{prefix}", api_key="unused", max_retries=0, timeout=60)


def test_responses_create_retrieve_continue_and_stream(runner: dict) -> None:
    c = responses_client(runner)
    first = c.responses.create(model=runner["model"], instructions="Be brief.", input="hi", max_output_tokens=6,
                               extra_body={"logit_bias": NO_EOS})
    assert first.object == "response" and first.status == "incomplete" and first.incomplete_details.reason == "max_output_tokens"
    (message,) = first.output
    assert message.type == "message" and message.role == "assistant" and first.output_text
    assert first.usage.output_tokens == 6 and first.usage.input_tokens > 0
    assert c.responses.retrieve(first.id).output_text == first.output_text
    items = c.responses.input_items.list(first.id)
    assert [i.content[0].text for i in items.data] == ["hi"]  # instructions are not an input item
    # previous_response_id: the stored conversation goes in before the new input
    follow = c.responses.create(model=runner["model"], input=[{"role": "user", "content": "and again"}],
                                previous_response_id=first.id, max_output_tokens=3)
    assert follow.previous_response_id == first.id and follow.usage.input_tokens > first.usage.input_tokens
    # streamed, as OpenAI streams it
    with c.responses.stream(model=runner["model"], input="hi", max_output_tokens=5, extra_body={"logit_bias": NO_EOS}) as s:
        events = list(s)
    final = events[-1].response  # cut short: the stream ends with response.incomplete, as OpenAI's does
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.incomplete"]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    # every prefix DMR serves; an unknown id is a 404
    for prefix in ("", "/v1", "/engines", "/engines/llama.cpp", "/engines/llama.cpp/v1"):
        got = httpx.post(f"{runner['base']}{prefix}/responses", json={"model": runner["model"], "input": "x",
                                                                       "max_output_tokens": 2, "store": False}, timeout=60)
        assert got.status_code == 200 and got.json()["store"] is False, prefix
        assert httpx.get(f"{runner['base']}{prefix}/responses/{got.json()['id']}").status_code == 404


def test_responses_function_tools_and_json_schema(runner: dict) -> None:
    c = responses_client(runner)
    called = c.responses.create(model=runner["model"], input="weather in rome?", tools=[RESPONSES_WEATHER],
                                tool_choice={"type": "function", "name": "get_weather"}, max_output_tokens=200)
    (call,) = called.output
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id
    assert json.loads(call.arguments)["city"] in ("Paris", "Rome")
    # the call and its output go back in, as agents send them
    answered = c.responses.create(model=runner["model"], max_output_tokens=10, tools=[RESPONSES_WEATHER], tool_choice="none",
                                  input=[{"role": "user", "content": "weather in rome?"}, call.model_dump(exclude_none=True),
                                         {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert answered.output[0].type == "message"
    with c.responses.stream(model=runner["model"], input="weather?", tools=[RESPONSES_WEATHER], tool_choice="required",
                            max_output_tokens=200) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    assert "response.function_call_arguments.delta" in kinds and kinds[-1] == "response.completed"
    assert final.output[0].type == "function_call"
    shaped = c.responses.create(model=runner["model"], input="hi", max_output_tokens=80,
                                text={"format": {"type": "json_schema", "name": "x", "schema": SCHEMA}})
    assert set(json.loads(shaped.output_text)) == {"n", "ok"}
    bad = httpx.post(f"{runner['base']}/v1/responses", json={"model": runner["model"], "input": [{"type": "image"}]})
    assert bad.status_code == 400 and "not supported" in bad.json()["error"]["message"]


def test_openai_agents_sdk_default_model_with_a_function_tool(runner: dict) -> None:
    """The Agents SDK's default model is the Responses API: an agent with a function tool, run and
    streamed. The forced first call makes the tiny model's choice deterministic; the agent stops on it."""
    agents = pytest.importorskip("agents")
    import asyncio

    agents.set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=f"{runner['base']}/engines/v1", api_key="unused", max_retries=0, timeout=60)
    calls: list[str] = []

    @agents.function_tool
    def get_weather(city: Literal["Paris", "Rome"]) -> str:
        """Weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    agent = agents.Agent(name="weather", instructions="Answer with the weather.", tools=[get_weather],
                         model=agents.OpenAIResponsesModel(model=runner["model"], openai_client=client),
                         model_settings=agents.ModelSettings(tool_choice="get_weather", max_tokens=200),
                         tool_use_behavior="stop_on_first_tool")

    async def run() -> tuple[str, str]:
        done = await agents.Runner.run(agent, "weather in rome?")
        streamed = agents.Runner.run_streamed(agent, "weather in paris?")
        async for _ in streamed.stream_events():
            pass
        return done.final_output, streamed.final_output

    ran, streamed = asyncio.run(run())
    assert ran.startswith("sunny in ") and streamed.startswith("sunny in ") and set(calls) <= {"Paris", "Rome"}
    assert len(calls) == 2


# ---- tools over Anthropic and Ollama --------------------------------------------------------------------
ANTHROPIC_WEATHER = {"name": "get_weather", "description": "Weather in a city",
                     "input_schema": WEATHER["function"]["parameters"]}


def test_anthropic_tools(runner: dict) -> None:
    c = claude(runner)
    question = {"role": "user", "content": "weather in rome?"}
    msg = c.messages.create(model=runner["model"], max_tokens=200, tools=[ANTHROPIC_WEATHER],
                            tool_choice={"type": "tool", "name": "get_weather"}, messages=[question])
    (use,) = [b for b in msg.content if b.type == "tool_use"]
    assert msg.stop_reason == "tool_use" and use.name == "get_weather" and use.input["city"] in ("Paris", "Rome")
    # the tool_use and its tool_result go back in, as Anthropic's agents send them
    answer = c.messages.create(model=runner["model"], max_tokens=8, tools=[ANTHROPIC_WEATHER], tool_choice={"type": "none"},
                               messages=[question, {"role": "assistant", "content": [use.model_dump()]},
                                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                                       "content": "sunny"}]}])
    assert answer.content[0].type == "text" and answer.stop_reason in ("end_turn", "max_tokens")
    with c.messages.stream(model=runner["model"], max_tokens=200, tools=[ANTHROPIC_WEATHER],
                           tool_choice={"type": "any"}, messages=[question]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "content_block_delta" in kinds
    assert final.stop_reason == "tool_use" and final.content[-1].type == "tool_use"
    assert final.content[-1].input["city"] in ("Paris", "Rome")


def test_ollama_tools(runner: dict) -> None:
    c = ollama.Client(host=runner["base"], timeout=60)
    question = {"role": "user", "content": "weather in rome?"}
    # "auto": the model may answer or call; the tiny model's choice is its own, the shape is ours
    resp = c.chat(model=runner["model"], messages=[question], tools=[WEATHER], options={"num_predict": 200, "seed": 3})
    calls = resp.message.tool_calls or []
    assert resp.done and (calls or resp.message.content)
    for call in calls:
        assert call.function.name == "get_weather" and call.function.arguments["city"] in ("Paris", "Rome")
    streamed = list(c.chat(model=runner["model"], messages=[question], tools=[WEATHER], stream=True,
                           options={"num_predict": 200, "seed": 3}))
    assert streamed[-1].done and (streamed[0].message.tool_calls or []) == calls
    history = [question, {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"}]
    assert c.chat(model=runner["model"], messages=history, options={"num_predict": 4}).done


# ---- Ollama's and DMR's management calls ------------------------------------------------------------------
def test_ollama_management(runner: dict, tmp_path: Path) -> None:
    c = ollama.Client(host=runner["base"], timeout=60)
    assert httpx.get(f"{runner['base']}/api/version").json()["version"]
    c.chat(model=runner["model"], messages=[{"role": "user", "content": "hi"}], options={"num_predict": 1})
    (running,) = [m for m in c.ps().models if m.model == runner["model"]]
    assert running.size > 0 and running.digest and running.expires_at
    address = runner["model"].split("/ai/")[0]
    copy = f"{address}/ai/tiny-copy-{runner['mode']}:v1"
    push_model(address, f"ai/tiny-copy-{runner['mode']}", "v1", [write_tiny_llama(tmp_path / "t.gguf").read_bytes() + b"\0" * 64])
    events = list(c.pull(copy, stream=True))
    assert events[-1].status == "success" and all(e.status for e in events)
    assert any(e.status.startswith("pulling ") and e.total for e in events[:-1])
    assert c.pull(copy).status == "success"
    assert copy in {m.model for m in c.list().models}
    c.delete(copy)
    assert copy not in {m.model for m in c.list().models}
    with pytest.raises(ollama.ResponseError):
        c.delete(copy)


def _archive(entry_dir: Path, blobs: dict[str, bytes], manifest: bytes) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [*((f"blobs/sha256/{d[7:]}", b) for d, b in blobs.items()), ("manifest.json", manifest)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_dmr_admin_calls(tmp_path: Path, model: str) -> None:
    import hashlib

    proc, base = start_runner(tmp_path / "models", {"LLAMA_ARGS": "--ctx-size 256"})
    try:
        pull(base, model)
        df = httpx.get(f"{base}/engines/df").json()
        assert df["models_disk_usage"] > 0 and df["default_backend_disk_usage"] > 0
        assert httpx.post(f"{base}/engines/_configure", json={"model": model, "context-size": 128,
                                                               "runtime-flags": ["--temp", "0.1"]}).status_code == 202
        (config,) = httpx.get(f"{base}/engines/_configure", params={"model": model}).json()
        assert config["Config"] == {"context-size": 128, "runtime-flags": ["--temp", "0.1"]} and config["Backend"] == "llama.cpp"
        # recent requests, never their headers
        httpx.post(f"{base}/engines/v1/chat/completions", headers={"Authorization": "Bearer s3cret-token"},
                   json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}, timeout=60)
        (recorded,) = httpx.get(f"{base}/engines/requests", params={"model": model}).json()
        record = recorded["records"][-1]
        assert recorded["count"] == 1 and record["status_code"] == 200 and '"chat.completion"' in record["response"]
        assert "s3cret-token" not in json.dumps(recorded)
        # tag, then load an archive of the same model, purge
        tagged = httpx.post(f"{base}/models/{model}/tag", params={"repo": "team/tiny", "tag": "v2"})
        assert tagged.status_code == 201 and tagged.json()["target"] == "team/tiny:v2"
        assert httpx.get(f"{base}/models/team/tiny:v2").json()["id"] == httpx.get(f"{base}/models/{model}").json()["id"]
        index = json.loads((tmp_path / "models" / "models.json").read_text())["models"][0]
        blobs = {f: (tmp_path / "models" / "blobs" / "sha256" / f[7:]).read_bytes() for f in index["files"]}
        manifest = (tmp_path / "models" / "manifests" / "sha256" / index["id"][7:]).read_bytes()
        assert httpx.delete(f"{base}/models/purge").status_code == 200
        assert httpx.get(f"{base}/models").json() == []
        loaded = httpx.post(f"{base}/models/load", content=_archive(tmp_path, blobs, manifest), timeout=60)
        assert loaded.status_code == 200 and json.loads(loaded.text.splitlines()[-1])["type"] == "success"
        assert httpx.get(f"{base}/models/{index['id']}").json()["tags"] == []
        forged = dict(blobs)
        forged[next(iter(forged))] = b"not what the digest says"
        bad = httpx.post(f"{base}/models/load", content=_archive(tmp_path, forged, manifest), timeout=60)
        assert bad.status_code == 400 and "does not match" in bad.json()["error"]["message"]
        assert hashlib.sha256(manifest).hexdigest() == index["id"][7:]
    finally:
        stop(proc)
    quiet, quiet_base = start_runner(tmp_path / "quiet", {"RECORD_REQUESTS": "0"})
    try:
        assert httpx.get(f"{quiet_base}/engines/requests").status_code == 404
    finally:
        stop(quiet)


# ---- speculative decoding ------------------------------------------------------------------------------------
def test_speculative_decoding_gives_the_models_own_tokens(tmp_path: Path, model: str) -> None:
    """A draft proposes, the model verifies: greedy output is token for token the model's own, and so is
    a seeded sampled one (each token is still drawn by the model's sampler, in the same order), whether
    the draft is the model itself (everything accepted) or another model (most rejected)."""
    address = model.split("/ai/")[0]
    push_model(address, "ai/tiny-draft", "v1", [write_tiny_llama(tmp_path / "draft.gguf", n_layer=1, seed=7).read_bytes()])
    draft = f"{address}/ai/tiny-draft:v1"
    proc, base = start_runner(tmp_path / "models", {"LLAMA_ARGS": "--ctx-size 512 --parallel 2"})
    try:
        pull(base, model)
        pull(base, draft)
        bodies = {
            "greedy": ("/engines/v1/completions", {"model": model, "prompt": "the", "max_tokens": 24, "temperature": 0,
                                                   "logit_bias": NO_EOS}),
            "sampled": ("/engines/v1/completions", {"model": model, "prompt": "hello", "max_tokens": 24, "temperature": 0.9,
                                                    "seed": 5, "logit_bias": NO_EOS}),
            "chat": ("/engines/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": "hi"}],
                                                      "max_tokens": 16, "temperature": 0, "logit_bias": NO_EOS}),
        }

        def texts() -> dict[str, str]:
            out = {}
            for name, (path, body) in bodies.items():
                got = httpx.post(base + path, json=body, timeout=60).json()["choices"][0]
                out[name] = got["text"] if "text" in got else got["message"]["content"]
            streamed = [json.loads(line[6:]) for line in httpx.post(base + bodies["chat"][0], json={**bodies["chat"][1], "stream": True},
                                                                    timeout=60).text.splitlines() if line.startswith("data: {")]
            out["chat streamed"] = "".join(c["choices"][0]["delta"].get("content", "") for c in streamed if c["choices"])
            return out

        def spec_stats() -> dict:
            (worker,) = [w for w in httpx.get(f"{base}/engines/ps").json() if w["mode"] == "completion"]
            return worker["speculative"]

        plain = texts()
        assert plain["chat"] == plain["chat streamed"]
        for candidate, tokens in ((model, 4), (draft, 3)):
            assert httpx.post(f"{base}/engines/_configure", json={"model": model, "speculative": {
                "draft_model": candidate, "num_tokens": tokens}}).status_code == 202
            path, greedy = bodies["greedy"]
            assert httpx.post(base + path, json=greedy, timeout=60).json()["choices"][0]["text"] == plain["greedy"]
            stats = spec_stats()
            assert stats["drafted_tokens"] > 0 and stats["num_tokens"] == tokens
            if candidate == model:  # itself as the draft: its greedy drafts are what the model samples greedily
                assert stats["accepted_tokens"] >= 0.9 * stats["drafted_tokens"], stats
            assert texts() == plain, candidate
        (configured,) = httpx.get(f"{base}/engines/_configure", params={"model": model}).json()
        assert configured["Config"]["speculative"]["num_tokens"] == 3
        metrics = httpx.get(f"{base}/metrics").text
        assert "model_runner_draft_tokens_total" in metrics and "model_runner_draft_accepted_tokens_total" in metrics
        # min_acceptance_rate (llama-server's --spec-draft-p-min): no draft token is that sure of itself
        httpx.post(f"{base}/engines/_configure", json={"model": model, "speculative": {
            "draft_model": draft, "min_acceptance_rate": 1.0}})
        assert texts() == plain and spec_stats()["drafted_tokens"] == 0
        bad = httpx.post(f"{base}/engines/_configure", json={"model": model, "speculative": {"draft_model": "ai/absent"}})
        assert bad.status_code == 404
    finally:
        stop(proc)
