#!/usr/bin/env python3
"""Records how each pre-tokenizer pattern cuts the corpus, as HF tokenizers' Split (Oniguruma)
cuts it: an oracle for Loom's hand-written scanners, pattern by pattern.

usage: expected-pieces.py FIXTURES_DIR OUT.txt   (needs tokenizers)

Per pattern and document: the piece count and the FNV-1a 64 of the pieces' UTF-8 byte lengths
(as little-endian int32).
"""
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus_ids import documents, fnv1a64  # noqa: E402

from tokenizers import Regex, pre_tokenizers  # noqa: E402

PATTERNS = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen35": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "o200k": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+""",
    ]),
}


def main():
    fixtures, out = Path(sys.argv[1]), Path(sys.argv[2])
    docs, sha = documents(fixtures / "tokenizer/corpus.bin")
    lines = [f"# pre-tokenizer pieces of corpus.bin (sha256 {sha}), HF tokenizers {version('tokenizers')} Split(Regex, isolated)",
             "# per line: pattern count fnv1a64(piece UTF-8 lengths as int32 LE); tools/tokenizer/expected-pieces.py"]
    for name, pattern in PATTERNS.items():
        split = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
        for doc in docs:
            lengths = [len(p.encode()) for p, _ in split.pre_tokenize_str(doc)]
            lines.append(f"{name} {len(lengths)} {fnv1a64(lengths):016x}")
    out.write_text("\n".join(lines) + "\n")


main()
