"""Builds the transformers oracle fixtures for Loom's forward pass (issue 2).

Each case is a tiny random-weight model written as a Hugging Face directory under
Tests/Fixtures/goldens/<name>/ with:
  config.json, generation_config.json, model.safetensors (or shards + index)
  inputs.json   prompt ids, logits shape and format, versions, dtype, seed, what the case covers
  logits.f32    raw little-endian float32, row-major [n_tokens, vocab], every prompt position
  greedy.json   16-token greedy continuation (argmax, no sampling, no EOS stop)

The reference is transformers' eager attention in float32 over the stored weights: the files are
reloaded with dtype=float32, so bf16/f16 weights are widened exactly and RoPE tables are built in
float32, which is what an f32 engine computing over the stored weights must output.

Checks made before anything is kept (the script fails otherwise):
  - reloading the saved directory reproduces the in-memory logits bit for bit, and every stored
    tensor equals the loaded parameter;
  - an independent float64 numpy forward pass (numpy_reference.py), reading only the files,
    agrees with the logits to 1e-5 relative;
  - a float64 run of the same model bounds the float32 rounding noise of the reference;
  - model.generate agrees with a plain argmax loop over full forward passes, every greedy
    step's top-1/top-2 gap is at least 1e-3 of the step's max |logit| (well above the 1e-4
    tolerance of the Swift tests, so the continuation is robust to f32 rounding), and the
    continuation holds at least 4 distinct tokens;
  - for RoPE-scaled cases, the scaling changes the logits materially (the fixture can tell a
    missing or wrong scaling from a correct one).
  - for gpt-oss, each of its features changes the logits materially against the same weights
    without it (gpt_oss_effects: sinks removed or zeroed, the SwiGLU clamp, each bias kind, the
    gate/up interleaving), and the YaRN truncate flag's effect is recorded (llama.cpp always
    truncates).

Run:  /work/venv/bin/python tools/goldens/make_goldens.py   (from the repository root)
"""

import argparse
import copy
import dataclasses
import itertools
import json
import math
import os
import platform
import shutil
import sys

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np
import safetensors
import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GptOssConfig,
    GptOssForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_reference  # noqa: E402

ARCHITECTURES = {
    "LlamaForCausalLM": (LlamaConfig, LlamaForCausalLM),
    "MistralForCausalLM": (MistralConfig, MistralForCausalLM),
    "Qwen2ForCausalLM": (Qwen2Config, Qwen2ForCausalLM),
    "Qwen3ForCausalLM": (Qwen3Config, Qwen3ForCausalLM),
    "Qwen3MoeForCausalLM": (Qwen3MoeConfig, Qwen3MoeForCausalLM),
    "MixtralForCausalLM": (MixtralConfig, MixtralForCausalLM),
    "Phi3ForCausalLM": (Phi3Config, Phi3ForCausalLM),
    "Gemma2ForCausalLM": (Gemma2Config, Gemma2ForCausalLM),
    "Gemma3ForCausalLM": (Gemma3TextConfig, Gemma3ForCausalLM),
    "GptOssForCausalLM": (GptOssConfig, GptOssForCausalLM),
}
# Checkpoint names of the experts transformers 5 holds fused in memory (experts.gate_up_proj
# [experts, 2 * width, hidden] with gate first, experts.down_proj [experts, hidden, width]).
EXPERT_NAMES = {
    "Qwen3MoeForCausalLM": ("mlp.gate.weight", "mlp.experts.{}.", "gate_proj.weight", "up_proj.weight", "down_proj.weight"),
    "MixtralForCausalLM": ("block_sparse_moe.gate.weight", "block_sparse_moe.experts.{}.", "w1.weight", "w3.weight", "w2.weight"),
}
# gpt-oss checkpoints hold the experts fused as transformers does (mlp.experts.gate_up_proj
# [experts, hidden, 2 * width] with gate and up interleaved, down_proj [experts, width, hidden],
# each with a _bias), so its names need no splitting; its experts run in the eager loop too.
EAGER_EXPERTS = set(EXPERT_NAMES) | {"GptOssForCausalLM"}
MIN_ROUTER_GAP = 1e-3  # k-th minus (k+1)-th router probability, every token and layer
STORAGE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
PROMPT = [1, 17, 200, 43, 99, 5, 150, 77, 23, 250, 64, 8]  # 12 ids, BOS first, all < 256
NEW_TOKENS = 16
BOS = 1
MAX_SEED_ATTEMPTS = 20
MIN_MARGIN_RATIO = 1e-3  # greedy top-1 minus top-2, relative to the step's max |logit|
MIN_DISTINCT_GREEDY = 6
MAX_GREEDY_RUN = 3  # longest run of one repeated id
NUMPY_TOLERANCE = 1e-5  # relative to max |logit|
MIN_ROPE_SCALING_EFFECT = 1e-2  # relative to max |logit|

# Weight scales. HF's default init (std 0.02) leaves a tiny model nearly linear with flat
# attention, which would hide RoPE and masking bugs; these keep every activation O(1),
# attention peaked, logits with a spread of a few units, and norm weights/biases far from
# their neutral values so that a skipped norm weight or bias shows.
EMBED_STD = 0.5
QK_GAIN = 1.5  # q_proj/k_proj std = gain / sqrt(fan_in): attention scores of a few units
# o_proj/down_proj write into the residual stream: with tied embeddings a weak layer output
# leaves the last token's own embedding dominant, and greedy just repeats the last token.
RESIDUAL_GAIN = 2.5
LM_HEAD_GAIN = 3.0
BIAS_STD = 0.3
NORM_RANGE = (0.6, 1.4)
QK_NORM_RANGE = (1.0, 3.0)  # Qwen3 q_norm/k_norm: unit-RMS q and k would give flat attention
SINK_STD = 1.5  # gpt-oss attention sinks


@dataclasses.dataclass
class Case:
    name: str
    architecture: str
    storage: str
    seed: int
    note: str
    config: dict
    max_shard_size: str | None = None
    legacy_config: bool = False  # rewrite config.json in the pre-5 layout real checkpoints ship
    eos_list: bool = False  # generation_config.json eos as a list (as Qwen2.5 ships it)
    expert_gain: float = 1.0  # gpt-oss: scale of gate_up_proj, so that a clamp limit of 7 bites


def tiny(hidden, heads, kv_heads, layers, vocab=256, **extra):
    shapes = dict(
        vocab_size=vocab,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        num_hidden_layers=layers,
        intermediate_size=hidden * 5 // 2,
        max_position_embeddings=256,
    )
    return shapes | extra


CASES = [
    Case(
        "llama-gqa-f32", "LlamaForCausalLM", "float32", 1,
        "Llama, GQA 4 query heads over 2 KV heads, untied lm_head, plain RoPE theta 1e4, eps 1e-5, f32 storage.",
        tiny(64, 4, 2, 2, rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "llama-mha-tied-f16", "LlamaForCausalLM", "float16", 2,
        "Llama, no GQA (4 KV heads = 4 query heads), tied embeddings (no lm_head.weight in the file), 3 layers, f16 storage.",
        tiny(64, 4, 4, 3, tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "llama3-rope-bf16", "LlamaForCausalLM", "bfloat16", 3,
        "Llama with llama3 RoPE scaling (factor 8, low/high freq factors 1/4, original context 64 so all three "
        "frequency bands occur at head_dim 16), theta 5e5, MQA (1 KV head), vocab 512, bf16 storage. config.json is "
        "in the pre-transformers-5 layout Llama 3.1 ships: top-level rope_theta, rope_scaling, torch_dtype.",
        tiny(64, 4, 1, 2, vocab=512, max_position_embeddings=512, rope_parameters={
            "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
        legacy_config=True,
    ),
    Case(
        "llama-rope-linear-f32", "LlamaForCausalLM", "float32", 4,
        "Llama with linear RoPE scaling (factor 4: positions divided by 4), GQA 4/2, f32 storage.",
        tiny(64, 4, 2, 2, rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0}),
    ),
    Case(
        "llama-rope-yarn-f16", "LlamaForCausalLM", "float16", 5,
        "Llama with YaRN RoPE scaling (factor 4, original context 64, beta_fast/beta_slow/attention_factor left to "
        "their defaults 32/1/0.1*ln(factor)+1, truncate default true), GQA 4/2, f16 storage.",
        tiny(64, 4, 2, 2, rope_parameters={
            "rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 64}),
    ),
    Case(
        "llama-attn-bias-bf16", "LlamaForCausalLM", "bfloat16", 6,
        "Llama with attention_bias true, Smaug-72B style: no GQA (6/6 heads), theta 1e6, eps 1e-6, untied. "
        "Note HF Llama then has biases on q/k/v AND o_proj. bf16 storage.",
        tiny(96, 6, 6, 2, attention_bias=True, rms_norm_eps=1e-6,
             rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    ),
    Case(
        "mistral-gqa-sharded-bf16", "MistralForCausalLM", "bfloat16", 7,
        "Mistral, GQA 6 query heads over 2 KV heads (group of 3), 3 layers, sliding_window 4096 (inactive at these "
        "lengths), untied, saved in 100KB shards with model.safetensors.index.json, bf16 storage.",
        tiny(96, 6, 2, 3, sliding_window=4096, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
        max_shard_size="100KB",
    ),
    Case(
        "qwen2-bias-tied-bf16", "Qwen2ForCausalLM", "bfloat16", 8,
        "Qwen2 (Qwen2.5-0.5B style): q/k/v biases (no o_proj bias), GQA 4/2, tied embeddings, theta 1e6, eps 1e-6, "
        "bf16 storage. config.json in the pre-transformers-5 layout Qwen2.5 ships (top-level rope_theta, "
        "rope_scaling null, torch_dtype); generation_config.json has a list of two EOS ids.",
        tiny(64, 4, 2, 2, tie_word_embeddings=True, rms_norm_eps=1e-6,
             rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
        legacy_config=True, eos_list=True,
    ),
    Case(
        "qwen3-qknorm-bf16", "Qwen3ForCausalLM", "bfloat16", 9,
        "Qwen3: per-head q_norm/k_norm RMSNorm before RoPE, explicit head_dim 32 != hidden/heads 16 (q_proj maps "
        "64 -> 128, o_proj 128 -> 64), GQA 4/2, no attention bias, tied embeddings, theta 1e6, bf16 storage.",
        tiny(64, 4, 2, 2, head_dim=32, tie_word_embeddings=True, rms_norm_eps=1e-6,
             rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    ),
    Case(
        "qwen3moe-top3of8-bf16", "Qwen3MoeForCausalLM", "bfloat16", 10,
        "Qwen3-MoE: 8 experts of width 48, top 3 renormalized (norm_topk_prob true), q/k norms, head_dim 32, GQA 4/2, "
        "3 layers with layer 1 dense (mlp_only_layers [1], intermediate 160), untied, theta 1e6, bf16 storage. config.json "
        "in the layout Qwen3-30B-A3B ships (num_experts, top-level rope_theta, torch_dtype).",
        tiny(64, 4, 2, 3, head_dim=32, intermediate_size=160, moe_intermediate_size=48, num_experts=8,
             num_experts_per_tok=3, norm_topk_prob=True, mlp_only_layers=[1], decoder_sparse_step=1,
             rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
        legacy_config=True,
    ),
    Case(
        "qwen3moe-top2of6-unnormalized-f32", "Qwen3MoeForCausalLM", "float32", 11,
        "Qwen3-MoE: 6 experts of width 32, top 2 kept at their softmax share (norm_topk_prob false), decoder_sparse_step 2 "
        "(layers 0 and 2 dense, 1 and 3 sparse), tied embeddings, head_dim 16, GQA 4/1, f32 storage.",
        tiny(64, 4, 1, 4, head_dim=16, intermediate_size=96, moe_intermediate_size=32, num_experts=6,
             num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=2, tie_word_embeddings=True,
             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "mixtral-window-bf16", "MixtralForCausalLM", "bfloat16", 12,
        "Mixtral: 4 experts of width 64, top 2 renormalized, sliding_window 5 (active: the 12-token prompt and its "
        "continuation are longer), GQA 4/2, untied, theta 1e6, eps 1e-5, bf16 storage.",
        tiny(64, 4, 2, 2, intermediate_size=64, num_local_experts=4, num_experts_per_tok=2, sliding_window=5,
             rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    ),
    Case(
        "phi3-longrope-bf16", "Phi3ForCausalLM", "bfloat16", 15,
        "Phi-3 (mini-128k style): fused qkv_proj and gate_up_proj, LongRoPE with 8 short and 8 long factors, original "
        "context 8 of 64 (the 12-token prompt is past it, so transformers takes the long factors; logits-short.f32 holds "
        "the first 8 positions alone, within it: the short factors), attention factor sqrt(1 + ln 8 / ln 8), GQA 4/2, "
        "untied, bf16 storage. config.json in the layout Phi-3 ships (rope_scaling type longrope, top-level "
        "original_max_position_embeddings and rope_theta).",
        tiny(64, 4, 2, 2, intermediate_size=96, max_position_embeddings=64, original_max_position_embeddings=8,
             rms_norm_eps=1e-5, pad_token_id=0,
             rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 8,
                              "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.6, 3.3, 4.0],
                              "long_factor": [1.0, 1.4, 2.2, 3.5, 5.0, 7.5, 10.0, 16.0]}),
        legacy_config=True,
    ),
    Case(
        "phi3-window-f32", "Phi3ForCausalLM", "float32", 16,
        "Phi-3 (mini-4k style): fused qkv_proj and gate_up_proj, plain RoPE, sliding_window 6 (active), no GQA (4/4), "
        "3 layers, untied, f32 storage.",
        tiny(64, 4, 4, 3, intermediate_size=96, sliding_window=6, pad_token_id=0,
             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "gemma3-local-global-bf16", "Gemma3ForCausalLM", "bfloat16", 17,
        "Gemma 3 (text): layer_types local, local, global, local with sliding_window 4 (active), local RoPE theta 1e4, "
        "global theta 1e6 with linear scaling 2, query_pre_attn_scalar 48 (head_dim 32), q/k norms, norms by 1 + w "
        "before and after attention and MLP, GeGLU (tanh), embeddings by sqrt(64), tied, GQA 4/2, bf16 storage.",
        tiny(64, 4, 2, 4, head_dim=32, intermediate_size=128, sliding_window=4, query_pre_attn_scalar=48,
             layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
             rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1000000.0},
                              "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}),
    ),
    Case(
        "gemma2-softcap-bf16", "Gemma2ForCausalLM", "bfloat16", 19,
        "Gemma 2: local and global layers alternating from a local one (sliding_window 4, active), attention scores "
        "soft-capped at 3 and logits at 4 (both bite: Gemma 2 ships 50 and 30 for its larger scores and logits), "
        "query_pre_attn_scalar 24 (head_dim 16), norms by 1 + w before and after attention and MLP, GeGLU (tanh), "
        "embeddings by sqrt(64), tied, GQA 4/2, 4 layers, bf16 storage.",
        tiny(64, 4, 2, 4, head_dim=16, intermediate_size=128, sliding_window=4, query_pre_attn_scalar=24,
             attn_logit_softcapping=3.0, final_logit_softcapping=4.0,
             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "gptoss-sinks-window-bf16", "GptOssForCausalLM", "bfloat16", 21,
        "gpt-oss: 4 layers sliding, full, sliding, full (sliding_window 5, active), one learned attention sink logit per "
        "head (an extra softmax column, dropped after), q/k/v/o biases, 6 experts of width 48 (!= hidden 64), router "
        "with bias, softmax over the top 2 router logits, experts fused as gate_up_proj [6, 64, 96] with gate and up "
        "interleaved (gate = even columns) and biases, clamped SwiGLU (gate <= limit, |up| <= limit, limit 1.5 so the "
        "clamp bites; gate * sigmoid(1.702 gate) * (up + 1)), YaRN as gpt-oss ships it (factor 4, original context 512, "
        "beta_fast 32, beta_slow 1, truncate false: correction range 0.63..2.95 unrounded, attention factor "
        "0.1 ln 4 + 1), theta 1.5e5, head_dim 16, GQA 4/2, untied, eps 1e-5, bf16 storage. config.json in the layout "
        "gpt-oss ships (rope_scaling, rope_theta, torch_dtype, layer_types).",
        tiny(64, 4, 2, 4, head_dim=16, intermediate_size=48, num_local_experts=6, num_experts_per_tok=2,
             sliding_window=5, layer_types=["sliding_attention", "full_attention"] * 2, swiglu_limit=1.5,
             rms_norm_eps=1e-5, max_position_embeddings=2048,
             rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 4.0, "beta_fast": 32.0,
                              "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 512}),
        legacy_config=True,
    ),
    Case(
        "gptoss-f32", "GptOssForCausalLM", "float32", 22,
        "gpt-oss: 3 layers sliding, full, sliding (sliding_window 7, active), sinks, q/k/v/o biases, 8 experts of width "
        "16, softmax over the top 3 router logits, gate_up_proj [8, 64, 32] interleaved, swiglu_limit 7 (the gpt-oss "
        "value; gate_up weights scaled by 3 so it bites), explicit head_dim 32 != hidden/heads 16 (q_proj 64 -> 128, "
        "o_proj 128 -> 64), MQA (1 KV head), YaRN factor 32 over original context 64, truncate false, theta 1.5e5, "
        "untied, f32 storage, transformers-5 config layout (rope_parameters).",
        tiny(64, 4, 1, 3, head_dim=32, intermediate_size=16, num_local_experts=8, num_experts_per_tok=3,
             sliding_window=7, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             swiglu_limit=7.0, rms_norm_eps=1e-5, max_position_embeddings=2048,
             rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                              "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 64}),
        expert_gain=3.0,
    ),
    # Shapes llama.cpp runs as they are (every layer sparse, top-k renormalized, no window), the
    # sources of the GGUF files tools/goldens/make_llamacpp_goldens.py converts with its converter.
    Case(
        "qwen3moe-llamacpp-f32", "Qwen3MoeForCausalLM", "float32", 13,
        "Qwen3-MoE for llama.cpp's converter: 8 experts of width 32, top 2 renormalized, every layer sparse, q/k norms, "
        "head_dim 16, GQA 4/2, 2 layers, untied, theta 1e6, f32 storage.",
        tiny(64, 4, 2, 2, head_dim=16, intermediate_size=128, moe_intermediate_size=32, num_experts=8,
             num_experts_per_tok=2, norm_topk_prob=True, rms_norm_eps=1e-6,
             rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    ),
    Case(
        "mixtral-llamacpp-f32", "MixtralForCausalLM", "float32", 14,
        "Mixtral for llama.cpp's converter: 4 experts of width 48, top 2 renormalized, no sliding window, GQA 4/2, "
        "2 layers, untied, theta 1e6, f32 storage.",
        tiny(64, 4, 2, 2, intermediate_size=48, num_local_experts=4, num_experts_per_tok=2,
             rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
    ),
    Case(
        "gemma3-llamacpp-f32", "Gemma3ForCausalLM", "float32", 18,
        "Gemma 3 for llama.cpp's converter: 6 layers, every sixth global (sliding_window_pattern 6), sliding_window 5, "
        "local theta 1e4, global 1e6, query_pre_attn_scalar = head_dim 16, tied, GQA 4/2, f32 storage. config.json in "
        "the layout gemma-3-1b ships (rope_theta, rope_local_base_freq, sliding_window_pattern, no layer_types).",
        tiny(64, 4, 2, 6, head_dim=16, intermediate_size=96, sliding_window=5, query_pre_attn_scalar=16,
             layer_types=["sliding_attention"] * 5 + ["full_attention"],
             rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                              "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}),
        legacy_config=True,
    ),
    Case(
        "gemma2-llamacpp-f32", "Gemma2ForCausalLM", "float32", 20,
        "Gemma 2 for llama.cpp's converter: every other layer local from the first (window 6), scores capped at 5 and "
        "logits at 6, query_pre_attn_scalar = head_dim 16, tied, GQA 4/2, 4 layers, f32 storage.",
        tiny(64, 4, 2, 4, head_dim=16, intermediate_size=96, sliding_window=6, query_pre_attn_scalar=16,
             attn_logit_softcapping=5.0, final_logit_softcapping=6.0,
             rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    Case(
        "gptoss-llamacpp-f32", "GptOssForCausalLM", "float32", 23,
        "gpt-oss for llama.cpp's converter (and llama-quantize MXFP4_MOE): 2 layers sliding, full (llama.cpp's fixed "
        "pattern: even layers sliding), sliding_window 5, sinks, q/k/v/o biases, 3 experts of width 96 (a multiple of "
        "32, as MXFP4 blocks need, and != hidden 64 so gate/up and down differ in shape), top 2, swiglu_limit 7 (llama.cpp hard-codes 7 and alpha 1.702; gate_up weights "
        "scaled by 3 so the clamp bites), YaRN factor 4 over original context 512 with truncate true (llama.cpp always "
        "rounds the correction range), theta 1.5e5, head_dim 16, GQA 4/2, untied, f32 storage.",
        tiny(64, 4, 2, 2, head_dim=16, intermediate_size=96, num_local_experts=3, num_experts_per_tok=2,
             sliding_window=5, layer_types=["sliding_attention", "full_attention"], swiglu_limit=7.0,
             rms_norm_eps=1e-5, max_position_embeddings=2048,
             rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 4.0, "beta_fast": 32.0,
                              "beta_slow": 1.0, "truncate": True, "original_max_position_embeddings": 512}),
        expert_gain=3.0,
    ),
]


def versions():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def init_weights(model, seed, expert_gain=1.0):
    """Overwrites every parameter from a seeded generator (see the scale constants)."""
    generator = torch.Generator().manual_seed(seed)

    def normal(shape, std):
        return torch.randn(shape, generator=generator, dtype=torch.float32) * std

    def uniform(shape, bounds):
        low, high = bounds
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float32)

    # Gemma's norms scale by 1 + w: draw 1 + w from the same ranges.
    offset = 1.0 if type(model).__name__.startswith("Gemma") else 0.0
    gpt_oss = type(model).__name__ == "GptOssForCausalLM"
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied lm_head is listed once, as embed_tokens
            if gpt_oss and name.endswith("self_attn.sinks"):
                # One sink logit per head, of the size of the attention scores: it takes a
                # share of every row's softmax (most where few positions are visible).
                value = normal(p.shape, SINK_STD)
            elif gpt_oss and name.endswith(("experts.gate_up_proj_bias", "experts.down_proj_bias")):
                value = normal(p.shape, BIAS_STD)
            elif gpt_oss and name.endswith(("experts.gate_up_proj", "experts.down_proj")):  # [experts, in, out]
                gain = RESIDUAL_GAIN if name.endswith("down_proj") else expert_gain
                value = normal(p.shape, gain / math.sqrt(p.shape[1]))
            elif name.endswith(("q_norm.weight", "k_norm.weight")):
                value = uniform(p.shape, QK_NORM_RANGE) - offset
            elif name.endswith("norm.weight"):
                value = uniform(p.shape, NORM_RANGE) - offset
            elif name.endswith(".bias"):
                value = normal(p.shape, BIAS_STD)
            elif name.endswith(("post_attention_layernorm.weight", "post_feedforward_layernorm.weight")) and offset:
                # Gemma's layer outputs pass a norm before the residual add: weights of a few
                # units let them outweigh the (scaled) embedding, else greedy repeats its input.
                value = uniform(p.shape, (1.5, 3.0)) - offset
            elif name.endswith("embed_tokens.weight"):
                # Gemma multiplies embeddings by √hidden: the same rows after that scaling.
                value = normal(p.shape, EMBED_STD / (math.sqrt(p.shape[1]) if offset else 1))
            elif name.endswith(("experts.gate_up_proj", "experts.down_proj")):  # [experts, out, in]
                gain = RESIDUAL_GAIN if name.endswith("down_proj") else 1.0
                value = normal(p.shape, gain / math.sqrt(p.shape[-1]))
            else:
                gain = 1.0
                if name.endswith(("q_proj.weight", "k_proj.weight", "qkv_proj.weight")):
                    gain = QK_GAIN
                elif name.endswith(("o_proj.weight", "down_proj.weight")):
                    gain = RESIDUAL_GAIN
                elif name == "lm_head.weight":
                    gain = LM_HEAD_GAIN
                value = normal(p.shape, gain / math.sqrt(p.shape[1]))
            p.copy_(value)


def round_to_storage(model, storage):
    """Rounds every parameter through the storage dtype, keeping f32 tensors (and f32 RoPE buffers)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(storage).to(torch.float32))


@torch.no_grad()
def all_logits(model, tokens):
    """[n, vocab] logits for every position of one sequence."""
    return model(torch.tensor([tokens])).logits[0]


@torch.no_grad()
def greedy(model, prompt):
    """(continuation ids, min over steps of (top1 - top2) / max|logit|), full forward each step."""
    tokens, ratios = list(prompt), []
    for _ in range(NEW_TOKENS):
        last = all_logits(model, tokens)[-1]
        top = torch.topk(last, 2).values
        ratios.append(float((top[0] - top[1]) / last.abs().max()))
        tokens.append(int(last.argmax()))
    return tokens[len(prompt):], min(ratios)


@torch.no_grad()
def generate(model, prompt):
    """model.generate's greedy continuation (KV cache path), EOS suppressed by min_new_tokens."""
    ids = torch.tensor([prompt])
    eos = model.generation_config.eos_token_id
    out = model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
        do_sample=False, pad_token_id=eos[0] if isinstance(eos, list) else eos,
    )
    return out[0, len(prompt):].tolist()


def compact_json(value, indent=""):
    """Indented JSON whose lists (which never hold objects here) stay on one line."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    inner = indent + "  "
    items = [f"{inner}{json.dumps(key)}: {compact_json(item, inner)}" for key, item in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def write_json(path, value):
    with open(path, "w") as f:
        f.write(compact_json(value) + "\n")


def relative_max_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def build(case, seed):
    """A float32 model whose weights are exactly representable in the storage dtype."""
    config_class, model_class = ARCHITECTURES[case.architecture]
    config = config_class(**copy.deepcopy(case.config), bos_token_id=BOS, eos_token_id=2)
    config._attn_implementation = "eager"
    config._experts_implementation = "eager"  # a loop over experts, in float64 too
    torch.manual_seed(seed)
    model = model_class(config).eval()
    init_weights(model, seed, case.expert_gain)
    round_to_storage(model, STORAGE[case.storage])
    return model


def choose_eos(prompt, continuation, count):
    """The smallest ids >= 2 absent from prompt and continuation, so greedy never meets EOS."""
    used = set(prompt) | set(continuation)
    free = [i for i in range(2, 10_000) if i not in used]
    return free[:count]


def rewrite_legacy_config(path):
    """Rewrites a transformers-5 config.json into the layout of checkpoints saved before v5."""
    with open(path) as f:
        config = json.load(f)
    rope = dict(config.pop("rope_parameters"))
    if "full_attention" in rope:  # Gemma 3: the global layers' RoPE, the local base, the pattern
        local = rope["sliding_attention"]
        rope = dict(rope["full_attention"])
        config["rope_local_base_freq"] = local["rope_theta"]
        types = config.pop("layer_types")
        pattern = types.index("full_attention") + 1
        assert types == ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(len(types))]
        config["sliding_window_pattern"] = pattern
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = None if rope.get("rope_type") == "default" else rope
    config["torch_dtype"] = config.pop("dtype")
    if config["architectures"] == ["Qwen3MoeForCausalLM"]:  # Qwen3-30B-A3B's config.json says num_experts
        config["num_experts"] = config.pop("num_local_experts")
    if config["architectures"] == ["Phi3ForCausalLM"] and config["rope_scaling"]:  # as Phi-3-mini-128k ships it
        scaling = config["rope_scaling"]
        config["original_max_position_embeddings"] = scaling.pop("original_max_position_embeddings")
        scaling.pop("partial_rotary_factor", None)
        scaling["type"] = scaling.pop("rope_type")
    with open(path, "w") as f:
        json.dump(dict(sorted(config.items())), f, indent=2)
        f.write("\n")


def check_stored_tensors(out_dir, model):
    """Every tensor in the files equals the reloaded parameter, and nothing is missing or extra."""
    stored = numpy_reference.load_torch_tensors(out_dir)
    params = checkpoint_state_dict(model)
    if model.config.tie_word_embeddings:
        params.pop("lm_head.weight")
    assert set(stored) == set(params), f"tensor names differ: {set(stored) ^ set(params)}"
    for name, value in stored.items():
        assert torch.equal(value.to(torch.float32), params[name]), f"{name} differs after reload"
    return {name: [str(value.dtype).removeprefix("torch."), list(value.shape)] for name, value in sorted(stored.items())}


def checkpoint_state_dict(model):
    """The state dict under the names checkpoints use: fused experts split per expert."""
    params = dict(model.state_dict())
    names = EXPERT_NAMES.get(type(model).__name__)
    if names is None:
        return params
    router, prefix, gate, up, down = names
    for key in [k for k in params if k.endswith("mlp.experts.gate_up_proj")]:
        layer = key.removesuffix("mlp.experts.gate_up_proj")
        fused, downs = params.pop(key), params.pop(layer + "mlp.experts.down_proj")
        width = fused.shape[1] // 2
        for e in range(fused.shape[0]):
            params[layer + prefix.format(e) + gate] = fused[e, :width]
            params[layer + prefix.format(e) + up] = fused[e, width:]
            params[layer + prefix.format(e) + down] = downs[e]
        params[layer + router] = params.pop(layer + "mlp.gate.weight")
    return params


@torch.no_grad()
def router_gap(model, tokens):
    """Smallest k-th minus (k+1)-th router probability over every token and sparse layer (None
    without experts): a gap well above the engines' rounding means both pick the same experts."""
    k = getattr(model.config, "num_experts_per_tok", None)
    if k is None:
        return None
    gaps = []
    # gpt-oss's mlp.router returns (logits, top-k softmax, indices): the gap is measured in the
    # softmax over all experts all the same, which orders the experts as its logits do.
    hooks = [module.register_forward_hook(lambda _m, _i, out: gaps.append(out[0]))
             for name, module in model.named_modules() if name.endswith(("mlp.gate", "mlp.router"))]
    model(torch.tensor([tokens]))
    for h in hooks:
        h.remove()
    probs = torch.cat([torch.softmax(g.float(), dim=-1) for g in gaps])
    top = torch.topk(probs, k + 1, dim=-1).values if probs.shape[-1] > k else None
    return float((top[:, k - 1] - top[:, k]).min()) if top is not None else 1.0


def short_factor_logits(case, model, out_dir):
    """For LongRoPE: the logits of the prompt's first original-context positions alone, which
    transformers computes with the short factors, written to logits-short.f32."""
    rope = case.config.get("rope_parameters", {})
    if rope.get("rope_type") != "longrope":
        return None
    tokens = PROMPT[:rope["original_max_position_embeddings"]]
    logits = all_logits(model, tokens).numpy().astype("<f4")
    logits.tofile(os.path.join(out_dir, "logits-short.f32"))
    return {"file": "logits-short.f32", "tokens": tokens, "shape": list(logits.shape)}


def logits_change(case, model, tokens, **overrides):
    """Relative change of the logits when the same weights run with config fields `overrides`."""
    config = copy.deepcopy(model.config)
    for name, value in overrides.items():
        setattr(config, name, value)
    other = ARCHITECTURES[case.architecture][1](config).eval()
    other.load_state_dict(model.state_dict())
    return relative_max_diff(all_logits(other, tokens), all_logits(model, tokens))


def softcap_effect(case, model, tokens):
    """How much Gemma 2's soft-capping changes the logits."""
    if case.config.get("attn_logit_softcapping") is None:
        return None
    return logits_change(case, model, tokens, attn_logit_softcapping=None, final_logit_softcapping=None)


def window_effect(case, model, tokens):
    """How much the sliding window changes the logits, against attending to every position."""
    if case.config.get("sliding_window") is None or case.config["sliding_window"] >= len(tokens):
        return None
    # Wider than any sequence here (Gemma's local layers need a number).
    return logits_change(case, model, tokens, sliding_window=1 << 20)


def rope_scaling_effect(case, model, tokens):
    """How much the RoPE scaling changes the logits, against unscaled RoPE."""
    rope = case.config.get("rope_parameters", {})
    if rope.get("rope_type", "default") == "default":
        return None
    return logits_change(case, model, tokens, rope_parameters={"rope_type": "default", "rope_theta": rope["rope_theta"]})


def weights_change(case, model, tokens, edit):
    """Relative change of the logits when the same model runs on weights `edit` changed in place."""
    state = {name: value.clone() for name, value in model.state_dict().items()}
    edit(state)
    other = ARCHITECTURES[case.architecture][1](copy.deepcopy(model.config)).eval()
    other.load_state_dict(state)
    return relative_max_diff(all_logits(other, tokens), all_logits(model, tokens))


def gpt_oss_effects(case, model, tokens):
    """For gpt-oss: how much each of its features changes the logits, against an engine that
    leaves it out (None for other architectures). Every one but yarn_truncate must matter."""
    if case.architecture != "GptOssForCausalLM":
        return None

    def setting(suffix, value=0.0, part=slice(None)):
        def edit(state):
            for name in state:
                if name.endswith(suffix):
                    state[name][..., part] = value
        return edit

    def halves_as_read(state):  # an engine that reads gate_up as [gate | up] halves, not interleaved
        for name in [n for n in state if n.endswith("experts.gate_up_proj") or n.endswith("experts.gate_up_proj_bias")]:
            fused = state[name]
            width = fused.shape[-1] // 2
            state[name] = torch.stack([fused[..., :width], fused[..., width:]], dim=-1).flatten(-2)

    effects = {
        "sinks_removed": weights_change(case, model, tokens, setting("self_attn.sinks", -math.inf)),
        "sinks_zero": weights_change(case, model, tokens, setting("self_attn.sinks")),
        "swiglu_clamp": logits_change(case, model, tokens, swiglu_limit=1e9),
        "router_bias": weights_change(case, model, tokens, setting("mlp.router.bias")),
        "q_bias": weights_change(case, model, tokens, setting("self_attn.q_proj.bias")),
        "k_bias": weights_change(case, model, tokens, setting("self_attn.k_proj.bias")),
        "v_bias": weights_change(case, model, tokens, setting("self_attn.v_proj.bias")),
        "o_bias": weights_change(case, model, tokens, setting("self_attn.o_proj.bias")),
        "gate_bias": weights_change(case, model, tokens, setting("experts.gate_up_proj_bias", part=slice(0, None, 2))),
        "up_bias": weights_change(case, model, tokens, setting("experts.gate_up_proj_bias", part=slice(1, None, 2))),
        "down_bias": weights_change(case, model, tokens, setting("experts.down_proj_bias")),
        "gate_up_interleaving": weights_change(case, model, tokens, halves_as_read),
    }
    assert weights_change(case, model, tokens, lambda state: None) == 0.0, "a rebuilt model differs"
    rope = model.config.rope_parameters
    if rope.get("rope_type") == "yarn":  # llama.cpp always truncates YaRN's correction range
        truncate = rope.get("truncate", True)
        effects["yarn_truncate"] = logits_change(case, model, tokens, rope_parameters=dict(rope, truncate=not truncate))
    return effects


def attempt(case, seed):
    """The in-memory model and its greedy continuation, or None if the seed gives a weak fixture."""
    model = build(case, seed)
    continuation, margin = greedy(model, PROMPT)
    runs = [len(list(group)) for _, group in itertools.groupby(continuation)]
    gap = router_gap(model, PROMPT + continuation)
    if margin < MIN_MARGIN_RATIO or len(set(continuation)) < MIN_DISTINCT_GREEDY or max(runs) > MAX_GREEDY_RUN \
            or (gap is not None and gap < MIN_ROUTER_GAP):
        print(f"  seed {seed}: margin {margin:.2e}, {len(set(continuation))} distinct ids, run {max(runs)}, "
              f"router gap {gap}; next seed")
        return None
    return model, continuation, margin


def make_case(case, root):
    for seed in range(case.seed, case.seed + 100 * MAX_SEED_ATTEMPTS, 100):
        found = attempt(case, seed)
        if found:
            break
    else:
        raise SystemExit(f"{case.name}: no seed gave a usable greedy continuation")
    model, continuation, margin = found
    memory_logits = all_logits(model, PROMPT)

    eos = choose_eos(PROMPT, continuation, 2 if case.eos_list else 1)
    model.config.eos_token_id = eos[-1]
    model.generation_config = GenerationConfig(bos_token_id=BOS, eos_token_id=eos if case.eos_list else eos[0])

    out_dir = os.path.join(root, case.name)
    shutil.rmtree(out_dir, ignore_errors=True)
    model.to(STORAGE[case.storage])
    save_args = {"max_shard_size": case.max_shard_size} if case.max_shard_size else {}
    model.save_pretrained(out_dir, **save_args)
    del model
    config_path = os.path.join(out_dir, "config.json")
    if case.legacy_config:
        rewrite_legacy_config(config_path)

    # The reference proper: what a reader of these files computes in float32.
    extra = {"experts_implementation": "eager"} if case.architecture in EAGER_EXPERTS else {}
    reloaded = AutoModelForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager", **extra).eval()
    tensors = check_stored_tensors(out_dir, reloaded)
    logits = all_logits(reloaded, PROMPT)
    assert torch.equal(logits, memory_logits), f"{case.name}: reloaded logits differ from the in-memory model"
    assert greedy(reloaded, PROMPT)[0] == continuation, f"{case.name}: greedy differs after reload"
    assert generate(reloaded, PROMPT) == continuation, f"{case.name}: model.generate differs from argmax loop"

    numpy_error = relative_max_diff(logits, numpy_reference.forward(out_dir, PROMPT))
    assert numpy_error < NUMPY_TOLERANCE, f"{case.name}: numpy reference differs by {numpy_error:.2e}"
    scaling_effect = rope_scaling_effect(case, reloaded, PROMPT)
    if scaling_effect is not None:
        assert scaling_effect > MIN_ROPE_SCALING_EFFECT, f"{case.name}: RoPE scaling barely matters"
    short = short_factor_logits(case, reloaded, out_dir)
    capping_effect = softcap_effect(case, reloaded, PROMPT)
    if capping_effect is not None:
        assert capping_effect > MIN_ROPE_SCALING_EFFECT, f"{case.name}: soft-capping barely matters"
    sliding_effect = window_effect(case, reloaded, PROMPT)
    if sliding_effect is not None:
        assert sliding_effect > MIN_ROPE_SCALING_EFFECT, f"{case.name}: the sliding window barely matters"
    oss_effects = gpt_oss_effects(case, reloaded, PROMPT)
    for feature, effect in (oss_effects or {}).items():
        assert feature == "yarn_truncate" or effect > MIN_ROPE_SCALING_EFFECT, f"{case.name}: {feature} barely matters ({effect:.1e})"
    f64_error = relative_max_diff(logits, all_logits(copy.deepcopy(reloaded).double(), PROMPT))

    logits_np = logits.numpy().astype("<f4")
    logits_np.tofile(os.path.join(out_dir, "logits.f32"))
    with open(config_path) as f:
        config_json = json.load(f)
    inputs = {
        "note": case.note,
        "architecture": case.architecture,
        "tokens": PROMPT,
        "logits": {
            "file": "logits.f32",
            "dtype": "float32",
            "byte_order": "little",
            "layout": "row-major",
            "shape": list(logits_np.shape),
            "max_abs": float(np.max(np.abs(logits_np))),
            "f32_vs_f64_max_abs_diff_over_max_abs": f64_error,
            "numpy_f64_reference_max_abs_diff_over_max_abs": numpy_error,
        },
        "computed_in": "float32, eager attention, weights widened exactly from storage",
        "storage_dtype": case.storage,
        "seed": seed,
        "sharded": bool(case.max_shard_size),
        "config_layout": "legacy (rope_theta, rope_scaling, torch_dtype)" if case.legacy_config else "transformers 5 (rope_parameters, dtype)",
        "rope_scaling_effect_max_abs_diff_over_max_abs": scaling_effect,
        "sliding_window_effect_max_abs_diff_over_max_abs": sliding_effect,
        "short_factor_logits": short,
        "softcap_effect_max_abs_diff_over_max_abs": capping_effect,
        "min_router_gap_kth_minus_next_probability": router_gap(reloaded, PROMPT + continuation),
        **({} if oss_effects is None else {"gpt_oss_effects_max_abs_diff_over_max_abs": oss_effects}),
        "tensors": tensors,
        "parameter_count": sum(int(np.prod(shape)) for _, shape in tensors.values()),
        "bos_token_id": config_json.get("bos_token_id"),
        "eos_token_id": eos if case.eos_list else eos[0],
        "versions": versions(),
    }
    write_json(os.path.join(out_dir, "inputs.json"), inputs)
    write_json(os.path.join(out_dir, "greedy.json"), {
        "prompt": PROMPT,
        "max_new_tokens": NEW_TOKENS,
        "tokens": continuation,
        "decoding": "argmax of float32 logits each step, no sampling, EOS never produced",
        "min_top1_top2_gap_over_max_abs": margin,
    })
    size = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print(f"{case.name}: seed {seed}, {size // 1024} KB, max|logit| {inputs['logits']['max_abs']:.2f}, "
          f"f64 {f64_error:.1e}, numpy {numpy_error:.1e}, rope effect {scaling_effect}, greedy {continuation}")
    if oss_effects is not None:
        print(f"  window {sliding_effect:.3g}, router gap {inputs['min_router_gap_kth_minus_next_probability']:.3g}, "
              + ", ".join(f"{k} {v:.3g}" for k, v in oss_effects.items()))
    return size


def write_versions(root, command, sizes):
    lines = [
        "# Goldens: transformers oracle fixtures",
        "",
        "Generated by `tools/goldens/make_goldens.py`; do not edit by hand. Regenerate with:",
        "",
        "```",
        command,
        "```",
        "",
        "Versions:",
        "",
        *[f"- {name} {version}" for name, version in versions().items()],
        "",
        "Each directory is a Hugging Face model (config.json, generation_config.json, safetensors) plus",
        "`inputs.json` (prompt ids, logits shape/format, what the case covers), `logits.f32` (raw",
        "little-endian float32, row-major [n_tokens, vocab], every prompt position, computed in float32",
        "with eager attention over the stored weights widened exactly) and `greedy.json` (16-token argmax",
        "continuation).",
        "",
        "| case | bytes | covers |",
        "|---|---|---|",
        *[f"| {case.name} | {sizes[case.name]} | {case.note} |" for case in CASES],
        "",
    ]
    with open(os.path.join(root, "VERSIONS.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="Tests/Fixtures/goldens", help="fixture root (default: %(default)s)")
    parser.add_argument("--only", nargs="*", help="case names to (re)build")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    sizes = {}
    for case in CASES:
        if args.only and case.name not in args.only:
            out_dir = os.path.join(args.out, case.name)
            sizes[case.name] = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
            continue
        sizes[case.name] = make_case(case, args.out)
    write_versions(args.out, "/work/venv/bin/python tools/goldens/make_goldens.py", sizes)
    print(f"total {sum(sizes.values()) // 1024} KB")


if __name__ == "__main__":
    main()
