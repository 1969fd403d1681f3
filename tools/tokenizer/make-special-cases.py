#!/usr/bin/env python3
"""Records HF tokenizers' ids for texts containing special tokens, with special-token parsing
on (the default) and off (`encode_special_tokens = True`), for the hf-* fixtures.

usage: make-special-cases.py FIXTURES_DIR OUT.json   (after make-hf-tokenizers.py)
"""
import json, sys
from importlib.metadata import version
from pathlib import Path

from tokenizers import Tokenizer

TEXTS = [
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "plain <|im_start|> inside user text",
    "<|endoftext|><|endoftext|>x<|endoftext|>",
    "<|im_start|",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<s>[INST] hi </s> <s>",
    "a</s>b <unk> c",
    "",
]


def main():
    fixtures, out = Path(sys.argv[1]), Path(sys.argv[2])
    result = {"source": f"HF tokenizers {version('tokenizers')}, tools/tokenizer/make-special-cases.py", "cases": {}}
    for name in ("qwen", "spm-legacy"):
        tok = Tokenizer.from_file(str(fixtures / f"tokenizer/hf-{name}/tokenizer.json"))
        cases = []
        for text in TEXTS:
            tok.encode_special_tokens = False
            parsed = tok.encode(text, add_special_tokens=False).ids
            tok.encode_special_tokens = True
            plain = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "parsed": parsed, "plain": plain})
        result["cases"][name] = cases
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


main()
