"""HTTP API: Docker Model Runner's routes on FastAPI.

Model management: POST /models/create (progress as JSON lines), GET /models, GET|DELETE /models/{name}.
Inference (OpenAI-compatible): /engines[/llama.cpp]/v1/{models,chat/completions,completions,embeddings},
with /v1/... as an alias. Admin: /engines/status, /engines/ps, /engines/unload, /engines/_configure,
/metrics, /version, /.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from . import __version__
from .engine import COMPLETION, EMBEDDING, END, Engine, Job
from .metrics import Metrics
from .names import InvalidReference, display_name, normalize
from .registry import PullError, pull
from .store import NotFound, Store, StoreError

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


def _field(data: dict, key: str, kind: type | tuple, required: bool = False, default: Any = None) -> Any:
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


# OpenAI request fields passed to llama-cpp-python, with their types.
_SAMPLING_FIELDS: dict[str, type | tuple] = {
    "temperature": (int, float), "top_p": (int, float), "top_k": int, "min_p": (int, float),
    "max_tokens": int, "presence_penalty": (int, float), "frequency_penalty": (int, float),
    "repeat_penalty": (int, float), "seed": int, "stop": (str, list), "logit_bias": dict,
    "response_format": dict, "tools": list, "tool_choice": (str, dict), "logprobs": (bool, int),
    "top_logprobs": int,
}


# Fields each request may carry: OpenAI's (some accepted and ignored, e.g. `user`) and DMR's own.
_COMMON = {"model", "stream", "stream_options", "user", "n", "seed", "metadata", "store", "service_tier"}
KNOWN_FIELDS = {
    "chat": _COMMON | set(_SAMPLING_FIELDS) | {"messages", "max_completion_tokens", "parallel_tool_calls",
                                                "functions", "function_call", "reasoning_effort", "modalities"},
    "completions": _COMMON | set(_SAMPLING_FIELDS) | {"prompt", "suffix", "echo", "best_of"},
    "embeddings": {"model", "input", "encoding_format", "dimensions", "user"},
    "create": {"from", "bearer-token"},
    "configure": {"model", "context-size", "runtime-flags", "raw-runtime-flags", "mode"},
    "unload": {"models", "all", "backend"},
}


def check_fields(data: dict, kind: str) -> None:
    """Fields the runner does not know are ignored, as llama-server and DMR ignore them: SDKs add new
    ones every release (`prompt_cache_key`, `safety_identifier`, LangChain's and LiteLLM's extras).
    Known fields of the wrong type are still a 400 (see _field)."""
    unknown = sorted(k for k in data if k not in KNOWN_FIELDS[kind])
    if unknown:
        log.debug("ignoring request field%s %s", "s" if len(unknown) > 1 else "", ", ".join(unknown))
    n = data.get("n")
    if n is not None and n != 1:
        raise ApiError(400, "only n=1 is supported")


def sampling(data: dict, defaults: dict) -> dict[str, Any]:
    out = dict(defaults)
    for key, kind in _SAMPLING_FIELDS.items():
        value = _field(data, key, kind)
        if value is not None:
            out[key] = value
    if "max_completion_tokens" in data and data["max_completion_tokens"] is not None:
        out["max_tokens"] = _field(data, "max_completion_tokens", int)
    if isinstance(out.get("max_tokens"), int) and out["max_tokens"] < 0:
        raise ApiError(400, "max_tokens must not be negative")
    if "logit_bias" in out:
        try:
            out["logit_bias"] = {int(k): float(v) for k, v in out["logit_bias"].items()}
        except (TypeError, ValueError):
            raise ApiError(400, "logit_bias must map token ids to numbers") from None
    return out


def pooled(result: dict) -> dict:
    """Models without a pooling type return one vector per token: average them, as OpenAI returns one."""
    for item in result.get("data") or []:
        vec = item.get("embedding")
        if vec and isinstance(vec[0], list):
            n = len(vec)
            item["embedding"] = [sum(col) / n for col in zip(*vec)]
    return result


def create_app(models_path: str | None = None, preload: list[str] | None = None) -> FastAPI:
    store = Store(models_path or os.environ.get("MODELS_PATH", "/models"))
    metrics = Metrics()
    engine = Engine(metrics, base_args=os.environ.get("LLAMA_ARGS", ""))
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def reaper() -> None:
            while True:
                await asyncio.sleep(min(30.0, max(1.0, engine.keep_alive / 4)))
                engine.unload_idle()

        task = asyncio.create_task(reaper())
        loop = asyncio.get_running_loop()
        for model in preload or []:
            loop.run_in_executor(None, _prepull, store, model, metrics)
        try:
            yield
        finally:
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
        return error_response(exc.status, exc.message, exc.kind)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}", "server_error")

    def resolve(name: Any) -> Any:
        if not isinstance(name, str) or not name:
            raise ApiError(400, "field 'model' must be a non-empty string")
        try:
            return store.find(name)
        except InvalidReference as exc:
            raise ApiError(400, str(exc)) from None
        except NotFound:
            raise ApiError(404, f"model {name} not found", "not_found_error") from None
        except StoreError as exc:
            raise ApiError(500, str(exc), "server_error") from None

    def worker_for(entry: Any, mode: str) -> Any:
        try:
            paths = store.gguf_files(entry)
        except StoreError as exc:
            raise ApiError(500, str(exc), "server_error") from None
        name = display_name(entry.tags[0]) if entry.tags else entry.id
        return engine.worker(entry.id, name, paths, mode, store.chat_template(entry))

    # ---- model management -------------------------------------------------------------------
    @app.post("/models/create")
    async def create_model(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "create")
        source = _field(data, "from", str, required=True)
        bearer = _field(data, "bearer-token", str)
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
                digest = pull(source, store, progress, bearer)
                metrics.pulled("success")
                progress({"type": "success", "message": f"Model pulled successfully: {source} ({digest[:19]})"})
            except PullError as exc:
                metrics.pulled("error")
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

    @app.get("/models")
    async def list_models() -> list[dict]:
        return [store.describe(e) for e in store.list()]

    @app.get("/models/{name:path}")
    async def get_model(name: str) -> dict:
        return store.describe(resolve(name))

    @app.delete("/models/{name:path}")
    async def delete_model(name: str) -> dict:
        entry = resolve(name)
        engine.unload({entry.id})
        store.delete(entry.id)
        return {"deleted": entry.id, "untagged": entry.tags}

    # ---- OpenAI-compatible inference ----------------------------------------------------------
    def openai_models() -> dict:
        data = []
        for e in store.list():
            for tag in e.tags:
                data.append({"id": display_name(tag), "object": "model", "created": store.describe(e)["created"],
                             "owned_by": "docker"})
        return {"object": "list", "data": data}

    async def run_job(worker: Any, fn: Any) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        job = Job(fn, loop, asyncio.Queue())
        worker.submit(job)
        try:
            while True:
                item = await job.out.get()
                if item is END:
                    return
                if isinstance(item, ValueError):  # llama-cpp-python: prompt too long, bad arguments
                    raise ApiError(400, str(item))
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            job.cancel.set()  # client gone or done: stop generating

    async def inference(request: Request, kind: str) -> Response:
        data = await read_json(request)
        check_fields(data, kind)
        entry = resolve(data.get("model"))
        mode = EMBEDDING if kind == "embeddings" else COMPLETION
        worker = worker_for(entry, mode)
        model_name = data["model"]
        if kind == "embeddings":
            inputs = _field(data, "input", (str, list), required=True)
            if isinstance(inputs, list) and not all(isinstance(x, str) for x in inputs):
                raise ApiError(400, "field 'input' must be a string or a list of strings")

            def embed(llm: Any, job: Job) -> None:
                job.emit(pooled(llm.create_embedding(inputs, model=model_name)))

            result = [item async for item in run_job(worker, embed)]
            metrics.request("embeddings", 200)
            return JSONResponse(result[0])
        params = sampling(data, engine.sampling_defaults(entry.id))
        stream = bool(_field(data, "stream", bool, default=False))
        messages: list | None = None
        prompt: str | None = None
        if kind == "chat":
            messages = _field(data, "messages", list, required=True)
            if not messages or not all(isinstance(m, dict) for m in messages):
                raise ApiError(400, "field 'messages' must be a non-empty list of objects")

            def call(llm: Any, job: Job) -> Any:
                return llm.create_chat_completion(messages=messages, stream=stream, **params)
        else:
            prompt = _field(data, "prompt", (str, list), required=True)
            if isinstance(prompt, list):
                if not all(isinstance(p, str) for p in prompt):
                    raise ApiError(400, "field 'prompt' must be a string")
                prompt = "".join(prompt)

            def call(llm: Any, job: Job) -> Any:
                return llm.create_completion(prompt=prompt, stream=stream, **params)

        def generate(llm: Any, job: Job) -> None:
            result = call(llm, job)
            if not stream:
                job.emit(result)
                return
            for chunk in result:
                if job.cancel.is_set():
                    break
                job.emit(chunk)

        from .batch import BatchedWorker, Request

        if isinstance(worker, BatchedWorker):
            job_run: Any = Request(kind, prompt=prompt if kind != "chat" else None,
                                   messages=messages if kind == "chat" else None, params=params, stream=stream,
                                   model=model_name)
        else:
            job_run = generate
        if not stream:
            items = [item async for item in run_job(worker, job_run)]
            result = items[0]
            result["model"] = model_name
            metrics.generated(worker.name, (result.get("usage") or {}).get("completion_tokens", 0))
            metrics.request(kind, 200)
            return JSONResponse(result)

        async def events() -> AsyncIterator[bytes]:
            count = 0
            try:
                async for chunk in run_job(worker, job_run):
                    chunk["model"] = model_name
                    count += 1
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
            except Exception as exc:  # the stream has started: report in-band
                yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n".encode()
            metrics.generated(worker.name, count)
            yield b"data: [DONE]\n\n"

        metrics.request(kind, 200)
        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    for prefix in ("/engines/v1", "/engines/llama.cpp/v1", "/v1"):
        app.add_api_route(f"{prefix}/models", openai_models, methods=["GET"])
        app.add_api_route(f"{prefix}/models/{{name:path}}", _model_lookup(resolve, store), methods=["GET"])
        app.add_api_route(f"{prefix}/chat/completions", _bind(inference, "chat"), methods=["POST"])
        app.add_api_route(f"{prefix}/completions", _bind(inference, "completions"), methods=["POST"])
        app.add_api_route(f"{prefix}/embeddings", _bind(inference, "embeddings"), methods=["POST"])

    # ---- admin -------------------------------------------------------------------------------
    @app.get("/engines/status")
    async def status() -> dict:
        return {"status": "running", "backend": "llama.cpp", "version": __version__}

    @app.get("/engines/ps")
    async def ps() -> list[dict]:
        return engine.running()

    @app.post("/engines/unload")
    async def unload(request: Request) -> dict:
        data = await read_json(request)
        check_fields(data, "unload")
        if _field(data, "all", bool, default=False):
            return {"unloaded_runners": engine.unload(None)}
        names = _field(data, "models", list, default=[])
        ids = {resolve(n).id for n in names}
        return {"unloaded_runners": engine.unload(ids)}

    @app.post("/engines/_configure")
    @app.post("/engines/llama.cpp/_configure")
    async def configure(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "configure")
        entry = resolve(data.get("model"))
        context = _field(data, "context-size", int)
        flags = _field(data, "runtime-flags", list, default=[])
        if flags and not all(isinstance(f, str) for f in flags):
            raise ApiError(400, "field 'runtime-flags' must be a list of strings")
        raw = data.get("raw-runtime-flags")
        if raw is not None:
            if not isinstance(raw, str):
                raise ApiError(400, "field 'raw-runtime-flags' has the wrong type")
            flags = flags + shlex.split(raw)
        try:
            engine.configure(entry.id, context, flags)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(status_code=202)

    @app.get("/metrics")
    async def prometheus() -> Response:
        if os.environ.get("DISABLE_METRICS", "").lower() in ("1", "true", "yes"):
            return error_response(404, "metrics are disabled", "not_found_error")
        loaded = sum(1 for w in engine.running() if w["loaded"])
        return PlainTextResponse(metrics.render(loaded), media_type="text/plain; version=0.0.4")

    @app.get("/version")
    async def version() -> dict:
        return {"version": __version__}

    @app.get("/")
    async def root() -> PlainTextResponse:
        return PlainTextResponse("Docker Model Runner compatible runner is running")

    return app


def _prepull(store: Store, model: str, metrics: Metrics) -> None:
    try:
        ref = normalize(model)
        try:
            store.find(ref)
            return
        except NotFound:
            pass
        pull(ref, store, lambda event: None)
        metrics.pulled("success")
        log.info("pre-pulled %s", ref)
    except (PullError, InvalidReference) as exc:
        metrics.pulled("error")
        log.error("pre-pull of %s failed: %s", model, exc)


def _bind(handler: Any, kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await handler(request, kind)

    return endpoint


def _model_lookup(resolve: Any, store: Store) -> Any:
    async def endpoint(name: str) -> dict:
        entry = resolve(name)
        return {"id": display_name(entry.tags[0]) if entry.tags else entry.id, "object": "model",
                "created": store.describe(entry)["created"], "owned_by": "docker"}

    return endpoint


def models_from_env() -> list[str]:
    raw = os.environ.get("MODELS", "") or os.environ.get("PRELOAD_MODELS", "")
    return [m for m in raw.replace(",", " ").split() if m]


def default_models_path() -> str:
    return str(Path(os.environ.get("MODELS_PATH", "/models")))
