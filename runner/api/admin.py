"""Admin: /engines/status, /engines/ps, /engines/df, /engines/unload, /engines/_configure (POST and
GET), /engines/requests, /metrics, /version, / (Docker Model Runner's shapes)."""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from .. import __version__
from ..draft import draft_for
from ..http import ApiError, check_fields, error_response, field, read_json
from ..metrics import CONTENT_TYPE
from ..names import display_name
from ..service import Runner
from ..settings import Draft
from ..store import StoreError


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
            core.engine.configure(entry.id, context, flags, draft(core, data.get("speculative")))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(status_code=202)

    @router.get("/engines/df")
    async def df() -> dict:
        """Bytes of the model store, and of the inference engine (llama-cpp-python's package)."""
        return {"models_disk_usage": _tree_size(core.store.root), "default_backend_disk_usage": _engine_size()}

    @router.get("/engines/_configure")
    async def configured(request: Request) -> list[dict]:
        wanted = request.query_params.get("model")
        wanted_id = core.resolve(wanted).id if wanted else None
        out = []
        for entry in core.store.list():
            config = core.engine.configs.get(entry.id)
            if config is None or (wanted_id and entry.id != wanted_id):
                continue
            out.append({"Backend": "llama.cpp", "Model": entry.tags[0] if entry.tags else "", "ModelID": entry.id,
                        "Mode": "completion", "Config": config})
        return out

    @router.get("/engines/requests")
    async def requests(request: Request) -> Response:
        if not core.requests.enabled:
            return error_response(404, "request recording is off (RECORD_REQUESTS=0)", "not_found_error")
        model = request.query_params.get("model")
        names = None
        if model:  # the names a request may have used for this model
            entry = core.resolve(model)
            names = {model, entry.id, *entry.tags, *(display_name(t) for t in entry.tags)}
        return JSONResponse(core.requests.recorded(names))

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


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@functools.cache
def _engine_size() -> int:
    try:
        import llama_cpp
    except ImportError:
        return 0
    return _tree_size(Path(llama_cpp.__file__).parent)


def draft(core: Runner, spec: Any) -> Draft | None:
    """`speculative` of a configure body (DMR's SpeculativeDecodingConfig) as the draft to load."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ApiError(400, "field 'speculative' must be an object")
    name = spec.get("draft_model")
    if not name or not isinstance(name, str):
        raise ApiError(400, "speculative.draft_model is required")
    core.resolve(name)  # 404 when the draft is not pulled, as for any model
    try:
        return draft_for(core.store, name, field(spec, "num_tokens", int), field(spec, "min_acceptance_rate", (int, float)))
    except (ValueError, StoreError) as exc:
        raise ApiError(400, f"draft model {name}: {exc}") from None


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@functools.cache
def _engine_size() -> int:
    try:
        import llama_cpp
    except ImportError:
        return 0
    return _tree_size(Path(llama_cpp.__file__).parent)
