"""Anthropic's Messages API, as Docker Model Runner serves it: POST /anthropic/v1/messages (streamed as
Anthropic's server-sent events, or one message) and /anthropic/v1/messages/count_tokens. Point the
`anthropic` client at `<runner>/anthropic`. Requests become the same Generation tasks as OpenAI chats;
`tools` (with `tool_use` and `tool_result` blocks) go through the same tool plan (tools.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from ..http import ApiError, Body, parse_body, read_json
from ..results import Finish, collect
from ..service import Runner
from ..tasks import CountTokens, Generation
from ..tools import ToolPlan, plan_tools, tool_reply, with_tools
from ..worker import COMPLETION

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error"}




class TextBlock(Body):
    type: Literal["text"]
    text: str


class ToolUseBlock(Body):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict


class ToolResultBlock(Body):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[TextBlock] = ""
    is_error: bool = False


Block = Annotated[TextBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")]


class Message(Body):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class Tool(Body):
    name: str = Field(min_length=1)
    description: str = ""
    input_schema: dict


class ToolChoice(Body):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None


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
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None

    def plan(self) -> ToolPlan | None:
        """The tool plan of OpenAI's shape for this request's tools and tool_choice."""
        if not self.tools:
            return None
        choice = self.tool_choice or ToolChoice(type="auto")
        openai_choice: Any = {"auto": "auto", "any": "required", "none": "none"}.get(choice.type)
        if choice.type == "tool":
            openai_choice = {"type": "function", "function": {"name": choice.name}}
        return plan_tools([{"type": "function", "function": {"name": t.name, "description": t.description,
                                                             "parameters": t.input_schema}} for t in self.tools],
                          openai_choice)


def _text(content: str | list | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(block.text for block in content if isinstance(block, TextBlock))


def chat_messages(body: CountRequest) -> list[dict]:
    """Anthropic's messages as OpenAI's: tool_use blocks as the assistant's tool_calls, tool_result
    blocks as tool messages."""
    out: list[dict] = [{"role": "system", "content": _text(body.system)}] if body.system else []
    for m in body.messages:
        blocks = m.content if isinstance(m.content, list) else []
        calls = [{"id": b.id, "type": "function", "function": {"name": b.name, "arguments": json.dumps(b.input)}}
                 for b in blocks if isinstance(b, ToolUseBlock)]
        for b in blocks:
            if isinstance(b, ToolResultBlock):
                out.append({"role": "tool", "tool_call_id": b.tool_use_id, "content": _text(b.content)})
        text = _text(m.content)
        if calls:
            out.append({"role": "assistant", "content": text or None, "tool_calls": calls})
        elif text or not blocks:
            out.append({"role": m.role, "content": text})
    return out


def content_blocks(text: str, plan: ToolPlan | None) -> tuple[list[dict], bool]:
    """The reply as Anthropic content blocks, and whether it uses a tool."""
    if plan is None:
        return [{"type": "text", "text": text}], False
    content, calls = tool_reply(text)
    blocks: list[dict] = [{"type": "text", "text": content}] if content else []
    blocks += [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": c["function"]["name"],
                "input": json.loads(c["function"]["arguments"])} for c in calls]
    return blocks, bool(calls)



def error_response(exc: ApiError) -> JSONResponse:
    kind = _ERROR_TYPES.get(exc.status, "api_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": exc.message}}, status_code=exc.status)


def _stop_reason(finish: str | None) -> str:
    return "max_tokens" if finish == "length" else "end_turn"


def block_events(index: int, block: dict) -> list[tuple[str, dict]]:
    """A whole content block as the events that stream it (tool input as one input_json_delta)."""
    if block["type"] == "tool_use":
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
    return [("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": index})]


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
        plan = body.plan()
        messages, grammar = with_tools(chat_messages(body), plan)
        task = Generation("chat", messages=messages, params=params, stream=body.stream, model=body.model,
                          grammar=grammar)
        worker = core.worker_for(entry, COMPLETION)
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        core.metrics.request("anthropic", 200)
        if not body.stream:
            done = await collect(core.results(worker, task))
            blocks, used_tool = content_blocks(done.text, plan)
            return JSONResponse({
                "id": message_id, "type": "message", "role": "assistant", "model": body.model, "content": blocks,
                "stop_reason": "tool_use" if used_tool else _stop_reason(done.reason), "stop_sequence": None,
                "usage": {"input_tokens": done.usage.prompt_tokens, "output_tokens": done.usage.completion_tokens},
            })
        prompt_tokens = (await core.one(worker, CountTokens(task.messages or [])))["input_tokens"]

        async def events() -> AsyncIterator[bytes]:
            yield _sse("message_start", {"type": "message_start", "message": {
                "id": message_id, "type": "message", "role": "assistant", "model": body.model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": prompt_tokens, "output_tokens": 0}}})
            if plan is not None:  # the tool is decided once the reply is whole: its blocks, then the end
                try:
                    done = await collect(core.results(worker, task))
                except Exception as exc:  # the stream has started: report in-band, as Anthropic does
                    yield _sse("error", {"type": "error", "error": {"type": "api_error", "message": str(exc)}})
                    return
                blocks, used_tool = content_blocks(done.text, plan)
                for index, block in enumerate(blocks):
                    for event, data in block_events(index, block):
                        yield _sse(event, data)
                yield _sse("message_delta", {"type": "message_delta", "delta": {
                    "stop_reason": "tool_use" if used_tool else _stop_reason(done.reason), "stop_sequence": None},
                    "usage": {"input_tokens": prompt_tokens, "output_tokens": done.usage.completion_tokens}})
                yield _sse("message_stop", {"type": "message_stop"})
                return
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
