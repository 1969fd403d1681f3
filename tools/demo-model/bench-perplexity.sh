#!/usr/bin/env bash
# Perplexity of the demo model on its held-out text (Models/loom-demo/eval.txt, ctx 512,
# stride 256) through llama.cpp (perplexity-llamacpp.py) and Loom (`loom perplexity`), one JSON
# object per line on stdout. Needs package.sh's Q4 files and a release build of loom.
#
# usage: bench-perplexity.sh LLAMA_CPP_PYTHON [KIND...]   (KIND: F16 Q8_0 Q4_0 Q4_K_M; default all)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
lpy="$1"; shift
kinds=("${@:-F16 Q8_0 Q4_0 Q4_K_M}")
model="$root/Models/loom-demo"
text="$model/eval.txt"
for kind in ${kinds[*]}; do
  gguf="$model/gguf/loom-demo-$kind.gguf"
  [ -f "$gguf" ] || gguf="$root/.fixtures/demo-model/gguf-extra/loom-demo-$kind.gguf"
  echo "{\"engine\": \"llama.cpp\", \"kind\": \"$kind\", \"result\": $(nice -n 5 "$lpy" "$root/tools/demo-model/perplexity-llamacpp.py" "$gguf" "$text" --json 2>/dev/null)}"
  echo "{\"engine\": \"loom\", \"kind\": \"$kind\", \"result\": $(nice -n 5 "$root/.build/release/loom" perplexity --model "$gguf" --tokenizer "$model/hf" --file "$text" -t 2 --json 2>/dev/null)}"
done
