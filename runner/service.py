"""What every API router shares: finding a model, its worker, and running one task on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .engine import CapacityError, Engine
from .http import ApiError
from .metrics import Metrics
from .names import InvalidReference, display_name
from .recorder import RequestLog
from .store import NotFound, Store, StoreError
from .tasks import END, Job, Task


@dataclass
class Runner:
    store: Store
    engine: Engine
    metrics: Metrics
    requests: RequestLog = field(default_factory=RequestLog)

    def resolve(self, name: Any) -> Any:
        if not isinstance(name, str) or not name:
            raise ApiError(400, "field 'model' must be a non-empty string")
        try:
            return self.store.find(name)
        except InvalidReference as exc:
            raise ApiError(400, str(exc)) from None
        except NotFound:
            raise ApiError(404, f"model {name} not found", "not_found_error") from None
        except StoreError as exc:
            raise ApiError(500, str(exc), "server_error") from None

    def worker_for(self, entry: Any, mode: str) -> Any:
        try:
            paths = self.store.gguf_files(entry)
        except StoreError as exc:
            raise ApiError(500, str(exc), "server_error") from None
        name = display_name(entry.tags[0]) if entry.tags else entry.id
        try:
            return self.engine.worker(entry.id, name, paths, mode, self.store.chat_template(entry))
        except CapacityError as exc:
            raise ApiError(503, str(exc), "server_error") from None

    async def results(self, worker: Any, task: Task) -> AsyncIterator[Any]:
        """The results of `task` on `worker` as they come; cancels the task when the caller stops."""
        job = Job(task, asyncio.get_running_loop(), asyncio.Queue())
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

    async def one(self, worker: Any, task: Task) -> dict:
        items = [item async for item in self.results(worker, task)]
        if not items:
            raise ApiError(500, "the worker returned no result", "server_error")
        return items[0]
