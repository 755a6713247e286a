#!/usr/bin/env bash
# Quality and decode-speed benchmark of the quantizers (bench/bench_quant.c):
# quality and single-thread speed pinned to core 1, then 1-vs-2-thread
# scaling on cores 0,1. Writes its tables into docs/BENCHMARKS.md between the
# quant markers.
#   bench/quant.sh [BUILD_DIR] [bench_quant options]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; shift || true
make --no-print-directory BUILD="$B" "$B/libtpress.a" "$B/bench/bench_quant" >/dev/null
CMD="taskset -c 1 $B/bench/bench_quant $*"
CMD2="taskset -c 0,1 $B/bench/bench_quant --scaling"
OUT=$(mktemp)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
$CMD | tee "$OUT"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo >> "$OUT"
$CMD2 | tee -a "$OUT"
LOAD2=$(cut -d' ' -f1-3 /proc/loadavg)
DOC=docs/BENCHMARKS.md
[ -f "$DOC" ] || printf '# Benchmarks\n\n<!-- BEGIN quant -->\n<!-- END quant -->\n' > "$DOC"
grep -q '<!-- BEGIN quant -->' "$DOC" || printf '\n<!-- BEGIN quant -->\n<!-- END quant -->\n' >> "$DOC"
SECTION=$(mktemp)
{
  echo "<!-- BEGIN quant -->"
  echo "## Quantizers: quality of kmeans, nf, log, fp8, int; decode speed of the whole family"
  echo
  echo "- command: \`bench/quant.sh $B $*\` (runs \`$CMD\`, then \`$CMD2\`)"
  echo "- load average (1/5/15 min) before, between, after: $LOAD0; $LOAD1; $LOAD2"
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), nproc: $(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench || echo ' (+ uncommitted changes)')"
  echo "- bits/value counts every byte of the frame (header, scales, codebooks, codes, checksum)."
  echo "- the machine is shared (2 cores, other jobs running): speeds are noisy, ratios are the claim."
  echo "- write loops (bench/bench_util.h, the same in the spine section): a loop of 256-bit stores of one value over the 64 MiB output, with ordinary stores (each line read for ownership first) and with streaming (non-temporal) stores + sfence. The bars are judged against the streaming loop, the fastest plain write: every decoder streams outputs of 32 MiB or more (\`tp_cpu_stream_bytes\`). The memory bandwidth of this VM moves with other tenants: see the quant-device section for the same binary on an idle 16-core machine."
  echo '- two-thread figures need the second core free: at a load average near or above 2 it is not, and the scaling table then measures contention (compare each speed-up with the write loop'"'"'s own, in brackets). `bench_quant --threads-list 1,2,4,8` prints the table for any thread counts.'
  echo
  cat "$OUT"
  echo "<!-- END quant -->"
} > "$SECTION"
python3 - "$DOC" "$SECTION" <<'PY'
import sys
doc, sec = open(sys.argv[1]).read(), open(sys.argv[2]).read()
a = doc.index('<!-- BEGIN quant -->'); b = doc.index('<!-- END quant -->') + len('<!-- END quant -->')
open(sys.argv[1], 'w').write(doc[:a] + sec.rstrip('\n') + doc[b:])
PY
rm -f "$OUT" "$SECTION"
