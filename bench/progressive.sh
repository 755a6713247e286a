#!/usr/bin/env bash
# The cost of layering: progressive archives (tp_compress_progressive, base +
# residual layers) against single-rate archives of the same bytes, on
# Gaussian data and on all-MiniLM-L6-v2. Writes the section between the
# progressive markers of docs/BENCHMARKS.md (or prints it with --print).
#   bench/progressive.sh [BUILD] [--print]      env: GAUSS_N (16777216)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PRINT=${2:-}
GAUSS_N=${GAUSS_N:-16777216}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libtpress.a" "$BUILD/bench/bench_progressive"
B="$BUILD/bench/bench_progressive"
PIN="taskset -c 1"
command -v taskset >/dev/null || PIN=""
MINILM=$(scripts/minilm_path.sh)

# Pairs compared at (nearly) the same bits/value: "layered configuration|K|single-rate spec".
PAIRS=(
  "int:bits=2,group=32;int:bits=2,group=32|2|int:bits=4,group=32"
  "int:bits=2,group=32;int:bits=2,group=32|2|int:bits=4,group=16"
  "int:bits=2,group=32,search=1;int:bits=2,group=32,search=1|2|int:bits=4,group=16,search=1"
  "int:bits=2,group=32;int:bits=2,group=32;int:bits=2,group=32|3|int:bits=6,group=32"
  "int:bits=2,group=32;int:bits=2,group=32;int:bits=2,group=32|3|int:bits=7,group=32"
  "int:bits=3,group=32;int:bits=3,group=32|2|int:bits=6,group=16"
  "int:bits=4,group=32;int:bits=4,group=32|2|int:bits=8,group=16"
  "int:bits=2,group=32;int:bits=2,group=32;int:bits=4,group=32|3|int:bits=8,group=11"
)
configs=()
for p in "${PAIRS[@]}"; do
  IFS='|' read -r lay _ single <<<"$p"
  for c in "$lay" "$single"; do
    seen=0
    for x in "${configs[@]+"${configs[@]}"}"; do [ "$x" = "$c" ] && seen=1; done
    [ $seen = 1 ] || configs+=("$c")
  done
done

raw_g=$(mktemp); raw_m=$(mktemp); out=$(mktemp)
$PIN $B gauss "$GAUSS_N" "${configs[@]}" >"$raw_g"
$PIN $B file "$MINILM" "${configs[@]}" >"$raw_m"

# pairs RAW: the equal-bytes table from the raw rows.
pairs() {
  python3 - "$1" "${PAIRS[@]}" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) == 6 and c[0].startswith("`"):
        rows[(c[0].strip("`"), int(c[1].split()[0]))] = (float(c[2]), float(c[3]))
print("| layered (layers read) | bits/value | SNR dB | single rate | bits/value | SNR dB | SNR lost to layering, dB |")
print("|---|---:|---:|---|---:|---:|---:|")
for p in sys.argv[2:]:
    lay, k, single = p.split("|")
    lb, ls = rows[(lay, int(k))]
    sb, ss = rows[(single, 1)]
    print(f"| `{lay}` ({k}) | {lb:.4f} | {ls:.2f} | `{single}` | {sb:.4f} | {ss:.2f} | {ss - ls:.2f} |")
PY
}

{
echo "<!-- BEGIN progressive -->"
echo "## Progressive archives: the cost of layering"
echo
echo "Command: \`bench/progressive.sh\` · date $(date -u +%Y-%m-%d) · nproc $(nproc) · CPU \`$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)\` · commit \`$(git rev-parse --short HEAD)\`"
echo
echo "Each configuration is written by \`tp_compress_progressive\` (as \`tpress compress --layers\`) into a real streaming archive and read back with 1..L layers (\`tp_archive_decode_layers\`); a single spec is the same job with one layer. Bits/value count the frames of the layers read (headers, f16 scales, codes) of the 2-D float tensors; SNR = 10 log10(Σx²/Σ(x−x̂)²) in float64, pooled over those tensors. 1-D tensors (MiniLM's norms and biases) are stored losslessly as one layer in every configuration and left out of both figures. Layer k ≥ 1 quantizes the f32 residual of layers 0..k−1 with the plain \`int\` codec, which knows nothing of the residual's bound (about half a base step per group); the gap below is what that costs against one quantizer of the same bytes. Encode seconds: wall clock, one thread, pinned."
echo
echo "### Gaussian N(0,1), $GAUSS_N values (4096 columns, f32): layered vs single rate (equal bits/value where the two bits columns agree)"
echo
pairs "$raw_g"
echo
echo "### all-MiniLM-L6-v2, every 2-D weight (f32): layered vs single rate (equal bits/value where the two bits columns agree)"
echo
pairs "$raw_m"
echo
echo "### Every row measured (Gaussian)"
echo
cat "$raw_g"
echo
echo "### Every row measured (MiniLM)"
echo
cat "$raw_m"
echo
echo "<!-- END progressive -->"
} >"$out"
rm -f "$raw_g" "$raw_m"
if [ "$PRINT" = "--print" ]; then cat "$out"; rm -f "$out"; exit 0; fi
f=docs/BENCHMARKS.md
python3 - "$f" "$out" <<'PY'
import sys
f, new = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
s = open(f).read()
a, b = s.find("<!-- BEGIN progressive -->"), s.find("<!-- END progressive -->")
if a < 0 or b < 0: s = s.rstrip("\n") + "\n\n" + new + "\n"
else: s = s[:a] + new + s[b + len("<!-- END progressive -->"):]
open(f, "w").write(s)
PY
rm -f "$out"
echo "wrote $f"
