# tpress compress through the planner: a target met on the bytes written,
# the dry run, JSON fields, rules, strategies, and every bad option.
. "$(dirname "$0")/lib.sh"
python3 - "$WORK/m.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(3)
m = {f"blk.{i}.w": (rng.standard_normal((64, 256)) * 0.02 * (1 + i % 5)).astype(np.float32) for i in range(24)}
m["blk.0.norm"] = np.ones(256, np.float32)
save_file(m, sys.argv[1])
PY
M="$WORK/m.safetensors"
raw=$(( 24 * 64 * 256 * 4 + 256 * 4 ))

# --target-mb: the whole file, index included, at most N x 10^6 bytes, within 1 %
"$TPRESS" compress "$M" -o "$WORK/t.tpz" --target-mb 0.2 --json >"$WORK/t.json"
size=$(stat -c %s "$WORK/t.tpz")
[ "$size" -le 200000 ] && [ "$size" -ge 198000 ] || fail "--target-mb 0.2 gave $size bytes"
python3 - "$WORK/t.json" "$size" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["compressed_bytes"] == int(sys.argv[2]) and d["target_met"] is True, d
assert d["fidelity"]["metric"] == "min tensor cosine" and 0.9 < d["fidelity"]["value"] < 1, d
for t in d["tensors"]:
    assert {"name", "spec", "bytes", "snr_db" if not t["spec"].startswith("lossless") else "spec"} <= set(t), t
PY
"$TPRESS" decompress "$WORK/t.tpz" -o "$WORK/back.safetensors" >/dev/null

# the human table: one line per tensor, then the summary
"$TPRESS" compress "$M" -o "$WORK/t.tpz" -f --target-bpw 3 >"$WORK/t.txt"
grep -q '^\[2/25\] blk.0.w \[64,256\] f32 -> kq' "$WORK/t.txt" || fail "no per-tensor line: $(head -2 "$WORK/t.txt")"
grep -q '^target: .* met' "$WORK/t.txt" || fail "no target line"

# dry run: the plan, nothing written
"$TPRESS" compress "$M" -o "$WORK/dry.tpz" --target-ratio 8 --dry-run >"$WORK/dry.txt"
[ ! -e "$WORK/dry.tpz" ] || fail "--dry-run wrote a file"
grep -q '^plan: 25 tensors' "$WORK/dry.txt" || fail "dry run printed no plan summary"

# rules: first match wins; keep is lossless
"$TPRESS" compress "$M" -o "$WORK/r.tpz" --target-ratio 6 --rule 'blk\.1\.=keep' --rule 'blk\.2\.w=int:bits=6,group=32' --json >"$WORK/r.json"
python3 - "$WORK/r.json" <<'PY'
import json, sys
t = {x["name"]: x["spec"] for x in json.load(open(sys.argv[1]))["tensors"]}
assert t["blk.1.w"].startswith("lossless") and t["blk.2.w"].startswith("int:bits=6"), t
PY

# strategies
for s in simple mobile advanced auto; do
  "$TPRESS" compress "$M" -o "$WORK/s.tpz" -f --strategy "$s" -q || fail "--strategy $s"
done
"$TPRESS" compress "$M" -o "$WORK/s.tpz" -f --strategy mobile | grep -q '^mobile_compatible: yes' || fail "mobile flag"

# an accuracy threshold the plan must be raised for (exit 0 once met)
"$TPRESS" compress "$M" -o "$WORK/a.tpz" -f --strategy simple --accuracy-threshold 0.99 >"$WORK/a.txt"
grep -q '^accuracy threshold 0.99: met' "$WORK/a.txt" || fail "accuracy not met: $(tail -3 "$WORK/a.txt")"
grep -q '^plan: raised:' "$WORK/a.txt" || fail "no raised plan reported"

# --config: the same settings as flags give the same archive, byte for byte;
# --print-config writes a file that gives it again
cat >"$WORK/c.yaml" <<'YAML'
target-ratio: 6
threads: 1
rules:
  - match: 'blk\.1\.'
    keep: true
  - match: 'blk\.2\.w'
    codec: "int:bits=6,group=32"
YAML
"$TPRESS" compress "$M" -o "$WORK/c1.tpz" --config "$WORK/c.yaml" -q
"$TPRESS" compress "$M" -o "$WORK/c2.tpz" --target-ratio 6 --threads 1 --rule 'blk\.1\.=keep' --rule 'blk\.2\.w=int:bits=6,group=32' -q
cmp -s "$WORK/c1.tpz" "$WORK/c2.tpz" || fail "config and flags gave different archives"
"$TPRESS" compress "$M" -o "$WORK/c3.tpz" --config "$WORK/c.yaml" --print-config >"$WORK/printed.yaml"
[ ! -e "$WORK/c3.tpz" ] || fail "--print-config wrote an archive"
"$TPRESS" compress "$M" -o "$WORK/c3.tpz" --config "$WORK/printed.yaml" -q
cmp -s "$WORK/c1.tpz" "$WORK/c3.tpz" || fail "the printed config gives another archive"
# the command line overrides the file
"$TPRESS" compress "$M" -o "$WORK/c4.tpz" --config "$WORK/c.yaml" --target-ratio 8 --print-config | grep -q '^target-ratio: 8' || fail "flag did not override config"
printf 'target-mb: 0.2\nbogus: 3\n' >"$WORK/bad1.yaml"
printf 'target-mb: abc\n' >"$WORK/bad2.yaml"
printf 'rules:\n  - match: x\n' >"$WORK/bad3.yaml"
printf 'strategy: [a, b]\n' >"$WORK/bad4.yaml"
for b in 1 2 3 4; do
  expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --config "$WORK/bad$b.yaml"
  grep -q "bad$b.yaml:[0-9]" "$WORK/stderr" || fail "bad$b.yaml: error does not name file:line: $(cat "$WORK/stderr")"
done
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --config "$WORK/missing.yaml"

# bad input: one error line, exit 2, no output
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --target-mb 0.001
grep -q 'smallest plan' "$WORK/stderr" || fail "impossible target does not name the smallest plan"
[ ! -e "$WORK/x.tpz" ] || fail "impossible target left a file"
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --target-mb 1 --target-bpw 3
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --strategy tiny
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --target-mb abc
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --target-mb -3
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --rule 'noequals'
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --rule '([=keep'
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --rule 'w=weight:-1'
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --target-mb 1 --codec int:bits=4
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --sensitivity measure
expect_bad "$TPRESS" compress "$M" -o "$WORK/x.tpz" --dry-run=yes
expect_bad "$TPRESS" compress "$M" -o "$WORK/t.tpz" --target-mb 1
[ ! -e "$WORK/x.tpz" ] || fail "a rejected run left a file"
echo ok
