"""What a generation reports, whatever the API: typed events the batched loop emits and each router
serialises in its API's shape (OpenAI chat and completions, the Responses API, Anthropic, Ollama).

A generation is a run of `Delta`s (text as it becomes final, with the logprobs of the tokens sampled
since the last one) closed by one `Finish` (why it stopped, and the token counts where they were
sampled). Non-streamed responses are the same events, collected (`collect`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenLogprob:
    """One sampled token: its bytes, its log-probability and the top alternatives'."""

    token: bytes
    logprob: float
    top: tuple[tuple[bytes, float], ...] = ()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def openai(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens}


@dataclass(frozen=True)
class Delta:
    text: str
    logprobs: tuple[TokenLogprob, ...] = ()

    def apply(self, done: Completion) -> None:
        done.text += self.text
        done.logprobs.extend(self.logprobs)


@dataclass(frozen=True)
class Finish:
    reason: str  # "stop" | "length"
    usage: Usage

    def apply(self, done: Completion) -> None:
        done.reason, done.usage = self.reason, self.usage


Event = Delta | Finish


@dataclass
class Completion:
    """A whole generation: the events of one, collected."""

    text: str = ""
    reason: str = "stop"
    usage: Usage = field(default_factory=lambda: Usage(0, 0))
    logprobs: list[TokenLogprob] = field(default_factory=list)


async def collect(events: AsyncIterator[Any]) -> Completion:
    done = Completion()
    async for event in events:
        event.apply(done)
    return done


def text_of(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
