"""A gpt-oss checkpoint in the layout openai/gpt-oss-20b ships (experts as MXFP4 `_blocks` and
`_scales` in safetensors, `quantization_config.quant_method` "mxfp4"), with transformers' logits on
it and llama.cpp's converter output and logits: the oracles for Loom's reader of MXFP4
safetensors.

Source: the golden Tests/Fixtures/goldens/gptoss-llamacpp-f32 (make_goldens.py): its expert
matrices, transposed to [experts, out, in], are quantized row by row by gguf-py (llama.cpp's
quantizer, blocks of 32 along the input), and each GGML block (an E8M0 byte, then nibbles with
element j low and j + 16 high) is rewritten the way openai's checkpoints store it: the E8M0 byte in
`*_scales` [experts, out, in / 32] and the nibbles in `*_blocks` [experts, out, in / 32, 16], byte k
holding elements 2k (low) and 2k + 1 (high). gate_up_proj keeps its rows interleaved (gate the even
rows). Every other tensor is the golden's, f32.

Writes Tests/Fixtures/mxfp4-checkpoint/:
  gptoss/                   config.json, generation_config.json, model.safetensors
  logits-f64.f32            transformers' logits over the checkpoint (its MXFP4 dequantizer, then
                            eager attention in float64: the exact logits of the decoded weights),
                            rounded to little-endian float32 [tokens, vocab]
  gptoss-f32.gguf           llama.cpp's convert_hf_to_gguf on gptoss/ (--outtype f32: experts stay
                            MXFP4, type 39, repacked by the converter's own nibble transform)
  gptoss-f32.llama.f32      llama.cpp's logits on that file (tools/llamacpp/logits.cpp)
  SOURCE.json               versions, commands, tokens, errors against the float64 run

Checks made before anything is kept: transformers' dequantized experts equal gguf-py's dequantize
of the GGML blocks bit for bit (the rewrite loses nothing); the converter's MXFP4 tensors equal
the GGML blocks gguf-py made, byte for byte (the rewrite is the inverse of llama.cpp's); the
float32 logits agree with the float64 run to 1e-5 of max|logit|.

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_mxfp4_checkpoint.py
      (torch, transformers, safetensors, accelerate (transformers' MXFP4 loader needs it); llama.cpp's tree and llama-logits from tools/llamacpp/build-logits)
"""
import argparse
import copy
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import safetensors
import torch
import transformers
from safetensors.numpy import load_file, save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
import make_llamacpp_goldens  # noqa: E402  (the converter wrapper and its byte vocabulary)

SOURCE = "gptoss-llamacpp-f32"
F64_AGREEMENT = 1e-5
# What openai's config.json says of its quantization (gpt-oss-20b, gpt-oss-120b).
QUANTIZATION_CONFIG = {
    "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"],
    "quant_method": "mxfp4",
}


def ggml_to_openai(blocks):
    """GGML MXFP4 blocks [..., 17] -> (scales [...], openai nibbles [..., 16])."""
    scales = blocks[..., 0]
    qs = blocks[..., 1:]
    elements = np.concatenate([qs & 15, qs >> 4], axis=-1)  # [..., 32]: j low, j + 16 high
    nibbles = (elements[..., 0::2] | (elements[..., 1::2] << 4)).astype(np.uint8)
    return scales.astype(np.uint8), nibbles


def quantize_experts(gguf, weight):
    """[experts, in, out] f32 (transformers' layout) -> GGML MXFP4 blocks [experts, out, in / 32, 17]."""
    experts, cols, rows = weight.shape
    out_major = np.ascontiguousarray(weight.transpose(0, 2, 1)).reshape(experts * rows, cols)
    quantized = gguf.quants.quantize(out_major.astype(np.float32), gguf.GGMLQuantizationType.MXFP4)
    return quantized.reshape(experts, rows, cols // 32, 17)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", default=os.path.expanduser("~/.cache/loom/llama.cpp-0.3.36-native"))
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "mxfp4-checkpoint"))
    args = parser.parse_args()
    llama_src = os.path.join(args.llama_cpp, "src")
    gguf = make_llamacpp_goldens.gguf_module(llama_src)
    source = os.path.join(ROOT, "Tests", "Fixtures", "goldens", SOURCE)
    with open(os.path.join(source, "inputs.json")) as f:
        golden = json.load(f)
    tokens = golden["tokens"]

    shutil.rmtree(args.out, ignore_errors=True)
    checkpoint = os.path.join(args.out, "gptoss")
    os.makedirs(checkpoint)
    tensors = load_file(os.path.join(source, "model.safetensors"))
    ggml_blocks = {}
    for name in sorted(tensors):
        if not name.endswith(("mlp.experts.gate_up_proj", "mlp.experts.down_proj")):
            continue
        blocks = quantize_experts(gguf, tensors.pop(name))
        ggml_blocks[name] = blocks
        tensors[name + "_scales"], tensors[name + "_blocks"] = ggml_to_openai(blocks)
    save_file(tensors, os.path.join(checkpoint, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(source, "config.json")) as f:
        config = json.load(f)
    config["quantization_config"] = QUANTIZATION_CONFIG
    with open(os.path.join(checkpoint, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    shutil.copy(os.path.join(source, "generation_config.json"), checkpoint)

    # transformers reads the checkpoint as openai's is read on a CPU: dequantized on load.
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32, attn_implementation="eager",
                                                 experts_implementation="eager").eval()
    state = model.state_dict()
    for name, blocks in ggml_blocks.items():
        experts, rows, groups, _ = blocks.shape
        decoded = gguf.quants.dequantize(blocks.reshape(experts * rows, groups * 17), gguf.GGMLQuantizationType.MXFP4)
        expected = torch.from_numpy(decoded.reshape(experts, rows, groups * 32).transpose(0, 2, 1).copy())
        assert torch.equal(state[name].float(), expected), f"{name}: transformers' dequantized experts differ from gguf-py's"
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0]
        f64 = copy.deepcopy(model).double()(torch.tensor([tokens])).logits[0]
    f64_error = float((logits.double() - f64).abs().max() / f64.abs().max())
    assert f64_error < F64_AGREEMENT, f"float32 against float64: {f64_error:.2e}"
    f64.numpy().astype("<f4").tofile(os.path.join(args.out, "logits-f64.f32"))

    # llama.cpp's converter on the checkpoint: its MXFP4 tensors must be gguf-py's blocks again.
    gguf_path = os.path.join(args.out, "gptoss-f32.gguf")
    make_llamacpp_goldens.convert(llama_src, checkpoint, gguf_path, "f32")
    reader = gguf.GGUFReader(gguf_path)
    written = {t.name: t for t in reader.tensors}
    for name, blocks in ggml_blocks.items():
        layer = name.split(".")[2]
        parts = {"ffn_gate_exps.weight": blocks[:, 0::2], "ffn_up_exps.weight": blocks[:, 1::2]} \
            if name.endswith("gate_up_proj") else {"ffn_down_exps.weight": blocks}
        for suffix, expected in parts.items():
            t = written[f"blk.{layer}.{suffix}"]
            assert t.tensor_type == gguf.GGMLQuantizationType.MXFP4, f"{t.name}: {t.tensor_type.name}"
            assert np.array_equal(np.asarray(t.data).reshape(-1), np.ascontiguousarray(expected).reshape(-1)), \
                f"{t.name}: the converter's blocks differ from gguf-py's"
    logits_tool = subprocess.check_output([os.path.join(ROOT, "tools", "llamacpp", "build-logits")], text=True).strip()
    llama_path = os.path.join(args.out, "gptoss-f32.llama.f32")
    subprocess.check_call([logits_tool, gguf_path, llama_path, "--threads", "2"] + [str(t) for t in tokens])
    llama = np.fromfile(llama_path, dtype="<f4").reshape(logits.shape)
    llama_error = float(np.abs(llama - f64.numpy()).max() / np.abs(f64.numpy()).max())

    summary = {
        "source": f"Tests/Fixtures/goldens/{SOURCE}",
        "tokens": tokens,
        "vocab": int(logits.shape[1]),
        "quantization_config": QUANTIZATION_CONFIG,
        "transformers_f32_vs_f64_max_abs_diff_over_max_abs": f64_error,
        "llama_cpp_vs_f64_max_abs_diff_over_max_abs": llama_error,
        "expert_tensors": {name + suffix: list(tensors[name + suffix].shape) for name in ggml_blocks for suffix in ("_blocks", "_scales")},
        "commands": ["~/.cache/loom/venv-golden/bin/python tools/goldens/make_mxfp4_checkpoint.py"],
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__,
                     "accelerate": importlib.metadata.version("accelerate"), "llama.cpp": "llama-cpp-python 0.3.36 sdist"},
    }
    with open(os.path.join(args.out, "SOURCE.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"transformers f32 vs f64 {f64_error:.1e}, llama.cpp vs f64 {llama_error:.3g}")


if __name__ == "__main__":
    main()
