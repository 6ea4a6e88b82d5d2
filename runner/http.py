"""HTTP plumbing shared by every API: errors as JSON, bounded bodies, field checks, sampling fields."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger("runner")
MAX_BODY = int(os.environ.get("MAX_BODY_BYTES", str(8 * 2**20)))


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, bounded in size; 4xx with a JSON error otherwise."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
    if not body:
        raise ApiError(400, "request body must be a JSON object")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def field(data: dict, key: str, kind: type | tuple, required: bool = False, default: Any = None) -> Any:
    if key not in data or data[key] is None:
        if required:
            raise ApiError(400, f"missing field {key!r}")
        return default
    value = data[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ApiError(400, f"field {key!r} has the wrong type")
    if not isinstance(value, kind):
        raise ApiError(400, f"field {key!r} has the wrong type")
    return value


# Fields of the DMR-specific bodies (model management and admin; the APIs' bodies are pydantic models
# in runner/api/).
KNOWN_FIELDS = {
    "create": {"from", "bearer-token"},
    "configure": {"model", "context-size", "runtime-flags", "raw-runtime-flags", "mode", "speculative"},
    "unload": {"models", "all", "backend"},
}


def check_fields(data: dict, kind: str) -> None:
    """Fields the runner does not know are ignored, as llama-server and DMR ignore them: SDKs add new
    ones every release (`prompt_cache_key`, `safety_identifier`, LangChain's and LiteLLM's extras).
    Known fields of the wrong type are still a 400 (see field)."""
    unknown = sorted(k for k in data if k not in KNOWN_FIELDS[kind])
    if unknown:
        log.debug("ignoring request field%s %s", "s" if len(unknown) > 1 else "", ", ".join(unknown))


class Body(BaseModel):
    """A request body: unknown fields are ignored (clients add some every release, as llama-server and
    DMR ignore them), known ones type-checked strictly ("9" is not an integer, true is not a number)."""

    model_config = ConfigDict(extra="allow", strict=True)

    def unknown(self) -> list[str]:
        return sorted(self.model_extra or {})


def parse_body(model: type[Body], data: dict) -> Any:
    """`data` as `model`, or a 400 naming the first field that is wrong; unknown fields logged (debug)."""
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, f"field '{where}': {first['msg']}") from None
    if body.unknown():
        log.debug("ignoring request fields %s", ", ".join(body.unknown()))
    return body
