#!/usr/bin/env python3
"""Writes the demo model's HF directory as GGUF files, as llama.cpp's convert_hf_to_gguf.py would.

usage: export-gguf.py HF_DIR OUT_DIR [--types f16,q8_0]

Writes OUT_DIR/loom-demo-F16.gguf and OUT_DIR/loom-demo-Q8_0.gguf with gguf-py. Like the
converter for a LlamaForCausalLM:
  - Q and K projections are permuted from HF's rotate-half layout to GGML's interleaved RoPE;
  - norms stay F32; in the Q8_0 file every 2-D weight, the token embedding included, is Q8_0;
  - tied embeddings: no output.weight, llama.cpp reuses token_embd;
  - the tokenizer is a gpt2-style byte-level BPE (tokenizer.ggml.model "gpt2") with Qwen2's
    pre-tokenizer ("qwen2"), special tokens typed CONTROL, and the ChatML chat template.
"""
import argparse, json
from pathlib import Path

import numpy as np
import gguf


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half rows -> GGML interleaved pairs (convert_hf_to_gguf.LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def load_weights(hf: Path) -> dict:
    """Every tensor widened to f32. bf16 has no numpy dtype: its 16 bits are the high half of
    an f32, so the file is read directly (no torch needed)."""
    data = (hf / "model.safetensors").read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    base = 8 + size
    kinds = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = np.frombuffer(data, dtype=kinds[info["dtype"]], count=(end - start) // np.dtype(kinds[info["dtype"]]).itemsize,
                            offset=base + start)
        values = (raw.astype(np.uint32) << 16).view(np.float32) if info["dtype"] == "BF16" else raw.astype(np.float32)
        out[name] = values.reshape(info["shape"])
    return out


def tokenizer_metadata(w: gguf.GGUFWriter, hf: Path):
    tj = json.loads((hf / "tokenizer.json").read_text(encoding="utf-8"))
    tc = json.loads((hf / "tokenizer_config.json").read_text(encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    added = {t["id"]: t for t in tj["added_tokens"]}
    n = max(list(vocab.values()) + list(added)) + 1
    tokens, types = [""] * n, [gguf.TokenType.NORMAL] * n
    for piece, i in vocab.items():
        tokens[i] = piece
    for i, t in added.items():
        tokens[i] = t["content"]
        types[i] = gguf.TokenType.CONTROL if t["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    ids = {t["content"]: i for i, t in added.items()}
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(ids["<|endoftext|>"])
    w.add_eos_token_id(ids["<|im_end|>"])
    w.add_pad_token_id(ids["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(tc["chat_template"])
    return n


def write(hf: Path, out: Path, qtype: str):
    cfg = json.loads((hf / "config.json").read_text())
    weights = load_weights(hf)
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg["hidden_size"] // n_head
    ftype = {"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[qtype]
    path = out / f"loom-demo-{qtype.upper()}.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("loom-demo")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_rope_dimension_count(head_dim)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    rope = cfg.get("rope_theta") or cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    w.add_rope_freq_base(float(rope))
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(ftype)
    tokenizer_metadata(w, hf)

    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    per_layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                 "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}
    for i in range(cfg["num_hidden_layers"]):
        for k, v in per_layer.items():
            names[f"model.layers.{i}.{k}.weight"] = f"blk.{i}.{v}.weight"
    for hf_name, data in weights.items():
        if hf_name == "lm_head.weight":
            continue  # tied to the embedding
        name = names[hf_name]
        if name.endswith("attn_q.weight"):
            data = permute(data, n_head)
        elif name.endswith("attn_k.weight"):
            data = permute(data, n_kv)
        if data.ndim == 1:
            w.add_tensor(name, data.astype(np.float32))
        elif qtype == "f16":
            w.add_tensor(name, data.astype(np.float16))
        else:
            q = gguf.quants.quantize(data.astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--types", default="f16,q8_0")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for t in a.types.split(","):
        write(a.hf, a.out, t)


if __name__ == "__main__":
    main()
