# Shared helpers for CLI tests: each test script sources this file.
set -euo pipefail
: "${TPRESS:?run through tests/run.sh (TPRESS unset)}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_bad CMD...: the command must exit 2, print exactly one line to
# stderr, and never crash.
expect_bad() {
  local err="$WORK/stderr" rc=0
  "$@" >/dev/null 2>"$err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$err" >&2; fail "expected exit 2, got $rc: $*"; }
  [ "$(wc -l <"$err")" -eq 1 ] || { cat "$err" >&2; fail "expected one error line: $*"; }
  grep -q '^tpress: ' "$err" || fail "error line must start with 'tpress: ': $(cat "$err")"
}

# check_png FILE: a complete PNG (signature, IEND chunk at the end) of a
# real plot (over 5 KB), and no temporary plot directory left beside it.
check_png() {
  [ -f "$1" ] || fail "no PNG at $1"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"
  [ "$(tail -c 8 "$1" | head -c 4)" = "IEND" ] || fail "$1 does not end with IEND"
  [ "$(wc -c <"$1")" -gt 5000 ] || fail "$1 is too small for a plot"
  ! ls -d "$(dirname "$1")"/.tpress-plot-* 2>/dev/null || fail "temporary plot directory left beside $1"
}
