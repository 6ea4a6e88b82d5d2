"""HTTP API: Docker Model Runner's routes on FastAPI, one router per API (runner/api/):

- models: POST /models/create (progress as JSON lines), GET /models, GET|DELETE /models/{name};
- openai: /engines[/llama.cpp]/v1/{models,chat/completions,completions,embeddings}, and /v1/...;
- anthropic: /anthropic/v1/messages, /anthropic/v1/messages/count_tokens;
- rerank: /rerank, /v1/rerank, /engines[/llama.cpp]/v1/rerank (reranker GGUFs);
- ollama: /api/tags, /api/show, /api/chat, /api/generate, /api/embed, /api/embeddings;
- admin: /engines/status, /engines/ps, /engines/unload, /engines/_configure, /metrics, /version, /,
  /ready (503 until the models the runner starts with are present).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from . import __version__
from .api import admin, anthropic, models, ollama, openai, rerank, responses
from .draft import draft_for
from .engine import Engine
from .http import ApiError, error_response
from .metrics import Metrics
from .names import InvalidReference, normalize
from .recorder import Recording
from .registry import PullError, pull
from .service import Runner
from .store import NotFound, Store, StoreError

log = logging.getLogger("runner")


def create_app(models_path: str | None = None, preload: list[str] | None = None,
               configure: list[dict] | None = None) -> FastAPI:
    """`preload`: models pulled (and `configure`d) at start; until they are, GET /ready answers 503."""
    store = Store(models_path or os.environ.get("MODELS_PATH", "/models"))
    metrics = Metrics()
    engine = Engine(metrics, base_args=os.environ.get("LLAMA_ARGS", ""))
    core = Runner(store, engine, metrics)
    waiting: set[str] = set(preload or [])
    stopping = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def reaper() -> None:
            while True:
                await asyncio.sleep(min(30.0, max(1.0, engine.keep_alive / 4)))
                engine.unload_idle()

        task = asyncio.create_task(reaper())
        loop = asyncio.get_running_loop()
        for model in sorted(waiting):
            loop.run_in_executor(None, _prepare, store, engine, metrics, model, configure or [], waiting, stopping)
        try:
            yield
        finally:
            stopping.set()
            task.cancel()
            engine.unload(None)

    app = FastAPI(title="compose-bridge model runner", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.store = store
    app.state.engine = engine
    origins = [o.strip() for o in os.environ.get("DMR_ORIGINS", "").split(",") if o.strip()]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        metrics.request(request.url.path.split("/")[1] if "/" in request.url.path else "", exc.status)
        if request.url.path.startswith("/anthropic/"):
            return anthropic.error_response(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=exc.status)  # Ollama's error shape
        return error_response(exc.status, exc.message, exc.kind)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}", "server_error")

    for api in (models, openai, responses, anthropic, ollama, rerank, admin):
        app.include_router(api.router(core))
    app.add_middleware(Recording, log=core.requests)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """Readiness: every model this runner was started with is present and configured."""
        if waiting:
            return JSONResponse({"status": "pulling", "waiting": sorted(waiting)}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app


def _prepare(store: Store, engine: Engine, metrics: Metrics, model: str, configure: list[dict], waiting: set[str],
             stopping: threading.Event, retry_seconds: float = 30.0) -> None:
    """Pull `model` unless present, apply its `_configure` settings, then mark it ready. A failed pull
    is retried (a registry that is down at start must not leave a replica unready for ever)."""
    while not stopping.is_set():
        try:
            ref = normalize(model)
            try:
                entry = store.find(ref)
            except NotFound:
                pull(ref, store, lambda event: None)
                metrics.pulled("success")
                log.info("pre-pulled %s", ref)
                entry = store.find(ref)
            for item in configure:
                if normalize(str(item.get("model", ""))) == ref:
                    spec = item.get("speculative") or None  # the chart's or DMR's spelling
                    draft = spec and draft_for(store, str(spec.get("draftModel", spec.get("draft_model", ""))),
                                               spec.get("numTokens", spec.get("num_tokens")),
                                               spec.get("minAcceptanceRate", spec.get("min_acceptance_rate")))
                    engine.configure(entry.id, item.get("contextSize", item.get("context-size")),
                                     item.get("runtimeFlags", item.get("runtime-flags")) or [], draft)
            waiting.discard(model)
            return
        except (PullError, InvalidReference, StoreError, ValueError) as exc:
            metrics.pulled("error")
            log.error("pre-pull of %s failed: %s (retrying in %.0f s)", model, exc, retry_seconds)
            stopping.wait(retry_seconds)


def configure_from_env() -> list[dict]:
    """MODELS_CONFIGURE: a JSON list of {"model", "contextSize", "runtimeFlags", "speculative"} applied at
    start (the chart's modelRunner.configure items; a draft model must be in MODELS too)."""
    raw = os.environ.get("MODELS_CONFIGURE", "").strip()
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise SystemExit(f"MODELS_CONFIGURE is not JSON: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("model") for i in items):
        raise SystemExit("MODELS_CONFIGURE must be a JSON list of objects with a 'model'")
    return items


def models_from_env() -> list[str]:
    raw = os.environ.get("MODELS", "") or os.environ.get("PRELOAD_MODELS", "")
    return [m for m in raw.replace(",", " ").split() if m]


def default_models_path() -> str:
    return str(Path(os.environ.get("MODELS_PATH", "/models")))
