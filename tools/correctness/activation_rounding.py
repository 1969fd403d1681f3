"""How an engine rounds the input of each matrix product, modelled in float64.

`float64_reference.forward(path, tokens, round_input=model(path))` runs the exact forward pass but
rounds what each weight matrix multiplies as the engine does, by the weight's GGUF type; the rest
(norms, RoPE, attention, the KV cache) stays exact. It tells whether an engine's error against the
truth is the rounding its design implies, and what two designs' errors should be.

- loom_portable: every quantized weight meets 8-bit blocks of 32 with an f32 scale.
- loom (x86 paths, Sources/LoomKernels/Quant/Q8Activations.swift): Q8_0, Q4_0 and Q5_0 weights
  whose rows are a multiple of 8 run on the interleaved (x8) kernels, which round activations to
  8-bit blocks of 16 with an f32 scale, except the LM head, which takes 8-bit blocks of 32 plus the
  rounding residual in steps of d/128; other quantized weights meet 8-bit blocks of 32 with an f32
  scale; F32, F16 and BF16 weights meet f32 activations.
- ggml (llama.cpp's CPU backend): the input is converted to the weight type's `vec_dot_type`:
  F16 for F16 weights, Q8_K (8-bit blocks of 256, f32 scale) for the k-quants, Q8_0 (blocks of
  32, f16 scale) for Q4_0, Q5_0 and Q8_0 (Q4_1 and Q5_1 use Q8_1, which rounds the values alike).
"""
import numpy as np
import gguf

from float64_reference import hf_name

Q = gguf.GGMLQuantizationType
FLOAT_TYPES = {Q.F32, Q.F16, Q.BF16}
K_QUANTS = {Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K}


def q8_blocks(x, scale_dtype, size=32):
    """8-bit blocks of `size` along the last axis: d = max|x|/127 and q = round-half-away(x · (1/d))
    in float32, value q · d with d stored as `scale_dtype` (float32: Loom; float16: ggml's Q8_0)."""
    blocks = x.astype(np.float32).reshape(*x.shape[:-1], -1, size)
    d = np.abs(blocks).max(axis=-1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore"):
        inverse = np.where(d == 0, np.float32(0), np.float32(1) / d)
    scaled = (blocks * inverse).astype(np.float64)  # exact, so the half-way test below is too
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return (q * d.astype(scale_dtype).astype(np.float64)).reshape(x.shape)


def q8_k(x):
    """ggml's quantize_row_q8_K_ref: blocks of 256, iscale = -127 / (the value of largest
    magnitude), q = nearest (half to even) of iscale · x capped at 127, value q / iscale, in float32."""
    blocks = x.astype(np.float32).reshape(*x.shape[:-1], -1, 256)
    peak = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=-1)[..., None], axis=-1)
    with np.errstate(divide="ignore"):
        iscale = np.where(peak == 0, np.float32(0), np.float32(-127) / peak).astype(np.float32)
        d = np.where(iscale == 0, np.float32(0), np.float32(1) / iscale).astype(np.float32)
    q = np.minimum(127, np.rint(blocks * iscale).astype(np.float64))
    return (q * d.astype(np.float64)).reshape(x.shape)


def q8_residual(x):
    """Loom's fine rounding: 8-bit blocks of 32 (f32 scale d, q nearest-even of x/d) plus the
    residual r = nearest-even(128 · (x/d − q)), value d · (q + r/128)."""
    blocks = x.astype(np.float32).reshape(*x.shape[:-1], -1, 32)
    d = np.abs(blocks).max(axis=-1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore"):
        inverse = np.where(d == 0, np.float32(0), np.float32(1) / d)
    scaled = (blocks * inverse).astype(np.float32)
    q = np.rint(scaled)
    r = np.rint((scaled - q) * np.float32(128))
    return ((q.astype(np.float64) + r.astype(np.float64) / 128) * d.astype(np.float64)).reshape(x.shape)


def weight_types(path):
    """Hugging Face weight name → GGUF tensor type, for the file at `path`."""
    return {hf_name(t.name): t.tensor_type for t in gguf.GGUFReader(path).tensors}


def weight_rows(path):
    """Hugging Face weight name → output rows, for the file at `path`."""
    return {hf_name(t.name): int(t.shape[-1]) if len(t.shape) > 1 else 1 for t in gguf.GGUFReader(path).tensors}


def loom_portable(path):
    """Loom's rounding on its portable path (and before the x8 kernels took finer roundings):
    every quantized weight meets 8-bit blocks of 32 with an f32 scale."""
    types = weight_types(path)

    def rounded(x, name):
        return x if types[name] in FLOAT_TYPES else q8_blocks(x, np.float32)
    return rounded


X8_TYPES = {Q.Q8_0, Q.Q4_0, Q.Q5_0}
HEAD_NAMES = ("lm_head.weight", "model.embed_tokens.weight")  # the embedding is the head when tied


def loom(path):
    """Loom's rounding of matrix inputs for the weights of the file at `path` (x86 paths)."""
    types, rows = weight_types(path), weight_rows(path)
    head = HEAD_NAMES[0] if HEAD_NAMES[0] in types else HEAD_NAMES[1]

    def rounded(x, name):
        if types[name] in FLOAT_TYPES:
            return x
        if types[name] in X8_TYPES and rows[name] % 8 == 0:
            return q8_residual(x) if name == head else q8_blocks(x, np.float32, 16)
        return q8_blocks(x, np.float32)
    return rounded


def ggml(path):
    """llama.cpp's (ggml CPU) rounding of matrix inputs for the weights of the file at `path`."""
    types = weight_types(path)

    def rounded(x, name):
        kind = types[name]
        if kind == Q.F32:
            return x
        if kind == Q.F16:
            return x.astype(np.float16).astype(np.float64)
        if kind == Q.BF16:
            raise ValueError(f"{name}: ggml's BF16 activation rounding is not modelled")
        return q8_k(x) if kind in K_QUANTS else q8_blocks(x, np.float16)
    return rounded


MODELS = {"loom": loom, "loom_portable": loom_portable, "ggml": ggml}
