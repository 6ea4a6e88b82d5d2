"""Docker Model Runner's model management: POST /models/create (progress as JSON lines), POST
/models/load (a model archive), GET /models, GET|DELETE /models/{name}, POST /models/{name}/tag,
DELETE /models/purge."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..http import ApiError, check_fields, field, read_json
from ..names import InvalidReference, normalize
from ..registry import ArchiveError, PullError, load_archive, pull
from ..service import Runner
from ..tasks import END


def pull_source(source: str) -> str:
    """A pull's source: a URL or file as given, a reference normalised (`ai/x` -> `docker.io/ai/x:latest`)."""
    if source.startswith(("http://", "https://", "file://")):
        return source
    try:
        return normalize(source)
    except InvalidReference as exc:
        raise ApiError(400, str(exc)) from None


async def pull_events(core: Runner, source: str, bearer: str | None = None) -> AsyncIterator[dict]:
    """The progress of pulling `source` into the store, as DMR's events (progress ~10 a second, then
    one success or error), from a thread: a pull blocks on the network and the disk."""
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
    last = 0.0
    while True:
        event = await out.get()
        if event is END:
            break
        now = time.monotonic()
        if event.get("type") == "progress" and now - last < 0.1:
            continue
        last = now
        yield event
    await future


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    @router.post("/models/create")
    async def create_model(request: Request) -> Response:
        data = await read_json(request)
        check_fields(data, "create")
        source = pull_source(field(data, "from", str, required=True))
        events = pull_events(core, source, field(data, "bearer-token", str))

        async def lines() -> AsyncIterator[bytes]:
            async for event in events:
                yield (json.dumps(event) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @router.post("/models/load")
    async def load_model(request: Request) -> Response:
        """`docker model load`: a model archive (tar of blobs/sha256/<hex> and manifest.json) streamed in."""
        archive = await _receive(request, core.store.root)
        try:
            digest = await asyncio.get_running_loop().run_in_executor(None, load_archive, core.store, archive)
        except ArchiveError as exc:
            raise ApiError(400, str(exc)) from None
        finally:
            archive.unlink(missing_ok=True)
        return Response(json.dumps({"type": "success", "message": f"Model loaded successfully: {digest}"}) + "\n",
                        media_type="application/x-ndjson")

    @router.get("/models")
    async def list_models() -> list[dict]:
        return [core.store.describe(e) for e in core.store.list()]

    @router.delete("/models/purge")
    async def purge() -> Response:
        core.engine.unload(None)
        for entry in core.store.list():
            core.store.delete(entry.id)
        return Response(status_code=200)

    @router.post("/models/{name:path}/tag")
    async def tag_model(name: str, request: Request) -> Response:
        repo, tag = request.query_params.get("repo"), request.query_params.get("tag")
        if not repo or not tag:
            raise ApiError(400, "missing repo or tag query parameter")
        target = f"{repo}:{tag}"
        try:
            normalized = normalize(target)
        except InvalidReference as exc:
            raise ApiError(400, str(exc)) from None
        entry = core.resolve(name)
        core.store.add(entry.id, [normalized], entry.files)
        return JSONResponse({"message": f"Model tagged successfully with {json.dumps(target)}", "target": target},
                            status_code=201)

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


async def _receive(request: Request, root: Path) -> Path:
    """The request body in a temporary file on the store's volume (models are large), bounded by
    MAX_ARCHIVE_BYTES (default 64 GiB)."""
    limit = int(os.environ.get("MAX_ARCHIVE_BYTES", str(64 * 2**30)))
    fd, name = tempfile.mkstemp(prefix=".load-", dir=root)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"model archive larger than {limit} bytes")
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
