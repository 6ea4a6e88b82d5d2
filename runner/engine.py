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
from .rerank import RERANK, RerankWorker
from .settings import Draft, Settings, parse_flags
from .worker import COMPLETION, EMBEDDING, Worker, memory_limit

__all__ = ["COMPLETION", "EMBEDDING", "CapacityError", "Engine", "Settings", "parse_flags"]


class CapacityError(Exception):
    """A model cannot be loaded now: the caps are reached and every loaded model is busy, or the model
    alone is larger than the memory cap (HTTP 503)."""


def parse_bytes(text: str) -> int:
    """`8Gi`, `512Mi`, `2G`, `1000000` -> bytes."""
    units = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
    raw = text.strip().lower().removesuffix("b")
    for suffix in sorted(units, key=len, reverse=True):
        if raw.endswith(suffix):
            return int(float(raw[: -len(suffix)]) * units[suffix])
    return int(raw)


def _memory_cap() -> int | None:
    raw = os.environ.get("MAX_MODEL_MEMORY", "").strip()
    if raw:
        try:
            return parse_bytes(raw)
        except ValueError:
            raise SystemExit(f"MAX_MODEL_MEMORY={raw!r} is not a size (e.g. 12Gi)") from None
    total = memory_limit()
    return int(total * 0.8) if total else None


class Engine:
    """Workers by (model id, mode); settings by model id.

    At most MAX_LOADED_MODELS workers (default 4) and MAX_MODEL_MEMORY bytes of model files (default:
    80% of the container's memory limit) are loaded at once; a new one evicts the least recently used
    idle workers, and when every loaded one is busy the request gets a 503 (as DMR caps its runners)."""

    def __init__(self, metrics: Any, keep_alive: float | None = None, base_args: str = "",
                 max_loaded: int | None = None, max_memory: int | None = None) -> None:
        self.metrics = metrics
        self.max_loaded = max_loaded if max_loaded is not None else int(os.environ.get("MAX_LOADED_MODELS", "4"))
        self.max_memory = max_memory if max_memory is not None else _memory_cap()
        self.workers: dict[tuple[str, str], Worker] = {}
        self.settings: dict[str, Settings] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.base = parse_flags(base_args) if base_args else Settings()
        self.keep_alive = keep_alive if keep_alive is not None else float(os.environ.get("KEEP_ALIVE", "300"))
        self.lock = threading.Lock()

    def configure(self, model_id: str, context_size: int | None, flags: list[str] | None,
                  draft: Draft | None = None) -> None:
        settings = parse_flags(flags or [])
        settings.draft = draft
        if context_size is not None:
            if context_size < 1:
                raise ValueError("context-size must be positive")
            settings.load["n_ctx"] = context_size
        speculative = draft and {"draft_model": draft.name, "num_tokens": draft.n_max, "min_acceptance_rate": draft.p_min}
        with self.lock:
            self.settings[model_id] = settings
            # as DMR's GET /engines/_configure reports it (BackendConfiguration's JSON)
            self.configs[model_id] = {k: v for k, v in (("context-size", context_size),
                                                        ("runtime-flags", list(flags or []) or None),
                                                        ("speculative", speculative)) if v}
            # A running worker keeps its settings until it is unloaded; reload on next use.
            for mode in (COMPLETION, EMBEDDING, RERANK):
                worker = self.workers.pop((model_id, mode), None)
                if worker is not None:
                    worker.stop()

    def worker(self, model_id: str, name: str, paths: list[Path], mode: str, chat_template: str | None) -> Worker:
        with self.lock:
            key = (model_id, mode)
            worker = self.workers.get(key)
            if worker is None:
                size = sum(p.stat().st_size for p in paths)
                self._make_room(name, size)
                settings = self.base.merged(self.settings.get(model_id, Settings()))
                parallel = settings.load.get("n_seq_max")  # None: continuous batching, automatic slots
                if mode == RERANK:
                    worker = RerankWorker(model_id, name, paths, mode, settings, chat_template, self.metrics)
                elif mode == COMPLETION:  # one generation loop: `--parallel 1` is one slot of it
                    worker = BatchedWorker(model_id, name, paths, mode, settings, chat_template, self.metrics,
                                           int(parallel) if parallel and parallel > 0 else None)
                else:
                    settings = Settings({k: v for k, v in settings.load.items() if k != "n_seq_max"}, settings.sampling)
                    worker = Worker(model_id, name, paths, mode, settings, chat_template, self.metrics)
                worker.size = size
                self.workers[key] = worker.start()
            return worker

    def _make_room(self, name: str, size: int) -> None:
        """Evict idle workers, least recently used first, until one more of `size` bytes fits."""
        if self.max_memory is not None and size > self.max_memory:
            raise CapacityError(f"model {name} needs {size / 2**30:.1f} GiB, more than this runner may load "
                                f"({self.max_memory / 2**30:.1f} GiB, MAX_MODEL_MEMORY)")

        def over() -> bool:
            used = sum(getattr(w, "size", 0) for w in self.workers.values())
            return len(self.workers) + 1 > self.max_loaded or (self.max_memory is not None and used + size > self.max_memory)

        while over():
            idle = sorted((w.last_used, k) for k, w in self.workers.items() if not w.pending())
            if not idle:
                raise CapacityError(f"cannot load model {name} now: {len(self.workers)} loaded models are busy "
                                    f"(MAX_LOADED_MODELS={self.max_loaded}); retry later")
            self.workers.pop(idle[0][1]).stop()

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
             "slots": getattr(w, "n_parallel", 1), **w.status()}
            for w in sorted(workers, key=lambda w: (w.name, w.mode))
        ]

    def unload_idle(self) -> int:
        now = time.time()
        with self.lock:
            idle = [k for k, w in self.workers.items() if not w.pending() and now - w.last_used > self.keep_alive]
            for key in idle:
                self.workers.pop(key).stop()
        return len(idle)
