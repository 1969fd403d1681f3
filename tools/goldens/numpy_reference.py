"""An independent float64 forward pass of the Llama family (and gpt-oss), read from files only.

This is the second oracle for the goldens: it knows nothing of transformers. It reads
`config.json` (both the transformers-5 `rope_parameters` layout and the older top-level
`rope_theta` + `rope_scaling` layout) and the safetensors weights (single file or sharded
through `model.safetensors.index.json`), and computes the logits for every prompt position.
`make_goldens.py` checks that these agree with transformers, which proves that each fixture
directory alone holds everything an engine needs, and spells out the math the Swift forward
pass must reproduce.
"""

import json
import math
import os

import numpy as np

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                           "Qwen3MoeForCausalLM", "MixtralForCausalLM", "Phi3ForCausalLM", "Gemma2ForCausalLM",
                           "Gemma3ForCausalLM", "GptOssForCausalLM")
# Mixture-of-experts checkpoints: (router, expert folder, gate, up, down) after model.layers.N.
EXPERTS = {
    "Qwen3MoeForCausalLM": ("mlp.gate.weight", "mlp.experts.{}.", "gate_proj.weight", "up_proj.weight", "down_proj.weight"),
    "MixtralForCausalLM": ("block_sparse_moe.gate.weight", "block_sparse_moe.experts.{}.", "w1.weight", "w3.weight", "w2.weight"),
}


def weight_files(model_dir):
    """Paths of the safetensors files: the shards named by the index, or model.safetensors."""
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.exists(index_path):
        return [os.path.join(model_dir, "model.safetensors")]
    with open(index_path) as f:
        return [os.path.join(model_dir, name) for name in sorted(set(json.load(f)["weight_map"].values()))]


def load_torch_tensors(model_dir):
    """All tensors of a model directory as torch tensors in their stored dtype, keyed by name."""
    from safetensors.torch import load_file  # here, so the GGUF reference runs without torch

    tensors = {}
    for path in weight_files(model_dir):
        tensors.update(load_file(path))
    return tensors


def load_tensors(model_dir):
    """All tensors of a model directory as float64 numpy arrays, keyed by name."""
    # numpy has no bfloat16: read through torch, which widens bf16 exactly.
    return {key: value.double().numpy() for key, value in load_torch_tensors(model_dir).items()}


def rope_settings(config):
    """(theta, scaling dict or None) from either config layout."""
    params = config.get("rope_parameters")
    if params is None:
        scaling = config.get("rope_scaling")
        theta = config.get("rope_theta", 10000.0)
    else:
        scaling = params
        theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type", "default"))
        scaling = None if kind == "default" else dict(scaling, rope_type=kind)
    return theta, scaling


def inverse_frequencies(config, head_dim, seq_len=0):
    """(inv_freq [head_dim/2], attention_factor) following transformers' modeling_rope_utils."""
    theta, scaling = rope_settings(config)
    exponents = np.arange(0, head_dim, 2, dtype=np.float64) / head_dim
    inv_freq = 1.0 / theta**exponents  # [head_dim/2]
    if scaling is None:
        return inv_freq, 1.0
    kind = scaling["rope_type"]
    factor = float(scaling.get("factor") or 1.0)
    if kind == "linear":
        return inv_freq / factor, 1.0
    if kind == "llama3":
        original = scaling["original_max_position_embeddings"]
        low_freq_wavelen = original / scaling["low_freq_factor"]
        high_freq_wavelen = original / scaling["high_freq_factor"]
        wavelen = 2 * math.pi / inv_freq
        scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (original / wavelen - scaling["low_freq_factor"]) / (
            scaling["high_freq_factor"] - scaling["low_freq_factor"]
        )
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
        return np.where(medium, smoothed, scaled), 1.0
    if kind in ("longrope", "su"):
        # transformers takes the long factors when the sequence is longer than the original context.
        original = scaling.get("original_max_position_embeddings") or config["original_max_position_embeddings"]
        factors = scaling["long_factor"] if seq_len > original else scaling["short_factor"]
        factor = scaling.get("factor") or config["max_position_embeddings"] / original
        attention_factor = scaling.get("attention_factor")
        if attention_factor is None:
            attention_factor = 1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original))
        return inv_freq / np.asarray(factors, dtype=np.float64), attention_factor
    if kind == "yarn":
        original = scaling["original_max_position_embeddings"]
        beta_fast = scaling.get("beta_fast") or 32
        beta_slow = scaling.get("beta_slow") or 1
        truncate = scaling.get("truncate", True)
        attention_factor = scaling.get("attention_factor")
        if attention_factor is None:
            mscale, mscale_all_dim = scaling.get("mscale"), scaling.get("mscale_all_dim")

            def get_mscale(scale, m=1.0):
                return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

            if mscale and mscale_all_dim:
                attention_factor = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim)
            else:
                attention_factor = get_mscale(factor)

        def correction_dim(rotations):
            return head_dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(theta))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, head_dim - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(head_dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        extrapolation_weight = 1 - ramp
        inv_freq = (inv_freq / factor) * (1 - extrapolation_weight) + inv_freq * extrapolation_weight
        return inv_freq, attention_factor
    raise ValueError(f"rope type {kind!r} is not covered by the reference")


def rms_norm(x, weight, eps):
    """RMSNorm over the last axis."""
    return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    """HF's non-interleaved rotation: pairs are (i, i + d/2)."""
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward(model_dir, tokens):
    """Logits [n_tokens, vocab] (float64) for a prompt, with a causal mask."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return forward_weights(config, load_tensors(model_dir), tokens)


def forward_weights(config, w, tokens, round_input=None):
    """Logits [n_tokens, vocab] (float64) of a transformers-style config and float64 weights.

    `w` maps Hugging Face tensor names to float64 arrays; any Mapping serves, so a caller can
    produce each tensor only when it is read (the GGUF reference dequantizes on access).
    `round_input(x, weight_name)`, when given, maps the input of every matrix product (the head's
    too) to a rounded copy: a way to model an engine's 8-bit activations in otherwise exact
    arithmetic.
    """
    if round_input is None:
        round_input = lambda x, name: x  # noqa: E731
    architecture = config["architectures"][0]
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise ValueError(f"unsupported architecture {architecture}")
    if architecture == "GptOssForCausalLM":
        return gpt_oss_forward(config, w, tokens, round_input)
    n_heads = config["num_attention_heads"]
    n_kv_heads = config.get("num_key_value_heads") or n_heads
    head_dim = config.get("head_dim") or config["hidden_size"] // n_heads
    eps = config["rms_norm_eps"]
    group = n_heads // n_kv_heads
    n = len(tokens)

    gemma = architecture in ("Gemma2ForCausalLM", "Gemma3ForCausalLM")
    # Gemma 2: soft-capping of scores and logits, v -> cap * tanh(v / cap).
    attn_cap = config.get("attn_logit_softcapping") if architecture == "Gemma2ForCausalLM" else None
    final_cap = config.get("final_logit_softcapping") if architecture == "Gemma2ForCausalLM" else None

    def rope_tables(rope_config):
        inv_freq, attention_factor = inverse_frequencies(rope_config, head_dim, n)
        angles = np.outer(np.arange(n, dtype=np.float64), inv_freq)  # [n, head_dim/2]
        angles = np.concatenate([angles, angles], axis=-1)  # [n, head_dim]
        return np.cos(angles) * attention_factor, np.sin(angles) * attention_factor

    causal = np.triu(np.full((n, n), -np.inf), k=1)  # [n, n]
    # A sliding window of W: position i sees positions i - W + 1 .. i.
    window = config.get("sliding_window")
    if architecture not in ("MistralForCausalLM", "MixtralForCausalLM", "Phi3ForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM") \
            and not config.get("use_sliding_window"):
        window = None
    windowed = causal if window is None else causal + np.tril(np.full((n, n), -np.inf), k=-window)
    # Gemma 3: local layers (the window, RoPE θ of sliding_attention, unscaled) between global ones.
    layer_types = config.get("layer_types")
    if layer_types is None:  # older Gemma configs: every sliding_window_pattern-th layer is global
        pattern = (config.get("sliding_window_pattern", 6) if architecture == "Gemma3ForCausalLM" else 2) if gemma else 1
        layer_types = ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention"
                       for i in range(config["num_hidden_layers"])]
    params = config.get("rope_parameters") or {}
    if architecture == "Gemma3ForCausalLM" and "full_attention" in params:
        global_rope = rope_tables(dict(config, rope_parameters=params["full_attention"]))
        local_rope = rope_tables(dict(config, rope_parameters=params["sliding_attention"]))
    elif architecture == "Gemma3ForCausalLM":
        global_rope = rope_tables(config)
        local_rope = rope_tables({"rope_theta": config.get("rope_local_base_freq", 10000.0)})
    else:
        global_rope = local_rope = rope_tables(config)
    scale = config["query_pre_attn_scalar"] ** -0.5 if gemma else 1 / math.sqrt(head_dim)
    norm_offset = 1.0 if gemma else 0.0

    def norm(x, name):
        return rms_norm(x, w[name] + norm_offset, eps)

    def linear(x, prefix):
        y = round_input(x, prefix + ".weight") @ w[prefix + ".weight"].T
        bias = w.get(prefix + ".bias")
        return y if bias is None else y + bias

    # Phi-3 stores q, k, v as one qkv_proj and gate, up as one gate_up_proj (gate first).
    w = dict(w) if any(name.endswith(("qkv_proj.weight", "gate_up_proj.weight")) for name in w) else w
    for name in [k for k in w if k.endswith("self_attn.qkv_proj.weight")]:
        q_rows, kv_rows = n_heads * head_dim, n_kv_heads * head_dim
        fused = w.pop(name)
        prefix = name.removesuffix("qkv_proj.weight")
        w[prefix + "q_proj.weight"], w[prefix + "k_proj.weight"], w[prefix + "v_proj.weight"] = (
            fused[:q_rows], fused[q_rows:q_rows + kv_rows], fused[q_rows + kv_rows:])
    for name in [k for k in w if k.endswith("mlp.gate_up_proj.weight")]:
        fused = w.pop(name)
        prefix = name.removesuffix("gate_up_proj.weight")
        half = fused.shape[0] // 2
        w[prefix + "gate_proj.weight"], w[prefix + "up_proj.weight"] = fused[:half], fused[half:]

    x = w["model.embed_tokens.weight"][tokens]  # [n, hidden]
    if gemma:
        x = x * math.sqrt(config["hidden_size"])
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        local = gemma and layer_types[layer] == "sliding_attention"
        cos, sin = local_rope if local else global_rope
        mask = windowed if (local or not gemma) else causal
        h = norm(x, p + "input_layernorm.weight")
        q = linear(h, p + "self_attn.q_proj").reshape(n, n_heads, head_dim)
        k = linear(h, p + "self_attn.k_proj").reshape(n, n_kv_heads, head_dim)
        v = linear(h, p + "self_attn.v_proj").reshape(n, n_kv_heads, head_dim)
        if p + "self_attn.q_norm.weight" in w:  # Qwen3, Gemma 3: per-head RMSNorm before RoPE
            q = norm(q, p + "self_attn.q_norm.weight")
            k = norm(k, p + "self_attn.k_norm.weight")
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        out = np.empty((n, n_heads, head_dim))
        for head in range(n_heads):
            kv = head // group
            scores = q[:, head, :] @ k[:, kv, :].T * scale  # [n, n]
            if attn_cap:
                scores = attn_cap * np.tanh(scores / attn_cap)
            scores = scores + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            out[:, head, :] = scores @ v[:, kv, :]
        attended = linear(out.reshape(n, n_heads * head_dim), p + "self_attn.o_proj")
        if gemma:  # sandwich norms: after the attention, and before and after the MLP
            x = x + norm(attended, p + "post_attention_layernorm.weight")
            h = norm(x, p + "pre_feedforward_layernorm.weight")
            gate = linear(h, p + "mlp.gate_proj")
            gelu = 0.5 * gate * (1 + np.tanh(math.sqrt(2 / math.pi) * (gate + 0.044715 * gate**3)))
            x = x + norm(linear(gelu * linear(h, p + "mlp.up_proj"), p + "mlp.down_proj"), p + "post_feedforward_layernorm.weight")
            continue
        x = x + attended
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        experts = EXPERTS.get(architecture)
        if experts is not None and p + experts[0] in w:
            x = x + sparse_mlp(config, architecture, h, lambda name: w[p + name], round_input, p)
        else:
            gate = linear(h, p + "mlp.gate_proj")
            x = x + linear(gate / (1 + np.exp(-gate)) * linear(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = norm(x, "model.norm.weight")
    head_name = "lm_head.weight"
    if head_name not in w or config.get("tie_word_embeddings", False):
        head_name = "model.embed_tokens.weight"
    logits = round_input(x, head_name) @ w[head_name].T
    return logits if not final_cap else final_cap * np.tanh(logits / final_cap)


def sparse_mlp(config, architecture, h, weight, round_input, prefix):
    """Σ over each token's top-k experts of p_e · down_e(SiLU(gate_e·h) * up_e·h), p the router's
    softmax over all experts, renormalized over the k chosen (always for Mixtral, when
    norm_topk_prob for Qwen3-MoE)."""
    router, folder, gate_name, up_name, down_name = EXPERTS[architecture]
    k = config["num_experts_per_tok"]
    normalize = architecture == "MixtralForCausalLM" or config.get("norm_topk_prob", False)
    logits = round_input(h, prefix + router) @ weight(router).T  # [n, experts]
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    out = np.zeros_like(h)
    for t in range(h.shape[0]):
        chosen = np.argsort(-probs[t], kind="stable")[:k]
        weights = probs[t, chosen] / (probs[t, chosen].sum() if normalize else 1.0)
        for e, p in zip(chosen, weights):
            f = folder.format(e)
            x = h[t:t + 1]
            gate = round_input(x, prefix + f + gate_name) @ weight(f + gate_name).T
            up = round_input(x, prefix + f + up_name) @ weight(f + up_name).T
            act = gate / (1 + np.exp(-gate)) * up
            out[t] += p * (round_input(act, prefix + f + down_name) @ weight(f + down_name).T)[0]
    return out


def gpt_oss_forward(config, w, tokens, round_input):
    """gpt-oss: Llama-style pre-norm blocks with
      - attention: q/k/v/o biases, scores q.k / sqrt(head_dim), a causal mask, narrowed to
        `sliding_window` on the layer_types "sliding_attention" layers; each head h has a sink
        logit sinks[h] appended to every row of its scores before the softmax, whose share is
        dropped after (the row's weights then sum to less than 1);
      - RoPE: HF's halves rotation (pairs i, i + d/2), usually YaRN (rope_settings);
      - the MoE: router logits = h @ router.weight.T + router.bias, the top k logits, softmax over
        those k alone; expert e: gate_up = h @ gate_up_proj[e] + gate_up_proj_bias[e]
        (gate_up_proj [experts, hidden, 2 * width]: gate = columns 0, 2, 4 ..., up = 1, 3, 5 ...),
        gate = min(gate, limit), up = clip(up, -limit, limit),
        out = ((up + 1) * gate * sigmoid(alpha * gate)) @ down_proj[e] + down_proj_bias[e]
        (down_proj [experts, width, hidden]), alpha = swiglu_alpha (1.702), limit = swiglu_limit;
      - RMSNorm by a plain weight, before attention, before the MoE, and at the end.
    """
    n_heads = config["num_attention_heads"]
    n_kv_heads = config.get("num_key_value_heads") or n_heads
    head_dim = config.get("head_dim") or config["hidden_size"] // n_heads
    eps = config["rms_norm_eps"]
    group = n_heads // n_kv_heads
    n = len(tokens)
    k = config["num_experts_per_tok"]
    alpha = config.get("swiglu_alpha", 1.702)
    limit = config.get("swiglu_limit", 7.0)
    layer_types = config.get("layer_types") or [
        "sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(config["num_hidden_layers"])]

    inv_freq, attention_factor = inverse_frequencies(config, head_dim, n)
    angles = np.outer(np.arange(n, dtype=np.float64), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)  # [n, head_dim]
    cos, sin = np.cos(angles) * attention_factor, np.sin(angles) * attention_factor

    causal = np.triu(np.full((n, n), -np.inf), k=1)
    window = config.get("sliding_window")
    windowed = causal if window is None else causal + np.tril(np.full((n, n), -np.inf), k=-window)
    scale = head_dim ** -0.5

    def linear(x, prefix):
        return round_input(x, prefix + ".weight") @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    x = w["model.embed_tokens.weight"][tokens]
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        mask = windowed if layer_types[layer] == "sliding_attention" else causal
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, p + "self_attn.q_proj").reshape(n, n_heads, head_dim)
        kk = linear(h, p + "self_attn.k_proj").reshape(n, n_kv_heads, head_dim)
        v = linear(h, p + "self_attn.v_proj").reshape(n, n_kv_heads, head_dim)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        kk = kk * cos[:, None, :] + rotate_half(kk) * sin[:, None, :]
        sinks = w[p + "self_attn.sinks"]  # [n_heads]
        out = np.empty((n, n_heads, head_dim))
        for head in range(n_heads):
            kv = head // group
            scores = q[:, head, :] @ kk[:, kv, :].T * scale + mask  # [n, n]
            scores = np.concatenate([scores, np.full((n, 1), sinks[head])], axis=-1)  # [n, n + 1]
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            out[:, head, :] = scores[:, :n] @ v[:, kv, :]
        x = x + linear(out.reshape(n, n_heads * head_dim), p + "self_attn.o_proj")

        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        router = linear(h, p + "mlp.router")  # [n, experts]
        gate_up_w, gate_up_b = w[p + "mlp.experts.gate_up_proj"], w[p + "mlp.experts.gate_up_proj_bias"]
        down_w, down_b = w[p + "mlp.experts.down_proj"], w[p + "mlp.experts.down_proj_bias"]
        moe = np.zeros_like(h)
        for t in range(n):
            chosen = np.argsort(-router[t], kind="stable")[:k]
            weights = np.exp(router[t, chosen] - router[t, chosen].max())
            weights /= weights.sum()
            for e, weight in zip(chosen, weights):
                gate_up = round_input(h[t:t + 1], p + "mlp.experts.gate_up_proj") @ gate_up_w[e] + gate_up_b[e]
                gate = np.minimum(gate_up[:, 0::2], limit)
                up = np.clip(gate_up[:, 1::2], -limit, limit)
                act = (up + 1) * gate / (1 + np.exp(-alpha * gate))
                moe[t] += weight * (round_input(act, p + "mlp.experts.down_proj") @ down_w[e] + down_b[e])[0]
        x = x + moe
    x = rms_norm(x, w["model.norm.weight"], eps)
    head_name = "model.embed_tokens.weight" if config.get("tie_word_embeddings", False) or "lm_head.weight" not in w \
        else "lm_head.weight"
    return round_input(x, head_name) @ w[head_name].T
