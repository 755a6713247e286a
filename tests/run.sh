#!/usr/bin/env bash
# Runs every test: the C unit tests (build/unit_tests), the CLI tests
# (tests/cli/*.sh) and the Python package tests (tests/python/test_*.py).
# Ends with one plain line "N passed, N failed".
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export TPRESS="$PWD/$BUILD/tpress"
export TP_BUILD="$PWD/$BUILD"
passed=0
failed=0
failures=()

# C unit tests: the binary prints its own "N passed, N failed" line.
unit_log=$(mktemp)
"$BUILD/unit_tests" >"$unit_log" 2>&1
unit_rc=$?
grep -E '^FAIL|CHECK failed' "$unit_log"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$unit_log" | tail -n 1)
if [ -n "$line" ]; then
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  passed=$((passed + p)); failed=$((failed + f))
  echo "unit tests: $line"
fi
if [ -z "$line" ] || { [ "$unit_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
  echo "unit tests: binary crashed or printed no summary (exit $unit_rc)"; tail -n 20 "$unit_log"
  failed=$((failed + 1)); failures+=("unit_tests")
fi
rm -f "$unit_log"

# CLI tests: each script is one test; exit 0 = pass.
for t in tests/cli/test_*.sh; do
  [ -e "$t" ] || continue
  log=$(mktemp)
  if bash "$t" >"$log" 2>&1; then passed=$((passed + 1)); echo "ok   $t"
  else failed=$((failed + 1)); failures+=("$t"); echo "FAIL $t"; tail -n 20 "$log"; fi
  rm -f "$log"
done

# Python package tests (plain asserts, one script = one test). A sanitizer
# build of libtpress.so needs its runtimes preloaded into python; python's
# own allocations are not ours to leak-check.
py_env=()
if nm -D "$BUILD/libtpress.so" 2>/dev/null | grep -q __asan_init; then
  py_env=(env LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0)
fi
for t in tests/python/test_*.py; do
  [ -e "$t" ] || continue
  log=$(mktemp)
  if "${py_env[@]}" python3 "$t" >"$log" 2>&1; then passed=$((passed + 1)); echo "ok   $t"
  else failed=$((failed + 1)); failures+=("$t"); echo "FAIL $t"; tail -n 20 "$log"; fi
  rm -f "$log"
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
