#!/usr/bin/env python3
"""Trains Loom's demo model: a small Llama (GQA, tied embeddings) with a byte-level BPE tokenizer.

usage:
  train.py tokenizer CORPUS_DIR WORK_DIR            train the BPE and tokenize the corpus
  train.py tokenize  CORPUS_DIR WORK_DIR HF_DIR     tokenize the corpus with HF_DIR's tokenizer.json instead
  train.py init      WORK_DIR HF_DIR                start WORK_DIR/checkpoint.pt from HF_DIR's weights and log
  train.py train     WORK_DIR [--minutes 50 | --tokens N] [--threads 1]   train (resumes from WORK_DIR/checkpoint.pt)
  train.py export    WORK_DIR HF_OUT_DIR            write the HF directory (bf16 safetensors)
  train.py log       WORK_DIR OUT.json              write the checkpoint's training log (as export does)

CORPUS_DIR comes from build-corpus.py. Training is budgeted in wall-clock minutes or in tokens
(`--tokens`: the schedule then runs over steps, so time lost to other jobs on a shared machine
costs nothing): the learning rate schedule (warmup, then cosine to 10%) runs over that budget, a checkpoint is written every
few minutes, and a rerun continues from the last one, so a stopped run still leaves a usable
model. On a shared machine run it as `OMP_NUM_THREADS=1 nice -n 19 python train.py train WORK`
(one thread by default), so that builds and benchmarks beside it keep their cores.
"""
import argparse, json, math, os, sys, time
from pathlib import Path

import numpy as np
import torch

EOT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
VOCAB = 8192
# Qwen2's pre-tokenizer pattern (llama.cpp: LLAMA_VOCAB_PRE_TYPE_QWEN2), so the GGUF can name it.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
          "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")
SHAPE = dict(hidden_size=256, intermediate_size=768, num_hidden_layers=7, num_attention_heads=8,
             num_key_value_heads=2, max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-5)
SEQ, BATCH = 512, 4
PEAK_LR, WARMUP_STEPS, CHECKPOINT_SECONDS, EVAL_WINDOWS = 2e-3, 30, 300, 24


def build_tokenizer(corpus: Path, work: Path):
    """Trains the BPE on the training split and tokenizes both splits."""
    from tokenizers import Tokenizer, Regex, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=[EOT, IM_START, IM_END],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    train_docs = (corpus / "train.txt").read_text(encoding="utf-8").split(EOT)
    tok.train_from_iterator(train_docs, trainer=trainer)
    work.mkdir(parents=True, exist_ok=True)
    tok.save(str(work / "tokenizer.json"))
    tokenize_splits(tok, corpus, work)


def tokenize_with(corpus: Path, work: Path, hf: Path):
    """Tokenizes both splits with a committed model's tokenizer, so training can go on from its weights."""
    from tokenizers import Tokenizer
    work.mkdir(parents=True, exist_ok=True)
    (work / "tokenizer.json").write_bytes((hf / "tokenizer.json").read_bytes())
    tokenize_splits(Tokenizer.from_file(str(work / "tokenizer.json")), corpus, work)


def tokenize_splits(tok, corpus: Path, work: Path):
    eot = tok.token_to_id(EOT)
    for split in ("train", "heldout"):
        docs = (corpus / f"{split}.txt").read_text(encoding="utf-8").split(EOT)
        ids = []
        for enc in tok.encode_batch(docs):
            ids.extend(enc.ids)
            ids.append(eot)
        arr = np.asarray(ids, dtype=np.uint16)  # [n_tokens]
        np.save(work / f"{split}.npy", arr)
        nbytes = sum(len(d.encode()) for d in docs)
        print(f"{split}: {len(docs)} docs, {nbytes} bytes, {len(arr)} tokens ({nbytes / len(arr):.2f} bytes/token)")


def make_model(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=vocab_size, tie_word_embeddings=True, bos_token_id=0, eos_token_id=[0, 2],
                         attention_bias=False, mlp_bias=False, hidden_act="silu", initializer_range=0.02, **SHAPE)
    return LlamaForCausalLM(config)


def lr_at(frac: float, step: int, warm_from: int = 0) -> float:
    """The rate at `frac` of the budget: warmup over WARMUP_STEPS from `warm_from`, then cosine to 10%."""
    warm = min(1.0, (step - warm_from + 1) / WARMUP_STEPS)
    frac = min(1.0, frac)
    return PEAK_LR * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def heldout_loss(model, held: np.ndarray) -> float:
    model.eval()
    starts = np.linspace(0, len(held) - SEQ - 1, EVAL_WINDOWS).astype(np.int64)
    losses = []
    for i in range(0, len(starts), BATCH):
        x = torch.from_numpy(np.stack([held[s:s + SEQ + 1] for s in starts[i:i + BATCH]]).astype(np.int64))
        logits = model(input_ids=x[:, :-1]).logits.float()  # [B, SEQ, vocab]
        losses.append(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).item())
    model.train()
    return float(np.mean(losses))


def train(work: Path, minutes: float, tokens: int, threads: int):
    torch.set_num_threads(threads)
    torch.manual_seed(1234)
    data = np.load(work / "train.npy")  # [n_train_tokens]
    held = np.load(work / "heldout.npy")  # [n_heldout_tokens]
    model = make_model(VOCAB)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params} ({n_params / 1e6:.2f}M); train tokens {len(data)}, held-out tokens {len(held)}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8)
    step, elapsed, log, warm_from = 0, 0.0, [], 0
    ckpt = work / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        if state["opt"] is not None:
            opt.load_state_dict(state["opt"])
        step, elapsed, log = state["step"], state["elapsed"], state["log"]
        # A checkpoint made by `init` has no optimizer moments: warm up again from its step.
        warm_from = state.get("warm_from", 0)
        print(f"resumed at step {step}, {elapsed / 60:.1f} min trained")
    budget = minutes * 60
    steps = math.ceil(tokens / (SEQ * BATCH)) if tokens else 0
    done = (lambda: step >= steps) if steps else (lambda: elapsed >= budget)
    progress = (lambda: step / steps) if steps else (lambda: elapsed / budget)
    rng = np.random.default_rng(step + 99)

    def save():
        tmp = work / "checkpoint.pt.tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "log": log, "shape": SHAPE, "vocab": VOCAB, "warm_from": warm_from}, tmp)
        os.replace(tmp, ckpt)

    model.train()
    last_ckpt, t_prev, run_loss = time.time(), time.time(), None
    while not done():
        for g in opt.param_groups:
            g["lr"] = lr_at(progress(), step, warm_from)
        starts = rng.integers(0, len(data) - SEQ - 1, BATCH)
        x = torch.from_numpy(np.stack([data[s:s + SEQ + 1] for s in starts]).astype(np.int64))  # [B, SEQ+1]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(input_ids=x[:, :-1]).logits  # [B, SEQ, vocab]
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, VOCAB), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        now = time.time()
        elapsed += now - t_prev
        t_prev = now
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        if step % 10 == 0:
            tps = step * SEQ * BATCH / max(elapsed, 1e-9)
            print(f"step {step} loss {run_loss:.3f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{elapsed / 60:.1f} min {tps:.0f} tok/s", flush=True)
        if now - last_ckpt > CHECKPOINT_SECONDS or done():
            hl = heldout_loss(model, held)
            log.append({"step": step, "minutes": round(elapsed / 60, 2), "train_loss": round(run_loss, 4),
                        "heldout_loss": round(hl, 4), "heldout_ppl": round(math.exp(hl), 3)})
            print(f"eval {log[-1]}", flush=True)
            save()
            last_ckpt = time.time()
            t_prev = last_ckpt  # evaluation and saving do not count as training time
    save()
    print(f"done: {step} steps, {elapsed / 60:.1f} min, {step * SEQ * BATCH} tokens")


def init_from(work: Path, hf: Path):
    """Writes a checkpoint holding an exported model's weights (bf16, as committed), its step,
    minutes and evaluations, and no optimizer state, so `train` goes on from that model."""
    from safetensors.torch import load_file
    ckpt = work / "checkpoint.pt"
    if ckpt.exists():
        sys.exit(f"{ckpt} exists; move it away to start again from {hf}")
    model = make_model(VOCAB)
    weights = {k: v.float() for k, v in load_file(str(hf / "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # The embedding is tied, so the file has no lm_head.weight.
    if unexpected or any(k != "lm_head.weight" for k in missing):
        sys.exit(f"{hf}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    trained = json.loads((hf / "training_log.json").read_text())
    log = [{k: v for k, v in e.items() if k != "tokens"} for e in trained["evals"]]
    torch.save({"model": model.state_dict(), "opt": None, "step": trained["steps"], "elapsed": trained["minutes"] * 60,
                "log": log, "shape": SHAPE, "vocab": VOCAB, "warm_from": trained["steps"]}, ckpt)
    print(f"{ckpt}: step {trained['steps']}, {trained['minutes']} min, from {hf}")


def export(work: Path, out: Path):
    from transformers import GenerationConfig
    state = torch.load(work / "checkpoint.pt", weights_only=False)
    model = make_model(state["vocab"])
    model.load_state_dict(state["model"])
    model = model.to(torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=0, eos_token_id=[0, 2], do_sample=True, temperature=0.8, top_p=0.95).save_pretrained(out)
    # tokenizer.json as trained; tokenizer_config.json written by hand so it carries the ChatML
    # template inline and the classic field names that every reader knows.
    (out / "tokenizer.json").write_bytes((work / "tokenizer.json").read_bytes())
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": IM_END,
                  "pad_token": EOT, "unk_token": None, "add_bos_token": False, "add_eos_token": False,
                  "additional_special_tokens": [IM_START, IM_END], "clean_up_tokenization_spaces": False,
                  "model_max_length": SHAPE["max_position_embeddings"], "chat_template": CHATML}
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2, ensure_ascii=False) + "\n")
    # transformers 5 writes rope_parameters only; older readers want rope_theta at the top level.
    config = json.loads((out / "config.json").read_text())
    config["rope_theta"] = SHAPE["rope_theta"]
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    write_log(state, out / "training_log.json")
    print(f"exported step {state['step']} to {out}")


def write_log(state: dict, path: Path):
    evals = [dict(e, tokens=e["step"] * SEQ * BATCH) for e in state["log"]]
    path.write_text(json.dumps({"steps": state["step"], "minutes": round(state["elapsed"] / 60, 2),
                                "tokens": state["step"] * SEQ * BATCH, "seq": SEQ, "batch": BATCH,
                                "evals": evals}, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["tokenizer", "tokenize", "init", "train", "export", "log"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--tokens", type=int, default=0, help="budget in training tokens (overrides --minutes)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "tokenizer":
        build_tokenizer(Path(a.paths[0]), Path(a.paths[1]))
    elif a.cmd == "tokenize":
        tokenize_with(Path(a.paths[0]), Path(a.paths[1]), Path(a.paths[2]))
    elif a.cmd == "init":
        init_from(Path(a.paths[0]), Path(a.paths[1]))
    elif a.cmd == "train":
        train(Path(a.paths[0]), a.minutes, a.tokens, a.threads)
    elif a.cmd == "log":
        write_log(torch.load(Path(a.paths[0]) / "checkpoint.pt", weights_only=False), Path(a.paths[1]))
    else:
        export(Path(a.paths[0]), Path(a.paths[1]))


if __name__ == "__main__":
    main()
