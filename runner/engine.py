"""Inference: one worker per loaded (model, mode), each with its own queue (see worker.py and batch.py).

Different models, and the embedding and completion modes of one model, run in parallel. Idle workers
unload their model after KEEP_ALIVE seconds.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from .batch import BatchedWorker
from .settings import Settings, parse_flags
from .worker import COMPLETION, EMBEDDING, Worker

__all__ = ["COMPLETION", "EMBEDDING", "Engine", "Settings", "parse_flags"]


class Engine:
    """Workers by (model id, mode); settings by model id."""

    def __init__(self, metrics: Any, keep_alive: float | None = None, base_args: str = "") -> None:
        self.metrics = metrics
        self.workers: dict[tuple[str, str], Worker] = {}
        self.settings: dict[str, Settings] = {}
        self.base = parse_flags(base_args) if base_args else Settings()
        self.keep_alive = keep_alive if keep_alive is not None else float(os.environ.get("KEEP_ALIVE", "300"))
        self.lock = threading.Lock()

    def configure(self, model_id: str, context_size: int | None, flags: list[str] | None) -> None:
        settings = parse_flags(flags or [])
        if context_size is not None:
            if context_size < 1:
                raise ValueError("context-size must be positive")
            settings.load["n_ctx"] = context_size
        with self.lock:
            self.settings[model_id] = settings
            # A running worker keeps its settings until it is unloaded; reload on next use.
            for mode in (COMPLETION, EMBEDDING):
                worker = self.workers.pop((model_id, mode), None)
                if worker is not None:
                    worker.stop()

    def worker(self, model_id: str, name: str, paths: list[Path], mode: str, chat_template: str | None) -> Worker:
        with self.lock:
            key = (model_id, mode)
            worker = self.workers.get(key)
            if worker is None:
                settings = self.base.merged(self.settings.get(model_id, Settings()))
                parallel = settings.load.get("n_seq_max")  # None: continuous batching, automatic slots
                if mode == COMPLETION and parallel != 1:
                    worker = BatchedWorker(model_id, name, paths, mode, settings, chat_template, self.metrics,
                                           int(parallel) if parallel and parallel > 0 else None)
                else:
                    settings = Settings({k: v for k, v in settings.load.items() if k != "n_seq_max"}, settings.sampling)
                    worker = Worker(model_id, name, paths, mode, settings, chat_template, self.metrics)
                self.workers[key] = worker
            return worker

    def sampling_defaults(self, model_id: str) -> dict[str, Any]:
        return self.base.merged(self.settings.get(model_id, Settings())).sampling

    def unload(self, model_ids: set[str] | None = None) -> int:
        with self.lock:
            keys = [k for k in self.workers if model_ids is None or k[0] in model_ids]
            for key in keys:
                self.workers.pop(key).stop()
        return len(keys)

    def running(self) -> list[dict[str, Any]]:
        with self.lock:
            workers = list(self.workers.values())
        return [
            {"backend_name": "llama.cpp", "model_name": w.name, "mode": w.mode,
             "last_used": int(w.last_used), "loaded": w.llm is not None, "pending": w.pending(),
             "slots": getattr(w, "n_parallel", 1)}
            for w in sorted(workers, key=lambda w: (w.name, w.mode))
        ]

    def unload_idle(self) -> int:
        now = time.time()
        with self.lock:
            idle = [k for k, w in self.workers.items() if not w.pending() and now - w.last_used > self.keep_alive]
            for key in idle:
                self.workers.pop(key).stop()
        return len(idle)
