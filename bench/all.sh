#!/usr/bin/env bash
# bench/all.sh BUILD [SECTION...] — runs the benchmark of each section of
# docs/BENCHMARKS.md (default: all of them, in the document's order). Each
# script rewrites only its own section. `make bench` calls this;
# `make bench BENCH_SECTIONS="spine lossless"` runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(spine lossless quant quant-vs-llama lowbit struct dct eval planner planner-smollm2 progressive kv)

# Peers and data the benchmarks need beyond `make test`: JPEG/WebP encoders,
# skimage's test images, a text renderer (Debian); Python peers (PyPI).
BENCH_APT=(libjpeg-turbo-progs webp python3-skimage pango1.0-tools)
missing=()
for p in "${BENCH_APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    echo "bench: could not install ${missing[*]}; the dct section will fail" >&2
fi
python3 -m pip install -q --root-user-action=ignore zipnn blosc2 gguf matplotlib pillow >/dev/null 2>&1 ||
  echo "bench: could not install the Python peers; their rows will be missing" >&2

for s in "${sections[@]}"; do
  echo "== bench: $s" >&2
  case "$s" in
    spine) bench/run.sh "$BUILD" ;;
    lossless) bench/lossless.sh "${LOSSLESS_MIB:-64}" "${BENCH_REPS:-5}" ;;
    quant) bench/quant.sh "$BUILD" ;;
    quant-vs-llama) python3 bench/quant_vs_llama.py ;;
    lowbit) bench/lowbit.sh "$BUILD" ;;
    struct) bench/struct.sh "$BUILD" ;;
    dct) bench/dct.sh "$BUILD" ;;
    eval) bench/eval.sh "$BUILD" ;;
    planner) python3 bench/planner.py "$BUILD" ;;
    planner-smollm2) python3 bench/planner_smollm2.py "$BUILD" ;;
    progressive) bench/progressive.sh "$BUILD" ;;
    kv) bench/kv.sh "$BUILD" ;;
    *) echo "bench: unknown section '$s'" >&2; exit 2 ;;
  esac
done
