"""Reranking with reranker GGUFs (a classification head, pooling type `rank`), as llama-server's
`/rerank` does it: each (query, document) pair is formatted with the model's `rerank` chat template
when it has one (Qwen3 rerankers), else as `[BOS] query [EOS] [SEP] document [EOS]`, decoded alone,
and scored by the first output of the head.

llama-cpp-python's `embed` copies n_embd floats from the pooled output, which for rank pooling holds
only the head's few: so the pair is decoded and read here, through the llama.cpp API."""

from __future__ import annotations

import ctypes
from typing import Any

from .tasks import Job, Rerank
from .worker import Worker, cgroup_cpus

RERANK = "rerank"


class RerankWorker(Worker):
    def _load(self) -> Any:
        import llama_cpp as L
        from llama_cpp import Llama

        load = {k: v for k, v in self.settings.load.items() if k not in ("n_seq_max", "chat_format", "embedding")}
        load.setdefault("n_ctx", 4096)
        load.setdefault("n_threads", cgroup_cpus())
        load["n_batch"] = load["n_ubatch"] = max(int(load.get("n_batch", 0)), int(load["n_ctx"]))
        llm = Llama(model_path=str(self.paths[0]), embedding=True, pooling_type=L.LLAMA_POOLING_TYPE_RANK,
                    verbose=False, **load)
        meta = llm.metadata or {}
        if str(meta.get(f"{meta.get('general.architecture', '')}.pooling_type")) != str(L.LLAMA_POOLING_TYPE_RANK):
            llm.close()
            raise ValueError(f"{self.name} is not a reranker model (its GGUF has no rank pooling head)")
        self.n_cls_out = max(1, int(L.llama_model_n_cls_out(llm._model.model)))
        self.template = (llm.metadata or {}).get("tokenizer.chat_template.rerank")
        return llm

    def rerank(self, llm: Any, task: Rerank, job: Job) -> dict | None:
        scores, used = [], 0
        for doc in task.documents:
            if job.cancel.is_set():
                return None
            tokens = self._pair(llm, task.query, doc)
            used += len(tokens)
            scores.append(self._score(llm, tokens))
        return {"scores": scores, "prompt_tokens": used}

    def embed(self, llm: Any, task: Any) -> dict:
        raise ValueError(f"{self.name} is a reranker: it only reranks")

    def count_tokens(self, llm: Any, messages: list) -> int:
        raise ValueError(f"{self.name} is a reranker: it only reranks")

    def _pair(self, llm: Any, query: str, doc: str) -> list[int]:
        if self.template:
            prompt = self.template.replace("{query}", query).replace("{document}", doc)
            return llm.tokenize(prompt.encode(), add_bos=False, special=True)
        import llama_cpp as L

        vocab = L.llama_model_get_vocab(llm._model.model)
        eos = L.llama_vocab_eos(vocab)
        if eos == L.LLAMA_TOKEN_NULL:
            eos = L.llama_vocab_sep(vocab)
        add_eos = L.llama_vocab_get_add_eos(vocab)
        tokens = [L.llama_vocab_bos(vocab)] if L.llama_vocab_get_add_bos(vocab) else []
        tokens += llm.tokenize(query.encode(), add_bos=False, special=False)
        tokens += [eos] if add_eos else []
        tokens += [L.llama_vocab_sep(vocab)] if L.llama_vocab_get_add_sep(vocab) else []
        tokens += llm.tokenize(doc.encode(), add_bos=False, special=False)
        tokens += [eos] if add_eos else []
        return tokens

    def _score(self, llm: Any, tokens: list[int]) -> float:
        import llama_cpp as L

        if len(tokens) > llm.n_ctx():
            raise ValueError(f"a query and document of {len(tokens)} tokens do not fit the context of {llm.n_ctx()}")
        L.llama_memory_clear(L.llama_get_memory(llm.ctx), True)
        batch = L.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, token in enumerate(tokens):
                batch.token[i] = token
                batch.pos[i] = i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = True
            batch.n_tokens = len(tokens)
            if L.llama_decode(llm.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed while reranking")
            out = L.llama_get_embeddings_seq(llm.ctx, 0)
            if not out:
                raise RuntimeError("the model returned no score")
            return float(ctypes.cast(out, ctypes.POINTER(ctypes.c_float))[0])
        finally:
            L.llama_batch_free(batch)
