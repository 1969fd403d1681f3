#!/usr/bin/env python3
"""Quantizes a GGUF with llama.cpp's own quantizer (llama-cpp-python's llama_model_quantize).

usage: quantize-llamacpp.py IN-F16.gguf OUT.gguf TYPE      (TYPE: Q4_0, Q4_K_M, Q8_0, ...)

The same as `llama-quantize IN OUT TYPE` with default parameters (no importance matrix).
"""
import ctypes, sys

import llama_cpp


def quantize(src, dst, kind, pure=False, threads=2):
    """llama_model_quantize with default parameters; `pure`: every tensor the type's base type."""
    kind = kind.upper()
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}", None)
    if ftype is None:
        raise SystemExit(f"unknown type {kind}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    params.pure = bool(pure)
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with {rc} on {src} -> {kind}")


def main():
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    quantize(src, dst, kind)
    print(f"wrote {dst} ({kind.upper()}) with llama-cpp-python {llama_cpp.__version__}")


if __name__ == "__main__":
    main()
