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
