#!/usr/bin/env bash
# Writes the oracle for Tests/LoomPerplexityTests: an excerpt of the demo model's held-out text
# (English, then Chinese) and llama.cpp's strided perplexity of it on the committed F16 and Q8_0
# GGUF files, computed by perplexity-llamacpp.py through llama-cpp-python.
#
# usage: make-perplexity-expected.sh PYTHON   (a python with llama-cpp-python 0.3.36 and numpy)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${1:-python3}"
model="$root/Models/loom-demo"
out="$root/Tests/LoomPerplexityTests/Fixtures"
mkdir -p "$out"
"$py" - "$model/eval.txt" "$out/excerpt.txt" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
english = text[:5000]
english = english[:english.rfind("\n")]
start = re.search(r"[\u4e00-\u9fff]", text).start()
chinese = text[start:start + 2500]
chinese = chinese[:chinese.rfind("\n")]
open(sys.argv[2], "w", encoding="utf-8").write(english + "\n\n" + chinese + "\n")
PY
{
  echo "{"
  for q in F16 Q8_0; do
    printf '"%s": ' "$q"
    "$py" "$root/tools/demo-model/perplexity-llamacpp.py" "$model/gguf/loom-demo-$q.gguf" "$out/excerpt.txt" \
      --ctx 512 --stride 256 --json 2>/dev/null | sed "s#$root/##g"
    [ "$q" = F16 ] && echo ","
  done
  echo "}"
} > "$out/llamacpp-perplexity.json"
cat "$out/llamacpp-perplexity.json"
