#!/usr/bin/env bash
# Builds the library with libFuzzer + ASan + UBSan into build-fuzz/ and links
# every fuzz/fuzz_NAME.c into build-fuzz/fuzz_NAME. Run a target with its
# seeds, e.g.:  ./build-fuzz/fuzz_npy -max_total_time=30 -dict=fuzz/npy.dict \
#                 build-fuzz/corpus/npy fuzz/seeds/npy
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${FUZZ_CC:-clang}
OUT=build-fuzz
JOBS=${JOBS:-2}
FLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
       -D_GNU_SOURCE -Iinclude -Isrc -pthread -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
LIBS=(-lzstd -lxxhash -lcjson -lyaml -llapacke -lopenblas -lm -lpthread)

mkdir -p "$OUT/obj"
export CC OUT
printf '%s\n' src/*/*.c src/codecs/*/*.c | xargs -P "$JOBS" -I{} sh -c \
  's=$1; shift; o="$OUT/obj/$(echo "$s" | tr / _)"; exec "$CC" "$@" -c "$s" -o "${o%.c}.o"' _ {} "${FLAGS[@]}"
rm -f "$OUT/libtpress_fuzz.a"
ar rcs "$OUT/libtpress_fuzz.a" "$OUT"/obj/*.o

for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  "$CC" "${FLAGS[@]}" "$src" "$OUT/libtpress_fuzz.a" "${LIBS[@]}" -o "$OUT/$name"
  mkdir -p "$OUT/corpus/${name#fuzz_}"
  echo "built $OUT/$name"
done
