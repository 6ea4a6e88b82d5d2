"""OpenAI-compatible inference: /engines[/llama.cpp]/v1/{models,chat/completions,completions,embeddings},
with /v1/... as an alias (the paths Docker Model Runner serves)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..http import ApiError, check_fields, field, read_json, sampling
from ..names import display_name
from ..service import Runner
from ..tasks import Embedding, Generation
from ..worker import COMPLETION, EMBEDDING

PREFIXES = ("/engines/v1", "/engines/llama.cpp/v1", "/v1")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_object(core: Runner, entry: Any, tag: str | None = None) -> dict:
    name = display_name(tag) if tag else display_name(entry.tags[0]) if entry.tags else entry.id
    return {"id": name, "object": "model", "created": core.store.describe(entry)["created"], "owned_by": "docker"}


def generation(core: Runner, data: dict, kind: str, entry: Any) -> Generation:
    """An OpenAI chat or completions body as a Generation task (400 on fields of the wrong type)."""
    params = sampling(data, core.engine.sampling_defaults(entry.id))
    stream = bool(field(data, "stream", bool, default=False))
    options = field(data, "stream_options", dict, default={})
    include_usage = bool(options.get("include_usage")) and stream
    if kind == "chat":
        messages = field(data, "messages", list, required=True)
        if not messages or not all(isinstance(m, dict) for m in messages):
            raise ApiError(400, "field 'messages' must be a non-empty list of objects")
        return Generation("chat", messages=messages, params=params, stream=stream, model=data["model"],
                          include_usage=include_usage)
    prompt = field(data, "prompt", (str, list), required=True)
    if isinstance(prompt, list):
        if not all(isinstance(p, str) for p in prompt):
            raise ApiError(400, "field 'prompt' must be a string")
        prompt = "".join(prompt)
    return Generation("completions", prompt=prompt, params=params, stream=stream, model=data["model"],
                      include_usage=include_usage)


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
        task = generation(core, data, kind, entry)
        worker = core.worker_for(entry, COMPLETION)
        if not task.stream:
            result = await core.one(worker, task)
            result["model"] = task.model
            core.metrics.request(kind, 200)
            return JSONResponse(result)

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
