#!/usr/bin/env python3
"""Test vectors for Loom's block (de)quantization, computed by gguf-py.

For every type: random blocks (scales drawn as finite f16 values, everything else random bytes)
and gguf-py's `gguf.quants.dequantize` of them. For the types gguf-py quantizes, random f32
rows (plus edge cases: zeros, ties, constant rows, a single outlier) and gguf-py's
`gguf.quants.quantize` of them. All of it is written as one GGUF file, itself made by gguf-py:
  TYPE.blocks   the quantized bytes, as a tensor of TYPE
  TYPE.dequant  F32, gguf-py's dequantization
  TYPE.input    F32 rows to quantize
  TYPE.quant    the bytes gguf-py's quantize gives, as a tensor of TYPE

Run: /work/venv/bin/python tools/quant/make_quant_vectors.py
Output: Tests/LoomKernelsTests/Fixtures/quant-vectors.gguf (versions recorded in its metadata).
"""
import importlib.metadata
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "LoomKernelsTests", "Fixtures", "quant-vectors.gguf")

# Byte offsets of the f16 scale fields inside each block, so they can be made finite.
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
    Q.IQ4_NL: [0], Q.IQ4_XS: [0],
}
DEQUANT_TYPES = [Q.F32, Q.F16, Q.BF16] + list(F16_FIELDS)
QUANT_TYPES = [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]


def random_blocks(rng, qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype in (Q.F32, Q.F16, Q.BF16):
        values = (rng.standard_normal(n_blocks * 64) * 3).astype(np.float32)
        return gguf.quants.quantize(values.reshape(-1, 64), qtype).reshape(-1).view(np.uint8), n_blocks * 64
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        scale = (rng.standard_normal(n_blocks) * 0.05).astype(np.float16)
        raw[:, offset:offset + 2] = scale.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1), n_blocks * block_size


def quant_inputs(rng, n_rows=6, n_cols=256):
    rows = rng.standard_normal((n_rows, n_cols)).astype(np.float32)
    rows[1] *= 1e-3
    rows[2, :] = 0.0                      # all-zero blocks: d == 0
    rows[3, :32] = 1.0                    # constant block
    rows[3, 32:64] = np.linspace(-1, 1, 32, dtype=np.float32)  # exact ties
    rows[3, 64:96] = 0.0
    rows[3, 70] = -50.0                   # one negative outlier
    rows[4] = np.round(rows[4] * 8) / 8   # values on a coarse grid
    rows[5] *= 1e3
    return rows


def main():
    rng = np.random.default_rng(20240611)
    writer = gguf.GGUFWriter(OUT, arch=None)
    writer.add_string("loom.generator", "tools/quant/make_quant_vectors.py")
    writer.add_string("loom.gguf_py_version", importlib.metadata.version("gguf"))
    writer.add_string("loom.numpy_version", np.__version__)
    writer.add_string("loom.python_version", sys.version.split()[0])
    for qtype in DEQUANT_TYPES:
        raw, n = random_blocks(rng, qtype, 8)
        expected = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(-1)
        assert expected.size == n and np.all(np.isfinite(expected))
        writer.add_tensor(f"{qtype.name}.blocks", raw, raw_dtype=qtype)
        writer.add_tensor(f"{qtype.name}.dequant", expected)
    for qtype in QUANT_TYPES:
        rows = quant_inputs(rng)
        quant = gguf.quants.quantize(rows, qtype)
        writer.add_tensor(f"{qtype.name}.input", rows)
        writer.add_tensor(f"{qtype.name}.quant", quant, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
