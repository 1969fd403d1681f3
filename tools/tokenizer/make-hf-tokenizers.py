#!/usr/bin/env python3
"""Builds HF tokenizer.json fixtures from the fetched vocabularies and records HF tokenizers'
ids for the corpus.

usage: make-hf-tokenizers.py FIXTURES_DIR OUT_DIR
  needs transformers, tokenizers, tiktoken, sentencepiece, protobuf (tools/fixtures/fetch-tokenizer)

Writes FIXTURES_DIR/tokenizer/hf-NAME/{tokenizer.json,tokenizer_config.json}:
  hf-qwen       qwen.tiktoken through transformers' TikTokenConverter (Qwen2 pattern), with a
                NFC normalizer and Qwen2.5's added tokens, as Qwen2.5's own tokenizer.json has
  hf-cl100k     cl100k_base.tiktoken through TikTokenConverter (Llama-3-style pattern)
  hf-spm-legacy mistral-common's SentencePiece tokenizer.model.v1 as a Llama-2-style BPE:
                Prepend("▁") + Replace(" ", "▁"), byte fallback, Strip decoder
  hf-spm-meta   the same vocabulary with a Metaspace pre-tokenizer (prepend_scheme first)
  hf-spm-meta-split  the same, Metaspace with split: true (a piece per word)
  hf-deepseek   DeepSeek-LLM's vocabulary (llama.cpp's GGUF) with DeepSeek's pre-tokenizer
                (a Sequence of five Splits, Digits and ByteLevel)
and OUT_DIR/corpus-ids-hf-NAME.txt, the ids HF tokenizers gives each corpus document
(`encode(doc, add_special_tokens=False)`, special tokens in the text recognised).
"""
import json, struct, sys, hashlib
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus_ids import documents, fnv1a64  # noqa: E402

from tokenizers import Tokenizer, AddedToken, Regex, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE
from transformers.convert_slow_tokenizer import SentencePieceExtractor, TikTokenConverter

QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
              "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
              "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
              "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
              "<|repo_name|>", "<|file_sep|>"]
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def qwen(fixtures):
    tok = TikTokenConverter(vocab_file=str(fixtures / "tokenizer/qwen.tiktoken"), pattern=QWEN_PATTERN).converted()
    tok.normalizer = normalizers.NFC()
    # Qwen2.5 marks the tool-call and FIM tokens as non-special (tokenizer_config.json).
    tok.add_tokens([AddedToken(t, special=i < 14, normalized=False) for i, t in enumerate(QWEN_ADDED)])
    config = {"bos_token": None, "eos_token": "<|im_end|>", "add_bos_token": False, "chat_template": CHATML}
    return tok, config


def cl100k(fixtures):
    tok = TikTokenConverter(vocab_file=str(fixtures / "tokenizer/cl100k_base.tiktoken")).converted()
    tok.add_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    return tok, {"eos_token": "<|endoftext|>"}


def spm(fixtures, metaspace, split=False):
    model = str(fixtures / "tokenizer/mistral/tokenizer.model.v1")
    extracted = SentencePieceExtractor(model).extract(BPE)
    vocab, merges = extracted["vocab"], extracted["merges"]
    tok = Tokenizer(BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in ("<unk>", "<s>", "</s>")])
    if metaspace:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=split)
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(content=" ", left=1)])
    else:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(content=" ", left=1)])
    config = {"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True, "add_eos_token": False}
    return tok, config


DEEPSEEK_SPLITS = [
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
]


def deepseek(fixtures):
    """DeepSeek-LLM's vocabulary (from llama.cpp's GGUF) with DeepSeek's tokenizer.json
    pre-tokenizer: a Sequence of Splits, Digits and a regex-less ByteLevel."""
    from gguf import GGUFReader
    r = GGUFReader(str(fixtures / "llama.cpp/models/ggml-vocab-deepseek-llm.gguf"))
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    types = r.fields["tokenizer.ggml.token_type"].contents()
    merges = [tuple(m.split(" ", 1)) for m in r.fields["tokenizer.ggml.merges"].contents()]
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    tok = Tokenizer(BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in DEEPSEEK_SPLITS]
        + [pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3])
    return tok, {"bos_token": tokens[100000], "eos_token": tokens[100001]}


def main():
    fixtures, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    docs, sha = documents(fixtures / "tokenizer/corpus.bin")
    only = set(sys.argv[3:])
    builders = {"qwen": lambda: qwen(fixtures), "cl100k": lambda: cl100k(fixtures),
                "spm-legacy": lambda: spm(fixtures, False), "spm-meta": lambda: spm(fixtures, True),
                "spm-meta-split": lambda: spm(fixtures, True, split=True), "deepseek": lambda: deepseek(fixtures)}
    for name, build in builders.items():
        if only and name not in only:
            continue
        tok, config = build()
        d = fixtures / f"tokenizer/hf-{name}"
        d.mkdir(parents=True, exist_ok=True)
        tok.save(str(d / "tokenizer.json"))
        (d / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
        if out_dir.name == "-":
            continue
        lines = [f"# HF tokenizers {version('tokenizers')} (transformers {version('transformers')}) ids of corpus.bin "
                 f"(sha256 {sha}) with hf-{name}/tokenizer.json (tools/tokenizer/make-hf-tokenizers.py)",
                 "# encode(doc, add_special_tokens=False); per document: count, FNV-1a 64 of the ids as int32 LE"]
        total = 0
        for enc in tok.encode_batch(docs, add_special_tokens=False):
            total += len(enc.ids)
            lines.append(f"{len(enc.ids)} {fnv1a64(enc.ids):016x}")
        (out_dir / f"corpus-ids-hf-{name}.txt").write_text("\n".join(lines) + "\n")
        print(f"hf-{name}: {len(docs)} documents, {total} tokens")


if __name__ == "__main__":
    main()
