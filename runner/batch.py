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
import uuid
from dataclasses import dataclass, field
from typing import Any

from .tasks import END, Generation, Job
from .worker import Worker, cgroup_cpus


@dataclass
class _Seq:
    job: Job
    req: Generation
    seq_id: int
    tokens: list[int]
    stop: list[str]
    max_tokens: int
    sampler: Any
    fed: int = 0  # prompt tokens already in the KV cache
    n_past: int = 0
    generated: int = 0
    pending: bytes = b""
    text: str = ""
    sent: int = 0
    last: int = -1
    role_sent: bool = False
    finish: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])


class BatchedWorker(Worker):
    """A Worker (completion mode) that decodes up to `n_parallel` sequences at once."""

    def __init__(self, model_id: str, name: str, paths: list, mode: str, settings: Any, chat_template: str | None,
                 metrics: Any, n_parallel: int) -> None:
        self.n_parallel = n_parallel
        self.active: list[_Seq] = []
        super().__init__(model_id, name, paths, mode, settings, chat_template, metrics)  # starts self._loop

    def pending(self) -> int:
        return self.jobs.qsize() + len(self.active)

    # --- set-up -----------------------------------------------------------------------------------
    def _load(self) -> None:
        import llama_cpp as L
        from llama_cpp import Llama

        load = dict(self.settings.load)
        per_seq = int(load.pop("n_ctx", 4096))
        load.pop("n_seq_max", None)
        load.pop("chat_format", None)  # used by chat_formatter, not a Llama keyword here
        threads = int(load.get("n_threads", cgroup_cpus()))
        # The Llama object gives us the model, tokenizer and chat formatting; its own context stays tiny.
        self.llm = Llama(model_path=str(self.paths[0]), n_ctx=64, n_batch=64, verbose=False,
                         **{k: v for k, v in load.items() if k not in ("n_batch", "n_ubatch")})
        params = L.llama_context_default_params()
        params.n_ctx = per_seq * self.n_parallel
        params.n_batch = max(512, int(load.get("n_batch", 512)))
        params.n_ubatch = min(params.n_batch, int(load.get("n_ubatch", 512)))
        params.n_seq_max = self.n_parallel
        params.n_threads = threads
        params.n_threads_batch = int(load.get("n_threads_batch", threads))
        params.no_perf = True
        self.ctx = L.llama_init_from_model(self.llm._model.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a batched context")
        self.per_seq = per_seq
        self.vocab = L.llama_model_get_vocab(self.llm._model.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.batch = L.llama_batch_init(params.n_batch, 0, self.n_parallel)
        self.n_batch = params.n_batch
        self.memory = L.llama_get_memory(self.ctx)
        self._formatter = None
        self.L = L

    def _free(self) -> None:
        if self.llm is None:
            return
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)
        self.llm = None

    # --- requests ---------------------------------------------------------------------------------
    def _admit(self, job: Job) -> None:
        req = job.task
        assert isinstance(req, Generation)  # _loop hands other tasks to Worker.handle
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
        seq_id = next(i for i in range(self.n_parallel) if i not in used)
        self.L.llama_memory_seq_rm(self.memory, seq_id, -1, -1)
        self.active.append(_Seq(job, req, seq_id, tokens, [s for s in stop if s], max_tokens, self._sampler(req)))

    def _sampler(self, req: Generation) -> Any:
        """llama.cpp's own sampler chain for one sequence, built in the order and with the defaults
        llama-cpp-python uses (Llama._init_sampler and create_[chat_]completion), so a seeded request
        gives the same tokens batched or not: logit bias, penalties over the last 64 generated tokens,
        then greedy, or top-k (first: nothing else touches the whole vocabulary), typical, top-p,
        min-p, temperature and the seeded draw. Runs in C; numpy never sees the logits."""
        from llama_cpp._internals import LlamaSampler

        p = req.params
        chat = req.kind == "chat"
        sampler = LlamaSampler()
        bias = {int(k): float(v) for k, v in (p.get("logit_bias") or {}).items() if 0 <= int(k) < self.n_vocab}
        if bias:
            sampler.add_logit_bias(self.n_vocab, bias)
        sampler.add_penalties(self.n_vocab, 64, float(p.get("repeat_penalty", 1.0)),
                              float(p.get("frequency_penalty", 0.0)), float(p.get("presence_penalty", 0.0)))
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

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self.L.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.L.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    def _emit_text(self, seq: _Seq, final: bool) -> None:
        """Send the text generated since the last chunk (holding back a possible stop-string prefix)."""
        text = seq.text[seq.sent:]
        if not final and seq.stop:
            hold = max((len(s) - 1 for s in seq.stop), default=0)
            text = text[: max(0, len(text) - hold)] if hold else text
        if text or final:
            seq.sent += len(text)
            if seq.req.stream:
                seq.job.emit(self._chunk(seq, text, seq.finish if final else None))

    def _send_role(self, seq: _Seq) -> None:
        """A chat stream opens with the assistant role, once."""
        if seq.req.kind == "chat" and not seq.role_sent:
            seq.role_sent = True
            seq.job.emit({**self._chunk(seq, "", None), "choices": [
                {"index": 0, "delta": {"role": "assistant"}, "finish_reason": None, "logprobs": None}]})

    def _chunk(self, seq: _Seq, text: str, finish: str | None) -> dict:
        if seq.req.kind == "chat":
            delta = {"content": text} if text else {}
            return {"id": f"chatcmpl-{seq.id}", "object": "chat.completion.chunk", "created": seq.created,
                    "model": seq.req.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        return {"id": f"cmpl-{seq.id}", "object": "text_completion", "created": seq.created, "model": seq.req.model,
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]}

    def _usage(self, seq: _Seq) -> dict:
        return {"prompt_tokens": len(seq.tokens), "completion_tokens": seq.generated,
                "total_tokens": len(seq.tokens) + seq.generated}

    def _finish(self, seq: _Seq, reason: str) -> None:
        seq.finish = reason
        for s in seq.stop:
            cut = seq.text.find(s)
            if cut >= 0:
                seq.text = seq.text[:cut]
                seq.finish = "stop"
        if seq.req.stream:
            self._send_role(seq)
            self._emit_text(seq, final=True)
            if seq.req.include_usage:  # OpenAI's stream_options.include_usage: a last chunk, no choices
                seq.job.emit({**self._chunk(seq, "", None), "choices": [], "usage": self._usage(seq)})
        elif seq.req.kind == "chat":
            seq.job.emit({"id": f"chatcmpl-{seq.id}", "object": "chat.completion", "created": seq.created,
                          "model": seq.req.model, "choices": [{"index": 0, "message": {"role": "assistant", "content": seq.text},
                                                               "finish_reason": seq.finish, "logprobs": None}],
                          "usage": self._usage(seq)})
        else:
            seq.job.emit({"id": f"cmpl-{seq.id}", "object": "text_completion", "created": seq.created,
                          "model": seq.req.model, "choices": [{"text": seq.text, "index": 0, "logprobs": None,
                                                               "finish_reason": seq.finish}], "usage": self._usage(seq)})
        self.metrics.generated(self.name, seq.generated)  # the one place batched tokens are counted
        seq.job.emit(END)
        self._release(seq)

    def _release(self, seq: _Seq) -> None:
        self.L.llama_memory_seq_rm(self.memory, seq.seq_id, -1, -1)
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
                try:
                    if self.llm is None:
                        self._load()
                    if isinstance(job.task, Generation):
                        self._admit(job)
                    else:  # token counting and the like: done at once, between two decodes
                        self.handle(self.llm, job)
                        job.emit(END)
                except Exception as exc:  # reported to that request only
                    job.emit(exc)
                    job.emit(END)
            if not self.active:
                continue
            try:
                self._step()
            except Exception as exc:  # a failed decode ends every running sequence with the error
                for seq in self.active:
                    seq.job.emit(exc)
                    seq.job.emit(END)
                    self._release(seq)
                self.active = []
            self.last_used = time.time()
        self._free()

    def _step(self) -> None:
        L = self.L
        batch = self.batch
        n = 0
        outputs: list[tuple[_Seq, int]] = []
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
                        outputs.append((seq, n))
                    n += 1
                seq.fed += take
                seq.n_past = seq.fed
            elif n < budget:
                batch.token[n] = seq.last
                batch.pos[n] = seq.n_past
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq.seq_id
                batch.logits[n] = True
                outputs.append((seq, n))
                seq.n_past += 1
                n += 1
        if n == 0:
            return
        batch.n_tokens = n
        rc = L.llama_decode(self.ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed ({rc})")
        for seq, i in outputs:
            token = self._sample(seq, i)
            seq.last = token
            if L.llama_vocab_is_eog(self.vocab, token):
                self.active.remove(seq)
                self._finish(seq, "stop")
                continue
            seq.generated += 1
            seq.pending += self._piece(token)
            try:
                seq.text += seq.pending.decode("utf-8")
                seq.pending = b""
            except UnicodeDecodeError:
                pass  # an incomplete multi-byte character: wait for the next token
            if seq.req.stream:
                self._send_role(seq)
            if any(s in seq.text for s in seq.stop):
                self.active.remove(seq)
                self._finish(seq, "stop")
            elif seq.generated >= seq.max_tokens or seq.n_past + 1 >= self.per_seq:
                self.active.remove(seq)
                self._finish(seq, "length")
            else:
                self._emit_text(seq, final=False)
