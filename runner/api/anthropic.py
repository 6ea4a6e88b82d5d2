"""Anthropic's Messages API, as Docker Model Runner serves it: POST /anthropic/v1/messages (streamed as
Anthropic's server-sent events, or one message) and /anthropic/v1/messages/count_tokens. Point the
`anthropic` client at `<runner>/anthropic`. Requests become the same Generation tasks as OpenAI chats."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from ..http import ApiError, Body, parse_body, read_json
from ..results import Finish, collect
from ..service import Runner
from ..tasks import CountTokens, Generation
from ..worker import COMPLETION

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error"}




class TextBlock(Body):
    type: Literal["text"]
    text: str


class Message(Body):
    role: Literal["user", "assistant"]
    content: str | list[TextBlock]


class CountRequest(Body):
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    system: str | list[TextBlock] | None = None


class MessagesRequest(CountRequest):
    max_tokens: int = Field(ge=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None


def _text(content: str | list[TextBlock] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(block.text for block in content)


def chat_messages(body: CountRequest) -> list[dict]:
    out = [{"role": "system", "content": _text(body.system)}] if body.system else []
    return out + [{"role": m.role, "content": _text(m.content)} for m in body.messages]



def error_response(exc: ApiError) -> JSONResponse:
    kind = _ERROR_TYPES.get(exc.status, "api_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": exc.message}}, status_code=exc.status)


def _stop_reason(finish: str | None) -> str:
    return "max_tokens" if finish == "length" else "end_turn"


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def router(core: Runner) -> APIRouter:
    router = APIRouter(prefix="/anthropic/v1")

    @router.post("/messages/count_tokens")
    async def count_tokens(request: Request) -> dict:
        body = parse_body(CountRequest, await read_json(request))
        entry = core.resolve(body.model)
        return await core.one(core.worker_for(entry, COMPLETION), CountTokens(chat_messages(body)))

    @router.post("/messages")
    async def messages(request: Request) -> Response:
        body = parse_body(MessagesRequest, await read_json(request))
        entry = core.resolve(body.model)
        params = dict(core.engine.sampling_defaults(entry.id))
        params["max_tokens"] = body.max_tokens
        for key in ("temperature", "top_p", "top_k"):
            if getattr(body, key) is not None:
                params[key] = getattr(body, key)
        if body.stop_sequences:
            params["stop"] = body.stop_sequences
        task = Generation("chat", messages=chat_messages(body), params=params, stream=body.stream, model=body.model,
                          include_usage=body.stream)
        worker = core.worker_for(entry, COMPLETION)
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        core.metrics.request("anthropic", 200)
        if not body.stream:
            done = await collect(core.results(worker, task))
            return JSONResponse({
                "id": message_id, "type": "message", "role": "assistant", "model": body.model,
                "content": [{"type": "text", "text": done.text}],
                "stop_reason": _stop_reason(done.reason), "stop_sequence": None,
                "usage": {"input_tokens": done.usage.prompt_tokens, "output_tokens": done.usage.completion_tokens},
            })
        prompt_tokens = (await core.one(worker, CountTokens(task.messages or [])))["input_tokens"]

        async def events() -> AsyncIterator[bytes]:
            yield _sse("message_start", {"type": "message_start", "message": {
                "id": message_id, "type": "message", "role": "assistant", "model": body.model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": prompt_tokens, "output_tokens": 0}}})
            yield _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})
            yield _sse("ping", {"type": "ping"})
            finish, output = None, 0
            try:
                async for event in core.results(worker, task):
                    if isinstance(event, Finish):
                        finish, output = event.reason, event.usage.completion_tokens
                    elif event.text:
                        yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                           "delta": {"type": "text_delta", "text": event.text}})
            except Exception as exc:  # the stream has started: report in-band, as Anthropic does
                yield _sse("error", {"type": "error", "error": {"type": "api_error", "message": str(exc)}})
                return
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            yield _sse("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": _stop_reason(finish), "stop_sequence": None},
                                         "usage": {"input_tokens": prompt_tokens, "output_tokens": output}})
            yield _sse("message_stop", {"type": "message_stop"})

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router
