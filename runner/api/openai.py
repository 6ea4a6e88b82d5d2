"""OpenAI-compatible inference: /engines[/llama.cpp]/v1/{models,chat/completions,completions,embeddings},
with /v1/... as an alias (the paths Docker Model Runner serves)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from ..http import ApiError, Body, parse_body, read_json
from ..names import display_name
from ..results import Completion, Delta, TokenLogprob, Usage, collect, text_of
from ..service import Runner
from ..tasks import Embedding, Generation
from ..tools import ToolPlan, plan_tools, response_grammar, tool_reply, with_tools
from ..worker import COMPLETION, EMBEDDING

log = logging.getLogger("runner")
PREFIXES = ("/engines/v1", "/engines/llama.cpp/v1", "/v1")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def model_object(core: Runner, entry: Any, tag: str | None = None) -> dict:
    name = display_name(tag) if tag else display_name(entry.tags[0]) if entry.tags else entry.id
    return {"id": name, "object": "model", "created": core.store.describe(entry)["created"], "owned_by": "docker"}


class _Body(Body):
    model: str = Field(min_length=1)


class _Sampled(_Body):
    stream: bool = False
    stream_options: dict | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    max_tokens: int | None = Field(default=None, ge=0)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repeat_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    logit_bias: dict[str, float] | None = None
    response_format: dict | None = None


class ChatRequest(_Sampled):
    messages: list[dict] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=0)
    tools: list[dict] | None = None
    tool_choice: str | dict | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)


class CompletionRequest(_Sampled):
    prompt: str | list[str]
    logprobs: int | None = Field(default=None, ge=0, le=5)


class EmbeddingRequest(_Body):
    input: str | list[str]


# Fields of _Sampled that are llama-cpp-python sampling keywords (the rest shape the task).
_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "typical_p", "max_tokens", "presence_penalty",
             "frequency_penalty", "repeat_penalty", "seed", "stop")


def parse(model: type[_Body], data: dict) -> Any:
    body = parse_body(model, data)
    n = getattr(body, "n", None)
    if n is not None and n != 1:
        raise ApiError(400, "only n=1 is supported")
    return body


def generation(core: Runner, data: dict, kind: str, entry: Any) -> tuple[Generation, ToolPlan | None]:
    """An OpenAI chat or completions body as a Generation task, and the tool plan when the chat offers
    tools."""
    body = parse(ChatRequest if kind == "chat" else CompletionRequest, data)
    params = dict(core.engine.sampling_defaults(entry.id))
    params.update({k: getattr(body, k) for k in _SAMPLING if getattr(body, k) is not None})
    if isinstance(body, ChatRequest) and body.max_completion_tokens is not None:
        params["max_tokens"] = body.max_completion_tokens
    if body.logit_bias:
        try:
            params["logit_bias"] = {int(k): float(v) for k, v in body.logit_bias.items()}
        except ValueError:
            raise ApiError(400, "logit_bias must map token ids to numbers") from None
    include_usage = bool((body.stream_options or {}).get("include_usage")) and body.stream
    grammar = response_grammar(body.response_format)
    common = {"params": params, "stream": body.stream, "model": body.model, "include_usage": include_usage}
    if isinstance(body, ChatRequest):
        plan = plan_tools(body.tools, body.tool_choice)
        messages, grammar = with_tools(body.messages, plan, grammar)
        logprobs = (body.top_logprobs or 0) if body.logprobs else None
        return Generation("chat", messages=messages, grammar=grammar, logprobs=logprobs, **common), plan
    prompt = body.prompt if isinstance(body.prompt, str) else "".join(body.prompt)
    return Generation("completions", prompt=prompt, grammar=grammar, logprobs=body.logprobs, **common), None


def logprobs_object(kind: str, entries: list[TokenLogprob] | tuple[TokenLogprob, ...], offset: int = 0) -> dict:
    """OpenAI's logprobs of some tokens: chat's `content` list, or completions' parallel lists (their
    text offsets from `offset`)."""
    if kind == "chat":
        return {"content": [{"token": text_of(e.token), "logprob": e.logprob, "bytes": list(e.token),
                             "top_logprobs": [{"token": text_of(t), "logprob": lp, "bytes": list(t)} for t, lp in e.top]}
                            for e in entries], "refusal": None}
    offsets = []
    for e in entries:
        offsets.append(offset)
        offset += len(text_of(e.token))
    return {"tokens": [text_of(e.token) for e in entries], "token_logprobs": [e.logprob for e in entries],
            "top_logprobs": [{text_of(t): lp for t, lp in e.top} for e in entries], "text_offset": offsets}


@dataclass
class Reply:
    """One OpenAI response being written: its id and creation time, and how to shape it."""

    task: Generation
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def chat(self) -> bool:
        return self.task.kind == "chat"

    def _logprobs(self, entries: Any, offset: int = 0) -> dict | None:
        return logprobs_object(self.task.kind, entries, offset) if self.task.logprobs is not None else None

    def whole(self, done: Completion, plan: ToolPlan | None = None) -> dict:
        """A chat.completion or text_completion."""
        base = {"created": self.created, "model": self.task.model, "usage": done.usage.openai()}
        if not self.chat:
            return {"id": f"cmpl-{self.id}", "object": "text_completion", **base, "choices": [
                {"text": done.text, "index": 0, "logprobs": self._logprobs(done.logprobs), "finish_reason": done.reason}]}
        message: dict[str, Any] = {"role": "assistant", "content": done.text}
        finish = done.reason
        if plan is not None:  # the text is the tool plan's JSON: OpenAI's message with tool_calls
            content, calls = tool_reply(done.text)
            message = {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}
            finish = "tool_calls" if calls else finish
        return {"id": f"chatcmpl-{self.id}", "object": "chat.completion", **base, "choices": [
            {"index": 0, "message": message, "finish_reason": finish, "logprobs": self._logprobs(done.logprobs)}]}

    def chunk(self, delta: dict | None = None, text: str = "", finish: str | None = None, logprobs: Any = None) -> dict:
        if self.chat:
            return {"id": f"chatcmpl-{self.id}", "object": "chat.completion.chunk", "created": self.created,
                    "model": self.task.model, "choices": [{"index": 0, "delta": delta if delta is not None else (
                        {"content": text} if text else {}), "finish_reason": finish, "logprobs": logprobs}]}
        return {"id": f"cmpl-{self.id}", "object": "text_completion", "created": self.created, "model": self.task.model,
                "choices": [{"text": text, "index": 0, "logprobs": logprobs, "finish_reason": finish}]}

    def usage_chunk(self, usage: Usage) -> dict:
        return {**self.chunk(), "choices": [], "usage": usage.openai()}

    async def stream(self, events: AsyncIterator[Any], include_usage: bool) -> AsyncIterator[dict]:
        """The chunks of a streamed response, as the events come."""
        if self.chat:
            yield self.chunk(delta={"role": "assistant"})
        offset = 0
        async for event in events:
            if isinstance(event, Delta):
                yield self.chunk(text=event.text, logprobs=self._logprobs(event.logprobs, offset))
                offset += sum(len(text_of(e.token)) for e in event.logprobs)
            else:
                yield self.chunk(finish=event.reason)
                if include_usage:
                    yield self.usage_chunk(event.usage)

    def replay(self, done: Completion, plan: ToolPlan | None, include_usage: bool) -> list[dict]:
        """A whole chat completion as the chunks a stream of it sends (a reply with tools is decided once
        it is complete: its stream is sent at the end, as one delta)."""
        message = self.whole(done, plan)["choices"][0]
        delta: dict[str, Any] = {"role": "assistant", "content": message["message"].get("content")}
        if message["message"].get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["message"]["tool_calls"])]
        chunks = [self.chunk(delta=delta), self.chunk(finish=message["finish_reason"])]
        return chunks + ([self.usage_chunk(done.usage)] if include_usage else [])


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    async def list_models() -> dict:
        return {"object": "list", "data": [model_object(core, e, tag) for e in core.store.list() for tag in e.tags]}

    async def get_model(name: str) -> dict:
        return model_object(core, core.resolve(name))

    async def embeddings(request: Request) -> Response:
        body = parse(EmbeddingRequest, await read_json(request))
        entry = core.resolve(body.model)
        result = await core.one(core.worker_for(entry, EMBEDDING), Embedding(body.input, body.model))
        core.metrics.request("embeddings", 200)
        return JSONResponse(result)

    async def complete(request: Request, kind: str) -> Response:
        data = await read_json(request)
        entry = core.resolve(data.get("model"))  # 400 unless a non-empty string, 404 when unknown
        task, plan = generation(core, data, kind, entry)
        worker = core.worker_for(entry, COMPLETION)
        reply = Reply(task)
        if plan is not None or not task.stream:
            done = await collect(core.results(worker, task))
            core.metrics.request(kind, 200)
            if not task.stream:
                return JSONResponse(reply.whole(done, plan))
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in reply.replay(done, plan, task.include_usage))
            return Response(body + "data: [DONE]\n\n", media_type="text/event-stream", headers=SSE_HEADERS)

        async def events() -> AsyncIterator[bytes]:
            try:
                async for chunk in reply.stream(core.results(worker, task), task.include_usage):
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
