"""Admin: /engines/status, /engines/ps, /engines/unload, /engines/_configure, /metrics, /version, /."""

from __future__ import annotations

import os
import shlex

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from .. import __version__
from ..http import ApiError, check_fields, error_response, field, read_json
from ..metrics import CONTENT_TYPE
from ..service import Runner


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    @router.get("/engines/status")
    async def status() -> dict:
        return {"status": "running", "backend": "llama.cpp", "version": __version__}

    @router.get("/engines/ps")
    async def ps() -> list[dict]:
        return core.engine.running()

    @router.post("/engines/unload")
    async def unload(request: Request) -> dict:
        data = await read_json(request)
        check_fields(data, "unload")
        if field(data, "all", bool, default=False):
            return {"unloaded_runners": core.engine.unload(None)}
        names = field(data, "models", list, default=[])
        ids = {core.resolve(n).id for n in names}
        return {"unloaded_runners": core.engine.unload(ids)}

    @router.post("/engines/_configure")
    @router.post("/engines/llama.cpp/_configure")
    async def configure(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "configure")
        entry = core.resolve(data.get("model"))
        context = field(data, "context-size", int)
        flags = field(data, "runtime-flags", list, default=[])
        if flags and not all(isinstance(f, str) for f in flags):
            raise ApiError(400, "field 'runtime-flags' must be a list of strings")
        raw = data.get("raw-runtime-flags")
        if raw is not None:
            if not isinstance(raw, str):
                raise ApiError(400, "field 'raw-runtime-flags' has the wrong type")
            flags = flags + shlex.split(raw)
        try:
            core.engine.configure(entry.id, context, flags)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(status_code=202)

    @router.get("/metrics")
    async def prometheus() -> Response:
        if os.environ.get("DISABLE_METRICS", "").lower() in ("1", "true", "yes"):
            return error_response(404, "metrics are disabled", "not_found_error")
        loaded = sum(1 for w in core.engine.running() if w["loaded"])
        return Response(core.metrics.render(loaded), media_type=CONTENT_TYPE)

    @router.get("/version")
    async def version() -> dict:
        return {"version": __version__}

    @router.get("/")
    async def root() -> PlainTextResponse:
        return PlainTextResponse("Docker Model Runner compatible runner is running")

    return router
