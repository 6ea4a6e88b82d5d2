"""OpenAI-compatible inference: /engines[/llama.cpp]/v1/{models,chat/completions,completions,embeddings},
with /v1/... as an alias (the paths Docker Model Runner serves)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..http import ApiError, check_fields, field, read_json, sampling
from ..names import display_name
from ..service import Runner
from ..tasks import Embedding, Generation
from ..tools import ToolPlan, plan_tools, response_grammar, schema_grammar, tool_messages, tool_reply
from ..worker import COMPLETION, EMBEDDING

PREFIXES = ("/engines/v1", "/engines/llama.cpp/v1", "/v1")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_object(core: Runner, entry: Any, tag: str | None = None) -> dict:
    name = display_name(tag) if tag else display_name(entry.tags[0]) if entry.tags else entry.id
    return {"id": name, "object": "model", "created": core.store.describe(entry)["created"], "owned_by": "docker"}


def generation(core: Runner, data: dict, kind: str, entry: Any) -> tuple[Generation, ToolPlan | None]:
    """An OpenAI chat or completions body as a Generation task (400 on fields of the wrong type), and
    the tool plan when the chat offers tools."""
    params = sampling(data, core.engine.sampling_defaults(entry.id))
    for key in ("response_format", "tools", "tool_choice", "logprobs", "top_logprobs"):
        params.pop(key, None)  # turned into a grammar and a logprobs count below
    stream = bool(field(data, "stream", bool, default=False))
    options = field(data, "stream_options", dict, default={})
    include_usage = bool(options.get("include_usage")) and stream
    grammar = response_grammar(data.get("response_format"))
    logprobs = _logprobs(data, kind)
    if kind == "chat":
        messages = field(data, "messages", list, required=True)
        if not messages or not all(isinstance(m, dict) for m in messages):
            raise ApiError(400, "field 'messages' must be a non-empty list of objects")
        plan = plan_tools(field(data, "tools", list), data.get("tool_choice"))
        if plan is not None:
            messages, grammar = tool_messages(messages, plan), schema_grammar(plan.schema)
        elif any(m.get("role") == "tool" or m.get("tool_calls") or not isinstance(m.get("content"), str) for m in messages):
            messages = tool_messages(messages, None)
        return Generation("chat", messages=messages, params=params, stream=stream, model=data["model"],
                          include_usage=include_usage, grammar=grammar, logprobs=logprobs), plan
    prompt = field(data, "prompt", (str, list), required=True)
    if isinstance(prompt, list):
        if not all(isinstance(p, str) for p in prompt):
            raise ApiError(400, "field 'prompt' must be a string")
        prompt = "".join(prompt)
    return Generation("completions", prompt=prompt, params=params, stream=stream, model=data["model"],
                      include_usage=include_usage, grammar=grammar, logprobs=logprobs), None


def _logprobs(data: dict, kind: str) -> int | None:
    """Chat: `logprobs: true` with `top_logprobs` (0-20) alternatives; completions: `logprobs: N` (0-5)."""
    raw = field(data, "logprobs", (bool, int))
    if kind == "chat":
        top = field(data, "top_logprobs", int)
        if top is not None and not 0 <= top <= 20:
            raise ApiError(400, "top_logprobs must be between 0 and 20")
        return (top or 0) if raw else None
    if raw is None or raw is False:
        return None
    if isinstance(raw, bool) or not 0 <= raw <= 5:
        raise ApiError(400, "logprobs must be an integer between 0 and 5 on completions")
    return raw


def with_tool_calls(result: dict) -> dict:
    """A chat completion whose text is the tool-plan JSON, as OpenAI's message with tool_calls."""
    choice = result["choices"][0]
    content, calls = tool_reply(choice["message"].get("content") or "")
    choice["message"] = {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}
    if calls:
        choice["finish_reason"] = "tool_calls"
    return result


def replay_stream(result: dict, include_usage: bool) -> list[dict]:
    """A whole chat completion as the chunks a stream of it would have sent (tools are decided once the
    reply is complete, so such streams are sent at the end, as one delta)."""
    choice = result["choices"][0]
    message = choice["message"]
    base = {"id": result["id"], "object": "chat.completion.chunk", "created": result["created"], "model": result["model"]}
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}]},
              {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"], "logprobs": None}]}]
    if include_usage:
        chunks.append({**base, "choices": [], "usage": result.get("usage")})
    return chunks


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    async def list_models() -> dict:
        return {"object": "list", "data": [model_object(core, e, tag) for e in core.store.list() for tag in e.tags]}

    async def get_model(name: str) -> dict:
        return model_object(core, core.resolve(name))

    async def embeddings(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "embeddings")
        entry = core.resolve(data.get("model"))
        inputs = field(data, "input", (str, list), required=True)
        if isinstance(inputs, list) and not all(isinstance(x, str) for x in inputs):
            raise ApiError(400, "field 'input' must be a string or a list of strings")
        result = await core.one(core.worker_for(entry, EMBEDDING), Embedding(inputs, data["model"]))
        core.metrics.request("embeddings", 200)
        return JSONResponse(result)

    async def complete(request: Request, kind: str) -> Response:
        data = await read_json(request)
        check_fields(data, kind)
        entry = core.resolve(data.get("model"))
        task, plan = generation(core, data, kind, entry)
        worker = core.worker_for(entry, COMPLETION)
        streamed = task.stream
        if plan is not None:
            task = dataclasses.replace(task, stream=False, include_usage=False)
        if not task.stream:
            result = await core.one(worker, task)
            result["model"] = task.model
            if plan is not None:
                result = with_tool_calls(result)
            core.metrics.request(kind, 200)
            if not streamed:
                return JSONResponse(result)
            replay = replay_stream(result, bool((data.get("stream_options") or {}).get("include_usage")))
            body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in replay) + "data: [DONE]\n\n"
            return Response(body, media_type="text/event-stream", headers=SSE_HEADERS)

        async def events() -> AsyncIterator[bytes]:
            try:
                async for chunk in core.results(worker, task):
                    chunk["model"] = task.model
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
            except Exception as exc:  # the stream has started: report in-band
                yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n".encode()
            yield b"data: [DONE]\n\n"

        core.metrics.request(kind, 200)
        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def chat(request: Request) -> Response:
        return await complete(request, "chat")

    async def completions(request: Request) -> Response:
        return await complete(request, "completions")

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/models", list_models, methods=["GET"])
        router.add_api_route(f"{prefix}/models/{{name:path}}", get_model, methods=["GET"])
        router.add_api_route(f"{prefix}/chat/completions", chat, methods=["POST"])
        router.add_api_route(f"{prefix}/completions", completions, methods=["POST"])
        router.add_api_route(f"{prefix}/embeddings", embeddings, methods=["POST"])
    return router
