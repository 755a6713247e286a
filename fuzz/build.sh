#!/bin/sh
# Builds every fuzz/fuzz_*.c target with libFuzzer + ASan + UBSan into
# build-fuzz/. Checksums are skipped in this mode so inputs reach the decoders.
set -e
cd "$(dirname "$0")/.."
mkdir -p build-fuzz
CC=${CC:-clang}
for t in fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    $CC -g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
        -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION src/*/*.c "$t" -o "build-fuzz/$name" \
        -lzstd -lxxhash -lcjson -lm -lpthread
    echo "built build-fuzz/$name"
done
