"""Ollama's API, as Docker Model Runner serves it: GET /api/version, /api/tags, /api/ps, POST
/api/show, /api/chat (with `tools`), /api/generate (streamed as NDJSON unless `"stream": false`,
Ollama's default being to stream), /api/embed, /api/embeddings, /api/pull (progress in Ollama's
shape), DELETE /api/delete. Point the `ollama` client's host at the runner. Requests become the same
tasks as OpenAI ones; Ollama's `options` map onto the sampling fields."""

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
from ..tools import ToolPlan, plan_tools, schema_grammar, tool_reply, with_tools
from ..worker import COMPLETION, EMBEDDING
from .models import pull_events, pull_source

# What GET /api/version answers: the Ollama API version this server speaks (clients such as Open WebUI
# call it to test a connection and gate features on it).
OLLAMA_VERSION = "0.12.0"

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
    tool_calls: list[dict] | None = None  # an assistant's earlier calls: [{"function": {"name", "arguments"}}]
    tool_name: str | None = None  # a tool result's tool


class PullRequest(Body):
    model: str | None = None
    name: str | None = None  # older clients
    stream: bool = True
    insecure: bool = False


class DeleteRequest(Body):
    model: str | None = None
    name: str | None = None


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
    tools: list[dict] | None = None


def chat_messages(messages: list[ChatMessage]) -> list[dict]:
    """Ollama's messages as OpenAI's (tool calls with JSON-string arguments, results as tool messages)."""
    out: list[dict] = []
    for i, m in enumerate(messages):
        if m.role == "assistant" and m.tool_calls:
            calls = [{"id": f"call_{i}_{j}", "type": "function",
                      "function": {"name": (c.get("function") or {}).get("name", ""),
                                   "arguments": json.dumps((c.get("function") or {}).get("arguments") or {})}}
                     for j, c in enumerate(m.tool_calls)]
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": calls})
        elif m.role == "tool":
            out.append({"role": "tool", "name": m.tool_name or "tool", "tool_call_id": m.tool_name or "tool",
                        "content": m.content})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


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



def ollama_progress(event: dict) -> dict:
    """A DMR pull event in Ollama's pull progress shape."""
    kind = event.get("type")
    if kind == "success":
        return {"status": "success"}
    if kind == "error":
        return {"error": event.get("message", "pull failed")}
    layer = event.get("layer") or {}
    digest = str(layer.get("id") or "")
    status = f"pulling {digest.removeprefix('sha256:')[:12]}" if digest.startswith("sha256:") else "pulling manifest"
    out = {"status": status, "digest": digest, "total": layer.get("size"), "completed": layer.get("current")}
    return {k: v for k, v in out.items() if v}


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

    async def generate(task: Generation, worker: Any, shape: str, plan: ToolPlan | None = None) -> Response:
        started = time.monotonic_ns()

        def final(text: str, finish: str | None, usage: Usage, calls: list[dict] | None = None) -> dict:
            out = {"model": task.model, "created_at": _now(), "done": True,
                   "done_reason": "length" if finish == "length" else "stop",
                   "total_duration": time.monotonic_ns() - started, "load_duration": 0,
                   "prompt_eval_count": usage.prompt_tokens, "prompt_eval_duration": 0,
                   "eval_count": usage.completion_tokens, "eval_duration": 0}
            message = {"role": "assistant", "content": text, **({"tool_calls": calls} if calls else {})}
            return {**out, **({"message": message} if shape == "chat" else {"response": text})}

        def piece(text: str) -> dict:
            body = {"message": {"role": "assistant", "content": text}} if shape == "chat" else {"response": text}
            return {"model": task.model, "created_at": _now(), **body, "done": False}

        core.metrics.request("ollama", 200)
        if plan is not None:  # tool calls are decided once the reply is whole: one message, then done
            done = await collect(core.results(worker, task))
            content, calls = tool_reply(done.text)
            calls = [{"function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}}
                     for c in calls]
            if not task.stream:
                return JSONResponse(final(content or "", done.reason, done.usage, calls))
            lines = [{"model": task.model, "created_at": _now(), "message": {
                "role": "assistant", "content": content or "", **({"tool_calls": calls} if calls else {})}, "done": False},
                final("", done.reason, done.usage)]
            return Response("".join(json.dumps(line) + "\n" for line in lines), media_type="application/x-ndjson")
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
        plan = plan_tools(body.tools, "auto")
        messages, grammar = with_tools(chat_messages(body.messages), plan, body.grammar())
        task = Generation("chat", messages=messages, params=params_for(entry, body.options), stream=body.stream,
                          model=body.model, grammar=grammar)
        return await generate(task, core.worker_for(entry, COMPLETION), "chat", plan)

    @router.post("/generate")
    async def generate_text(request: Request) -> Response:
        body = parse_body(GenerateRequest, await read_json(request))
        entry = core.resolve(body.model)
        params = params_for(entry, body.options)
        if body.raw:
            task = Generation("completions", prompt=body.prompt, params=params, stream=body.stream, model=body.model,
                              grammar=body.grammar())
        else:  # Ollama formats the prompt with the model's template: a one-turn chat
            messages = ([{"role": "system", "content": body.system}] if body.system else []) + [
                {"role": "user", "content": body.prompt}]
            task = Generation("chat", messages=messages, params=params, stream=body.stream, model=body.model,
                              grammar=body.grammar())
        return await generate(task, core.worker_for(entry, COMPLETION), "generate")

    async def embed_vectors(body: EmbedRequest, inputs: str | list[str]) -> list[list[float]]:
        entry = core.resolve(body.model)
        result = await core.one(core.worker_for(entry, EMBEDDING), Embedding(inputs, body.model))
        core.metrics.request("ollama", 200)
        return [item["embedding"] for item in result["data"]]

    @router.get("/version")
    async def version() -> dict:
        return {"version": OLLAMA_VERSION}

    @router.get("/ps")
    async def ps() -> dict:
        running = []
        for w in core.engine.running():
            if not w["loaded"] or w["mode"] != COMPLETION:
                continue
            try:
                entry = core.store.find(w["model_name"])
            except Exception:  # noqa: BLE001 - deleted since: nothing to show
                continue
            size = sum(p.stat().st_size for p in core.store.gguf_files(entry))
            expires = datetime.fromtimestamp(w["last_used"] + core.engine.keep_alive, UTC)
            running.append({"name": w["model_name"], "model": w["model_name"], "size": size,
                            "digest": entry.id.removeprefix("sha256:"), "details": _details(core.store.describe(entry)),
                            "expires_at": expires.isoformat().replace("+00:00", "Z"), "size_vram": 0})
        return {"models": running}

    @router.post("/pull")
    async def pull_model(request: Request) -> Response:
        body = parse_body(PullRequest, await read_json(request))
        name = body.model or body.name
        if not name:
            raise ApiError(400, "model: field required")
        events = pull_events(core, pull_source(name))
        if not body.stream:
            last: dict = {}
            async for event in events:
                last = event
            if last.get("type") == "error":
                return JSONResponse({"error": last.get("message", "pull failed")}, status_code=500)
            return JSONResponse({"status": "success"})

        async def lines() -> AsyncIterator[bytes]:
            async for event in events:
                yield (json.dumps(ollama_progress(event)) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @router.delete("/delete")
    async def delete(request: Request) -> Response:
        body = parse_body(DeleteRequest, await read_json(request))
        entry = core.resolve(body.model or body.name)
        core.engine.unload({entry.id})
        core.store.delete(entry.id)
        return Response(status_code=200)

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
