"""llama.cpp's side of the correctness comparison: token windows of real text and all-position logits.

Runs where llama-cpp-python imports (the venv tools/llamacpp_venv.py makes).
"""
import numpy as np
import llama_cpp


def token_windows(path, text_path, tokens, windows):
    """`windows` consecutive runs of `tokens` tokens from the start of the text at `text_path`,
    tokenized by the GGUF file's own tokenizer in llama.cpp (no BOS, special tokens not parsed)."""
    needed = tokens * windows
    with open(text_path, encoding="utf-8") as f:
        text = f.read(16 * needed)
    vocab = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    ids = vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:needed]
    vocab.close()
    if len(ids) < needed:
        raise SystemExit(f"{text_path}: only {len(ids)} tokens in its first {16 * needed} characters")
    return [ids[i:i + tokens] for i in range(0, needed, tokens)]


def logits(path, windows, threads):
    """llama.cpp's logits [windows × tokens, vocab] in float64 for every position (`logits_all`);
    each window is one batch from an empty cache, with llama.cpp's defaults otherwise (F16 KV cache)."""
    n = len(windows[0])
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_ctx=max(64, n), n_batch=n,
                          n_threads=threads, n_threads_batch=threads, verbose=False)
    rows = []
    for ids in windows:
        llm.reset()  # the next eval drops the cache from position 0
        llm.eval(ids)
        rows.append(np.array(llm.scores[:n], dtype=np.float64))
    llm.close()
    return np.concatenate(rows)
