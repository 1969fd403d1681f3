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
  <name>-<type>.gguf        converter output, --outtype f32 / f16 (type in TYPES), q8_0 for the MoE case;
                            for gpt-oss also mxfp4: the f32 file through `llama-quantize ... MXFP4_MOE`
                            (experts MXFP4, other matrices as llama-quantize picks them)
  <name>-<type>.llama.f32   llama.cpp's logits, raw little-endian float32 [tokens, vocab], every
                            position of the golden's prompt in one batch, f32 KV cache
                            (tools/llamacpp/logits.cpp)
  <name>-<type>.dequantized.f32  for llama-quantize types: numpy_reference.py's float64 logits over
                            the file's weights as gguf-py decodes them (exact arithmetic, no
                            activation rounding), little-endian float32 [tokens, vocab]
  SOURCE.json               versions, commands, and each file's llama.cpp-vs-transformers error

Checks made before anything is kept: on the f32 files llama.cpp's logits agree with the
transformers logits of the golden to 1e-4 of max|logit| (so llama.cpp and transformers are one
oracle there, and the file is the model the golden describes); 2e-3 for Gemma, whose GELU ggml
takes from a table of f16 values. For gpt-oss every file is also read back with gguf-py, its
tensors dequantized and mapped to the Hugging Face layout (gate and up interleaved again, experts
transposed), and numpy_reference.py's float64 forward pass run over them: on the f32 file it must
agree with transformers to 1e-5 (the tensor mapping is exact), and on the MXFP4 file it is the
exact-arithmetic logits of the values the file decodes to, written beside llama.cpp's (which
also rounds the activations of its quantized products to 8 bits: with that rounding modelled the
forward pass must land within ROUNDING_MODEL_AGREEMENT of llama.cpp). The MXFP4 file's expert
tensors must be GGML type MXFP4 (39).

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_llamacpp_goldens.py [--only NAME...]
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
         "gemma2-llamacpp-f32", "gemma3-llamacpp-f32", "gptoss-llamacpp-f32"]
TYPES = ["f32", "f16"]
# Quantized copies where the batched paths of quantized kernels need a fixture (the experts).
QUANTIZED = {"qwen3moe-llamacpp-f32": ["q8_0"], "gptoss-llamacpp-f32": ["mxfp4"]}
# Types made from the case's f32 file by llama-quantize rather than by the converter.
LLAMA_QUANTIZE = {"mxfp4": "MXFP4_MOE"}
NUMPY_AGREEMENT = 1e-5
# llama.cpp's logits on a llama-quantize file against the decoded weights with ggml's 8-bit
# activations modelled: exact but for the few activations that lie within float32 summation noise
# of a rounding boundary, which llama.cpp rounds the other way; on the gpt-oss file each such flip
# moves one position's logits by a few 1e-3 (a 1e-7 jitter of the model's inputs does the same).
ROUNDING_MODEL_AGREEMENT = 2e-2
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


def gguf_module(llama_src):
    sys.path.insert(0, os.path.join(llama_src, "gguf-py"))
    import gguf
    return gguf


# llama.cpp's gpt-oss tensor names (after blk.N.) -> Hugging Face's (after model.layers.N.).
GPT_OSS_NAMES = {
    "attn_norm.weight": "input_layernorm.weight", "post_attention_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight", "attn_output.bias": "self_attn.o_proj.bias",
    "attn_sinks.weight": "self_attn.sinks",
    "ffn_gate_inp.weight": "mlp.router.weight", "ffn_gate_inp.bias": "mlp.router.bias",
}


def gpt_oss_weights(gguf, path):
    """A gpt-oss GGUF's tensors, dequantized by gguf-py to float64 and laid out as transformers
    holds them: ffn_gate_exps/ffn_up_exps ([experts, width, hidden] in numpy order) interleaved
    back into gate_up_proj [experts, hidden, 2 * width], ffn_down_exps [experts, hidden, width]
    transposed into down_proj [experts, width, hidden]."""
    reader = gguf.GGUFReader(path)
    raw = {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape))  # ggml ne is innermost first
        raw[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float64)
    w = {"model.embed_tokens.weight": raw.pop("token_embd.weight"), "model.norm.weight": raw.pop("output_norm.weight"),
         "lm_head.weight": raw.pop("output.weight")}
    layers = sorted({int(name.split(".")[1]) for name in raw})
    for i in layers:
        b, p = f"blk.{i}.", f"model.layers.{i}."
        for suffix, hf in GPT_OSS_NAMES.items():
            w[p + hf] = raw.pop(b + suffix)
        gate, up = raw.pop(b + "ffn_gate_exps.weight"), raw.pop(b + "ffn_up_exps.weight")  # [E, width, hidden]
        w[p + "mlp.experts.gate_up_proj"] = np.stack([gate, up], axis=-2).reshape(gate.shape[0], -1, gate.shape[2]).swapaxes(1, 2)
        gate_b, up_b = raw.pop(b + "ffn_gate_exps.bias"), raw.pop(b + "ffn_up_exps.bias")  # [E, width]
        w[p + "mlp.experts.gate_up_proj_bias"] = np.stack([gate_b, up_b], axis=-1).reshape(gate_b.shape[0], -1)
        w[p + "mlp.experts.down_proj"] = raw.pop(b + "ffn_down_exps.weight").swapaxes(1, 2)  # [E, hidden, width] -> [E, width, hidden]
        w[p + "mlp.experts.down_proj_bias"] = raw.pop(b + "ffn_down_exps.bias")
    assert not raw, f"{path}: tensors left unmapped: {sorted(raw)}"
    return w


def ggml_activation_rounding(summary):
    """round_input for numpy_reference: the input of each product rounded as ggml's CPU backend
    does for the weight's type (tools/correctness/activation_rounding.py): Q8_0 blocks of 32 with
    an f16 scale for Q8_0 and MXFP4 weights (their vec_dot_type), f16 for F16, none for F32."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "correctness"))
    from activation_rounding import q8_blocks

    hf_to_gguf = {hf: suffix for suffix, hf in GPT_OSS_NAMES.items()}
    hf_to_gguf |= {"mlp.experts.gate_up_proj": "ffn_gate_exps.weight", "mlp.experts.down_proj": "ffn_down_exps.weight"}

    def rounded(x, name):
        if name == "lm_head.weight":
            kind = summary["output.weight"][0]
        else:
            parts = name.split(".", 3)  # model.layers.N.rest
            kind = summary[f"blk.{parts[2]}.{hf_to_gguf[parts[3]]}"][0]
        if kind in ("Q8_0", "MXFP4"):
            return q8_blocks(x, np.float16)
        if kind == "F16":
            return x.astype(np.float16).astype(np.float64)
        assert kind == "F32", f"{name}: no model of ggml's activation rounding for {kind}"
        return x

    return rounded


def gguf_summary(gguf, path):
    """{tensor name: [GGML type name, ne innermost first]} of a GGUF file."""
    reader = gguf.GGUFReader(path)
    return {t.name: [t.tensor_type.name, [int(d) for d in t.shape]] for t in reader.tensors}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llama-cpp", default=os.path.expanduser("~/.cache/loom/llama.cpp-0.3.36-native"))
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "llamacpp-goldens"))
    parser.add_argument("--only", nargs="*", help="case names to (re)build; SOURCE.json keeps the other files' entries")
    args = parser.parse_args()
    logits_tool = subprocess.run([os.path.join(ROOT, "tools", "llamacpp", "build-logits")], check=True,
                                 capture_output=True, text=True).stdout.strip()
    quantize_tool = os.path.join(subprocess.run([os.path.join(ROOT, "tools", "llamacpp", "build"), "--tools", "llama-quantize"],
                                                check=True, capture_output=True, text=True).stdout.strip(), "llama-quantize")
    gguf = gguf_module(os.path.join(args.llama_cpp, "src"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy_reference
    os.makedirs(args.out, exist_ok=True)
    made = {}
    if args.only:
        with open(os.path.join(args.out, "SOURCE.json")) as f:
            made = json.load(f)["files"]
    for name in CASES:
        if args.only and name not in args.only:
            continue
        golden = os.path.join(ROOT, "Tests", "Fixtures", "goldens", name)
        inputs = json.load(open(os.path.join(golden, "inputs.json")))
        shape = inputs["logits"]["shape"]
        reference = np.fromfile(os.path.join(golden, "logits.f32"), dtype="<f4").reshape(shape)
        for outtype in TYPES + QUANTIZED.get(name, []):
            gguf_path = os.path.join(args.out, f"{name}-{outtype}.gguf")
            extra = {}
            if outtype in LLAMA_QUANTIZE:
                source_path = os.path.join(args.out, f"{name}-f32.gguf")
                run = subprocess.run([quantize_tool, source_path, gguf_path, LLAMA_QUANTIZE[outtype], "2"],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    raise SystemExit(f"{name} {outtype}: llama-quantize failed:\n{run.stderr[-3000:]}")
                extra["made_by"] = f"llama-quantize {os.path.basename(source_path)} {os.path.basename(gguf_path)} {LLAMA_QUANTIZE[outtype]} 2"
            else:
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
            if inputs["architecture"] == "GptOssForCausalLM":
                config = json.load(open(os.path.join(golden, "config.json")))
                dequantized = numpy_reference.forward_weights(config, gpt_oss_weights(gguf, gguf_path), inputs["tokens"])
                numpy_error = float(np.max(np.abs(dequantized - reference)) / np.max(np.abs(reference)))
                if outtype == "f32":
                    assert numpy_error < NUMPY_AGREEMENT, f"{name}: the f32 file's weights differ from the golden's ({numpy_error:.2e})"
                summary = gguf_summary(gguf, gguf_path)
                if outtype == "mxfp4":
                    experts = {t: v[0] for t, v in summary.items() if "_exps.weight" in t}
                    assert experts and all(v == "MXFP4" for v in experts.values()), f"{name}: experts not MXFP4: {experts}"
                if outtype in LLAMA_QUANTIZE:  # the exact logits of the decoded weights, beside llama.cpp's
                    dequantized_path = os.path.join(args.out, f"{name}-{outtype}.dequantized.f32")
                    dequantized.astype("<f4").tofile(dequantized_path)
                    extra["dequantized_logits"] = os.path.basename(dequantized_path)
                    # llama.cpp's logits are those of the decoded weights with its 8-bit activations.
                    modelled = numpy_reference.forward_weights(config, gpt_oss_weights(gguf, gguf_path), inputs["tokens"],
                                                               ggml_activation_rounding(summary))
                    rounding_error = float(np.max(np.abs(llama - modelled)) / np.max(np.abs(modelled)))
                    assert rounding_error < ROUNDING_MODEL_AGREEMENT, f"{name} {outtype}: llama.cpp is not the decoded weights " \
                        f"with ggml's activation rounding ({rounding_error:.2e})"
                    extra["llama_vs_numpy_f64_dequantized_with_ggml_q8_0_activations_max_abs_diff_over_max_abs"] = rounding_error
                extra |= {"tensor_types": {t: v[0] for t, v in summary.items()},
                          "numpy_f64_dequantized_vs_transformers_max_abs_diff_over_max_abs": numpy_error,
                          "llama_vs_numpy_f64_dequantized_max_abs_diff_over_max_abs":
                              float(np.max(np.abs(llama - dequantized)) / np.max(np.abs(dequantized))),
                          "llama_vs_numpy_f64_dequantized_argmax_agreement": float(np.mean(llama.argmax(1) == dequantized.argmax(1)))}
            made[f"{name}-{outtype}"] = {"gguf": os.path.basename(gguf_path), "llama_logits": os.path.basename(logits_path),
                                        "shape": shape, "tokens": inputs["tokens"],
                                        "llama_vs_transformers_max_abs_diff_over_max_abs": error} | extra
            print(f"{name} {outtype}: llama.cpp vs transformers {error:.2e}, {os.path.getsize(gguf_path)} bytes"
                  + "".join(f", {k} {v:.3g}" for k, v in extra.items() if isinstance(v, float)))
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
