"""The draft model of speculative decoding (batch.py verifies what it proposes).

As llama-server's draft: the draft model keeps its own KV cache per slot, in step with the tokens the
main model has accepted; for a sequence it drafts greedily, up to `n_max` tokens, while its top token's
probability is at least `p_min` (DMR's min_acceptance_rate, which it passes to llama-server as
--spec-draft-p-min; batch.py also stops drafting for a sequence whose drafts are accepted less often
than that). Both models must share a vocabulary (the tokens are the main model's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .names import display_name, normalize
from .settings import Draft


def draft_for(store: Any, reference: str, n_max: int | None, p_min: float | None) -> Draft:
    """The draft to load for `speculative` settings: its model must be in the store, as DMR requires
    (NotFound, StoreError or ValueError otherwise)."""
    n_max = Draft.n_max if not n_max else int(n_max)
    p_min = float(p_min or 0.0)
    if n_max < 1 or not 0 <= p_min <= 1:
        raise ValueError("speculative num_tokens must be >= 1 and min_acceptance_rate within 0..1")
    entry = store.find(reference if reference.startswith("sha256:") else normalize(reference))
    name = display_name(entry.tags[0]) if entry.tags else entry.id
    return Draft(tuple(store.gguf_files(entry)), name, n_max, p_min)


class DraftModel:
    def __init__(self, L: Any, draft: Draft, n_ctx: int, n_parallel: int, threads: int, n_vocab: int) -> None:
        from llama_cpp import Llama

        self.L, self.n_max, self.p_min, self.name = L, draft.n_max, draft.p_min, draft.name
        self.llm = Llama(model_path=str(draft.paths[0]), n_ctx=64, n_batch=64, verbose=False, n_threads=threads)
        self.vocab = L.llama_model_get_vocab(self.llm._model.model)
        if L.llama_vocab_n_tokens(self.vocab) != n_vocab:
            self.llm.close()
            raise ValueError(f"draft model {draft.name} has another vocabulary ({L.llama_vocab_n_tokens(self.vocab)} "
                             f"tokens, the model {n_vocab}); speculative decoding needs the same one")
        self.n_vocab = n_vocab
        params = L.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = 512
        params.n_seq_max = n_parallel
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        params.kv_unified = True
        self.ctx = L.llama_init_from_model(self.llm._model.model, params)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context for the draft model {draft.name}")
        self.memory = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(512, 0, 1)
        self.cached: dict[int, list[int]] = {}  # what each slot's draft KV cache holds

    def free(self) -> None:
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)
        self.llm.close()

    def forget(self, slot: int) -> None:
        self.L.llama_memory_seq_rm(self.memory, slot, -1, -1)
        self.cached[slot] = []

    def _decode(self, slot: int, tokens: list[int], start: int) -> None:
        """Evaluate `tokens` at positions from `start` in `slot`, logits for the last one only."""
        L, batch = self.L, self.batch
        for offset in range(0, len(tokens), 512):
            chunk = tokens[offset:offset + 512]
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = start + offset + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = slot
                batch.logits[i] = offset + i == len(tokens) - 1
            batch.n_tokens = len(chunk)
            if L.llama_decode(self.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed in the draft model")

    def _best(self, bias: dict[int, float]) -> tuple[int, float]:
        """The draft's greedy token after the last decode (with the request's logit bias, so it does not
        propose what the model may not sample), and its probability (computed only when p_min asks for
        it: a softmax over the vocabulary)."""
        logits = np.ctypeslib.as_array(self.L.llama_get_logits_ith(self.ctx, -1), shape=(self.n_vocab,))
        if bias:
            logits = logits.copy()
            for t, value in bias.items():
                if 0 <= t < self.n_vocab:
                    logits[t] += value
        token = int(np.argmax(logits))
        if self.p_min <= 0:
            return token, 1.0
        shifted = np.exp(logits.astype(np.float64) - float(logits[token]))
        return token, float(1.0 / shifted.sum())

    def propose(self, slot: int, history: list[int], limit: int, bias: dict[int, float] | None = None) -> list[int]:
        """Up to `limit` draft tokens to follow `history` (every token of the sequence, the one the main
        model evaluates next included). The draft's cache keeps what it shares with `history`."""
        have = self.cached.get(slot, [])
        keep = 0
        for a, b in zip(have, history, strict=False):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(history) - 1)  # the last token is evaluated again, for its logits
        self.L.llama_memory_seq_rm(self.memory, slot, keep, -1)
        self._decode(slot, history[keep:], keep)
        cached = list(history)
        drafted: list[int] = []
        while len(drafted) < limit:
            token, p = self._best(bias or {})
            if p < self.p_min or self.L.llama_vocab_is_eog(self.vocab, token):
                break
            drafted.append(token)
            if len(drafted) < limit:
                self._decode(slot, [token], len(cached))
                cached.append(token)
        self.cached[slot] = cached
        return drafted

    def accepted(self, slot: int, valid: int) -> None:
        """The main model kept the first `valid` tokens of what the draft cache holds; drop the rest."""
        cached = self.cached.get(slot, [])
        if len(cached) > valid:
            self.L.llama_memory_seq_rm(self.memory, slot, valid, -1)
            self.cached[slot] = cached[:valid]
