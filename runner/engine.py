"""Inference: one worker thread per loaded (model, mode), each with its own FIFO queue.

- A request waits its turn and is never cut off by a later one (llama-cpp-python's own server aborts
  the running stream when a new request arrives).
- Different models, and the embedding and completion modes of one model, run in parallel.
- A client that goes away sets its job's cancel flag; generation stops at the next token.
- Idle workers unload their model after KEEP_ALIVE seconds.
"""

from __future__ import annotations

import asyncio
import math
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMPLETION = "completion"
EMBEDDING = "embedding"


def cgroup_cpus() -> int:
    """CPUs this container may use: the cgroup quota (v2 `cpu.max`, v1 cfs), else the affinity mask."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota_us > 0:
            return max(1, math.ceil(quota_us / period_us))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# llama.cpp server flags -> (Llama keyword, converter). Sampling flags become request defaults.
_LOAD_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--ctx-size": ("n_ctx", int), "-c": ("n_ctx", int),
    "--threads": ("n_threads", int), "-t": ("n_threads", int),
    "--threads-batch": ("n_threads_batch", int), "-tb": ("n_threads_batch", int),
    "--batch-size": ("n_batch", int), "-b": ("n_batch", int),
    "--ubatch-size": ("n_ubatch", int), "-ub": ("n_ubatch", int),
    "--n-gpu-layers": ("n_gpu_layers", int), "-ngl": ("n_gpu_layers", int), "--gpu-layers": ("n_gpu_layers", int),
    "--main-gpu": ("main_gpu", int), "-mg": ("main_gpu", int),
    "--seed": ("seed", int), "-s": ("seed", int),
    "--rope-freq-base": ("rope_freq_base", float), "--rope-freq-scale": ("rope_freq_scale", float),
    "--chat-template": ("chat_format", str), "--chat-format": ("chat_format", str),
    "--parallel": ("n_seq_max", int), "-np": ("n_seq_max", int),
}
_BOOL_FLAGS = {
    "--flash-attn": ("flash_attn", True), "-fa": ("flash_attn", True),
    "--no-mmap": ("use_mmap", False), "--mlock": ("use_mlock", True),
    "--embedding": ("embedding", True), "--embeddings": ("embedding", True),
}
_SAMPLING = {
    "--temp": ("temperature", float), "--temperature": ("temperature", float),
    "--top-k": ("top_k", int), "--top-p": ("top_p", float), "--min-p": ("min_p", float),
    "--repeat-penalty": ("repeat_penalty", float), "--presence-penalty": ("presence_penalty", float),
    "--frequency-penalty": ("frequency_penalty", float), "--n-predict": ("max_tokens", int), "-n": ("max_tokens", int),
}
_IGNORED = {"--verbose", "-v", "--verbose-prompt", "--jinja", "--metrics", "--no-webui", "--log-disable", "--cont-batching",
            "-cb", "--no-warmup"}


@dataclass
class Settings:
    """How to load and sample one model: LLAMA_ARGS, then `_configure`'s context size and flags."""

    load: dict[str, Any] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)

    def merged(self, other: Settings) -> Settings:
        return Settings({**self.load, **other.load}, {**self.sampling, **other.sampling})


def parse_flags(flags: list[str] | str) -> Settings:
    """llama.cpp command-line flags -> Settings. Unknown flags raise ValueError."""
    items = shlex.split(flags) if isinstance(flags, str) else [str(f) for f in flags]
    out = Settings()
    i = 0
    while i < len(items):
        flag = items[i]
        value: str | None = None
        if flag.startswith("--") and "=" in flag:
            flag, value = flag.split("=", 1)
        if flag in _IGNORED:
            i += 1
            continue
        if flag in _BOOL_FLAGS:
            key, val = _BOOL_FLAGS[flag]
            out.load[key] = val
            i += 1
            continue
        table = _LOAD_FLAGS if flag in _LOAD_FLAGS else _SAMPLING if flag in _SAMPLING else None
        if table is None:
            raise ValueError(f"unsupported runtime flag {flag}")
        if value is None:
            if i + 1 >= len(items):
                raise ValueError(f"runtime flag {flag} needs a value")
            value = items[i + 1]
            i += 1
        key, conv = table[flag]
        try:
            converted = conv(value)
        except ValueError:
            raise ValueError(f"invalid value {value!r} for runtime flag {flag}") from None
        (out.load if table is _LOAD_FLAGS else out.sampling)[key] = converted
        i += 1
    return out


class _End:
    pass


END = _End()


@dataclass
class Job:
    run: Callable[[Any, Job], None]
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue
    cancel: threading.Event = field(default_factory=threading.Event)

    def emit(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the event loop is gone: the server is stopping
            self.cancel.set()


# Chat formats by GGUF architecture, for models that ship no chat template; anything else gets ChatML,
# the fallback llama-server uses. (llama-cpp-python's own fallback, llama-2, makes such models answer
# with empty text.)
_ARCHITECTURE_FORMATS = {"gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma", "gemma3n": "gemma",
                         "mistral": "mistral-instruct", "qwen": "qwen", "chatglm": "chatglm3"}


def fallback_chat_format(metadata: dict | None) -> str | None:
    """The format for a model whose GGUF has no chat template; None when it has one."""
    metadata = metadata or {}
    if metadata.get("tokenizer.chat_template"):
        return None
    arch = str(metadata.get("general.architecture") or "")
    return _ARCHITECTURE_FORMATS.get(arch) or ("gemma" if arch.startswith("gemma") else "chatml")


def template_formatter(llm: Any, template: str) -> Any:
    """A llama-cpp-python formatter for a Jinja chat template, with the model's BOS/EOS texts."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token_text(token: int) -> str:
        return llm.detokenize([token], special=True).decode("utf-8", errors="ignore") if token >= 0 else ""

    return Jinja2ChatFormatter(template=template, eos_token=token_text(llm.token_eos()),
                               bos_token=token_text(llm.token_bos()), stop_token_ids=[llm.token_eos()])


class Worker:
    """One model in one mode, loaded in its own thread, serving jobs in arrival order."""

    def __init__(self, model_id: str, name: str, paths: list[Path], mode: str, settings: Settings,
                 chat_template: str | None, metrics: Any) -> None:
        self.model_id = model_id
        self.name = name
        self.paths = paths
        self.mode = mode
        self.settings = settings
        self.chat_template = chat_template
        self.metrics = metrics
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.llm: Any = None
        self.last_used = time.time()
        self.busy = False
        self.thread = threading.Thread(target=self._loop, name=f"worker-{name}-{mode}", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> None:
        self.last_used = time.time()
        self.jobs.put(job)

    def pending(self) -> int:
        return self.jobs.qsize() + (1 if self.busy else 0)

    def stop(self) -> None:
        self.jobs.put(None)

    def _load(self) -> Any:
        from llama_cpp import Llama

        kwargs: dict[str, Any] = {"n_ctx": 4096, "n_threads": cgroup_cpus(), "verbose": False}
        kwargs.update(self.settings.load)
        kwargs["embedding"] = self.mode == EMBEDDING
        if self.mode == EMBEDDING:
            kwargs.pop("chat_format", None)
        # Split models: llama.cpp finds shards 2..N next to the first (`model-0000i-of-0000N.gguf`).
        started = time.monotonic()
        llm = Llama(model_path=str(self.paths[0]), **kwargs)
        if self.chat_template and self.mode == COMPLETION and "chat_format" not in self.settings.load:
            # The artifact's chat template layer wins over the GGUF's built-in one, as in DMR.
            llm.chat_handler = template_formatter(llm, self.chat_template).to_chat_handler()
        elif self.mode == COMPLETION and "chat_format" not in self.settings.load:
            fallback = fallback_chat_format(llm.metadata)
            if fallback:
                llm.chat_format, llm.chat_handler = fallback, None
        self.metrics.observe_load(self.name, time.monotonic() - started)
        return llm

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                break
            if job.cancel.is_set():
                job.emit(END)
                continue
            self.busy = True
            try:
                if self.llm is None:
                    self.llm = self._load()
                job.run(self.llm, job)
            except Exception as exc:  # reported to the request, the worker lives on
                job.emit(exc)
            finally:
                self.busy = False
                self.last_used = time.time()
                job.emit(END)
        self.llm = None


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
                parallel = int(settings.load.get("n_seq_max", 1))
                if mode == COMPLETION and parallel > 1:
                    from .batch import BatchedWorker

                    worker = BatchedWorker(model_id, name, paths, mode, settings, chat_template, self.metrics, parallel)
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
             "last_used": int(w.last_used), "loaded": w.llm is not None, "pending": w.pending()}
            for w in sorted(workers, key=lambda w: (w.name, w.mode))
        ]

    def unload_idle(self) -> int:
        now = time.time()
        with self.lock:
            idle = [k for k, w in self.workers.items() if not w.pending() and now - w.last_used > self.keep_alive]
            for key in idle:
                self.workers.pop(key).stop()
        return len(idle)
