"""What the API submits to a worker: one typed task per request, the same for every kind of worker.

A Job carries the task, the event loop to report on and the queue the API reads results from; workers
put results (a generation's typed events, results.py; another task's one result) or an exception on
it, and END when done. A client that goes away sets `cancel`.

A generation is `batched`: the batched loop (batch.py) decodes it beside others. Every other task runs
at once on the loaded model, by its own `run` (no dispatch on task types in the workers).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Generation:
    """A chat or text completion, with OpenAI's field names (every API is translated to these)."""

    kind: str  # "chat" | "completions"
    prompt: str | None = None
    messages: list | None = None
    params: dict = field(default_factory=dict)  # sampling and llama-cpp-python keywords
    stream: bool = True
    model: str = ""
    include_usage: bool = False  # a last stream chunk with the token counts
    grammar: str | None = None  # GBNF the output must follow (response_format, tools)
    logprobs: int | None = None  # top alternatives per token to report (0: only the chosen token's)
    batched = True

    def run(self, worker: Any, llm: Any, job: Job) -> Any:
        raise ValueError(f"{worker.name} is loaded in {worker.mode} mode; it does not generate")


@dataclass
class Embedding:
    inputs: str | list[str]
    model: str = ""
    batched = False

    def run(self, worker: Any, llm: Any, job: Job) -> Any:
        return worker.embed(llm, self)


@dataclass
class CountTokens:
    """How many prompt tokens a chat would take (Anthropic's count_tokens)."""

    messages: list
    batched = False

    def run(self, worker: Any, llm: Any, job: Job) -> Any:
        return {"input_tokens": worker.count_tokens(llm, self.messages)}


@dataclass
class Rerank:
    """Relevance of each document to the query (reranker models)."""

    query: str
    documents: list[str]
    batched = False

    def run(self, worker: Any, llm: Any, job: Job) -> Any:
        return worker.rerank(llm, self, job)


Task = Generation | Embedding | CountTokens | Rerank


class _End:
    pass


END = _End()


@dataclass
class Job:
    task: Task
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue
    cancel: threading.Event = field(default_factory=threading.Event)

    def emit(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the event loop is gone: the server is stopping
            self.cancel.set()
