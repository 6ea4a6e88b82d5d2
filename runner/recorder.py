"""Recent inference requests and their responses, for `GET /engines/requests` (`docker model
requests`), in DMR's shape: per model, its configuration and its last RECORD_REQUESTS_MAX (default 10)
request/response pairs.

An ASGI middleware, so it sees requests and responses (streamed ones included) exactly as they pass
and changes nothing about them: a client that goes away still cancels its generation. Only bodies are
kept, bounded to RECORD_MAX_BYTES each (default 64 KiB), never headers (so never `Authorization`).
RECORD_REQUESTS=0 turns recording off.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import deque
from typing import Any

# Inference paths whose exchanges are recorded (suffixes: every prefix an API is served at).
RECORDED = ("/chat/completions", "/completions", "/embeddings", "/responses", "/messages", "/api/chat",
            "/api/generate", "/api/embed", "/api/embeddings", "/rerank", "/score")


class RequestLog:
    """The recorded exchanges, by the model the request named."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = os.environ.get("RECORD_REQUESTS", "1").lower() not in ("0", "false", "no") if enabled is None else enabled
        self.limit = int(os.environ.get("RECORD_MAX_BYTES", str(64 * 1024)))
        self.size = int(os.environ.get("RECORD_REQUESTS_MAX", "10"))
        self.records: dict[str, deque[dict]] = {}
        self.lock = threading.Lock()

    def recorded(self, names: set[str] | None = None) -> list[dict[str, Any]]:
        """Every model's records, or those of the requests that named the model by one of `names`."""
        with self.lock:
            items = {m: list(r) for m, r in self.records.items() if names is None or m in names}
        return [{"count": len(r), "model": m, "records": r} for m, r in sorted(items.items())]

    def keep(self, body: bytearray, chunk: bytes) -> None:
        room = self.limit - len(body)
        if room > 0:
            body += chunk[:room]

    def store(self, record: dict, request: bytes, response: bytes) -> None:
        try:
            model = str(json.loads(request).get("model") or "")
        except (ValueError, AttributeError):
            model = ""
        record.update(model=model, request=request.decode("utf-8", "replace"))
        text = response.decode("utf-8", "replace")
        record["error" if record["status_code"] >= 400 else "response"] = text
        with self.lock:
            self.records.setdefault(model, deque(maxlen=self.size)).append(record)


class Recording:
    """The ASGI middleware that feeds a RequestLog."""

    def __init__(self, app: Any, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        log = self.log
        if not log.enabled or scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(RECORDED):
            await self.app(scope, receive, send)
            return
        request, response = bytearray(), bytearray()
        record: dict[str, Any] = {"id": uuid.uuid4().hex, "method": "POST", "url": scope["path"],
                                  "timestamp": int(time.time()), "status_code": 0}
        agent = dict(scope.get("headers") or []).get(b"user-agent")
        if agent:
            record["user_agent"] = agent.decode("latin-1")

        async def receiving() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                log.keep(request, message.get("body", b""))
            return message

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                record["status_code"] = message["status"]
            elif message["type"] == "http.response.body":
                log.keep(response, message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            log.store(record, bytes(request), bytes(response))
