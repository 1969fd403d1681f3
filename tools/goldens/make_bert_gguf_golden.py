"""Builds the llama.cpp oracle for Loom's BERT GGUF path: a tiny random-weight BERT converted by
llama.cpp's own convert_hf_to_gguf.py, and llama.cpp's embeddings of it (llama-embedding).

The model has all-MiniLM-L6-v2's WordPiece vocabulary (30,522 tokens, so the GGUF vocabulary is
llama.cpp's real conversion of it) and a small random body: hidden 32, 4 heads of 8, 2 layers,
intermediate 64, weights drawn with std 0.3, biases 0.2, LayerNorm weights 1 ± 0.2 and biases 0.02, so that sentences land far
apart and a wrong norm, bias or pooling changes the vectors. It writes to
Tests/Fixtures/embeddings/tiny-bert/:
  tiny-bert-f16.gguf  convert_hf_to_gguf.py --outtype f16 (about 2 MB)
  llama-cpp.f32       raw little-endian float32 [sentences, 32]: llama-embedding --pooling mean
                      --embd-normalize 2 (unit length), one pass per sentence set
  sentences.json      the sentences (those of ../minilm/sentences.json that fit llama.cpp's
                      512-token context uncut), llama.cpp's token ids for each (--verbose-prompt),
                      HF tokenizers' ids, the versions and commands used

Checks made before anything is kept: the off-diagonal cosines of llama.cpp's vectors average
below 0.9 (the fixture can tell sentences apart), and llama.cpp's ids equal HF's on most
sentences (the rest are where llama.cpp's WordPiece differs from HF's, recorded per sentence).

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_bert_gguf_golden.py
      (torch, transformers, numpy; llama.cpp's tree and llama-embedding from tools/llamacpp/build)
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import BertConfig, BertModel

SEPARATOR = "<#LOOM-SEP#>"


def build_model(out_dir: str, tokenizer_dir: str, seed: int):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=512, type_vocab_size=2,
                        layer_norm_eps=1e-12, hidden_act="gelu")
    model = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Small LayerNorm biases: the last one is added to every token alike, and a large one
            # would pull every mean-pooled vector towards the same direction.
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif "LayerNorm.bias" in name:
                p.copy_(0.02 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model.save_pretrained(out_dir, safe_serialization=True)
    for name in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]:
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(out_dir, name))


def parse_llama_embedding(stdout: str, count: int):
    """Token ids per prompt (the --verbose-prompt lines) and the JSON array of vectors at the end."""
    start = stdout.index("[[")
    vectors = json.loads(stdout[start:])
    ids, current = [], []
    for line in stdout[:start].split("\n"):
        m = re.match(r"^\s*(\d+) -> '", line)
        if m:
            current.append(int(m.group(1)))
        elif line.strip() == "" and current:
            ids.append(current)
            current = []
    if current:
        ids.append(current)
    assert len(ids) == count and len(vectors) == count, (len(ids), len(vectors), count)
    return ids, np.array(vectors, dtype=np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", default=".fixtures/minilm/all-MiniLM-L6-v2")
    parser.add_argument("--sentences", default="Tests/Fixtures/embeddings/minilm/sentences.json")
    parser.add_argument("--llama-cpp", default=os.path.expanduser("~/.cache/loom/llama.cpp-0.3.36-native"))
    parser.add_argument("--out", default="Tests/Fixtures/embeddings/tiny-bert")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()

    source = json.load(open(args.sentences, encoding="utf-8"))
    # Only what llama.cpp can embed uncut: it refuses inputs over its batch, and the HF ids here
    # were cut at 256 for sentence-transformers, so an uncut one is shorter than that.
    sentences = [s for s in source["sentences"] if len(s["ids"]) < source["max_seq_length"]]

    os.makedirs(args.out, exist_ok=True)
    gguf = os.path.join(args.out, "tiny-bert-f16.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        hf = os.path.join(tmp, "tiny-bert")
        os.makedirs(hf)
        build_model(hf, args.minilm, args.seed)
        env = dict(os.environ, PYTHONPATH=os.path.join(args.llama_cpp, "src", "gguf-py"))
        convert = [sys.executable, os.path.join(args.llama_cpp, "src", "convert_hf_to_gguf.py"), hf, "--outtype", "f16",
                   "--outfile", gguf]
        subprocess.run(convert, check=True, env=env, capture_output=True)
        prompts = os.path.join(tmp, "prompts.txt")
        with open(prompts, "w", encoding="utf-8") as f:
            f.write(SEPARATOR.join(s["text"] for s in sentences))
        embed = [os.path.join(args.llama_cpp, "build", "bin", "llama-embedding"), "-m", gguf, "-f", prompts,
                 "--embd-separator", SEPARATOR, "--embd-output-format", "array", "--embd-normalize", "2",
                 "--pooling", "mean", "--verbose-prompt", "-c", "512", "-b", "512", "-ub", "512", "-t", "2", "--no-warmup"]
        run = subprocess.run(embed, check=True, capture_output=True)
    ids, vectors = parse_llama_embedding(run.stdout.decode("utf-8", errors="replace"), len(sentences))

    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = normed @ normed.T
    off = (sims.sum() - np.trace(sims)) / (len(sims) * (len(sims) - 1))
    assert off < 0.9, f"sentences are not told apart: mean off-diagonal cosine {off}"
    same = [i == s["ids"] for i, s in zip(ids, sentences)]
    assert sum(same) >= 0.9 * len(same), f"llama.cpp's ids equal HF's on only {sum(same)} of {len(same)}"

    vectors.astype("<f4").tofile(os.path.join(args.out, "llama-cpp.f32"))
    meta = {
        "model": "random BertModel (hidden 32, 4 heads, 2 layers, intermediate 64, max positions 512) with "
                 "all-MiniLM-L6-v2's tokenizer, converted by llama.cpp's convert_hf_to_gguf.py --outtype f16",
        "reference": "llama-embedding --pooling mean --embd-normalize 2, llama.cpp from llama-cpp-python 0.3.36",
        "commands": {"convert": " ".join(convert[1:3] + convert[4:6]), "embed": " ".join(os.path.basename(embed[0]) + " " + a if i == 0 else a
                                                                                        for i, a in enumerate(embed[1:]))},
        "embeddings": {"file": "llama-cpp.f32", "dtype": "float32", "shape": list(vectors.shape)},
        "checks": {"mean_off_diagonal_cosine": float(off), "llama_cpp_ids_equal_hf": int(sum(same)), "sentences": len(same)},
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                     "numpy": np.__version__, "llama_cpp": "llama-cpp-python 0.3.36 sdist"},
        "sentences": [{"text": s["text"], "hf_ids": s["ids"], "llama_cpp_ids": i} for s, i in zip(sentences, ids)],
    }
    with open(os.path.join(args.out, "sentences.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(sentences)} sentences, llama.cpp ids equal HF's on {sum(same)}; mean off-diagonal cosine {off:.3f}; "
          f"{os.path.getsize(gguf)} bytes of GGUF")


if __name__ == "__main__":
    main()
