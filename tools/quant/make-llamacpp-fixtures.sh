#!/usr/bin/env bash
# Writes the llama.cpp oracles for Loom's quantizer and KL-divergence tests, from the committed
# demo model and its held-out text, with the llama.cpp tools built from the llama-cpp-python
# 0.3.36 sdist (tools/llamacpp/build --tools llama-quantize,llama-perplexity) and gguf-py from
# the same tree:
#   Tests/LoomPerplexityTests/Fixtures/llamacpp-kld.json
#       llama-perplexity's base of the F16 file (-c 128, 4 chunks): the tokens it scored and its
#       perplexity; then --kl-divergence of the Q8_0 file against that base.
#   Tests/LoomQuantizeTests/Fixtures/llamacpp-quant-rows.gguf
#       per type, the first 8 rows of blk.1.ffn_down.weight and blk.1.attn_q.weight as
#       llama-quantize --pure wrote them (no imatrix), the F16 source rows widened to F32,
#       and, for the mixes, the type of every tensor and the file size llama-quantize chose
#       (BERT-Q4_K_M: Q4_K_M of Tests/Fixtures/embeddings/tiny-bert/tiny-bert-f16.gguf).
#   Tests/LoomQuantizeTests/Fixtures/calibration-excerpt.txt
#       the start of Loom's default calibration text (tools/quant/make-calibration), 4 chunks of
#       128 tokens and a little more;
#   Tests/LoomQuantizeTests/Fixtures/calibration-32k.txt
#       its first 32,000 bytes (about 8,000 tokens): enough activations for the input
#       covariances that ErrorFeedbackTests feed rounding errors along;
#   Tests/LoomQuantizeTests/Fixtures/llamacpp-imatrix.gguf and llamacpp-imatrix.dat
#       llama-imatrix's importance matrix of the F16 model on that excerpt (-c 128, 4 chunks),
#       in its GGUF and legacy formats.
#
# usage: tools/quant/make-llamacpp-fixtures.sh PYTHON   (a python with numpy)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${1:-python3}"
bin="$("$root/tools/llamacpp/build" --tools llama-quantize,llama-perplexity,llama-imatrix)"
export PYTHONPATH="${LOOM_CACHE:-$HOME/.cache/loom}/sdist/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py"
model="$root/Models/loom-demo/gguf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin/llama-perplexity" -m "$model/loom-demo-F16.gguf" -f "$root/Models/loom-demo/eval.txt" -c 128 --chunks 4 -t 2 \
  --kl-divergence-base "$work/base.kld" 2>&1 | cat > "$work/base.log"
# Through a pipe: written straight to a file, the end of llama.cpp's log was sometimes lost.
"$bin/llama-perplexity" -m "$model/loom-demo-Q8_0.gguf" -c 128 -t 2 --kl-divergence-base "$work/base.kld" --kl-divergence \
  2>&1 | cat > "$work/kld.log"
grep -q "Same top p" "$work/kld.log" || { echo "llama-perplexity's log is incomplete:" >&2; cat "$work/kld.log" >&2; exit 1; }
fixtures="$root/Tests/LoomQuantizeTests/Fixtures"
mkdir -p "$fixtures"
calibration="$("$root/tools/quant/make-calibration" "$work/calibration.txt")"
head -c 3000 "$calibration" > "$fixtures/calibration-excerpt.txt"
head -c 32000 "$calibration" > "$fixtures/calibration-32k.txt"
# From the root, so that the dataset name the file records is the repository path.
for format in gguf dat; do
  (cd "$root" && "$bin/llama-imatrix" -m Models/loom-demo/gguf/loom-demo-F16.gguf -f Tests/LoomQuantizeTests/Fixtures/calibration-excerpt.txt \
    -c 128 --chunks 4 -t 2 --no-ppl --output-format "$format" -o "$fixtures/llamacpp-imatrix.$format" > "$work/imatrix-$format.log" 2>&1)
done
for t in Q8_0 Q4_0 Q5_0 Q6_K Q5_K Q4_K Q3_K Q2_K IQ4_NL IQ4_XS; do
  "$bin/llama-quantize" --pure "$model/loom-demo-F16.gguf" "$work/pure-$t.gguf" "$t" 2 > /dev/null 2>&1
done
for t in Q4_K_M Q4_K_S Q3_K_M IQ4_NL IQ4_XS; do
  "$bin/llama-quantize" "$model/loom-demo-F16.gguf" "$work/mix-$t.gguf" "$t" 2 > /dev/null 2>&1
done
# An encoder: BERT's position and token-type embeddings, and rows of 32 (every K type falls back).
"$bin/llama-quantize" "$root/Tests/Fixtures/embeddings/tiny-bert/tiny-bert-f16.gguf" "$work/mix-BERT-Q4_K_M.gguf" Q4_K_M 2 > /dev/null 2>&1

"$py" - "$work" "$root" <<'PY'
import json, os, re, subprocess, sys
import numpy as np
import gguf
work, root = sys.argv[1], sys.argv[2]

# KL divergence: the base's tokens come from its header; the numbers from the logs.
raw = open(os.path.join(work, "base.kld"), "rb").read()
n_ctx, n_vocab, n_chunk = np.frombuffer(raw[8:20], dtype=np.int32)
tokens = np.frombuffer(raw[20:20 + 4 * n_ctx * n_chunk], dtype=np.int32).tolist()
base_log = open(os.path.join(work, "base.log")).read()
kld_log = open(os.path.join(work, "kld.log")).read()
def grab(pattern, text):
    return float(re.search(pattern, text).group(1))
kld = {
    "source": "tools/quant/make-llamacpp-fixtures.sh, llama.cpp from llama-cpp-python 0.3.36",
    "ctx": int(n_ctx), "chunks": int(n_chunk), "vocab": int(n_vocab), "tokens": tokens,
    "base_perplexity": grab(r"Final estimate: PPL = ([0-9.]+)", base_log),
    "q8_0_perplexity": grab(r"Mean PPL\(Q\)\s*:\s*([0-9.]+)", kld_log),
    "q8_0_base_perplexity": grab(r"Mean PPL\(base\)\s*:\s*([0-9.]+)", kld_log),
    "q8_0_mean_kld": grab(r"Mean    KLD:\s*([0-9.]+)", kld_log),
    "q8_0_same_top_percent": grab(r"Same top p:\s*([0-9.]+)", kld_log),
}
with open(os.path.join(root, "Tests/LoomPerplexityTests/Fixtures/llamacpp-kld.json"), "w") as f:
    json.dump(kld, f, indent=1)
    f.write("\n")

# Quantized rows and the mixes' choices.
out = os.path.join(root, "Tests/LoomQuantizeTests/Fixtures/llamacpp-quant-rows.gguf")
w = gguf.GGUFWriter(out, "llamacpp-quant-rows")
w.add_string("fixture.source", "tools/quant/make-llamacpp-fixtures.sh: llama-quantize --pure (no imatrix), llama.cpp from llama-cpp-python 0.3.36")
src = gguf.GGUFReader(os.path.join(root, "Models/loom-demo/gguf/loom-demo-F16.gguf"))
names = ["blk.1.ffn_down.weight", "blk.1.attn_q.weight"]
ROWS = 8
def tensor(reader, name):
    return next(t for t in reader.tensors if t.name == name)
for name in names:
    t = tensor(src, name)
    rows = np.asarray(t.data)[:ROWS].astype(np.float32)
    w.add_tensor(f"source.{name}", rows, raw_dtype=gguf.GGMLQuantizationType.F32)
for q in ["Q8_0", "Q4_0", "Q5_0", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K", "IQ4_NL", "IQ4_XS"]:
    r = gguf.GGUFReader(os.path.join(work, f"pure-{q}.gguf"))
    for name in names:
        t = tensor(r, name)
        assert t.tensor_type.name == q, (name, t.tensor_type.name, q)
        data = np.asarray(t.data)[:ROWS]
        w.add_tensor(f"{q}.{name}", data, raw_shape=data.shape, raw_dtype=t.tensor_type)
for mix in ["Q4_K_M", "Q4_K_S", "Q3_K_M", "IQ4_NL", "IQ4_XS", "BERT-Q4_K_M"]:
    path = os.path.join(work, f"mix-{mix}.gguf")
    r = gguf.GGUFReader(path)
    w.add_array(f"mix.{mix}.tensors", [t.name for t in r.tensors])
    w.add_array(f"mix.{mix}.types", [t.tensor_type.name for t in r.tensors])
    w.add_uint64(f"mix.{mix}.file_bytes", os.path.getsize(path))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
PY
echo "wrote Tests/LoomPerplexityTests/Fixtures/llamacpp-kld.json and Tests/LoomQuantizeTests/Fixtures/llamacpp-quant-rows.gguf"
