"""A tiny random-weight llama GGUF (a few hundred KB) written with the `gguf` package.

Loads in milliseconds; generates noise. Tests assert on shapes and counts, never on text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# logit_bias that keeps the random model from ending early (EOS, id 2) or emitting byte tokens.
BIASED_OUT = {str(i): -100 for i in range(2, 259)}


def write_tiny_llama(path: Path, n_embd: int = 64, n_layer: int = 2, n_head: int = 4, n_ff: int = 128,
                     n_ctx: int = 512, seed: int = 0, chat_template: str | None = None, reranker: bool = False) -> Path:
    """A tiny random llama; with `reranker`, a tiny random Qwen3 reranker instead (architecture qwen3,
    q/k norms, pooling type rank and a two-label classification head `cls.output`, as llama.cpp loads
    Qwen3-Reranker GGUFs)."""
    import gguf

    rng = np.random.default_rng(seed)
    # Byte-fallback tokens (ids 3..258) let any text tokenize; tests bias them (and EOS) out of
    # generation with BIASED_OUT so every generated token is whole text and token counts are exact.
    letters = list("abcdefghijklmnopqrstuvwxyz")
    words = ["\u2581" + w for w in ("the", "a", "of", "and", "to", "in", "is", "it", "hello", "world", "say",
                                    "count", "three", "hi", "model", "test")]
    pieces = list(dict.fromkeys(["\u2581"] + words + letters + ["\u2581" + c for c in letters] + [".", ",", "!", "?"]))
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)] + [p.encode() for p in pieces]
    types = [2, 3, 3] + [6] * 256 + [1] * len(pieces)
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [-float(i) for i in range(len(pieces))]
    n_vocab = len(tokens)

    arch = "qwen3" if reranker else "llama"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny-random-{arch}")
    if reranker:
        w.add_pooling_type(gguf.PoolingType.RANK)
        w.add_classifier_output_labels(["yes", "no"])
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    if chat_template:
        w.add_chat_template(chat_template)

    def t(name: str, *shape: int, scale: float = 0.02) -> None:
        w.add_tensor(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    t("token_embd.weight", n_vocab, n_embd)
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        t(f"blk.{i}.attn_q.weight", n_embd, n_embd)
        t(f"blk.{i}.attn_k.weight", n_embd, n_embd)
        t(f"blk.{i}.attn_v.weight", n_embd, n_embd)
        t(f"blk.{i}.attn_output.weight", n_embd, n_embd)
        if reranker:
            w.add_tensor(f"blk.{i}.attn_q_norm.weight", np.ones(n_embd // n_head, dtype=np.float32))
            w.add_tensor(f"blk.{i}.attn_k_norm.weight", np.ones(n_embd // n_head, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        t(f"blk.{i}.ffn_gate.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_up.weight", n_ff, n_embd)
        t(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    t("output.weight", n_vocab, n_embd)
    if reranker:
        t("cls.output.weight", 2, n_embd, scale=0.5)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


if __name__ == "__main__":
    import sys

    write_tiny_llama(Path(sys.argv[1]))
