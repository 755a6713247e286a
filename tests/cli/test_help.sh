# Every command has --help (exit 0, prints usage); bad commands exit 2.
. "$(dirname "$0")/lib.sh"
"$TPRESS" --help | grep -q '^usage: tpress'
"$TPRESS" --version | grep -q '^tpress '
for c in compress decompress info codecs bench eval dump; do
  "$TPRESS" "$c" --help | grep -q "usage: tpress $c" || fail "$c --help"
done
expect_bad "$TPRESS" frobnicate
expect_bad "$TPRESS" compress --bogus x
"$TPRESS" codecs | grep -q '^int (id 1, lossy)'
"$TPRESS" codecs --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {"int","fp16","bf16","zstd"} <= {c["name"] for c in d}'
