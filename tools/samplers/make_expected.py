#!/usr/bin/env python3
"""Reference outputs for Loom's sampler stages, from a small NumPy implementation of each
stage as llama.cpp defines it (src/llama-sampler.cpp of llama.cpp as vendored by
llama-cpp-python 0.3.36; DRY as in text-generation-webui's original). Written independently
of the Swift code; run on fixed logits.

    /work/venv/bin/python tools/samplers/make_expected.py

writes Tests/LoomGenerateTests/Fixtures/samplers.json.
"""
import json
import math
import os
import platform
import sys

import numpy as np

VOCAB = 64
rng = np.random.default_rng(20240607)
LOGITS = rng.normal(0.0, 2.0, VOCAB).astype(np.float32)
# A context with repeats, for the penalties: several ids occur more than once.
CONTEXT = [int(x) for x in rng.integers(0, VOCAB, 40)] + [3, 3, 7, 3, 12]
# A context for DRY: "10 11 12" repeats; 5 is a breaker; the last token is 12.
DRY_CONTEXT = [40, 10, 11, 12, 13, 5, 10, 11, 12, 20, 30, 9, 10, 11, 12, 21, 10, 11, 12]
DRY_BREAKERS = [5, 30]


def softmax(logits):
    x = np.asarray(logits, dtype=np.float64)
    finite = x[np.isfinite(x)]
    m = finite.max() if finite.size else 0.0
    e = np.where(np.isfinite(x), np.exp(x - m), 0.0)
    return e / e.sum()


def entries(ids, logits):
    """[(id, logit)] as lists."""
    return [int(i) for i in ids], [float(v) for v in logits]


def by_logit_desc(ids, logits):
    order = sorted(range(len(ids)), key=lambda k: (-logits[k], k))
    return [ids[k] for k in order], [logits[k] for k in order]


def top_k(ids, logits, k, min_keep=0):
    if k <= 0:
        return ids, logits
    k = min(max(k, min_keep), len(ids))
    ids, logits = by_logit_desc(ids, logits)
    return ids[:k], logits[:k]


MARGINS = []


def top_p(ids, logits, p, min_keep=0):
    if p >= 1:
        return ids, logits
    probs = softmax(logits)
    order = sorted(range(len(ids)), key=lambda k: (-logits[k], k))
    cum = 0.0
    for rank, k in enumerate(order):
        cum += probs[k]
        MARGINS.append(abs(cum - p))
        if cum >= p and rank + 1 >= min_keep:
            keep = order[:rank + 1]
            return [ids[j] for j in keep], [logits[j] for j in keep]
    return by_logit_desc(ids, logits)


def min_p(ids, logits, p, min_keep=0):
    if p <= 0:
        return ids, logits
    mx = max(logits)
    # p_i >= p * p_max  <=>  logit_i >= max + log(p)
    threshold = mx + math.log(p)
    for v in logits:
        MARGINS.append(abs(v - threshold))
    keep = [k for k in range(len(ids)) if logits[k] >= threshold]
    if len(keep) >= max(min_keep, 1):
        return [ids[k] for k in keep], [logits[k] for k in keep]
    sids, slog = by_logit_desc(ids, logits)
    n = 1
    while n < len(sids) and not (slog[n] < threshold and n >= min_keep):
        n += 1
    return sids[:n], slog[:n]


def typical_p(ids, logits, p, min_keep=0):
    if p >= 1:
        return ids, logits
    probs = softmax(logits)
    entropy = -sum(q * math.log(q) for q in probs if q > 0)
    shifted = [abs(-math.log(q) - entropy) for q in probs]
    order = sorted(range(len(ids)), key=lambda k: (shifted[k], k))
    cum = 0.0
    last = len(order)
    for rank, k in enumerate(order):
        cum += probs[k]
        MARGINS.append(abs(cum - p))
        if cum > p and (min_keep == 0 or rank >= min_keep - 1):
            last = rank + 1
            break
    keep = order[:last]
    return [ids[k] for k in keep], [logits[k] for k in keep]


def penalties(ids, logits, context, last_n, repeat, freq, presence):
    recent = context if last_n < 0 else context[-last_n:] if last_n > 0 else []
    counts = {}
    for t in recent:
        counts[t] = counts.get(t, 0) + 1
    out = []
    for i, v in zip(ids, logits):
        c = counts.get(i, 0)
        if c > 0:
            v = v * repeat if v <= 0 else v / repeat
            v -= c * freq + presence
        out.append(v)
    return ids, out


def dry(ids, logits, context, last_n, multiplier, base, allowed, breakers):
    h = context if last_n < 0 else context[-last_n:]
    if multiplier <= 0 or len(h) < 2 or h[-1] in breakers:
        return ids, logits
    longest = {}
    for idx in range(len(h) - 1):
        if h[idx] != h[-1]:
            continue
        nxt = h[idx + 1]
        if nxt in breakers:
            continue
        length = 1
        while True:
            j = idx - length
            if j < 0 or h[j] in breakers or h[j] != h[-1 - length]:
                break
            length += 1
        longest[nxt] = max(longest.get(nxt, 0), length)
    out = []
    for i, v in zip(ids, logits):
        L = longest.get(i, 0)
        if L >= allowed and L > 0:
            v = v - multiplier * base ** (L - allowed)
        out.append(v)
    return ids, out


def xtc(ids, logits, probability, threshold, min_keep, draw):
    if probability <= 0 or threshold > 0.5 or len(ids) < 2 or draw > probability:
        return ids, logits
    sids, slog = by_logit_desc(ids, logits)
    probs = softmax(slog)
    last = 0
    for k, q in enumerate(probs):
        MARGINS.append(abs(q - threshold))
        if q >= threshold:
            last = k
        else:
            break
    if len(sids) - last >= min_keep and last > 0:
        return sids[last:], slog[last:]
    return sids, slog


def temperature(ids, logits, t):
    if t <= 0:
        k = int(np.argmax(logits))
        return [ids[k]], [logits[k]]
    return ids, [v / t for v in logits]


def logit_bias(ids, logits, bias):
    return ids, [v + bias.get(i, 0.0) for i, v in zip(ids, logits)]


def chain(ids, logits, context, params):
    """llama.cpp's default order: penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature."""
    ids, logits = logit_bias(ids, logits, {int(k): v for k, v in params.get("logit_bias", {}).items()})
    ids, logits = penalties(ids, logits, context, params["penalty_last_n"], params["repeat"], params["freq"], params["presence"])
    ids, logits = top_k(ids, logits, params["top_k"])
    ids, logits = typical_p(ids, logits, params["typical_p"])
    ids, logits = top_p(ids, logits, params["top_p"])
    ids, logits = min_p(ids, logits, params["min_p"])
    ids, logits = temperature(ids, logits, params["temperature"])
    return ids, logits


def chi_square_quantile(df, alpha):
    """Upper-alpha critical value of the chi-square distribution (series for the regularized
    lower incomplete gamma, then bisection)."""
    def lower_regularized(s, x):
        term = 1.0 / s
        total = term
        n = 1
        while term > total * 1e-16:
            term *= x / (s + n)
            total += term
            n += 1
        return total * math.exp(-x + s * math.log(x) - math.lgamma(s))

    lo, hi = 0.0, 1000.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 1 - lower_regularized(df / 2, mid / 2) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def main():
    base_ids = list(range(VOCAB))
    base = [float(v) for v in LOGITS]
    cases = []

    def add(name, stage, params, result, context=None):
        ids, logits = result
        cases.append({
            "name": name, "stage": stage, "params": params, "context": context,
            # JSON has no infinity: a banned token's logit (−inf) is written as null.
            "ids": [int(i) for i in ids], "logits": [float(v) if math.isfinite(v) else None for v in logits],
            "probs": [float(q) for q in softmax(logits)],
        })

    add("temperature 0.7", "temperature", {"temperature": 0.7}, temperature(base_ids, base, 0.7))
    add("temperature 0 (greedy)", "temperature", {"temperature": 0.0}, temperature(base_ids, base, 0.0))
    add("top_k 5", "top_k", {"k": 5}, top_k(base_ids, base, 5))
    add("top_k 3, min_keep 6", "top_k", {"k": 3, "min_keep": 6}, top_k(base_ids, base, 3, 6))
    add("top_p 0.8", "top_p", {"p": 0.8}, top_p(base_ids, base, 0.8))
    add("top_p 0.3, min_keep 5", "top_p", {"p": 0.3, "min_keep": 5}, top_p(base_ids, base, 0.3, 5))
    add("min_p 0.1", "min_p", {"p": 0.1}, min_p(base_ids, base, 0.1))
    add("min_p 0.6, min_keep 4", "min_p", {"p": 0.6, "min_keep": 4}, min_p(base_ids, base, 0.6, 4))
    add("typical_p 0.5", "typical_p", {"p": 0.5}, typical_p(base_ids, base, 0.5))
    add("typical_p 0.9", "typical_p", {"p": 0.9}, typical_p(base_ids, base, 0.9))
    add("penalties repeat 1.3 last 16", "penalties", {"last_n": 16, "repeat": 1.3, "freq": 0.0, "presence": 0.0},
        penalties(base_ids, base, CONTEXT, 16, 1.3, 0.0, 0.0), CONTEXT)
    add("penalties freq 0.5 presence 0.7 whole context", "penalties", {"last_n": -1, "repeat": 1.0, "freq": 0.5, "presence": 0.7},
        penalties(base_ids, base, CONTEXT, -1, 1.0, 0.5, 0.7), CONTEXT)
    add("penalties all three, last 8", "penalties", {"last_n": 8, "repeat": 1.15, "freq": 0.25, "presence": 0.4},
        penalties(base_ids, base, CONTEXT, 8, 1.15, 0.25, 0.4), CONTEXT)
    add("logit bias", "logit_bias", {"bias": {"3": 2.5, "7": -1.25, "60": None}},
        logit_bias(base_ids, base, {3: 2.5, 7: -1.25, 60: -math.inf}))
    add("dry 0.8/1.75/2 whole context", "dry", {"multiplier": 0.8, "base": 1.75, "allowed": 2, "last_n": -1, "breakers": DRY_BREAKERS},
        dry(base_ids, base, DRY_CONTEXT, -1, 0.8, 1.75, 2, set(DRY_BREAKERS)), DRY_CONTEXT)
    add("dry 1.5/2/1 last 12", "dry", {"multiplier": 1.5, "base": 2.0, "allowed": 1, "last_n": 12, "breakers": DRY_BREAKERS},
        dry(base_ids, base, DRY_CONTEXT, 12, 1.5, 2.0, 1, set(DRY_BREAKERS)), DRY_CONTEXT)
    add("xtc threshold 0.05", "xtc", {"probability": 1.0, "threshold": 0.05, "min_keep": 0, "draw": 0.5},
        xtc(base_ids, base, 1.0, 0.05, 0, 0.5))
    add("xtc not drawn", "xtc", {"probability": 0.3, "threshold": 0.05, "min_keep": 0, "draw": 0.5},
        xtc(base_ids, base, 0.3, 0.05, 0, 0.5))
    chain_params = {"logit_bias": {"5": 1.0}, "penalty_last_n": 64, "repeat": 1.1, "freq": 0.1, "presence": 0.2,
                    "top_k": 20, "typical_p": 1.0, "top_p": 0.9, "min_p": 0.05, "temperature": 0.7}
    add("llama.cpp default order", "chain", chain_params, chain(base_ids, base, CONTEXT, chain_params), CONTEXT)

    # A distribution to sample from: top_k 6 at temperature 1.3.
    ids, logits = temperature(*top_k(base_ids, base, 6), 1.3)
    sampling = {"top_k": 6, "temperature": 1.3, "ids": ids, "probs": [float(q) for q in softmax(logits)],
                "draws": 20000, "seed": 1234, "alpha": 0.001, "critical": chi_square_quantile(len(ids) - 1, 0.001)}

    assert min(MARGINS) > 1e-4, f"a case sits within {min(MARGINS)} of a boundary; pick other parameters"
    out = {
        "generated_by": "tools/samplers/make_expected.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "vocab": VOCAB, "logits": base, "cases": cases, "sampling": sampling,
    }
    path = os.path.join(os.path.dirname(__file__), "../../Tests/LoomGenerateTests/Fixtures/samplers.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases; smallest boundary margin {min(MARGINS):.2e}; chi2 critical {sampling['critical']:.3f}")


if __name__ == "__main__":
    main()
