#!/usr/bin/env python3
"""Writes GGUF copies of some transformers goldens, the way llama.cpp's converter lays them out.

For each case, Tests/Fixtures/goldens/<name>/ (made by make_goldens.py) is converted to
Tests/Fixtures/gguf-goldens/<name>-<type>.gguf with gguf-py: llama.cpp tensor names, metadata
keys, dimensions innermost first, and, for the llama architecture, q/k rows permuted so that
RoPE pairs are adjacent (LlamaModel.permute in convert_hf_to_gguf.py). The expected logits are
the transformers logits of the source golden, so a GGUF reader, the name mapping, the permuted
RoPE layout and the GGUF weight kernels are all checked against the same oracle.

    /work/venv/bin/python tools/goldens/make_gguf_goldens.py
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file
import gguf

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures")
CASES = [("llama-gqa-f32", "llama"), ("qwen2-bias-tied-bf16", "qwen2"), ("qwen3-qknorm-bf16", "qwen3")]
TYPES = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
         "q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0}


def load_weights(directory):
    weights = {}
    index = os.path.join(directory, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    for name in files:
        # safetensors.numpy cannot hold bf16; read via torch-free widening.
        from safetensors import safe_open
        with safe_open(os.path.join(directory, name), framework="pt") as f:
            for key in f.keys():
                weights[key] = f.get_tensor(key).float().numpy()
    return weights


def permute(w, heads):
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def convert(name, arch, type_name, dequantized=False):
    src = os.path.join(ROOT, "goldens", name)
    config = json.load(open(os.path.join(src, "config.json")))
    weights = load_weights(src)
    out_dir = os.path.join(ROOT, "gguf-goldens")
    os.makedirs(out_dir, exist_ok=True)
    # "-dequantized": F32 holding exactly what the quantized file decodes to, the reference a
    # quantized file's logits are compared with (only activation rounding separates the two).
    path = os.path.join(out_dir, f"{name}-{type_name}{'-dequantized' if dequantized else ''}.gguf")
    w = gguf.GGUFWriter(path, arch)
    heads, kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    hidden = config["hidden_size"]
    rope = config.get("rope_parameters") or {}
    theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))
    w.add_block_count(config["num_hidden_layers"])
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_rope_freq_base(theta)
    if "head_dim" in config and config["head_dim"] != hidden // heads:
        w.add_key_length(config["head_dim"])
        w.add_value_length(config["head_dim"])
    w.add_bos_token_id(config.get("bos_token_id") or 1)
    w.add_eos_token_id(config.get("eos_token_id") if isinstance(config.get("eos_token_id"), int) else 3)
    names = {
        "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
        "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
    }
    for key, value in sorted(weights.items()):
        if key == "model.embed_tokens.weight":
            out = "token_embd.weight"
        elif key == "model.norm.weight":
            out = "output_norm.weight"
        elif key == "lm_head.weight":
            out = "output.weight"
        else:
            parts = key.split(".")
            suffix = ".".join(parts[3:])
            out = f"blk.{parts[2]}.{names[suffix]}"
            if arch == "llama" and suffix.startswith("self_attn.q_proj"):
                value = permute(value, heads)
            if arch == "llama" and suffix.startswith("self_attn.k_proj"):
                value = permute(value, kv)
        # Norms and biases stay f32, as llama.cpp's converter keeps 1-D tensors.
        qtype = TYPES[type_name] if value.ndim == 2 else gguf.GGMLQuantizationType.F32
        if dequantized and qtype not in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            value = gguf.quants.dequantize(gguf.quants.quantize(value.astype(np.float32), qtype), qtype).reshape(value.shape)
            qtype = gguf.GGMLQuantizationType.F32
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(out, value.astype(np.float32), raw_dtype=qtype)
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(out, value.astype(np.float16), raw_dtype=qtype)
        else:
            # gguf-py quantizes byte-identically to llama.cpp's quantizer for these types.
            w.add_tensor(out, gguf.quants.quantize(value.astype(np.float32), qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def main():
    made = []
    for name, arch in CASES:
        for type_name in (TYPES if name == "llama-gqa-f32" else ["f32", "f16"]):
            made.append(os.path.relpath(convert(name, arch, type_name), ROOT))
            if type_name in ("q8_0", "q4_0"):
                made.append(os.path.relpath(convert(name, arch, type_name, dequantized=True), ROOT))
    from importlib.metadata import version
    versions = {"gguf": version("gguf"), "numpy": np.__version__, "safetensors": version("safetensors"), "torch": version("torch"),
                "python": sys.version.split()[0]}
    with open(os.path.join(ROOT, "gguf-goldens", "SOURCE.json"), "w") as f:
        json.dump({"made_by": "tools/goldens/make_gguf_goldens.py", "from": "Tests/Fixtures/goldens",
                   "files": made, "versions": versions}, f, indent=2)
    print("\n".join(made))


if __name__ == "__main__":
    main()
