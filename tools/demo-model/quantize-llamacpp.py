#!/usr/bin/env python3
"""Quantizes a GGUF with llama.cpp's own quantizer (llama-cpp-python's llama_model_quantize).

usage: quantize-llamacpp.py IN-F16.gguf OUT.gguf TYPE      (TYPE: Q4_0, Q4_K_M, Q8_0, ...)

The same as `llama-quantize IN OUT TYPE` with default parameters (no importance matrix).
"""
import ctypes, sys

import llama_cpp


def main():
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3].upper()
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}", None)
    if ftype is None:
        raise SystemExit(f"unknown type {kind}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with {rc}")
    print(f"wrote {dst} ({kind}) with llama-cpp-python {llama_cpp.__version__}")


if __name__ == "__main__":
    main()
