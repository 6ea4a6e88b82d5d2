"""One loaded model in one mode, on its own thread, serving tasks in arrival order.

Worker runs tasks one at a time on a llama-cpp-python model (embeddings; subclasses: reranking in
rerank.py, generation in batch.py's continuous-batching loop, the one generation loop, `--parallel 1`
included). A request waits its turn and is never cut off by a later one; a client that goes away sets
its job's cancel flag.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from .settings import Settings
from .tasks import END, Embedding, Job

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


def _cgroup_memory() -> tuple[int, int] | None:
    """(limit, usage) in bytes of this container's memory cgroup (v2, then v1); None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < 1 << 60:
                return int(limit), int(Path(usage_file).read_text())
        except (OSError, ValueError):
            continue
    return None


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_limit() -> int | None:
    """The container's memory limit, else the machine's MemTotal."""
    cgroup = _cgroup_memory()
    return cgroup[0] if cgroup else _meminfo("MemTotal")


def available_memory() -> int | None:
    """Bytes this container may still use: its limit less its usage, else the system's MemAvailable."""
    cgroup = _cgroup_memory()
    return max(0, cgroup[0] - cgroup[1]) if cgroup else _meminfo("MemAvailable")


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
        self._formatter: Any = None
        self.size = 0  # bytes of model files (the engine's memory cap counts them)
        self.last_used = time.time()
        self.busy = False
        self.thread = threading.Thread(target=self._loop, name=f"worker-{name}-{mode}", daemon=True)

    def start(self) -> Worker:
        """Start serving (the model loads with the first task)."""
        self.thread.start()
        return self

    def submit(self, job: Job) -> None:
        self.last_used = time.time()
        self.jobs.put(job)

    def pending(self) -> int:
        return self.jobs.qsize() + (1 if self.busy else 0)

    def status(self) -> dict[str, Any]:
        """What GET /engines/ps adds for this worker."""
        return {}

    def stop(self) -> None:
        self.jobs.put(None)

    def _load(self) -> Any:
        from llama_cpp import Llama

        # The embedding model (generation loads in batch.py, reranking in rerank.py).
        kwargs: dict[str, Any] = {"n_ctx": 4096, "n_threads": cgroup_cpus(), "verbose": False}
        kwargs.update(self.settings.load)
        kwargs["embedding"] = True
        kwargs.pop("chat_format", None)
        # Split models: llama.cpp finds shards 2..N next to the first (`model-0000i-of-0000N.gguf`).
        started = time.monotonic()
        llm = Llama(model_path=str(self.paths[0]), **kwargs)
        self.metrics.observe_load(self.name, time.monotonic() - started)
        return llm

    def chat_formatter(self, llm: Any) -> Any:
        if self._formatter is None:
            self._formatter = chat_formatter(llm, self.chat_template, self.settings.load.get("chat_format"))
        return self._formatter

    def handle(self, llm: Any, job: Job) -> None:
        """Run one task that is not batched on the loaded model, putting its result on the job."""
        result = job.task.run(self, llm, job)
        if result is not None:
            job.emit(result)

    def embed(self, llm: Any, task: Embedding) -> dict:
        return pooled(llm.create_embedding(task.inputs, model=task.model))

    def count_tokens(self, llm: Any, messages: list) -> int:
        return count_chat_tokens(llm, messages, self.chat_formatter(llm))

    def rerank(self, llm: Any, task: Any, job: Job) -> dict | None:
        raise ValueError(f"{self.name} is not a reranker model")

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
                    self.llm, self._formatter = self._load(), None
                self.handle(self.llm, job)
            except Exception as exc:  # reported to the request, the worker lives on
                job.emit(exc)
            finally:
                self.busy = False
                self.last_used = time.time()
                job.emit(END)
        self.llm = None




def pooled(result: dict) -> dict:
    """Models without a pooling type return one vector per token: average them, as OpenAI returns one."""
    for item in result.get("data") or []:
        vec = item.get("embedding")
        if vec and isinstance(vec[0], list):
            n = len(vec)
            item["embedding"] = [sum(col) / n for col in zip(*vec, strict=True)]
    return result


def chat_formatter(llm: Any, chat_template: str | None, chat_format: str | None) -> Any:
    """The prompt formatter a chat uses on this model: the artifact's template, else the GGUF's, else
    the configured format, else the architecture's (see fallback_chat_format)."""
    from llama_cpp import llama_chat_format as f

    template = chat_template if not chat_format else None
    if template is None and not chat_format:
        template = (llm.metadata or {}).get("tokenizer.chat_template")
    if template:
        return template_formatter(llm, template)
    name = chat_format or fallback_chat_format(llm.metadata) or "chatml"
    for candidate in (name.replace("-", "").replace(".", ""), name.replace("-", "_").replace(".", "_")):
        fn = getattr(f, f"format_{candidate}", None)
        if fn is not None:
            return fn
    raise ValueError(f"unknown chat format {name!r}")


def count_chat_tokens(llm: Any, messages: list, formatter: Any) -> int:
    """Prompt tokens of a chat as this model formats it."""
    formatted = formatter(messages=messages)
    return len(llm.tokenize(formatted.prompt.encode(), add_bos=not getattr(formatted, "added_special", False),
                            special=True))
