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
import importlib.machinery
import importlib.util
import json
import os
import sys

import llama_cpp

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOOLS, "correctness"))
import llamacpp_logits  # noqa: E402


def module(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    loaded = importlib.util.module_from_spec(spec)
    loader.exec_module(loaded)
    return loaded


quantize = module(os.path.join(TOOLS, "demo-model", "quantize-llamacpp.py"), "quantize_llamacpp").quantize


def main():
    job = json.load(open(sys.argv[1]))
    threads = job.get("threads", 2)
    for source, out, kind, pure in job.get("quantize", []):
        quantize(source, out, kind, pure=pure, threads=threads)
    for path, out in job.get("logits", []):
        try:
            rows = llamacpp_logits.logits(path, [job["tokens"]], threads)
        except Exception as error:  # llama-cpp-python raises ValueError when the model does not load
            raise SystemExit(f"{path}: llama.cpp could not run it: {error}")
        rows.astype("<f4").tofile(out)
    print(json.dumps({"llama_cpp_python": llama_cpp.__version__, "files": len(job.get("logits", []))}))


if __name__ == "__main__":
    main()
