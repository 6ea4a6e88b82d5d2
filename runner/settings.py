"""How a model is loaded and sampled: llama.cpp server flags (LLAMA_ARGS, `_configure`) parsed."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Draft:
    """Speculative decoding (`_configure`'s `speculative`, DMR's SpeculativeDecodingConfig, which DMR
    passes to llama-server as --model-draft, --spec-draft-n-max and --spec-draft-p-min): a draft model
    that proposes up to `n_max` tokens per step, drafting while its own top token's probability is at
    least `p_min`."""

    paths: tuple[Path, ...]
    name: str
    n_max: int = 3  # llama-server's default
    p_min: float = 0.0


@dataclass
class Settings:
    """How to load and sample one model: LLAMA_ARGS, then `_configure`'s context size, flags and draft."""

    load: dict[str, Any] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)
    draft: Draft | None = None

    def merged(self, other: Settings) -> Settings:
        return Settings({**self.load, **other.load}, {**self.sampling, **other.sampling}, other.draft or self.draft)


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


