#!/usr/bin/env python3
"""The true logits of a GGUF file: a float64 forward pass over its dequantized weights (issue 4).

Every tensor is decoded with gguf-py (`gguf.quants.dequantize`, the format's reference decoder)
and widened to float64; the forward pass is tools/goldens/numpy_reference.py's, the float64 Llama
family that make_goldens.py checks against transformers. What this file adds is the GGUF reading,
done the way llama.cpp reads the file:

- hyperparameters from the `{arch}.*` metadata (heads, KV heads, key_length, RMS eps, RoPE base
  and scaling), the vocabulary size from `token_embd.weight`;
- llama.cpp's tensor names (`blk.N.attn_q.weight`, ...) mapped to Hugging Face names; a GGUF
  lists dimensions innermost first, so gguf-py's numpy shape of a linear weight is already
  [out_features, in_features];
- tied embeddings when `output.weight` is absent;
- RoPE: llama.cpp rotates adjacent pairs (2i, 2i+1) for `llama`/`mistral` (its converter permuted
  the q/k rows of the Hugging Face weights for that) and halves (i, i + d/2) for `qwen2`/`qwen3`
  (NEOX). For the former the q/k rows (and biases) are permuted back here, an exact row
  reordering after which adjacent-pair RoPE is the halves RoPE numpy_reference applies.

Tensors are decoded when the forward pass reads them, so memory holds one layer's weights at a
time plus the embedding (about 1.1 GB in float64 for a 152k × 896 vocabulary).

    python tools/correctness/float64_reference.py MODEL.gguf --tokens 1,2,3 [--out logits.npy]
    python tools/correctness/float64_reference.py --check-goldens
"""
import argparse
import json
import os
import sys
from collections.abc import Mapping

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "goldens"))
import numpy_reference  # noqa: E402

# GGUF architecture → (transformers class numpy_reference knows, RoPE pairs in the file).
ARCHITECTURES = {
    "llama": ("LlamaForCausalLM", "adjacent"),
    "mistral": ("MistralForCausalLM", "adjacent"),
    "qwen2": ("Qwen2ForCausalLM", "halves"),
    "qwen3": ("Qwen3ForCausalLM", "halves"),
}

# llama.cpp's per-layer tensor names → Hugging Face's (after `model.layers.N.`).
LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight", "attn_output.bias": "self_attn.o_proj.bias",
    "attn_q_norm.weight": "self_attn.q_norm.weight", "attn_k_norm.weight": "self_attn.k_norm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL_NAMES = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}


def hf_name(gguf_name):
    """The Hugging Face name of a llama.cpp tensor name (ValueError for one the reference does not know)."""
    if gguf_name in GLOBAL_NAMES:
        return GLOBAL_NAMES[gguf_name]
    parts = gguf_name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[2] in LAYER_NAMES:
        return f"model.layers.{parts[1]}.{LAYER_NAMES[parts[2]]}"
    raise ValueError(f"tensor {gguf_name!r} has no place in the Llama-family reference")


def unpermute(w, heads):
    """Inverse of llama.cpp's LlamaModel.permute: rows (2j, 2j+1) of each head go back to (j, j + d/2)."""
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def field(reader, key, default=None):
    """A scalar or string metadata value, or `default` when the key is absent."""
    f = reader.get_field(key)
    return default if f is None else f.contents()


def config_of(reader, path):
    """A transformers-style config (what numpy_reference reads) from the GGUF metadata."""
    arch = field(reader, "general.architecture")
    if arch not in ARCHITECTURES:
        raise ValueError(f"{path}: general.architecture {arch!r} is not one of {sorted(ARCHITECTURES)}")
    heads = int(field(reader, f"{arch}.attention.head_count"))
    hidden = int(field(reader, f"{arch}.embedding_length"))
    head_dim = int(field(reader, f"{arch}.attention.key_length", hidden // heads))
    if int(field(reader, f"{arch}.attention.value_length", head_dim)) != head_dim:
        raise ValueError(f"{path}: {arch}.attention.value_length differs from key_length")
    if int(field(reader, f"{arch}.rope.dimension_count", head_dim)) != head_dim:
        raise ValueError(f"{path}: {arch}.rope.dimension_count: partial rotary embeddings are not covered")
    if any(t.name == "rope_freqs.weight" for t in reader.tensors):
        raise ValueError(f"{path}: rope_freqs.weight (per-frequency RoPE factors) is not covered")
    context = int(field(reader, f"{arch}.context_length", 2048))
    config = {
        "architectures": [ARCHITECTURES[arch][0]],
        "hidden_size": hidden,
        "num_hidden_layers": int(field(reader, f"{arch}.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(field(reader, f"{arch}.attention.head_count_kv", heads)),
        "head_dim": head_dim,
        "rms_norm_eps": float(field(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)),
        "rope_theta": float(field(reader, f"{arch}.rope.freq_base", 10000.0)),
        "max_position_embeddings": context,
    }
    scaling = field(reader, f"{arch}.rope.scaling.type", "none")
    if scaling != "none":
        if scaling not in ("linear", "yarn"):
            raise ValueError(f"{path}: {arch}.rope.scaling.type {scaling!r} is not covered")
        # llama.cpp's YaRN defaults: beta_fast 32, beta_slow 1, attention factor 0.1·ln(factor) + 1.
        config["rope_scaling"] = {
            "rope_type": scaling, "factor": float(field(reader, f"{arch}.rope.scaling.factor", 1.0)),
            "original_max_position_embeddings": int(field(reader, f"{arch}.rope.scaling.original_context_length", context)),
        }
    return arch, config


class DequantizedWeights(Mapping):
    """Hugging Face name → float64 array, decoded from the GGUF file each time it is read.

    Only the embedding is kept (it is read twice when the head is tied)."""

    def __init__(self, reader, arch, config):
        self.tensors = {hf_name(t.name): t for t in reader.tensors}
        self.adjacent_rope = ARCHITECTURES[arch][1] == "adjacent"
        self.heads = {"q_proj": config["num_attention_heads"], "k_proj": config["num_key_value_heads"]}
        self.kept = {}

    def __getitem__(self, name):
        if name in self.kept:
            return self.kept[name]
        t = self.tensors[name]
        shape = tuple(int(d) for d in reversed(t.shape))  # ggml ne is innermost first
        value = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float64)
        projection = name.split(".")[-2]
        if self.adjacent_rope and projection in self.heads:
            value = unpermute(value, self.heads[projection])
        if name == "model.embed_tokens.weight":
            self.kept[name] = value
        return value

    def __contains__(self, name):
        return name in self.tensors

    def __iter__(self):
        return iter(self.tensors)

    def __len__(self):
        return len(self.tensors)


def forward(path, tokens, round_input=None):
    """Logits [len(tokens), vocab] in float64 for every position of `tokens` (for `round_input`,
    see numpy_reference.forward_weights and activation_rounding.py)."""
    reader = gguf.GGUFReader(path)
    arch, config = config_of(reader, path)
    weights = DequantizedWeights(reader, arch, config)
    vocab = weights.tensors["model.embed_tokens.weight"].shape[1]
    if min(tokens) < 0 or max(tokens) >= vocab:
        raise ValueError(f"{path}: token ids must lie in [0, {vocab})")
    return numpy_reference.forward_weights(config, weights, list(tokens), round_input)


def relative_max_error(actual, reference):
    """max|Δ| / max|reference| over all positions, the bound the tests use."""
    return float(np.max(np.abs(actual - reference)) / np.max(np.abs(reference)))


def relative_rms_error(actual, reference):
    """RMS(Δ) / RMS(reference) over all positions."""
    return float(np.sqrt(np.mean((actual - reference) ** 2) / np.mean(reference**2)))


def check_goldens():
    """The reference against transformers: the F32 GGUF copies of three goldens hold exactly the
    weights transformers ran (f32, or bf16 widened), so the two must agree to float32 rounding;
    and a quantized file must give the same logits as the F32 file of the values it decodes to."""
    fixtures = os.path.join(ROOT, "Tests", "Fixtures")
    worst = 0.0
    for name in ("llama-gqa-f32", "qwen2-bias-tied-bf16", "qwen3-qknorm-bf16"):
        golden = os.path.join(fixtures, "goldens", name)
        inputs = json.load(open(os.path.join(golden, "inputs.json")))
        shape = inputs["logits"]["shape"]
        expected = np.fromfile(os.path.join(golden, "logits.f32"), dtype="<f4").reshape(shape)
        logits = forward(os.path.join(fixtures, "gguf-goldens", f"{name}-f32.gguf"), inputs["tokens"])
        error = relative_max_error(logits, expected)
        worst = max(worst, error)
        print(f"{name}-f32.gguf vs transformers: max|Δ|/max|ref| = {error:.3g}")
        if name == "llama-gqa-f32":
            for q in ("q8_0", "q4_0"):
                quantized = forward(os.path.join(fixtures, "gguf-goldens", f"{name}-{q}.gguf"), inputs["tokens"])
                widened = forward(os.path.join(fixtures, "gguf-goldens", f"{name}-{q}-dequantized.gguf"), inputs["tokens"])
                error = relative_max_error(quantized, widened)
                worst = max(worst, error)
                print(f"{name}-{q}.gguf vs its dequantized F32 copy: max|Δ|/max|ref| = {error:.3g}")
    # transformers computed in float32: a few 1e-6 of rounding (make_goldens records 1.3e-6).
    if worst > 1e-5:
        raise SystemExit(f"float64 reference disagrees with the goldens: {worst:.3g} > 1e-5")
    print("float64 GGUF reference agrees with transformers")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="GGUF file")
    p.add_argument("--tokens", help="comma-separated token ids")
    p.add_argument("--out", help="write the logits [tokens, vocab] as a float64 .npy file")
    p.add_argument("--check-goldens", action="store_true", help="compare with the transformers goldens and exit")
    args = p.parse_args()
    if args.check_goldens:
        check_goldens()
        return
    if not args.model or not args.tokens:
        p.error("give a GGUF file and --tokens (or --check-goldens)")
    logits = forward(args.model, [int(t) for t in args.tokens.split(",")])
    if args.out:
        np.save(args.out, logits)
    print(f"{logits.shape[0]} positions × {logits.shape[1]} logits, max|logit| {np.max(np.abs(logits)):.6g}")


if __name__ == "__main__":
    main()
