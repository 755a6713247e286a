#!/usr/bin/env bash
# Low-bit codecs (vq, seedlm, int) side by side: SNR vs exact bits/weight on
# Gaussian data and on all-MiniLM-L6-v2, encode speed, decode throughput vs a
# plain write loop at 64 MiB. Writes the section between the lowbit markers
# of docs/BENCHMARKS.md (or prints it with --print).
#   bench/lowbit.sh [BUILD] [--print]      env: GAUSS_N (16777216), SEEDLM_N (1048576), SEEDLM_MAXW (1700000)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PRINT=${2:-}
GAUSS_N=${GAUSS_N:-16777216}
SEEDLM_N=${SEEDLM_N:-1048576}
SEEDLM_MAXW=${SEEDLM_MAXW:-1700000}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libtpress.a" "$BUILD/bench/bench_lowbit"
B="$BUILD/bench/bench_lowbit"
PIN="taskset -c 1"
command -v taskset >/dev/null || PIN=""
MINILM=$(scripts/minilm_path.sh)

VQ=("vq:dim=4,bits=8" "vq:dim=4,bits=10" "vq:dim=3,bits=9" "vq:dim=2,bits=8")
SL=("seedlm:block=16,coefs=3,threads=2" "seedlm:block=16,coefs=5,threads=2" "seedlm:block=12,coefs=4,threads=2" "seedlm:block=8,coefs=3,threads=2")
INT=("int:bits=2,sym=0,search=1,group=128" "int:bits=2,sym=0,search=1,group=64" "int:bits=3,sym=0,search=1,group=128" "int:bits=4,sym=0,search=1,group=128")
HDR="| spec | bits/weight | SNR dB | encode weights/s per core |
|---|---|---|---|"
out=$(mktemp)
{
echo "<!-- BEGIN lowbit -->"
echo "## Low-bit codecs: vq, seedlm, int (issue 7)"
echo
echo "Command: \`bench/lowbit.sh\` · date $(date -u +%Y-%m-%d) · nproc $(nproc) · CPU \`$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')\` · commit \`$(git rev-parse --short HEAD)\`"
echo
echo "Bits/weight are measured from the frame bytes (header, codebooks, scales, indices included). SNR = 10 log10(Σx²/Σ(x−x̂)²) in float64 over all weights. Encode speed: weights per second of process CPU time, single-threaded except seedlm (threads=2, CPU time of both threads counted, so still per core); the machine is shared (2 cores, other jobs running), so speeds are indicative."
echo
echo "### Gaussian N(0,1), $GAUSS_N values (4096 columns); seedlm on the first $SEEDLM_N of them (its exhaustive 2^16-seed search runs ~60–90 k weights/s per core, too slow for 16M values × 4 settings on 2 shared cores)"
echo
echo "$HDR"
$PIN $B gauss "$GAUSS_N" "${VQ[@]}" "${INT[@]}"
$B gauss "$SEEDLM_N" "${SL[@]}"
echo
echo "Not measured here (reference figures for N(0,1)): scalar Lloyd-Max at 2 bits 9.30 dB; Shannon rate–distortion bound 6.02·R dB (2 bits 12.04, 2.5 bits 15.05, 3 bits 18.06, 4 bits 24.08); published: QuIP# 2-bit ≈ 10.5 dB, QTIP 2-bit ≈ 11.6 dB, SeedLM 4-bit ≈ 18.2 dB and 3-bit ≈ 13.0 dB, llama.cpp Q2_K 11.4 dB @ 2.63, IQ2_XXS 9.3 dB @ 2.06, Q3_K 16.8 dB @ 3.44 (issue 7; gguf quantization not run here)."
echo
echo "### all-MiniLM-L6-v2, every 2-D weight (seedlm: the first 2-D tensors in file order up to $SEEDLM_MAXW weights)"
echo
echo "$HDR"
$PIN $B file "$MINILM" 0 "${VQ[@]}" "${INT[@]}"
$B file "$MINILM" "$SEEDLM_MAXW" "seedlm:block=12,coefs=4,threads=2" "seedlm:block=8,coefs=3,threads=2"
echo
echo "### Decode of a 64 MiB f32 tensor, one thread (taskset -c 1), median of 7 after a warm-up"
echo
echo "| spec | plain write loop MB/s | decode MB/s | decode / write | decode MB/s min / median / max |"
echo "|---|---|---|---|---|"
for s in "vq:dim=4,bits=8,iters=2" "vq:dim=8,bits=8,iters=2" "vq:dim=2,bits=8,iters=2" "seedlm:block=8,coefs=3,seed_bits=8"; do $PIN $B decode "$s"; done
echo
echo "<!-- END lowbit -->"
} >"$out"
if [ "$PRINT" = "--print" ]; then cat "$out"; rm -f "$out"; exit 0; fi
mkdir -p docs
f=docs/BENCHMARKS.md
[ -f $f ] || printf '<!-- BEGIN lowbit -->\n<!-- END lowbit -->\n' >$f
python3 - "$f" "$out" <<'PY'
import sys
f, new = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
s = open(f).read()
a, b = s.find("<!-- BEGIN lowbit -->"), s.find("<!-- END lowbit -->")
if a < 0 or b < 0: s = s.rstrip("\n") + "\n\n" + new + "\n"
else: s = s[:a] + new + s[b + len("<!-- END lowbit -->"):]
open(f, "w").write(s)
PY
rm -f "$out"
echo "wrote $f"
