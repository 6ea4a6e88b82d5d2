"""OpenAI's Responses API: POST /responses (and /v1, /engines[/llama.cpp][/v1] prefixes), GET
/responses/{id}, GET /responses/{id}/input_items, DELETE /responses/{id}. The OpenAI Agents SDK calls
it by default.

A request becomes the same chat Generation as a chat completion (openai.generation): `instructions` a
system message, `input` (a string or a list of items: messages, function calls, function call outputs)
chat messages, function `tools` and `tool_choice` the tool plan, `text.format` the response grammar.
Its typed events (results.py) are written as Response output items and, streamed, as OpenAI's event
sequence. With `store` (the default, as OpenAI's) the response and its conversation are kept in a
bounded in-memory store (RESPONSES_STORE_SIZE, default 256), so `previous_response_id` continues it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..http import ApiError, read_json
from ..results import Completion, Delta, collect
from ..service import Runner
from ..tools import tool_reply
from ..worker import COMPLETION
from .openai import SSE_HEADERS, generation

PREFIXES = ("", "/v1", "/engines", "/engines/v1", "/engines/llama.cpp", "/engines/llama.cpp/v1")
# Request fields that are the chat body's under the same name.
_SAME = ("model", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "presence_penalty", "frequency_penalty",
         "repeat_penalty", "logit_bias", "parallel_tool_calls")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _part_text(content: Any) -> str:
    """A message's content: a string, or input_text/output_text parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ApiError(400, "a message's 'content' must be a string or a list of content parts")
    out = []
    for part in content:
        if not isinstance(part, dict):
            raise ApiError(400, "content parts must be objects")
        if part.get("type") in ("input_text", "output_text", "text", "refusal"):
            out.append(str(part.get("text", part.get("refusal", ""))))
        else:
            raise ApiError(400, f"content part type {part.get('type')!r} is not supported (text only)")
    return "".join(out)


def input_items(raw: Any) -> list[dict]:
    """`input` as a list of items, each with an id (a string is one user message)."""
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "field 'input' must be a string or a non-empty list of items")
    items = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(400, "each item of 'input' must be an object")
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind not in ("message", "function_call", "function_call_output"):
            raise ApiError(400, f"input item type {kind!r} is not supported (message, function_call, function_call_output)")
        item = {**item, "type": kind, "id": item.get("id") or _new_id("msg" if kind == "message" else "fc")}
        if kind == "message" and isinstance(item.get("content"), str):  # as OpenAI lists it back: parts
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            item["content"] = [{"type": part, "text": item["content"]}]
        items.append(item)
    return items


def chat_messages(items: list[dict]) -> list[dict]:
    """Responses items as chat messages: function calls as an assistant's tool_calls, their outputs as
    tool messages, developer as system."""
    messages: list[dict] = []
    for item in items:
        kind = item["type"]
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise ApiError(400, f"message role {role!r} is not supported")
            messages.append({"role": "system" if role == "developer" else role, "content": _part_text(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id") or item["id"], "type": "function",
                    "function": {"name": str(item.get("name", "")), "arguments": str(item.get("arguments", "{}"))}}
            if messages and messages[-1]["role"] == "assistant" and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        else:
            output = item.get("output")
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")),
                             "content": output if isinstance(output, str) else json.dumps(output)})
    return messages


def chat_tools(tools: Any) -> list[dict] | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise ApiError(400, "field 'tools' must be a list")
    out = []
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise ApiError(400, "only function tools are supported ({\"type\": \"function\", \"name\": ...})")
        out.append({"type": "function", "function": {k: tool[k] for k in ("name", "description", "parameters") if k in tool}})
    return out


def chat_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        if choice.get("type") != "function":
            raise ApiError(400, "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"name\": ...}")
        return {"type": "function", "function": {"name": choice.get("name")}}
    return choice


def chat_format(text: Any) -> dict | None:
    """`text.format` as chat's response_format."""
    fmt = (text or {}).get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise ApiError(400, "field 'text.format' must be an object")
    if fmt.get("type") == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": fmt.get("name", "output"), "schema": fmt.get("schema") or {}}}
    return fmt


@dataclass
class Stored:
    response: dict
    input: list[dict]  # this request's input items
    history: list[dict]  # the whole conversation: earlier turns, this input, this output


class ResponseStore:
    """The last `size` stored responses, by id (OpenAI keeps them 30 days; a runner keeps a few)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Stored] = OrderedDict()
        self.lock = threading.Lock()

    def put(self, stored: Stored) -> None:
        with self.lock:
            self.items[stored.response["id"]] = stored
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def get(self, response_id: str) -> Stored:
        with self.lock:
            stored = self.items.get(response_id)
        if stored is None:
            raise ApiError(404, f"response {response_id} not found", "not_found_error")
        return stored

    def delete(self, response_id: str) -> None:
        with self.lock:
            if self.items.pop(response_id, None) is None:
                raise ApiError(404, f"response {response_id} not found", "not_found_error")


@dataclass
class Turn:
    """One response being made: the request's settings and the output items as they are written."""

    body: dict
    previous: str | None
    id: str = field(default_factory=lambda: _new_id("resp"))
    created: int = field(default_factory=lambda: int(time.time()))
    sequence: int = 0

    def response(self, status: str, output: list[dict], done: Completion | None = None) -> dict:
        body = self.body
        usage = None
        if done is not None:
            usage = {"input_tokens": done.usage.prompt_tokens, "output_tokens": done.usage.completion_tokens,
                     "total_tokens": done.usage.total_tokens, "input_tokens_details": {"cached_tokens": 0},
                     "output_tokens_details": {"reasoning_tokens": 0}}
        incomplete = status == "incomplete"
        return {"id": self.id, "object": "response", "created_at": self.created, "status": status, "error": None,
                "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
                "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
                "model": body["model"], "output": output, "parallel_tool_calls": bool(body.get("parallel_tool_calls", True)),
                "previous_response_id": self.previous, "reasoning": {"effort": None, "summary": None},
                "store": bool(body.get("store", True)), "temperature": body.get("temperature"),
                "text": body.get("text") or {"format": {"type": "text"}}, "tool_choice": body.get("tool_choice", "auto"),
                "tools": body.get("tools") or [], "top_p": body.get("top_p"), "truncation": "disabled",
                "usage": usage, "user": None, "metadata": body.get("metadata") or {}}

    def event(self, kind: str, **fields: Any) -> bytes:
        self.sequence += 1
        data = {"type": kind, "sequence_number": self.sequence - 1, **fields}
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def message_item(item_id: str, text: str, status: str = "completed") -> dict:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []}


def output_items(done: Completion, tools: bool) -> list[dict]:
    """The output of a finished generation: a message, or (with tools) the function calls it made."""
    if not tools:
        return [message_item(_new_id("msg"), done.text)]
    content, calls = tool_reply(done.text)
    items = [message_item(_new_id("msg"), content)] if content else []
    for call in calls:
        items.append({"type": "function_call", "id": _new_id("fc"), "call_id": call["id"],
                      "name": call["function"]["name"], "arguments": call["function"]["arguments"], "status": "completed"})
    return items


def item_events(turn: Turn, index: int, item: dict) -> Iterator[bytes]:
    """A finished output item as the events that stream it (tools decide once the reply is whole)."""
    if item["type"] == "function_call":
        yield turn.event("response.output_item.added", output_index=index, item={**item, "arguments": "", "status": "in_progress"})
        yield turn.event("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=item["arguments"])
        yield turn.event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                         arguments=item["arguments"], name=item["name"])
        yield turn.event("response.output_item.done", output_index=index, item=item)
        return
    text = item["content"][0]["text"]
    yield turn.event("response.output_item.added", output_index=index, item=message_item(item["id"], "", "in_progress"))
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield turn.event("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part)
    if text:
        yield turn.event("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                         delta=text, logprobs=[])
    yield turn.event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text,
                     logprobs=[])
    yield turn.event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                     part={**part, "text": text})
    yield turn.event("response.output_item.done", output_index=index, item=item)


def router(core: Runner) -> APIRouter:
    router = APIRouter()
    store = ResponseStore(int(os.environ.get("RESPONSES_STORE_SIZE", "256")))

    async def create(request: Request) -> Response:
        body = await read_json(request)
        entry = core.resolve(body.get("model"))
        if body.get("background"):
            raise ApiError(400, "background responses are not supported")
        previous = body.get("previous_response_id")
        history = list(store.get(str(previous)).history) if previous else []
        items = input_items(body.get("input"))
        messages = chat_messages(history + items)
        if body.get("instructions"):  # instructions are this request's only, never carried over
            messages.insert(0, {"role": "system", "content": str(body["instructions"])})
        chat: dict[str, Any] = {k: body[k] for k in _SAME if body.get(k) is not None}
        chat.update({"messages": messages, "stream": bool(body.get("stream")),
                     "tools": chat_tools(body.get("tools")), "tool_choice": chat_tool_choice(body.get("tool_choice")),
                     "response_format": chat_format(body.get("text"))})
        if body.get("max_output_tokens") is not None:
            chat["max_tokens"] = body["max_output_tokens"]
        task, plan = generation(core, {k: v for k, v in chat.items() if v is not None}, "chat", entry)
        worker = core.worker_for(entry, COMPLETION)
        turn = Turn(body, str(previous) if previous else None)
        core.metrics.request("responses", 200)

        def finished(done: Completion, output: list[dict]) -> dict:
            response = turn.response("incomplete" if done.reason == "length" else "completed", output, done)
            if body.get("store", True):
                store.put(Stored(response, items, history + items + output))
            return response

        if not task.stream:
            done = await collect(core.results(worker, task))
            return JSONResponse(finished(done, output_items(done, plan is not None)))

        async def events() -> AsyncIterator[bytes]:
            yield turn.event("response.created", response=turn.response("in_progress", []))
            yield turn.event("response.in_progress", response=turn.response("in_progress", []))
            try:
                if plan is not None:
                    done = await collect(core.results(worker, task))
                    output = output_items(done, True)
                    for index, item in enumerate(output):
                        for event in item_events(turn, index, item):
                            yield event
                else:
                    item_id, done = _new_id("msg"), Completion()
                    yield turn.event("response.output_item.added", output_index=0, item=message_item(item_id, "", "in_progress"))
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    yield turn.event("response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=part)
                    async for event in core.results(worker, task):
                        event.apply(done)
                        if isinstance(event, Delta) and event.text:
                            yield turn.event("response.output_text.delta", item_id=item_id, output_index=0,
                                             content_index=0, delta=event.text, logprobs=[])
                    output = [message_item(item_id, done.text)]
                    yield turn.event("response.output_text.done", item_id=item_id, output_index=0, content_index=0,
                                     text=done.text, logprobs=[])
                    yield turn.event("response.content_part.done", item_id=item_id, output_index=0, content_index=0,
                                     part={**part, "text": done.text})
                    yield turn.event("response.output_item.done", output_index=0, item=output[0])
            except Exception as exc:  # the stream has started: report in-band, as OpenAI does
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                yield turn.event("error", code="server_error", message=message, param=None)
                return
            response = finished(done, output)
            yield turn.event("response.incomplete" if response["status"] == "incomplete" else "response.completed",
                             response=response)

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def get(response_id: str) -> dict:
        return store.get(response_id).response

    async def listed_input(response_id: str, request: Request) -> dict:
        items = store.get(response_id).input
        if request.query_params.get("order", "desc") == "desc":
            items = list(reversed(items))
        return {"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                "last_id": items[-1]["id"] if items else None, "has_more": False}

    async def delete(response_id: str) -> dict:
        store.delete(response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    for prefix in PREFIXES:
        router.add_api_route(f"{prefix}/responses", create, methods=["POST"])
        router.add_api_route(f"{prefix}/responses/{{response_id}}", get, methods=["GET"])
        router.add_api_route(f"{prefix}/responses/{{response_id}}", delete, methods=["DELETE"])
        router.add_api_route(f"{prefix}/responses/{{response_id}}/input_items", listed_input, methods=["GET"])
    return router
