#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c as a libFuzzer target into build-fuzz/ and,
# with --run SECONDS, runs each one that long.
#   fuzz/build.sh [--run 30] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
run=0
if [ "${1:-}" = "--run" ]; then run=$2; shift 2; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($(ls fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//'))
mkdir -p build-fuzz
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -D_GNU_SOURCE -std=c11 -Iinclude -Isrc -pthread"
for t in "${targets[@]}"; do
  echo "fuzz: building $t" >&2
  clang $FLAGS fuzz/$t.c src/*/*.c -o build-fuzz/$t -lzstd -lxxhash -lcjson -lm -lpthread
done
if [ "$run" != 0 ]; then
  for t in "${targets[@]}"; do
    mkdir -p build-fuzz/corpus-$t
    echo "fuzz: running $t for ${run}s" >&2
    build-fuzz/$t -max_total_time="$run" -max_len=4096 build-fuzz/corpus-$t 2>&1 | tail -2
  done
fi
