"""The gguf-py oracle for Loom's MXFP4 (GGML type 39) blocks: quantized weights and their
dequantization, as llama.cpp's own gguf-py computes them.

Writes Tests/Fixtures/mxfp4/:
  blocks.bin        raw MXFP4 blocks (17 bytes: E8M0 exponent, 16 bytes of E2M1 nibbles) of a
                    [rows, cols] matrix: rows 0-13 quantized by gguf-py from normal values whose
                    scale varies by block (2^-12 to 2^9, so many exponents occur), rows 14-15 raw
                    bytes with the edge exponents 0, 1, 2, 127, 254, 255 and random nibbles
  dequantized.f32   gguf-py's dequantize of blocks.bin, little-endian float32 [rows, cols]
  SOURCE.json       shape, seed, versions, command

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_mxfp4_golden.py
      (numpy; gguf-py from the llama.cpp tree of the llama-cpp-python sdist, tools/llamacpp/build)
"""
import argparse
import json
import os
import platform
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ROWS, COLS, SEED = 16, 256, 20261204


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", default=os.path.expanduser("~/.cache/loom/llama.cpp-0.3.36-native"))
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "mxfp4"))
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(args.llama_cpp, "src", "gguf-py"))
    import gguf

    qtype = gguf.GGMLQuantizationType.MXFP4
    rng = np.random.default_rng(SEED)
    blocks_per_row = COLS // 32
    scales = 2.0 ** rng.integers(-12, 10, size=(ROWS - 2, blocks_per_row, 1))
    values = (rng.standard_normal((ROWS - 2, blocks_per_row, 32)) * scales).astype(np.float32).reshape(ROWS - 2, COLS)
    quantized = gguf.quants.quantize(values, qtype)  # [rows - 2, blocks * 17] bytes
    edges = np.zeros((2, blocks_per_row, 17), dtype=np.uint8)
    exponents = [0, 1, 2, 127, 254, 255, 3, 126]
    for r in range(2):
        for b in range(blocks_per_row):
            edges[r, b, 0] = exponents[(r * blocks_per_row + b) % len(exponents)]
            edges[r, b, 1:] = rng.integers(0, 256, size=16, dtype=np.uint8)
    blocks = np.concatenate([quantized.reshape(ROWS - 2, -1), edges.reshape(2, -1)], axis=0)
    dequantized = gguf.quants.dequantize(blocks, qtype).astype("<f4")
    assert dequantized.shape == (ROWS, COLS), dequantized.shape
    os.makedirs(args.out, exist_ok=True)
    blocks.tofile(os.path.join(args.out, "blocks.bin"))
    dequantized.tofile(os.path.join(args.out, "dequantized.f32"))
    with open(os.path.join(args.out, "SOURCE.json"), "w") as f:
        json.dump({"made_by": "tools/goldens/make_mxfp4_golden.py", "rows": ROWS, "cols": COLS, "seed": SEED,
                   "edge_exponents": exponents, "oracle": "gguf-py (llama.cpp tree, llama-cpp-python 0.3.36 sdist) "
                   "gguf.quants.quantize / dequantize, GGMLQuantizationType.MXFP4",
                   "versions": {"python": platform.python_version(), "numpy": np.__version__}}, f, indent=1)
        f.write("\n")
    print(f"{ROWS}x{COLS} MXFP4: {blocks.nbytes} bytes of blocks; finite {np.isfinite(dequantized).all()}, "
          f"max |value| {np.abs(dequantized).max():.3g}")


if __name__ == "__main__":
    main()
