#!/usr/bin/env python3
"""Strided perplexity of a GGUF model from llama.cpp's logits (llama-cpp-python, logits_all=True).

usage: perplexity-llamacpp.py MODEL.gguf TEXT_FILE [--ctx 512] [--stride 256] [--threads 2] [--json]

The windows are Hugging Face's sliding-window method, the same as `loom perplexity`:
windows start at 0, stride, 2*stride, ... and end at min(start + ctx, n); each window scores
only the tokens the previous window did not (all but the first token in the first window),
each predicted from everything before it in its window. The loop stops after the window that
reaches the end. Perplexity is exp(total negative log-likelihood / scored tokens).

The text is tokenized by llama.cpp itself (no BOS, special tokens not parsed), so the script
also checks the GGUF's tokenizer: `loom perplexity` must report the same token count.
Log-softmax is taken in float64 over llama.cpp's float32 logits.
"""
import argparse, json, math, sys, time

import numpy as np
import llama_cpp


def windows(n: int, ctx: int, stride: int):
    """(begin, end, scored) per window; scored counts the last tokens of the window that are targets."""
    out, prev_end, begin = [], 0, 0
    while begin < n:
        end = min(begin + ctx, n)
        scored = end - prev_end if prev_end else end - begin - 1
        out.append((begin, end, min(scored, end - begin - 1)))
        prev_end = end
        if end == n:
            break
        begin += stride
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("file")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--stride", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=a.ctx, n_batch=a.ctx, n_ubatch=a.ctx, logits_all=True,
                          n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
    text = open(a.file, encoding="utf-8").read()
    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    nll, count, t0 = 0.0, 0, time.time()
    wins = windows(len(ids), a.ctx, a.stride)
    for k, (begin, end, scored) in enumerate(wins):
        llm.reset()
        llm.eval(ids[begin:end])
        n = end - begin
        logits = np.asarray(llm.scores[:n], dtype=np.float64)  # [n, vocab]
        rows = logits[n - 1 - scored:n - 1]  # positions predicting the scored targets
        targets = np.asarray(ids[end - scored:end])
        m = rows.max(axis=1, keepdims=True)
        logz = (m[:, 0] + np.log(np.exp(rows - m).sum(axis=1)))
        nll += float((logz - rows[np.arange(scored), targets]).sum())
        count += scored
        print(f"\r{k + 1}/{len(wins)} windows, ppl {math.exp(nll / count):.4f}", end="", file=sys.stderr)
    print(file=sys.stderr)
    ppl = math.exp(nll / count)
    result = {"model": a.model, "file": a.file, "tokens": len(ids), "scored": count, "ctx": a.ctx,
              "stride": a.stride, "windows": len(wins), "nll": nll / count, "perplexity": ppl,
              "seconds": round(time.time() - t0, 2), "llama_cpp_python": llama_cpp.__version__}
    print(json.dumps(result) if a.json else f"perplexity {ppl:.4f} over {count} tokens ({len(ids)} in file, {len(wins)} windows)")


if __name__ == "__main__":
    main()
