#!/usr/bin/env python3
"""Unmodified llama.cpp (llama-cpp-python) on GGUF files: quantizes with llama.cpp's own quantizer
and computes all-position logits, for the tests that hold Loom's written files to llama.cpp.

usage: llamacpp-logits.py JOB.json

JOB.json: {"tokens": [ids], "threads": 2,
           "quantize": [[F16_IN, OUT, "Q4_K_M", PURE], ...], llama_model_quantize, default parameters
                                                           (PURE: every tensor the file type's base type)
           "logits":   [[GGUF, OUT.f32], ...]}             float32 [len(tokens), vocab], row-major
Quantizing runs first, so a file it writes can be in "logits". A file llama.cpp cannot load
exits non-zero naming it. Needs the venv tools/fixtures/fetch-llamacpp-python makes.
"""
import ctypes
import json
import os
import sys

import numpy as np
import llama_cpp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "correctness"))
import llamacpp_logits  # noqa: E402


def quantize(source, out, kind, pure, threads):
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}", None)
    if ftype is None:
        raise SystemExit(f"llama.cpp has no file type {kind}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    params.pure = bool(pure)
    if llama_cpp.llama_model_quantize(source.encode(), out.encode(), ctypes.byref(params)) != 0:
        raise SystemExit(f"llama_model_quantize failed on {source} -> {kind}")


def main():
    job = json.load(open(sys.argv[1]))
    threads = job.get("threads", 2)
    for source, out, kind, pure in job.get("quantize", []):
        quantize(source, out, kind, pure, threads)
    for path, out in job.get("logits", []):
        try:
            rows = llamacpp_logits.logits(path, [job["tokens"]], threads)
        except Exception as error:  # llama-cpp-python raises ValueError when the model does not load
            raise SystemExit(f"{path}: llama.cpp could not run it: {error}")
        rows.astype("<f4").tofile(out)
    print(json.dumps({"llama_cpp_python": llama_cpp.__version__, "files": len(job.get("logits", []))}))


if __name__ == "__main__":
    main()
