"""Structured output for any GGUF: `response_format` and tool calling as grammars.

A model's chat template may or may not know tools, and llama-cpp-python parses tool calls only for a
few formats. Like llama-server's "generic" tool format, the runner describes the tools in a system
message and constrains the reply with a grammar to one JSON object: `{"tool_call": {"name": ...,
"arguments": {...}}}` for one of the tools (the arguments follow its JSON schema) or `{"response":
"..."}` (not offered when tool_choice is "required" or names a function). The reply is then turned
back into OpenAI's `tool_calls`. Pure functions: tested without a model (tests/test_runner_tools.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from .http import ApiError


@dataclass
class ToolPlan:
    """How a request with tools is run: extra system text, the reply's schema, which tools exist."""

    system: str
    schema: dict
    names: list[str]


def _function(tool: Any) -> dict:
    if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(tool.get("function"), dict):
        raise ApiError(400, "each of 'tools' must be {\"type\": \"function\", \"function\": {...}}")
    fn = tool["function"]
    if not isinstance(fn.get("name"), str) or not fn["name"]:
        raise ApiError(400, "a tool's function needs a 'name'")
    params = fn.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise ApiError(400, f"tool {fn['name']}: 'parameters' must be a JSON schema object")
    return fn


def plan_tools(tools: list | None, tool_choice: Any) -> ToolPlan | None:
    """None when the request has no tools or tool_choice is "none"."""
    if not tools or tool_choice == "none":
        return None
    functions = [_function(t) for t in tools]
    names = [fn["name"] for fn in functions]
    forced: str | None = None
    if isinstance(tool_choice, dict):
        forced = (tool_choice.get("function") or {}).get("name")
        if forced not in names:
            raise ApiError(400, f"tool_choice names {forced!r}, which is not among the tools")
    elif tool_choice not in (None, "auto", "required"):
        raise ApiError(400, "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", ...}")
    calls = [{"type": "object", "properties": {"tool_call": {
        "type": "object",
        "properties": {"name": {"const": fn["name"]},
                       "arguments": fn.get("parameters") or {"type": "object"}},
        "required": ["name", "arguments"]}}, "required": ["tool_call"]}
        for fn in functions if forced is None or fn["name"] == forced]
    options = calls if forced or tool_choice == "required" else [
        *calls, {"type": "object", "properties": {"response": {"type": "string"}}, "required": ["response"]}]
    described = json.dumps([{"name": fn["name"], "description": fn.get("description", ""),
                             "parameters": fn.get("parameters") or {"type": "object"}} for fn in functions])
    system = ("You can call these tools:\n" + described + "\n\nReply with one JSON object: "
              '{"tool_call": {"name": <tool name>, "arguments": {...}}} to call a tool'
              + ("." if forced or tool_choice == "required" else ', or {"response": <your reply>} to answer the user.'))
    return ToolPlan(system, {"anyOf": options} if len(options) > 1 else options[0], names)


def tool_messages(messages: list[dict], plan: ToolPlan | None) -> list[dict]:
    """The conversation as a template without tool support can format it: the tools in the system
    message (with a plan), earlier tool calls as the JSON the model replied with, tool results as user
    turns, content parts and null content as text."""
    out: list[dict] = []
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            calls = [{"tool_call": {"name": c["function"]["name"], "arguments": _arguments(c["function"].get("arguments"))}}
                     for c in m["tool_calls"]]
            out.append({"role": "assistant", "content": json.dumps(calls[0] if len(calls) == 1 else calls)})
        elif role == "tool":
            name = m.get("name") or m.get("tool_call_id") or "tool"
            out.append({"role": "user", "content": f"Result of {name}: {_text(m.get('content'))}"})
        else:
            out.append({**m, "content": _text(m.get("content"))})
    if plan is None:
        return out
    if out and out[0].get("role") == "system":
        return [{"role": "system", "content": out[0]["content"] + "\n\n" + plan.system}, *out[1:]]
    return [{"role": "system", "content": plan.system}, *out]


def with_tools(messages: list[dict], plan: ToolPlan | None, grammar: str | None = None) -> tuple[list[dict], str | None]:
    """The conversation and grammar a chat runs with, whatever API it came from: with a plan, the tools
    in the system message and the reply constrained to the plan's schema; without one, earlier tool calls,
    tool results and content parts as turns any template can format (when there are any)."""
    if plan is not None:
        return tool_messages(messages, plan), schema_grammar(plan.schema)
    if any(m.get("role") == "tool" or m.get("tool_calls") or not isinstance(m.get("content"), str) for m in messages):
        return tool_messages(messages, None), grammar
    return messages, grammar


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw if raw is not None else {}


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def tool_reply(text: str) -> tuple[str | None, list[dict]]:
    """The model's grammar-constrained reply as (content, tool_calls)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text, []  # cut short (max_tokens): what there is, as text
    call = data.get("tool_call") if isinstance(data, dict) else None
    if isinstance(call, dict) and isinstance(call.get("name"), str):
        return None, [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                       "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))}}]
    if isinstance(data, dict) and isinstance(data.get("response"), str):
        return data["response"], []
    return text, []


def response_grammar(response_format: Any) -> str | None:
    """GBNF for OpenAI's response_format: json_object (any JSON object) or json_schema (its schema)."""
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise ApiError(400, "field 'response_format' has the wrong type")
    kind = response_format.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        schema = response_format.get("schema") or {"type": "object"}  # llama-server also takes a schema here
    elif kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise ApiError(400, "response_format.json_schema must be {\"name\": ..., \"schema\": {...}}")
        schema = spec.get("schema") or {"type": "object"}
    else:
        raise ApiError(400, f"response_format type {kind!r} is not supported (text, json_object, json_schema)")
    return schema_grammar(schema)


def schema_grammar(schema: dict) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # noqa: BLE001 - the converter raises bare exceptions on schemas it cannot do
        raise ApiError(400, f"cannot constrain output to this JSON schema: {exc}") from None
