#!/usr/bin/env bash
# Rate-distortion and speed of dct2d/tokdct vs JPEG (cjpeg) and WebP (cwebp);
# writes the "dct" section of docs/BENCHMARKS.md and docs/dct_rd.png.
# usage: bench/dct.sh [BUILD]   (needs libjpeg-turbo-progs, webp, python3-skimage
# images, pango1.0-tools, numpy, pillow, matplotlib)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
make -s --no-print-directory BUILD="$BUILD" all
gcc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Wall -Wextra -Werror -o "$BUILD/dct_speed" bench/dct_speed.c \
  "$BUILD/libtpress.a" -lzstd -lxxhash -lcjson -lpng -ljpeg -llapacke -lopenblas -lm -lpthread
body=$(mktemp)
python3 bench/dct_bench.py --build "$BUILD" --plot docs/dct_rd.png >"$body"
{
  echo "<!-- BEGIN dct -->"
  echo "## dct2d and tokdct (frequency codecs)"
  echo
  echo "Command: \`bench/dct.sh\` · date $(date -u +%Y-%m-%d) · nproc $(nproc) · CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') · commit $(git rev-parse --short HEAD) · $(cjpeg -version 2>&1 | head -1) · cwebp $(cwebp -version 2>&1 | head -1)"
  echo
  echo "Plot: [dct_rd.png](dct_rd.png)."
  echo
  cat "$body"
  echo "<!-- END dct -->"
} >"$body.section"
f=docs/BENCHMARKS.md
[ -f "$f" ] || printf '# Benchmarks\n' >"$f"
python3 - "$f" "$body.section" <<'PY'
import sys, re
f, sec = sys.argv[1], open(sys.argv[2]).read().rstrip('\n')
s = open(f).read()
if '<!-- BEGIN dct -->' in s:
    s = re.sub(r'<!-- BEGIN dct -->.*?<!-- END dct -->', lambda m: sec, s, flags=re.S)
else:
    s = s.rstrip('\n') + '\n\n' + sec + '\n'
open(f, 'w').write(s)
PY
rm -f "$body" "$body.section"
echo "wrote $f and docs/dct_rd.png"
