"""Fast unit tests of the runner's pure parts: tool plans and replies, response_format grammars, slot
choice and automatic slot counts. No model, no server."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the runner's dependencies are not installed: pip install '.[runner]'")
pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: pip install '.[runner]' (make test does)")

from runner.batch import auto_slots, kv_bytes_per_token, pick_slot  # noqa: E402
from runner.http import ApiError  # noqa: E402
from runner.tools import plan_tools, response_grammar, tool_messages, tool_reply  # noqa: E402

pytestmark = pytest.mark.unit

TOOL = {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}


def test_tool_plan_offers_a_reply_unless_a_call_is_required() -> None:
    auto = plan_tools([TOOL], "auto")
    assert auto is not None and len(auto.schema["anyOf"]) == 2 and "response" in auto.system
    required = plan_tools([TOOL], "required")
    assert required is not None and "anyOf" not in required.schema
    assert required.schema["properties"]["tool_call"]["properties"]["name"] == {"const": "add"}
    assert plan_tools([TOOL], "none") is None and plan_tools(None, "auto") is None
    with pytest.raises(ApiError):
        plan_tools([TOOL], {"type": "function", "function": {"name": "sub"}})
    with pytest.raises(ApiError):
        plan_tools([{"type": "function"}], "auto")


def test_tool_reply_parsing() -> None:
    content, calls = tool_reply('{"tool_call": {"name": "add", "arguments": {"a": 1}}}')
    assert content is None and calls[0]["function"] == {"name": "add", "arguments": '{"a": 1}'}
    assert calls[0]["id"].startswith("call_") and calls[0]["type"] == "function"
    assert tool_reply('{"response": "hi"}') == ("hi", [])
    assert tool_reply('{"tool_call": {"na') == ('{"tool_call": {"na', [])  # cut short: text as it is


def test_tool_history_becomes_plain_turns() -> None:
    plan = plan_tools([TOOL], "auto")
    history = [{"role": "system", "content": "be exact"}, {"role": "user", "content": [{"type": "text", "text": "1+1"}]},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}]},
               {"role": "tool", "tool_call_id": "c1", "content": "2"}]
    out = tool_messages(history, plan)
    assert out[0]["role"] == "system" and out[0]["content"].startswith("be exact\n\n") and '"add"' in out[0]["content"]
    assert out[1] == {"role": "user", "content": "1+1"}
    assert json.loads(out[2]["content"]) == {"tool_call": {"name": "add", "arguments": {"a": 1}}}
    assert out[3] == {"role": "user", "content": "Result of c1: 2"}
    assert tool_messages(history, None)[0] == {"role": "system", "content": "be exact"}


def test_response_grammar() -> None:
    assert response_grammar(None) is None and response_grammar({"type": "text"}) is None
    assert "root" in response_grammar({"type": "json_object"})
    grammar = response_grammar({"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}})
    assert 'n-kv ::= "\\"n\\"" space ":" space integer' in grammar
    assert 'root ::= "{" space n-kv "}" space' in grammar
    for bad in ({"type": "yaml"}, "json", {"type": "json_schema", "json_schema": "x"}):
        with pytest.raises(ApiError):
            response_grammar(bad)


def test_pick_slot_prefers_the_longest_shared_prefix() -> None:
    cached = {0: [1, 2, 3, 4], 1: [1, 2, 9], 2: []}
    assert pick_slot([0, 1, 2], cached, [1, 2, 3, 4, 5]) == (0, 4)
    assert pick_slot([1, 2], cached, [1, 2, 3]) == (1, 2)
    assert pick_slot([0, 1, 2], cached, [1, 2, 3, 4]) == (0, 3)  # the last prompt token is evaluated again
    assert pick_slot([0, 2], cached, [7, 7]) == (2, 0)  # nothing shared: an empty slot, other caches kept
    assert pick_slot([0], cached, [7]) == (0, 0)


GEMMA3_270M = {"general.architecture": "gemma3", "gemma3.block_count": 18, "gemma3.attention.head_count": 4,
               "gemma3.attention.head_count_kv": 1, "gemma3.attention.key_length": 256,
               "gemma3.attention.value_length": 256, "gemma3.embedding_length": 640}


def test_automatic_slots_follow_memory() -> None:
    per_token = kv_bytes_per_token(GEMMA3_270M)
    assert per_token == 2 * 18 * 1 * 512
    gib = 1 << 30
    assert auto_slots(GEMMA3_270M, 4096, 250 << 20, 16 * gib) == 8
    # half of 1 GiB, less the model, holds 3 sequences of 4096 tokens at 18 KiB a token
    assert auto_slots(GEMMA3_270M, 4096, 250 << 20, gib) == (gib // 2 - (250 << 20)) // (4096 * per_token)
    assert auto_slots(GEMMA3_270M, 4096, 250 << 20, 100 << 20) == 1
    assert auto_slots({}, 4096, 0, None) == 4


def test_engine_caps_evict_the_least_recently_used_idle_model(tmp_path) -> None:
    from runner.engine import CapacityError, Engine, parse_bytes
    from runner.metrics import Metrics

    assert parse_bytes("8Gi") == 8 * 2**30 and parse_bytes("2G") == 2 * 10**9 and parse_bytes("1000") == 1000
    files = {}
    for name, size in (("a", 40), ("b", 40), ("c", 40), ("huge", 500)):
        files[name] = tmp_path / f"{name}.gguf"
        files[name].write_bytes(b"x" * size)
    engine = Engine(Metrics(), max_loaded=2, max_memory=100)
    try:
        a = engine.worker("a", "a", [files["a"]], "completion", None)
        b = engine.worker("b", "b", [files["b"]], "completion", None)
        b.last_used = a.last_used + 1
        engine.worker("c", "c", [files["c"]], "completion", None)  # over both caps: a (oldest, idle) goes
        assert sorted(k[0] for k in engine.workers) == ["b", "c"]
        for w in engine.workers.values():
            w.pending = lambda: 1  # busy
        with pytest.raises(CapacityError, match="busy"):
            engine.worker("a", "a", [files["a"]], "completion", None)
        with pytest.raises(CapacityError, match="more than this runner may load"):
            engine.worker("huge", "huge", [files["huge"]], "completion", None)
    finally:
        engine.unload(None)


def test_drafting_stops_for_a_sequence_whose_drafts_keep_missing() -> None:
    """batch.BatchedWorker._draft_room: the draft's n_max within the batch, max_tokens and context; none
    once 2 x n_max drafts were verified and fewer than min_acceptance_rate of them accepted."""
    from types import SimpleNamespace

    from runner.batch import BatchedWorker

    worker = BatchedWorker.__new__(BatchedWorker)  # no model: only the arithmetic
    worker.per_seq = 100
    worker.draft = SimpleNamespace(n_max=4, p_min=0.5)
    seq = SimpleNamespace(max_tokens=50, generated=0, n_past=10, drafted=0, accepted=0)
    assert worker._draft_room(seq, room=64) == 4
    assert worker._draft_room(seq, room=3) == 2  # the batch has room for the next token and 2 drafts
    seq.generated = 48
    assert worker._draft_room(seq, room=64) == 1  # one more token may follow the next one
    seq.generated, seq.drafted, seq.accepted = 0, 8, 3
    assert worker._draft_room(seq, room=64) == 0  # 3 of 8 accepted < 50%
    seq.accepted = 4
    assert worker._draft_room(seq, room=64) == 4
    worker.draft = SimpleNamespace(n_max=4, p_min=0.0)  # no threshold: always drafting
    seq.accepted = 0
    assert worker._draft_room(seq, room=64) == 4
    worker.draft = None
    assert worker._draft_room(seq, room=64) == 0


def test_with_tools_prepares_a_chat_for_any_api() -> None:
    from runner.tools import with_tools

    plain = [{"role": "user", "content": "hi"}]
    assert with_tools(plain, None, "g") == (plain, "g")  # nothing to rewrite: as given
    history = [*plain, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    messages, grammar = with_tools(history, None, "g")
    assert grammar == "g" and [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == '{"tool_call": {"name": "f", "arguments": {"x": 1}}}'
    plan = plan_tools([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "required")
    messages, grammar = with_tools(plain, plan, "ignored")
    assert messages[0]["role"] == "system" and "f" in messages[0]["content"] and grammar and grammar != "ignored"
