"""Ollama's API, as Docker Model Runner serves it: GET /api/tags, POST /api/show, /api/chat,
/api/generate (streamed as NDJSON unless `"stream": false`, Ollama's default being to stream),
/api/embed and /api/embeddings. Point the `ollama` client's host at the runner. Requests become the
same tasks as OpenAI ones; Ollama's `options` map onto the sampling fields."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from ..http import ApiError, Body, parse_body, read_json
from ..names import display_name
from ..results import Finish, Usage, collect
from ..service import Runner
from ..tasks import Embedding, Generation
from ..tools import schema_grammar
from ..worker import COMPLETION, EMBEDDING

# Ollama option -> sampling field of the OpenAI path (and llama-cpp-python).
_OPTIONS = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "min_p": "min_p",
            "typical_p": "typical_p", "num_predict": "max_tokens", "seed": "seed", "stop": "stop",
            "repeat_penalty": "repeat_penalty", "presence_penalty": "presence_penalty",
            "frequency_penalty": "frequency_penalty"}




class Options(Body):
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    num_predict: int | None = None
    seed: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


class ChatMessage(Body):
    role: str
    content: str = ""


class _Inference(Body):
    model: str = Field(min_length=1)
    stream: bool = True
    options: Options | None = None
    format: str | dict | None = None  # "json" or a JSON schema: the reply is constrained to it

    def grammar(self) -> str | None:
        if self.format is None or self.format == "":
            return None
        if self.format == "json":
            return schema_grammar({"type": "object"})
        if isinstance(self.format, dict):
            return schema_grammar(self.format)
        raise ApiError(400, "format must be \"json\" or a JSON schema")


class ChatRequest(_Inference):
    messages: list[ChatMessage] = Field(min_length=1)


class GenerateRequest(_Inference):
    prompt: str = ""
    system: str | None = None
    raw: bool = False


class ShowRequest(Body):
    model: str | None = None
    name: str | None = None  # older clients


class EmbedRequest(Body):
    model: str = Field(min_length=1)
    input: str | list[str] | None = None  # /api/embed
    prompt: str | None = None  # /api/embeddings



def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _details(described: dict) -> dict:
    cfg = described["config"]
    return {"format": cfg["format"] or "gguf", "family": cfg["architecture"], "families": [cfg["architecture"]] if cfg["architecture"] else None,
            "parameter_size": cfg["parameters"], "quantization_level": cfg["quantization"]}


def router(core: Runner) -> APIRouter:
    router = APIRouter(prefix="/api")

    def params_for(entry: Any, options: Options | None) -> dict:
        params = dict(core.engine.sampling_defaults(entry.id))
        for key, target in _OPTIONS.items():
            value = getattr(options, key) if options else None
            if value is not None:
                params[target] = value
        return params

    @router.get("/tags")
    async def tags() -> dict:
        models = []
        for entry in core.store.list():
            described = core.store.describe(entry)
            size = sum(p.stat().st_size for p in core.store.gguf_files(entry))
            for tag in entry.tags:
                models.append({"name": display_name(tag), "model": display_name(tag),
                               "modified_at": datetime.fromtimestamp(described["created"], UTC).isoformat().replace("+00:00", "Z"),
                               "size": size, "digest": entry.id.removeprefix("sha256:"), "details": _details(described)})
        return {"models": models}

    @router.post("/show")
    async def show(request: Request) -> dict:
        body = parse_body(ShowRequest, await read_json(request))
        entry = core.resolve(body.model or body.name)
        described = core.store.describe(entry)
        return {"modelfile": "", "parameters": "", "template": core.store.chat_template(entry) or "",
                "details": _details(described), "model_info": {"general.architecture": described["config"]["architecture"]},
                "capabilities": ["completion", "embedding"], "modified_at": _now()}

    async def generate(task: Generation, worker: Any, shape: str) -> Response:
        started = time.monotonic_ns()

        def final(text: str, finish: str | None, usage: Usage) -> dict:
            out = {"model": task.model, "created_at": _now(), "done": True,
                   "done_reason": "length" if finish == "length" else "stop",
                   "total_duration": time.monotonic_ns() - started, "load_duration": 0,
                   "prompt_eval_count": usage.prompt_tokens, "prompt_eval_duration": 0,
                   "eval_count": usage.completion_tokens, "eval_duration": 0}
            return {**out, **({"message": {"role": "assistant", "content": text}} if shape == "chat" else {"response": text})}

        def piece(text: str) -> dict:
            body = {"message": {"role": "assistant", "content": text}} if shape == "chat" else {"response": text}
            return {"model": task.model, "created_at": _now(), **body, "done": False}

        core.metrics.request("ollama", 200)
        if not task.stream:
            done = await collect(core.results(worker, task))
            return JSONResponse(final(done.text, done.reason, done.usage))

        async def lines() -> AsyncIterator[bytes]:
            last = None
            try:
                async for event in core.results(worker, task):
                    if isinstance(event, Finish):
                        last = event
                    elif event.text:
                        yield (json.dumps(piece(event.text)) + "\n").encode()
            except Exception as exc:  # the stream has started: report in-band, as Ollama does
                yield (json.dumps({"error": str(exc)}) + "\n").encode()
                return
            yield (json.dumps(final("", last.reason if last else "stop", last.usage if last else Usage(0, 0))) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @router.post("/chat")
    async def chat(request: Request) -> Response:
        body = parse_body(ChatRequest, await read_json(request))
        entry = core.resolve(body.model)
        messages = [{"role": m.role, "content": m.content} for m in body.messages]
        task = Generation("chat", messages=messages, params=params_for(entry, body.options), stream=body.stream,
                          model=body.model, include_usage=body.stream, grammar=body.grammar())
        return await generate(task, core.worker_for(entry, COMPLETION), "chat")

    @router.post("/generate")
    async def generate_text(request: Request) -> Response:
        body = parse_body(GenerateRequest, await read_json(request))
        entry = core.resolve(body.model)
        params = params_for(entry, body.options)
        if body.raw:
            task = Generation("completions", prompt=body.prompt, params=params, stream=body.stream, model=body.model,
                              include_usage=body.stream, grammar=body.grammar())
        else:  # Ollama formats the prompt with the model's template: a one-turn chat
            messages = ([{"role": "system", "content": body.system}] if body.system else []) + [
                {"role": "user", "content": body.prompt}]
            task = Generation("chat", messages=messages, params=params, stream=body.stream, model=body.model,
                              include_usage=body.stream, grammar=body.grammar())
        return await generate(task, core.worker_for(entry, COMPLETION), "generate")

    async def embed_vectors(body: EmbedRequest, inputs: str | list[str]) -> list[list[float]]:
        entry = core.resolve(body.model)
        result = await core.one(core.worker_for(entry, EMBEDDING), Embedding(inputs, body.model))
        core.metrics.request("ollama", 200)
        return [item["embedding"] for item in result["data"]]

    @router.post("/embed")
    async def embed(request: Request) -> dict:
        body = parse_body(EmbedRequest, await read_json(request))
        if body.input is None:
            raise ApiError(400, "input: field required")
        return {"model": body.model, "embeddings": await embed_vectors(body, body.input)}

    @router.post("/embeddings")
    async def embeddings(request: Request) -> dict:
        body = parse_body(EmbedRequest, await read_json(request))
        if body.prompt is None:
            raise ApiError(400, "prompt: field required")
        return {"embedding": (await embed_vectors(body, body.prompt))[0]}

    return router
