#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c into build-fuzz/ as a libFuzzer binary with
# ASan + UBSan (clang). Run one: build-fuzz/fuzz_vq -max_total_time=30
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-clang}
OUT=build-fuzz
mkdir -p "$OUT/obj"
FLAGS="-g -O1 -std=c11 -Iinclude -Isrc -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
objs=()
for f in src/*/*.c; do
  o="$OUT/obj/$(echo "$f" | tr / _).o"
  $CC $FLAGS -c "$f" -o "$o"
  objs+=("$o")
done
for t in ${1:-fuzz/fuzz_*.c}; do
  name=$(basename "$t" .c)
  $CC $FLAGS -fsanitize=fuzzer "$t" "${objs[@]}" -o "$OUT/$name" -lzstd -lxxhash -lcjson -lm -lpthread
  echo "built $OUT/$name"
done
