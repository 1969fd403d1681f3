"""Writes a random-weight model shaped like Qwen2.5-0.5B as a Hugging Face directory.

For benchmarks (BENCHMARKS.md baseline), not for correctness: the weights are random with
realistic scales (matrices and biases N(0, 0.02), norm weights 1.0). Shapes follow
/work/shared/README.md §5: 24 layers, hidden 896, 14 heads, 2 KV heads (head_dim 64),
FFN 4864, vocab 151936, tied embeddings, rope_theta 1e6, max_position_embeddings 32768,
q/k/v biases (Qwen2ForCausalLM).

The safetensors file is written tensor by tensor, in row chunks, straight from a seeded
generator: no model object is built, so peak memory is one chunk, not the ~1 GB model twice.
The directory appears only when complete (written under OUT_DIR.partial, then renamed).

Usage (from the repository root; .cache/ is gitignored):
  /work/venv/bin/python tools/make-qwen05-shaped.py .cache/qwen05-bf16 [--dtype bf16] [--verify]
"""

import argparse
import json
import math
import os
import shutil
import struct

import torch

LAYERS = 24
HIDDEN = 896
HEADS = 14
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS
FFN = 4864
VOCAB = 151936
WEIGHT_STD = 0.02
CHUNK_ELEMENTS = 1 << 22  # rows per write are sized to about 4M elements (16 MB in f32)

DTYPES = {  # --dtype: (torch dtype, safetensors dtype, config.json name)
    "bf16": (torch.bfloat16, "BF16", "bfloat16"),
    "f16": (torch.float16, "F16", "float16"),
    "f32": (torch.float32, "F32", "float32"),
}


def tensor_specs():
    """(name, shape, kind) for every tensor, sorted by name as save_pretrained does."""
    specs = [("model.embed_tokens.weight", (VOCAB, HIDDEN), "matrix"), ("model.norm.weight", (HIDDEN,), "norm")]
    for layer in range(LAYERS):
        p = f"model.layers.{layer}."
        specs += [
            (p + "input_layernorm.weight", (HIDDEN,), "norm"),
            (p + "post_attention_layernorm.weight", (HIDDEN,), "norm"),
            (p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN), "matrix"),
            (p + "self_attn.q_proj.bias", (HEADS * HEAD_DIM,), "bias"),
            (p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN), "matrix"),
            (p + "self_attn.k_proj.bias", (KV_HEADS * HEAD_DIM,), "bias"),
            (p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN), "matrix"),
            (p + "self_attn.v_proj.bias", (KV_HEADS * HEAD_DIM,), "bias"),
            (p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM), "matrix"),
            (p + "mlp.gate_proj.weight", (FFN, HIDDEN), "matrix"),
            (p + "mlp.up_proj.weight", (FFN, HIDDEN), "matrix"),
            (p + "mlp.down_proj.weight", (HIDDEN, FFN), "matrix"),
        ]
    return sorted(specs)


def header_bytes(specs, st_dtype, element_size):
    """The safetensors header, padded with spaces to a multiple of 8 bytes, with its length prefix."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in specs:
        size = element_size * math.prod(shape)
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset


def write_tensor(f, shape, kind, dtype, generator):
    """Streams one tensor's bytes in row chunks."""
    rows = shape[0]
    row_elements = 1 if len(shape) == 1 else shape[1]
    chunk_rows = max(1, CHUNK_ELEMENTS // row_elements)
    for start in range(0, rows, chunk_rows):
        chunk_shape = (min(chunk_rows, rows - start),) + tuple(shape[1:])
        if kind == "norm":
            chunk = torch.ones(chunk_shape)
        else:
            chunk = torch.randn(chunk_shape, generator=generator) * WEIGHT_STD
        f.write(chunk.to(dtype).contiguous().view(torch.uint8).numpy().tobytes())


def write_configs(out_dir, dtype_name):
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151643,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": FFN,
        "max_position_embeddings": 32768,
        "max_window_layers": 24,
        "model_type": "qwen2",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": dtype_name,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": VOCAB,
    }
    generation = {"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": False}
    for name, value in (("config.json", config), ("generation_config.json", generation)):
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(value, f, indent=2)
            f.write("\n")


def verify(out_dir):
    """Loads the directory with transformers (bf16 kept as stored) and runs one short forward pass."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out_dir, dtype="auto").eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(torch.tensor([[151643, 9707, 11, 1879]])).logits
    print(f"verify: {params} parameters, dtype {model.dtype}, logits {tuple(logits.shape)}, finite {bool(logits.isfinite().all())}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="output directory (must not exist, or use --force)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing OUT_DIR")
    parser.add_argument("--verify", action="store_true", help="load the result with transformers afterwards")
    args = parser.parse_args()

    out_dir = os.path.abspath(args.out_dir)
    if os.path.exists(out_dir) and not args.force:
        parser.error(f"{out_dir} exists (use --force to replace it)")
    partial = out_dir + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)

    torch.set_num_threads(1)
    dtype, st_dtype, dtype_name = DTYPES[args.dtype]
    specs = tensor_specs()
    header, data_size = header_bytes(specs, st_dtype, torch.tensor([], dtype=dtype).element_size())
    generator = torch.Generator().manual_seed(args.seed)
    with open(os.path.join(partial, "model.safetensors"), "wb") as f:
        f.write(header)
        for name, shape, kind in specs:
            write_tensor(f, shape, kind, dtype, generator)
        assert f.tell() == len(header) + data_size, "written bytes disagree with the header"
    write_configs(partial, dtype_name)

    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(partial, out_dir)
    parameters = sum(math.prod(shape) for _, shape, _ in specs)
    print(f"wrote {out_dir}: {len(specs)} tensors, {parameters} parameters, {data_size} bytes of {dtype_name}")
    if args.verify:
        verify(out_dir)


if __name__ == "__main__":
    main()
