"""Docker Model Runner's model management: POST /models/create (progress as JSON lines), GET /models,
GET|DELETE /models/{name}."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ..http import ApiError, check_fields, field, read_json
from ..names import InvalidReference, normalize
from ..registry import PullError, pull
from ..service import Runner
from ..tasks import END


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    @router.post("/models/create")
    async def create_model(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "create")
        source = field(data, "from", str, required=True)
        bearer = field(data, "bearer-token", str)
        if not source.startswith(("http://", "https://", "file://")):
            try:
                source = normalize(source)
            except InvalidReference as exc:
                raise ApiError(400, str(exc)) from None
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()

        def progress(event: dict) -> None:
            loop.call_soon_threadsafe(out.put_nowait, event)

        def run() -> None:
            try:
                digest = pull(source, core.store, progress, bearer)
                core.metrics.pulled("success")
                progress({"type": "success", "message": f"Model pulled successfully: {source} ({digest[:19]})"})
            except PullError as exc:
                core.metrics.pulled("error")
                progress({"type": "error", "message": str(exc)})
            finally:
                loop.call_soon_threadsafe(out.put_nowait, END)

        future = loop.run_in_executor(None, run)

        async def lines() -> AsyncIterator[bytes]:
            last = 0.0
            while True:
                event = await out.get()
                if event is END:
                    break
                # Progress is throttled to ~10 lines a second; success and error always go out.
                now = time.monotonic()
                if event.get("type") == "progress" and now - last < 0.1:
                    continue
                last = now
                yield (json.dumps(event) + "\n").encode()
            await future

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @router.get("/models")
    async def list_models() -> list[dict]:
        return [core.store.describe(e) for e in core.store.list()]

    @router.get("/models/{name:path}")
    async def get_model(name: str) -> dict:
        return core.store.describe(core.resolve(name))

    @router.delete("/models/{name:path}")
    async def delete_model(name: str) -> dict:
        entry = core.resolve(name)
        core.engine.unload({entry.id})
        core.store.delete(entry.id)
        return {"deleted": entry.id, "untagged": entry.tags}

    return router
