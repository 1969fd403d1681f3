"""Converts transformers goldens to GGUF with llama.cpp's own converter, and records llama.cpp's
logits on each file: the llama.cpp oracle for Loom's GGUF path.

For each case of CASES, Tests/Fixtures/goldens/<name>/ (made by make_goldens.py) goes through the
model class that llama.cpp's convert_hf_to_gguf.py picks for its architecture (the `conversion`
package of the llama.cpp tree in the llama-cpp-python sdist), so tensor names, merged expert
tensors, q/k permutations and metadata keys are exactly what the converter writes. Only the
vocabulary is replaced: the goldens have 256 token ids and no tokenizer, so the file gets a
256-token byte-level ("gpt2", pre-tokenizer "default") vocabulary. Token ids are fed directly,
so the vocabulary never changes a logit.

Writes to Tests/Fixtures/llamacpp-goldens/:
  <name>-<type>.gguf        converter output, --outtype f32 / f16 (type in TYPES), q8_0 for the MoE case
  <name>-<type>.llama.f32   llama.cpp's logits, raw little-endian float32 [tokens, vocab], every
                            position of the golden's prompt in one batch, f32 KV cache
                            (tools/llamacpp/logits.cpp)
  SOURCE.json               versions, commands, and each file's llama.cpp-vs-transformers error

Checks made before anything is kept: on the f32 files llama.cpp's logits agree with the
transformers logits of the golden to 1e-4 of max|logit| (so llama.cpp and transformers are one
oracle there, and the file is the model the golden describes); 2e-3 for Gemma, whose GELU ggml
takes from a table of f16 values.

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_llamacpp_goldens.py
      (torch, numpy; llama.cpp's tree and libraries from tools/llamacpp/build, llama-logits from
      tools/llamacpp/build-logits)
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CASES = ["llama-gqa-f32", "qwen3-qknorm-bf16", "qwen3moe-llamacpp-f32", "mixtral-llamacpp-f32", "phi3-longrope-bf16",
         "gemma2-llamacpp-f32", "gemma3-llamacpp-f32"]
TYPES = ["f32", "f16"]
# Quantized copies where the batched paths of quantized kernels need a fixture (the experts).
QUANTIZED = {"qwen3moe-llamacpp-f32": ["q8_0"]}
AGREEMENT = 1e-4
GELU_TABLE_AGREEMENT = 2e-3


def byte_vocabulary():
    """GPT-2's byte-to-unicode table: the 256 tokens of a byte-level BPE without merges."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    table = dict(zip(printable, codes))
    return [chr(table[b]) for b in range(256)]


def convert(llama_src, source, out_path, outtype):
    sys.path.insert(0, llama_src)
    sys.path.insert(1, os.path.join(llama_src, "gguf-py"))
    import gguf
    from conversion import ModelBase, ModelType, get_model_architecture, get_model_class

    hparams = ModelBase.load_hparams(Path(source), False)
    base = get_model_class(get_model_architecture(hparams, ModelType.TEXT), mmproj=False)

    class WithByteVocabulary(base):
        model_arch = base.model_arch

        def set_vocab(self):
            tokens = byte_vocabulary()
            self.gguf_writer.add_tokenizer_model("gpt2")
            self.gguf_writer.add_tokenizer_pre("default")
            self.gguf_writer.add_token_list(tokens)
            self.gguf_writer.add_token_types([gguf.TokenType.NORMAL] * len(tokens))
            # llama.cpp requires a merge list; one merge that no fed id depends on.
            self.gguf_writer.add_token_merges([f"{tokens[32]} {tokens[32]}"])
            self.gguf_writer.add_bos_token_id(hparams.get("bos_token_id") or 1)
            self.gguf_writer.add_eos_token_id(2)

    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[outtype]
    # Gemma's converter cuts the embedding to the tokenizer's size: give it a tokenizer.json of
    # the 256 byte tokens, beside links to the golden's files.
    staged = tempfile.mkdtemp()
    for name in os.listdir(source):
        os.symlink(os.path.join(os.path.abspath(source), name), os.path.join(staged, name))
    with open(os.path.join(staged, "tokenizer.json"), "w") as f:
        json.dump({"model": {"vocab": {t: i for i, t in enumerate(byte_vocabulary())}}, "added_tokens": []}, f)
    source = staged
    with torch.inference_mode():
        # A neutral general.name: llama.cpp gives vocabularies of models named like "phi3" special
        # tokens that this one has not.
        model = WithByteVocabulary(Path(source), ftype, Path(out_path), model_name="loom-golden")
        model.write()
    return base.__name__


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-cpp", default=os.path.expanduser("~/.cache/loom/llama.cpp-0.3.36-native"))
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "llamacpp-goldens"))
    args = parser.parse_args()
    logits_tool = subprocess.run([os.path.join(ROOT, "tools", "llamacpp", "build-logits")], check=True,
                                 capture_output=True, text=True).stdout.strip()
    os.makedirs(args.out, exist_ok=True)
    made = {}
    for name in CASES:
        golden = os.path.join(ROOT, "Tests", "Fixtures", "goldens", name)
        inputs = json.load(open(os.path.join(golden, "inputs.json")))
        shape = inputs["logits"]["shape"]
        reference = np.fromfile(os.path.join(golden, "logits.f32"), dtype="<f4").reshape(shape)
        for outtype in TYPES + QUANTIZED.get(name, []):
            gguf_path = os.path.join(args.out, f"{name}-{outtype}.gguf")
            # The converter runs in its own process: its modules register classes globally.
            run = subprocess.run([sys.executable, __file__, "--convert-one", golden, gguf_path, outtype,
                                  os.path.join(args.llama_cpp, "src")], capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"{name} {outtype}: the converter failed:\n{run.stderr[-3000:]}")
            logits_path = os.path.join(args.out, f"{name}-{outtype}.llama.f32")
            run = subprocess.run([logits_tool, gguf_path, logits_path, "--threads", "2"] + [str(t) for t in inputs["tokens"]],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"{name} {outtype}: llama-logits failed:\n{run.stderr[-3000:]}")
            llama = np.fromfile(logits_path, dtype="<f4").reshape(shape)
            error = float(np.max(np.abs(llama - reference)) / np.max(np.abs(reference)))
            # ggml's CPU GELU reads a table of f16 values, so llama.cpp's Gemma is off by a few 1e-4.
            agreement = GELU_TABLE_AGREEMENT if name.startswith("gemma") else AGREEMENT
            if outtype == "f32":
                assert error < agreement, f"{name}: llama.cpp differs from transformers by {error:.2e} on the f32 file"
            made[f"{name}-{outtype}"] = {"gguf": os.path.basename(gguf_path), "llama_logits": os.path.basename(logits_path),
                                        "shape": shape, "tokens": inputs["tokens"],
                                        "llama_vs_transformers_max_abs_diff_over_max_abs": error}
            print(f"{name} {outtype}: llama.cpp vs transformers {error:.2e}, {os.path.getsize(gguf_path)} bytes")
    from importlib.metadata import version
    source = {
        "made_by": "tools/goldens/make_llamacpp_goldens.py",
        "from": "Tests/Fixtures/goldens",
        "converter": "llama.cpp convert_hf_to_gguf.py model classes (llama-cpp-python 0.3.36 sdist), byte-level vocabulary",
        "logits": "tools/llamacpp/logits.cpp: one batch, every position, f32 KV cache, flash attention off, 2 threads",
        "files": made,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "gguf_py": "llama.cpp tree's gguf-py", "llama_cpp": "llama-cpp-python 0.3.36 sdist",
                     "safetensors": version("safetensors")},
    }
    with open(os.path.join(args.out, "SOURCE.json"), "w") as f:
        json.dump(source, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--convert-one":
        print(convert(sys.argv[5], sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        main()
