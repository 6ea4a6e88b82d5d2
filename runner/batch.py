"""Continuous batching: several sequences of one model decoded together in each llama.cpp batch.

Enabled per model with `--parallel N` (`-np N`) in LLAMA_ARGS or `_configure` runtime flags. The worker
keeps up to N sequences in flight: new requests join at the next step (their prompt is evaluated in the
same `llama_decode` as the running sequences' next tokens), finished or cancelled ones leave and free
their KV cells. Each sequence samples with its own llama.cpp sampler chain (every sampling field the
API accepts: temperature, top-k, top-p, min-p, typical-p, penalties, logit bias, seed).
"""

from __future__ import annotations

import ctypes
import queue
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .results import Delta, Finish, TokenLogprob, Usage
from .tasks import END, Generation, Job
from .worker import Worker, available_memory, cgroup_cpus


@dataclass
class _Seq:
    job: Job
    req: Generation
    seq_id: int
    tokens: list[int]
    stop: list[str]
    max_tokens: int
    sampler: Any
    logprobs: list[TokenLogprob] = field(default_factory=list)  # of each sampled token, when asked for
    logprobs_sent: int = 0
    cached: list = field(default_factory=list)  # the tokens in this sequence's KV cells, in order
    fed: int = 0  # prompt tokens already in the KV cache
    n_past: int = 0
    generated: int = 0
    pending: bytes = b""
    text: str = ""
    sent: int = 0
    last: int = -1
    finish: str | None = None
    proposal: list[int] = field(default_factory=list)  # the draft's tokens in this step's batch
    drafted: int = 0  # draft tokens this sequence verified, and accepted
    accepted: int = 0


class BatchedWorker(Worker):
    """A Worker (completion mode) that decodes up to `n_parallel` sequences at once. `n_parallel`
    None: as many slots as memory allows, at most MAX_AUTO_SLOTS (auto_slots), decided at load."""

    def __init__(self, model_id: str, name: str, paths: list, mode: str, settings: Any, chat_template: str | None,
                 metrics: Any, n_parallel: int | None = None) -> None:
        super().__init__(model_id, name, paths, mode, settings, chat_template, metrics)
        self.draft: Any = None  # a DraftModel when speculative decoding is configured (draft.py)
        self.drafted = self.accepted = 0  # draft tokens proposed and accepted, since the model loaded
        self.requested_slots = n_parallel
        self.n_parallel = n_parallel or 1  # until the model is loaded
        self.active: list[_Seq] = []
        self.slot_tokens: dict[int, list[int]] = {}  # what each slot's KV cache holds, position by position

    def status(self) -> dict[str, Any]:
        draft = self.settings.draft
        if draft is None:
            return {}
        return {"speculative": {"draft_model": draft.name, "num_tokens": draft.n_max, "min_acceptance_rate": draft.p_min,
                                "drafted_tokens": self.drafted, "accepted_tokens": self.accepted}}

    def pending(self) -> int:
        # `busy`: a request taken off the queue and not yet running (the model may be loading for it),
        # so the engine never takes this worker for idle in between.
        return self.jobs.qsize() + len(self.active) + (1 if self.busy else 0)

    # --- set-up -----------------------------------------------------------------------------------
    def _load(self) -> Any:
        """The model (its tokenizer and chat formatting; its own context stays tiny) and, beside it, the
        batched context every slot decodes in."""
        import llama_cpp as L
        from llama_cpp import Llama

        load = dict(self.settings.load)
        per_seq = int(load.pop("n_ctx", 4096))
        load.pop("n_seq_max", None)
        load.pop("chat_format", None)  # used by chat_formatter, not a Llama keyword here
        threads = int(load.get("n_threads", cgroup_cpus()))
        started = time.monotonic()
        llm = Llama(model_path=str(self.paths[0]), n_ctx=64, n_batch=64, verbose=False,
                    **{k: v for k, v in load.items() if k not in ("n_batch", "n_ubatch")})
        if self.requested_slots is None:
            self.n_parallel = auto_slots(llm.metadata or {}, per_seq, sum(p.stat().st_size for p in self.paths),
                                         available_memory())
        self.slot_tokens = {}
        params = L.llama_context_default_params()
        params.n_ctx = per_seq * self.n_parallel
        params.n_batch = max(512, int(load.get("n_batch", 512)))
        params.n_ubatch = min(params.n_batch, int(load.get("n_ubatch", 512)))
        params.n_seq_max = self.n_parallel
        params.n_threads = threads
        params.n_threads_batch = int(load.get("n_threads_batch", threads))
        params.no_perf = True
        # One KV buffer shared by the slots. With a stream per slot (llama.cpp's default), keeping a
        # finished slot's cells for prefix reuse made every later decode 2-3x slower (measured with
        # the tiny and the Gemma GGUF; clearing at the end avoided it, and so does the unified cache).
        params.kv_unified = True
        self.ctx = L.llama_init_from_model(llm._model.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a batched context")
        self.per_seq = per_seq
        self.vocab = L.llama_model_get_vocab(llm._model.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.batch = L.llama_batch_init(params.n_batch, 0, self.n_parallel)
        self.n_batch = params.n_batch
        self.memory = L.llama_get_memory(self.ctx)
        self._formatter = None
        self.L = L
        self.metrics.observe_load(self.name, time.monotonic() - started)
        self.draft = None
        if self.settings.draft is not None:
            from .draft import DraftModel

            try:
                self.draft = DraftModel(L, self.settings.draft, params.n_ctx, self.n_parallel, threads, self.n_vocab)
            except Exception:
                L.llama_batch_free(self.batch)
                L.llama_free(self.ctx)
                raise
        return llm

    def _free(self) -> None:
        if self.llm is None:
            return
        if self.draft is not None:
            self.draft.free()
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)
        self.llm = None

    # --- requests ---------------------------------------------------------------------------------
    def _admit(self, job: Job) -> None:
        req: Generation = job.task  # type: ignore[assignment]  # _loop admits only batched tasks
        params = req.params
        stop = params.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        if req.kind == "chat":
            formatted = self.chat_formatter(self.llm)(messages=req.messages)
            prompt = formatted.prompt
            extra = formatted.stop
            if extra:
                stop += [extra] if isinstance(extra, str) else list(extra)
            tokens = self.llm.tokenize(prompt.encode(), add_bos=not getattr(formatted, "added_special", False), special=True)
        else:
            tokens = self.llm.tokenize((req.prompt or "").encode(), add_bos=True, special=False)
        if not tokens:
            tokens = [self.llm.token_bos()]
        max_tokens = params.get("max_tokens")
        room = self.per_seq - len(tokens)
        if room <= 0:
            raise ValueError(f"prompt of {len(tokens)} tokens does not fit the context of {self.per_seq}")
        max_tokens = room if max_tokens is None or max_tokens <= 0 else min(max_tokens, room)
        used = {s.seq_id for s in self.active}
        free = [i for i in range(self.n_parallel) if i not in used]
        seq_id, reuse = pick_slot(free, self.slot_tokens, tokens)
        # Keep the KV cells of the shared prefix, drop the rest; at least the last prompt token is
        # evaluated again, for the logits of the first new token.
        if not self.L.llama_memory_seq_rm(self.memory, seq_id, reuse, -1):
            # Some caches (recurrent, some sliding-window set-ups) cannot drop a tail: start afresh.
            self.L.llama_memory_seq_rm(self.memory, seq_id, -1, -1)
            reuse = 0
        if reuse == 0:
            self.L.llama_memory_seq_rm(self.memory, seq_id, -1, -1)
        seq = _Seq(job, req, seq_id, tokens, [s for s in stop if s], max_tokens, self._sampler(req))
        seq.fed = seq.n_past = reuse
        seq.cached = tokens[:reuse]
        self.slot_tokens[seq_id] = seq.cached
        self.metrics.reused(self.name, reuse)
        self.active.append(seq)

    def _sampler(self, req: Generation) -> Any:
        """llama.cpp's own sampler chain for one sequence, built in the order and with the defaults
        llama-cpp-python uses (Llama._init_sampler and create_[chat_]completion), so a seeded request
        gives the same tokens batched or not: logit bias, penalties over the last 64 generated tokens,
        then greedy, or top-k (first: nothing else touches the whole vocabulary), typical, top-p,
        min-p, temperature and the seeded draw. Runs in C; numpy sees the logits only for logprobs."""
        from llama_cpp._internals import LlamaSampler

        p = req.params
        chat = req.kind == "chat"
        sampler = LlamaSampler()
        bias = {int(k): float(v) for k, v in (p.get("logit_bias") or {}).items() if 0 <= int(k) < self.n_vocab}
        if bias:
            sampler.add_logit_bias(self.n_vocab, bias)
        sampler.add_penalties(self.n_vocab, 64, float(p.get("repeat_penalty", 1.0)),
                              float(p.get("frequency_penalty", 0.0)), float(p.get("presence_penalty", 0.0)))
        if req.grammar:
            from llama_cpp import LlamaGrammar

            sampler.add_grammar(self.llm._model, LlamaGrammar.from_string(req.grammar, verbose=False))
        temp = float(p.get("temperature", 0.2 if chat else 0.8))
        seed = p.get("seed")
        seed = seed & 0xFFFFFFFF if isinstance(seed, int) and seed >= 0 else self.L.LLAMA_DEFAULT_SEED
        if temp < 0:
            sampler.add_dist(seed)
        elif temp == 0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(int(p.get("top_k", 40)))
            sampler.add_typical(float(p.get("typical_p", 1.0)), 1)
            sampler.add_top_p(float(p.get("top_p", 0.95)), 1)
            sampler.add_min_p(float(p.get("min_p", 0.05)), 1)
            sampler.add_temp(temp)
            sampler.add_dist(seed)
        return sampler

    def _sample(self, seq: _Seq, index: int) -> int:
        # llama_sampler_sample applies the chain to output `index` of the last decode and accepts the
        # token (the penalties remember it).
        return int(self.L.llama_sampler_sample(seq.sampler.sampler, self.ctx, index))

    def _log_softmax(self, index: int, bias: dict | None) -> Any:
        """Log-probabilities of the whole vocabulary at output `index`, with the request's logit bias
        (the distribution the model's output is drawn from, before temperature and truncation). Only
        for requests that ask for logprobs: the one place numpy sees the vocabulary."""
        logits = np.ctypeslib.as_array(self.L.llama_get_logits_ith(self.ctx, index), shape=(self.n_vocab,))
        logits = logits.astype(np.float64)
        for token, value in (bias or {}).items():
            if 0 <= int(token) < self.n_vocab:
                logits[int(token)] += float(value)
        top = logits.max()
        return logits - (top + np.log(np.exp(logits - top).sum()))

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self.L.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.L.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    def _emit_text(self, seq: _Seq, final: bool) -> None:
        """Report the text generated since the last Delta (holding back a possible stop-string prefix),
        with the logprobs of the tokens sampled since."""
        text = seq.text[seq.sent:]
        if not final and seq.stop:
            hold = max((len(s) - 1 for s in seq.stop), default=0)
            text = text[: max(0, len(text) - hold)] if hold else text
        logprobs = tuple(seq.logprobs[seq.logprobs_sent:]) if text or final else ()
        if text or logprobs:
            seq.sent += len(text)
            seq.logprobs_sent = len(seq.logprobs)
            seq.job.emit(Delta(text, logprobs))

    def _finish(self, seq: _Seq, reason: str) -> None:
        seq.finish = reason
        for s in seq.stop:
            cut = seq.text.find(s)
            if cut >= 0:
                seq.text = seq.text[:cut]
                seq.finish = "stop"
        self._emit_text(seq, final=True)
        seq.job.emit(Finish(seq.finish, Usage(len(seq.tokens), seq.generated)))
        self.metrics.generated(self.name, seq.generated)  # the one place generated tokens are counted
        seq.job.emit(END)
        self._release(seq)

    def _drop_idle_caches(self) -> bool:
        """Free the cells idle slots keep for prefix reuse; True when there were any."""
        busy = {s.seq_id for s in self.active}
        idle = [slot for slot, cached in self.slot_tokens.items() if slot not in busy and cached]
        for slot in idle:
            self.L.llama_memory_seq_rm(self.memory, slot, -1, -1)
            self.slot_tokens[slot] = []
            if self.draft is not None:
                self.draft.forget(slot)
        return bool(idle)

    def _release(self, seq: _Seq, keep_cache: bool = True) -> None:
        """Free the slot; its KV cells stay for the next prompt that starts the same way."""
        if keep_cache:
            self.slot_tokens[seq.seq_id] = seq.cached
        else:
            self.L.llama_memory_seq_rm(self.memory, seq.seq_id, -1, -1)
            self.slot_tokens.pop(seq.seq_id, None)
            if self.draft is not None:
                self.draft.forget(seq.seq_id)
        seq.sampler.close()

    # --- the loop -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        stopping = False
        while not stopping or self.active:
            # Admit new requests: block only when nothing is running.
            while len(self.active) < self.n_parallel and not stopping:
                try:
                    job = self.jobs.get(block=not self.active, timeout=None)
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                if job.cancel.is_set():
                    job.emit(END)
                    continue
                self.busy = True
                try:
                    if self.llm is None:
                        self.llm = self._load()
                    if job.task.batched:
                        self._admit(job)
                    else:  # token counting and the like: done at once, between two decodes
                        self.handle(self.llm, job)
                        job.emit(END)
                except Exception as exc:  # reported to that request only
                    job.emit(exc)
                    job.emit(END)
                finally:
                    self.busy = False
            if not self.active:
                continue
            try:
                self._step()
            except Exception as exc:  # a failed decode ends every running sequence with the error
                for seq in self.active:
                    seq.job.emit(exc)
                    seq.job.emit(END)
                    self._release(seq, keep_cache=False)
                self.active = []
            self.last_used = time.time()
        self._free()

    def _draft_room(self, seq: _Seq, room: int) -> int:
        """How many draft tokens this sequence may verify in this step: the draft's n_max, within the
        batch's room (after its own next token), its max_tokens and its context; none once the sequence
        has verified 2 x n_max drafts and accepted fewer than min_acceptance_rate of them (a draft that
        keeps missing only costs time)."""
        draft = self.draft
        if draft is None:
            return 0
        if draft.p_min > 0 and seq.drafted >= 2 * draft.n_max and seq.accepted < draft.p_min * seq.drafted:
            return 0
        return max(0, min(draft.n_max, room - 1, seq.max_tokens - seq.generated - 1, self.per_seq - seq.n_past - 2))

    def _step(self) -> None:
        L = self.L
        batch = self.batch
        n = 0
        # (sequence, batch indices with logits, whether it is generating: its token at seq.n_past is seq.last)
        outputs: list[tuple[_Seq, list[int], bool]] = []
        for seq in list(self.active):
            if seq.job.cancel.is_set():
                self.active.remove(seq)
                self._finish(seq, "stop")
                continue
        budget = self.n_batch
        for seq in self.active:
            if seq.fed < len(seq.tokens):  # prompt (or the rest of it)
                take = min(len(seq.tokens) - seq.fed, budget - n)
                if take <= 0:
                    continue
                for k in range(take):
                    pos = seq.fed + k
                    batch.token[n] = seq.tokens[pos]
                    batch.pos[n] = pos
                    batch.n_seq_id[n] = 1
                    batch.seq_id[n][0] = seq.seq_id
                    batch.logits[n] = pos == len(seq.tokens) - 1
                    if batch.logits[n]:
                        outputs.append((seq, [n], False))
                    n += 1
                seq.cached.extend(seq.tokens[seq.fed:seq.fed + take])
                seq.fed += take
                seq.n_past = seq.fed
            elif n < budget:
                # the next token, and what the draft proposes after it: verified in this one decode
                limit = self._draft_room(seq, budget - n)
                seq.proposal = self.draft.propose(seq.seq_id, [*seq.cached, seq.last], limit,
                                                  seq.req.params.get("logit_bias")) if limit else []
                indices = []
                for k, token in enumerate([seq.last, *seq.proposal]):
                    batch.token[n] = token
                    batch.pos[n] = seq.n_past + k
                    batch.n_seq_id[n] = 1
                    batch.seq_id[n][0] = seq.seq_id
                    batch.logits[n] = True
                    indices.append(n)
                    n += 1
                outputs.append((seq, indices, True))
        if n == 0:
            return
        batch.n_tokens = n
        rc = L.llama_decode(self.ctx, batch)
        if rc == 1 and self._drop_idle_caches():  # no room in the shared KV cache: idle slots make way
            rc = L.llama_decode(self.ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed ({rc})")
        for seq, indices, generating in outputs:
            # The main model's own sampler at each position, in order: the draft's token is kept while it
            # is what the model samples; the first other token ends the step (the output is what the
            # model alone would give, token for token with greedy sampling, in distribution otherwise).
            sampled: list[int] = []
            for k, i in enumerate(indices):
                sampled.append(self._sample_logged(seq, i))
                if k >= len(seq.proposal) or sampled[-1] != seq.proposal[k]:
                    break
            if generating:
                kept = len(sampled) - 1  # draft tokens accepted
                seq.cached.extend([seq.last, *seq.proposal[:kept]])
                seq.n_past += 1 + kept
                if seq.proposal:
                    L.llama_memory_seq_rm(self.memory, seq.seq_id, seq.n_past, -1)  # the rejected drafts' cells
                    self.draft.accepted(seq.seq_id, seq.n_past)
                    self.drafted += len(seq.proposal)
                    self.accepted += kept
                    seq.drafted += len(seq.proposal)
                    seq.accepted += kept
                    self.metrics.drafted(self.name, len(seq.proposal), kept)
                seq.proposal = []
            for token in sampled:
                if self._take(seq, token):
                    break

    def _sample_logged(self, seq: _Seq, index: int) -> int:
        """Sample output `index` for `seq` (with the request's logprobs when it asked for them)."""
        dist = self._log_softmax(index, seq.req.params.get("logit_bias")) if seq.req.logprobs is not None else None
        token = self._sample(seq, index)
        if dist is not None and not self.L.llama_vocab_is_eog(self.vocab, token):
            top = np.argsort(-dist)[: seq.req.logprobs] if seq.req.logprobs else []
            seq.logprobs.append(TokenLogprob(self._piece(token), float(dist[token]),
                                             tuple((self._piece(int(t)), float(dist[int(t)])) for t in top)))
        return token

    def _take(self, seq: _Seq, token: int) -> bool:
        """One generated token: its text, then whether the sequence is done (and finished)."""
        seq.last = token
        if self.L.llama_vocab_is_eog(self.vocab, token):
            self.active.remove(seq)
            self._finish(seq, "stop")
            return True
        seq.generated += 1
        seq.pending += self._piece(token)
        try:
            seq.text += seq.pending.decode("utf-8")
            seq.pending = b""
        except UnicodeDecodeError:
            pass  # an incomplete multi-byte character: wait for the next token
        if any(s in seq.text for s in seq.stop):
            self.active.remove(seq)
            self._finish(seq, "stop")
            return True
        if seq.generated >= seq.max_tokens or seq.n_past + 1 >= self.per_seq:
            self.active.remove(seq)
            self._finish(seq, "length")
            return True
        self._emit_text(seq, final=False)
        return False


MAX_AUTO_SLOTS = 8


def kv_bytes_per_token(metadata: dict) -> int:
    """KV-cache bytes one token takes (f16 keys and values in every layer), from the GGUF's metadata."""
    arch = str(metadata.get("general.architecture") or "llama")

    def meta(key: str, default: int) -> int:
        try:
            return int(metadata.get(f"{arch}.{key}", default))
        except (TypeError, ValueError):
            return default

    layers = meta("block_count", 32)
    heads = meta("attention.head_count", 32)
    kv_heads = meta("attention.head_count_kv", heads)
    head_dim = meta("attention.key_length", meta("embedding_length", 4096) // max(1, heads))
    value_dim = meta("attention.value_length", head_dim)
    return 2 * layers * kv_heads * (head_dim + value_dim)


def auto_slots(metadata: dict, per_seq: int, model_bytes: int, available: int | None) -> int:
    """Slots for continuous batching when none are configured (llama-server chooses its own too): as
    many sequences of `per_seq` tokens as half the memory left beside the model holds, 1 to 8."""
    if available is None:
        return 4
    budget = available // 2 - model_bytes
    per_slot = per_seq * kv_bytes_per_token(metadata)
    return max(1, min(MAX_AUTO_SLOTS, budget // max(1, per_slot)))


def pick_slot(free: list[int], cached: dict[int, list[int]], tokens: list[int]) -> tuple[int, int]:
    """The free slot whose cached tokens share the longest prefix with `tokens` (llama-server's slot
    prompt similarity), and how many of its cached tokens can stay: never the whole prompt, whose last
    token must be evaluated again for the logits. Ties go to an empty slot, then to the lowest id."""
    best, best_len = free[0], -1
    for slot in free:
        have = cached.get(slot, [])
        n = 0
        for a, b in zip(have, tokens, strict=False):
            if a != b:
                break
            n += 1
        if n > best_len or (n == best_len and not have and cached.get(best)):
            best, best_len = slot, n
    return best, max(0, min(best_len, len(tokens) - 1))
