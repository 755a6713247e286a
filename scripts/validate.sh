#!/usr/bin/env bash
# make validate: checks tensorpress's MiniLM (tokenizer + forward pass) against
# an independent implementation, HF transformers + torch, on the fixture
# sentences and on data/eval_sentences.txt (bar: identical token ids, cosine
# >= 0.9999 per sentence); and SmolLM2 against the numpy reference of
# scripts/smollm2_reference.py. torch and transformers are large: they go into a
# separate virtual environment (it sees the system packages, so an installed
# torch is reused), installed once, never by `make test`. SmolLM2 is also run
# in llama.cpp itself (llama-cpp-python, compiled from source once: one
# build job at low priority, since it takes 10-30 minutes on 2 cores).
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
VENV=${TP_VALIDATE_VENV:-$HOME/.cache/tpress-validate-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
if ! "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then
  echo "validate: pip install torch transformers (once, into $VENV)" >&2
  "$VENV/bin/pip" install -q torch transformers
fi
model=$(scripts/minilm_path.sh)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for text in tests/data/minilm_fixture.txt data/eval_sentences.txt; do
  echo "== $text"
  "$BUILD/tpress" dump "$model" --what embedding --text "$text" -o "$out/$(basename "$text" .txt)" -q
  "$VENV/bin/python" scripts/minilm_reference.py --check "$out/$(basename "$text" .txt)" "$text" 2>&1 \
    | grep -v -e "Loading weights" -e "^Warning" || status=1
done
# SmolLM2: tokenizer and logits of the C forward pass against HF tokenizers
# and a float64 numpy forward driven by the gguf package's reader and
# dequantizer (llama.cpp itself is not built here), on the first 256 tokens
# of data/eval_text.txt (bar: same ids, top-1 >= 99 %, mean KL < 1e-3).
gguf_model=$(scripts/smollm2_path.sh)
echo "== SmolLM2 logits, data/eval_text.txt"
"$BUILD/tpress" dump "$gguf_model" --what logits --text data/eval_text.txt --max-tokens 256 -o "$out/smollm2" -q
python3 scripts/smollm2_reference.py check "$out/smollm2" data/eval_text.txt || status=1

# SmolLM2 against llama.cpp: fresh llama-cpp-python runs on our token ids
# (F32 weights + F32 KV cache: bar top-1 >= 99 %, mean KL < 1e-3; the Q4_1
# GGUF as shipped: reported, loose bar), checked by the same unit tests as
# the fixtures checked in, and the two tokenizers compared on the whole text.
if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "validate: pip install llama-cpp-python (once, into $VENV; compiles llama.cpp)" >&2
  CMAKE_BUILD_PARALLEL_LEVEL=1 CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF" \
    nice "$VENV/bin/pip" install -q llama-cpp-python
fi
echo "== SmolLM2 vs llama.cpp (llama-cpp-python), data/eval_text.txt"
"$VENV/bin/python" scripts/validate_smollm2_llamacpp.py fixture "$out/llamacpp" --tpress "$BUILD/tpress" || status=1
log=$(TP_LLAMACPP_DIR="$out/llamacpp" "$BUILD/unit_tests" llama_cpp 2>&1) || status=1
printf '%s\n' "$log"
exit $status
