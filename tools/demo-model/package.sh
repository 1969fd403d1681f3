#!/usr/bin/env bash
# Turns a training work directory into the committed model folder Models/loom-demo/:
#   hf/         config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
#               model.safetensors (bf16), training_log.json
#   gguf/       loom-demo-F16.gguf, loom-demo-Q8_0.gguf (gguf-py)
#   eval.txt    the held-out perplexity text
# and, outside the repository (over the size budget), .fixtures/demo-model/gguf-extra/ with
# Q4_0 and Q4_K_M made by llama.cpp's quantizer.
#
# usage: package.sh WORK_DIR [TORCH_PYTHON] [LLAMA_CPP_PYTHON]
# eval.txt comes from build-corpus.py's output: $CORPUS, by default WORK_DIR/../corpus.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$1"
py="${2:-/work/venv/bin/python}"
lpy="${3:-/work/venv-demo/bin/python}"
out="$root/Models/loom-demo"
extra="$root/.fixtures/demo-model/gguf-extra"
corpus="${CORPUS:-$work/../corpus}"
here="$root/tools/demo-model"
rm -rf "$out/hf" "$out/gguf"
mkdir -p "$out" "$extra"
nice -n 5 "$py" "$here/train.py" export "$work" "$out/hf"
nice -n 5 "$py" "$here/export-gguf.py" "$out/hf" "$out/gguf"
cp "$corpus/eval.txt" "$out/eval.txt"
for q in Q4_0 Q4_K_M; do
  nice -n 5 "$lpy" "$here/quantize-llamacpp.py" "$out/gguf/loom-demo-F16.gguf" "$extra/loom-demo-$q.gguf" "$q" 2>/dev/null
done
du -b -s "$out"
