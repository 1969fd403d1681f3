#!/usr/bin/env python3
"""Writes small GGUF files with gguf-py and a JSON description of what they hold.

The Swift tests read each file and must find exactly the described metadata and tensors, and
the Swift writer must reproduce the same bytes from the same content.

Run with the shared venv: /work/venv/bin/python tools/gguf/make_gguf_fixtures.py
Outputs go to Tests/LoomFormatsTests/Fixtures/.
"""
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as T
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "LoomFormatsTests", "Fixtures")


def typed(value, vtype, sub_type=None):
    """JSON for one value: integers as decimal strings so 64-bit values survive JSON."""
    if vtype == T.ARRAY:
        items = value
        if sub_type is None:
            sub_type = T.get_type(items[0])
        return {"type": "array", "element_type": sub_type.name.lower(),
                "items": [typed(v, sub_type if sub_type != T.ARRAY else T.ARRAY) for v in items]}
    name = vtype.name.lower()
    if vtype in (T.FLOAT32,):
        return {"type": name, "value": float(np.float32(value))}
    if vtype == T.FLOAT64:
        return {"type": name, "value": float(value)}
    if vtype == T.BOOL:
        return {"type": name, "value": bool(value)}
    if vtype == T.STRING:
        return {"type": name, "value": value}
    return {"type": name, "value": str(int(value))}


def build(path, alignment, kvs, tensors):
    w = gguf.GGUFWriter(path, arch=None)
    described = []
    if alignment is not None:
        w.add_custom_alignment(alignment)
        described.append({"key": "general.alignment", **typed(alignment, T.UINT32)})
    for key, value, vtype, sub_type in kvs:
        w.add_key_value(key, value, vtype, sub_type=sub_type)
        described.append({"key": key, **typed(value, vtype, sub_type)})
    tdesc = []
    for name, array, qtype in tensors:
        w.add_tensor(name, array, raw_dtype=qtype)
        tdesc.append({"name": name, "type": int(qtype), "data_hex": array.tobytes().hex()})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # Read back with gguf-py's reader for the shapes and offsets it sees.
    r = gguf.GGUFReader(path)
    for desc, t in zip(tdesc, r.tensors):
        assert desc["name"] == t.name
        desc["dimensions"] = [int(d) for d in t.shape]  # ggml order, innermost first
        desc["offset"] = int(t.data_offset - r.data_offset)
        desc["byte_count"] = int(t.n_bytes)
    return {"keys": described, "tensors": tdesc, "data_offset": int(r.data_offset)}


def main():
    rng = np.random.default_rng(1234)
    kvs = [
        ("general.architecture", "llama", T.STRING, None),
        ("test.uint8", 200, T.UINT8, None),
        ("test.int8", -100, T.INT8, None),
        ("test.uint16", 60000, T.UINT16, None),
        ("test.int16", -30000, T.INT16, None),
        ("test.uint32", 4000000000, T.UINT32, None),
        ("test.int32", -2000000000, T.INT32, None),
        ("test.uint64", 2**64 - 1, T.UINT64, None),
        ("test.int64", -(2**63), T.INT64, None),
        ("test.float32", 0.1, T.FLOAT32, None),
        ("test.float64", -1.0e300, T.FLOAT64, None),
        ("test.bool", True, T.BOOL, None),
        ("test.string", "héllo, 世界 🙂", T.STRING, None),
        ("test.empty_string", "", T.STRING, None),
        ("tokenizer.ggml.tokens", ["<s>", "</s>", "Ġthe", "世界", ""], T.ARRAY, T.STRING),
        ("tokenizer.ggml.scores", [0.0, -1.5, -2.25, 3.0e-5, -1e10], T.ARRAY, T.FLOAT32),
        ("tokenizer.ggml.token_type", [3, 3, 1, 1, 6], T.ARRAY, T.INT32),
        ("test.bools", [True, False, True], T.ARRAY, T.BOOL),
        ("test.uint8s", [0, 1, 255], T.ARRAY, T.UINT8),
        ("test.uint64s", [0, 2**64 - 1], T.ARRAY, T.UINT64),
        ("test.float64s", [0.5, -0.25], T.ARRAY, T.FLOAT64),
        ("test.nested_ints", [[1, 2, 3], [4], [-5, 6]], T.ARRAY, T.ARRAY),
        ("test.nested_strings", [["a", "bc"], ["dé"]], T.ARRAY, T.ARRAY),
        ("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}", T.STRING, None),
    ]
    f32 = rng.standard_normal((5, 3)).astype(np.float32)
    f16 = rng.standard_normal((4, 2)).astype(np.float16)
    bf16 = gguf.quants.quantize(rng.standard_normal((2, 8)).astype(np.float32), Q.BF16)
    q8 = gguf.quants.quantize(rng.standard_normal((2, 64)).astype(np.float32), Q.Q8_0)
    q4 = gguf.quants.quantize(rng.standard_normal((3, 32)).astype(np.float32), Q.Q4_0)
    tensors = [("weights.f32", f32, Q.F32), ("weights.f16", f16, Q.F16), ("weights.bf16", bf16, Q.BF16),
               ("blk.0.q8_0", q8, Q.Q8_0), ("blk.0.q4_0", q4, Q.Q4_0)]
    os.makedirs(OUT, exist_ok=True)
    fixtures = {
        "sample-align64.gguf": build(os.path.join(OUT, "sample-align64.gguf"), 64, kvs, tensors),
        "sample-default.gguf": build(os.path.join(OUT, "sample-default.gguf"), None, kvs[:3] + kvs[14:17], tensors[:2]),
    }
    described = {"generator": "tools/gguf/make_gguf_fixtures.py", "gguf_py": importlib.metadata.version("gguf"),
                 "numpy": np.__version__, "python": sys.version.split()[0], "files": fixtures}
    with open(os.path.join(OUT, "gguf-fixtures.json"), "w") as f:
        json.dump(described, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
