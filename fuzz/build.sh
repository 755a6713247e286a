#!/bin/sh
# Builds every fuzz/fuzz_*.c into build-fuzz/ with libFuzzer + ASan + UBSan.
# Run one: build-fuzz/fuzz_kq -max_total_time=30
set -e
cd "$(dirname "$0")/.."
CC=${CC:-clang}
mkdir -p build-fuzz
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -D_GNU_SOURCE -std=c11 -Iinclude -Isrc"
for t in fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    $CC $FLAGS src/*/*.c "$t" -o "build-fuzz/$name" -lzstd -lxxhash -lcjson -lm -lpthread
    echo "built build-fuzz/$name"
done
