#!/usr/bin/env python3
"""Writes Tests/Fixtures/float64-reference/: the float64 truth for the demo model's GGUF files.

For Models/loom-demo/gguf/loom-demo-{F16,Q8_0}.gguf and the first TOKENS tokens of
Models/loom-demo/eval.txt (llama.cpp's tokenization with the file's own vocabulary, no BOS):
  <name>.logits.f32   float64_reference.py's logits [TOKENS, vocab], rounded to float32
                      (little-endian, row-major; the rounding is 6e-8 relative, far below any bound)
  reference.json      tokens, shape, the GGUF files' SHA-256, max|ref|, llama.cpp's own errors
                      against the same reference (llama-cpp-python, logits_all, 2 threads), for
                      the quantized file the spread of errors that exact 8-bit activation
                      rounding gives (the Swift test's bound is set against these), and the
                      versions used.
The Swift test (Tests/LoomModelTests/Float64ReferenceTests.swift) runs Loom on the same files
and tokens without python.

    /work/venv-llama/bin/python tools/correctness/make_reference_fixture.py
"""
import hashlib
import json
import os
import sys
from importlib.metadata import version

import numpy as np

import activation_rounding
import float64_reference as reference
import llamacpp_logits

ROOT = reference.ROOT
OUT = os.path.join(ROOT, "Tests", "Fixtures", "float64-reference")
DEMO = os.path.join(ROOT, "Models", "loom-demo")
TOKENS = 8  # 8 × 8192 float32 logits = 256 KiB per file
DRAWS = 20  # rounding patterns per scale type for the modelled spread
FILES = ("loom-demo-F16", "loom-demo-Q8_0")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def modelled_rounding(path, tokens, truth):
    """The spread of max|Δ|/max|ref| that exact 8-bit activation rounding gives: Loom's and ggml's
    rounding of matrix inputs on 8-bit blocks of 32 (activation_rounding.py: loom_portable and
    ggml, the scale in f32 or f16), DRAWS rounding patterns each. A relative
    jitter of 1e-6 on every matrix input, far below a rounding step (1/254 of a block's maximum),
    tips a few values across a rounding boundary, and the layers above turn that into a fresh
    pattern: what a different accumulation order in an engine does too."""
    rng = np.random.default_rng(0)
    errors = []
    for model in (activation_rounding.loom_portable, activation_rounding.ggml):
        rounding = model(path)
        for draw in range(DRAWS):
            jitter = 0.0 if draw == 0 else 1e-6

            def jittered(x, name, rounding=rounding, jitter=jitter):
                return rounding(x * (1 + jitter * rng.standard_normal(x.shape)), name)
            errors.append(reference.relative_max_error(reference.forward(path, tokens, jittered), truth))
    return {"draws": len(errors), "min": min(errors), "median": float(np.median(errors)), "max": max(errors)}


def main():
    os.makedirs(OUT, exist_ok=True)
    text = os.path.join(DEMO, "eval.txt")
    made = {}
    tokens = None
    for name in FILES:
        path = os.path.join(DEMO, "gguf", f"{name}.gguf")
        [ids] = llamacpp_logits.token_windows(path, text, TOKENS, 1)
        if tokens is not None and ids != tokens:
            raise SystemExit(f"{name}: its tokenizer splits the text differently from {FILES[0]}")
        tokens = ids
        truth = reference.forward(path, tokens)  # [TOKENS, vocab] float64
        truth.astype("<f4").tofile(os.path.join(OUT, f"{name}.logits.f32"))
        llama = llamacpp_logits.logits(path, [tokens], threads=2)
        made[name] = {
            "gguf": os.path.relpath(path, ROOT), "sha256": sha256(path), "logits": f"{name}.logits.f32",
            "max_abs": float(np.abs(truth).max()),
            "llama_cpp_max_rel": reference.relative_max_error(llama, truth),
            "llama_cpp_rms_rel": reference.relative_rms_error(llama, truth),
        }
        if "F16" not in name:
            made[name]["modelled_8bit_activations_max_rel"] = modelled_rounding(path, tokens, truth)
        print(f"{name}: {made[name]}")
    versions = {"gguf": version("gguf"), "numpy": np.__version__, "llama_cpp_python": version("llama_cpp_python"),
                "python": sys.version.split()[0]}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"made_by": "tools/correctness/make_reference_fixture.py", "text": os.path.relpath(text, ROOT),
                   "tokens": tokens, "shape": [TOKENS, int(truth.shape[1])], "dtype": "float32", "byte_order": "little",
                   "files": made, "versions": versions}, f, indent=2)


if __name__ == "__main__":
    main()
