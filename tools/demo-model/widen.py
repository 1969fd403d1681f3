#!/usr/bin/env python3
"""Builds a larger model that computes the demo model's function: same vocabulary and tokenizer,
W times as wide and D times as deep, for benchmarks that need a model big enough to be bound by
reading its weights (speculative decoding: the demo model as its own draft, prompt lookup).

usage: widen.py HF_DIR OUT_DIR [--width 4] [--depth 4] [--residual-scale 0] [--noise 0] [--seed 0]

Widening replicates every hidden unit, head and FFN neuron W times (replica-major) and divides
each projection by W, so every replica carries the original activations: RMS norms see the same
mean square, attention heads (query and KV, so GQA groups line up) are W copies, and the final
norm is divided by W so that the tied head gives the original logits. W a power of two keeps bf16
weights exact. Deepening follows each layer with D-1 copies of itself whose output projections
(o_proj, down_proj) are scaled by --residual-scale: 0 adds layers that cost a full layer's reads
and change nothing. --noise adds Gaussian noise of that relative size to every matrix, making a
different but close model. With the defaults (4, 4, 0, 0) the demo's 7.4M parameters become
~353M, whose greedy text is the demo model's.
"""
import argparse
import json
import shutil
import struct
from pathlib import Path

import numpy as np


def read_safetensors(path: Path) -> dict:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        if t["dtype"] == "BF16":
            bits = np.frombuffer(body[a:b], dtype=np.uint16).astype(np.uint32) << 16
            data = bits.view(np.float32)
        elif t["dtype"] == "F32":
            data = np.frombuffer(body[a:b], dtype=np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {t['dtype']}; expected BF16 or F32")
        out[name] = data.reshape(t["shape"]).copy()
    return out


def write_safetensors_bf16(path: Path, tensors: dict):
    header, chunks, offset = {}, [], 0
    for name, data in tensors.items():
        bits = data.astype(np.float32).view(np.uint32)
        # Round to nearest even, as torch's bf16 conversion does.
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        blob = rounded.tobytes()
        header[name] = {"dtype": "BF16", "shape": list(data.shape), "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in chunks:
            f.write(blob)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hf", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--width", type=int, default=4)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--residual-scale", type=float, default=0.0)
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = json.loads((a.hf / "config.json").read_text())
    if not cfg.get("tie_word_embeddings", False):
        raise SystemExit("widen.py expects tied embeddings (the demo model's)")
    w, d = a.width, a.depth
    rng = np.random.default_rng(a.seed)
    src = read_safetensors(a.hf / "model.safetensors")

    def noisy(m: np.ndarray) -> np.ndarray:
        if a.noise == 0:
            return m
        return m + rng.standard_normal(m.shape).astype(np.float32) * (a.noise * float(np.std(m)))

    def wide(m: np.ndarray) -> np.ndarray:  # [out, in] -> [w*out, w*in], each block m / w
        return np.tile(m / w, (w, w))

    out = {"model.embed_tokens.weight": noisy(np.tile(src["model.embed_tokens.weight"], (1, w))),
           "model.norm.weight": np.tile(src["model.norm.weight"], w) / w}
    layers = cfg["num_hidden_layers"]
    for i in range(layers):
        for copy in range(d):
            j = i * d + copy
            scale = 1.0 if copy == 0 else a.residual_scale
            p, q = f"model.layers.{i}.", f"model.layers.{j}."
            for norm in ("input_layernorm", "post_attention_layernorm"):
                out[q + norm + ".weight"] = np.tile(src[p + norm + ".weight"], w)
            for proj in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj"):
                out[q + proj + ".weight"] = noisy(wide(src[p + proj + ".weight"]))
            for proj in ("self_attn.o_proj", "mlp.down_proj"):
                out[q + proj + ".weight"] = noisy(wide(src[p + proj + ".weight"])) * scale

    a.out.mkdir(parents=True, exist_ok=True)
    wide_cfg = dict(cfg)
    wide_cfg.update(hidden_size=cfg["hidden_size"] * w, intermediate_size=cfg["intermediate_size"] * w,
                    num_attention_heads=cfg["num_attention_heads"] * w, num_key_value_heads=cfg["num_key_value_heads"] * w,
                    num_hidden_layers=layers * d, head_dim=cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"]))
    (a.out / "config.json").write_text(json.dumps(wide_cfg, indent=2) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if (a.hf / name).exists():
            shutil.copy(a.hf / name, a.out / name)
    write_safetensors_bf16(a.out / "model.safetensors", out)
    params = sum(t.size for t in out.values())
    print(f"wrote {a.out}: {layers * d} layers, hidden {wide_cfg['hidden_size']}, {params / 1e6:.1f}M parameters")


if __name__ == "__main__":
    main()
