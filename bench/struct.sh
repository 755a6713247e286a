#!/usr/bin/env bash
# Structured codecs benchmark: rate-distortion of svd / pca / sparse /
# sparsecode / autoenc next to
# int on MiniLM weights and skimage image patches, speed, and the hit rate
# of tp_choose_pipeline; writes bench/out/struct_{points,choice}.csv,
# docs/struct_rd.png and the <!-- BEGIN struct --> section of
# docs/BENCHMARKS.md.  usage: bench/struct.sh [BUILD] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
make --no-print-directory -j2 BUILD="$BUILD" lib >/dev/null
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install -q --root-user-action=ignore matplotlib
[ -d /usr/lib/python3/dist-packages/skimage/data ] || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq python3-skimage >/dev/null; }
OUT=bench/out
export OPENBLAS_NUM_THREADS=1   # one thread: timings comparable with int's single-threaded kernels
taskset -c 1 python3 bench/struct.py "$BUILD" "$OUT" "$@"
cp "$OUT/struct_rd.png" docs/struct_rd.png
python3 - "$OUT/struct_tables.md" "$*" <<'PY'
import datetime, os, re, subprocess, sys
tables = open(sys.argv[1]).read()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
head = (f"## Structured codecs: svd, pca, sparse, sparsecode, autoenc vs int\n\n"
        f"Command: `bench/struct.sh {sys.argv[2]}`; date {datetime.date.today()}; nproc {os.cpu_count()}; CPU {cpu}; "
        f"commit {commit}; single thread (`taskset -c 1`, OPENBLAS_NUM_THREADS=1). Plot: [struct_rd.png](struct_rd.png).\n")
sec = "<!-- BEGIN struct -->\n" + head + tables + "<!-- END struct -->"
p = "docs/BENCHMARKS.md"
doc = open(p).read() if os.path.exists(p) else "# Benchmarks\n\n"
if "<!-- BEGIN struct -->" in doc:
    doc = re.sub(r"<!-- BEGIN struct -->.*<!-- END struct -->", lambda m: sec, doc, flags=re.S)
else:
    doc = doc.rstrip("\n") + "\n\n" + sec + "\n"
open(p, "w").write(doc)
PY
echo "bench/struct.sh: docs/BENCHMARKS.md (struct section) and docs/struct_rd.png updated"
