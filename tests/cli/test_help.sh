# Every command has --help (exit 0, prints usage); bad commands exit 2.
. "$(dirname "$0")/lib.sh"
"$TPRESS" --help | grep -q '^usage: tpress'
"$TPRESS" --version | grep -q '^tpress '
for c in compress decompress info codecs bench eval dump; do
  "$TPRESS" "$c" --help >"$WORK/help.txt"
  grep -q "usage: tpress $c" "$WORK/help.txt" || fail "$c --help"
done
expect_bad "$TPRESS" frobnicate
expect_bad "$TPRESS" compress --bogus x
"$TPRESS" codecs >"$WORK/codecs.txt"   # not piped into grep -q: SIGPIPE under pipefail
grep -q '^int (id 1, lossy)' "$WORK/codecs.txt"
"$TPRESS" codecs --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"int","fp16","bf16","zstd"} <= {c["name"] for c in d}'
