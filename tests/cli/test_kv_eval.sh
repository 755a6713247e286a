# tpress kv-eval on SmolLM2-135M: an f16 cache is nearly exact, q8_0 close,
# q4_0 further and rotation brings it back part of the way; bits per
# element follow the layouts; CSV and JSON agree; bad methods and options
# fail cleanly.
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
model=$("$root/scripts/smollm2_path.sh")
text="$root/data/eval_text.txt"

"$TPRESS" kv-eval "$model" --text "$text" --context 64 -m f16 -m q8_0 -m q4_0 -m "rotate|q4_0" \
  -m "kivi:bits=2,group=16,residual=16" --csv "$WORK/kv.csv" --json >"$WORK/kv.json"
python3 - "$WORK" <<'PY'
import csv, json, sys
w = sys.argv[1]
rows = {r["method"]: r for r in json.load(open(f"{w}/kv.json"))["methods"]}
f16, q8, q4, rq4, kivi = (rows[m] for m in ("f16", "q8_0", "q4_0", "rotate|q4_0", "kivi:bits=2,group=16,residual=16"))
for r in rows.values():
    assert r["tokens"] == 64 and len(r["layer_cosine"]) == 30, r
    print(r["method"], r["bits_per_element"], r["mean_kl"], r["top1_agreement"], r["attention_cosine_mean"])
assert f16["mean_kl"] < 1e-5 and f16["top1_agreement"] == 1 and f16["attention_cosine_mean"] > 0.99999, f16
assert q8["mean_kl"] < 0.01 and q8["attention_cosine_mean"] > 0.999, q8
assert q4["mean_kl"] > q8["mean_kl"] and rq4["mean_kl"] < q4["mean_kl"], (q4, rq4)
assert 16 <= f16["bits_per_element"] < 16.5 and 8.5 <= q8["bits_per_element"] < 9 and 4.5 <= q4["bits_per_element"] < 5
assert kivi["bits_per_element"] < f16["bits_per_element"] and kivi["mean_kl"] > 0, kivi
table = list(csv.DictReader(open(f"{w}/kv.csv")))
assert [r["method"] for r in table] == list(rows), table
for r in table:
    assert abs(float(r["mean_kl"]) - rows[r["method"]]["mean_kl"]) <= 1e-5 * max(1, rows[r["method"]]["mean_kl"]), r
PY

# passkey: the key is read back with exact attention and with an f16 cache;
# a window that holds only the question cannot see a key placed at the start
"$TPRESS" kv-eval "$model" --text "$text" --context 16 -m f16 -m "evict:sink=0,window=24|f16" \
  --passkey 2 --passkey-context 240 --json >"$WORK/pk.json"
python3 - "$WORK/pk.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["method"]: r for r in d["methods"]}
print("passkey", d["passkey_exact_accuracy"], {m: r["passkey_accuracy"] for m, r in rows.items()})
assert d["passkey_exact_accuracy"] == 1 and rows["f16"]["passkey_accuracy"] == 1, d
assert rows["evict:sink=0,window=24|f16"]["passkey_accuracy"] == 0, d
PY

expect_bad "$TPRESS" kv-eval "$model" --text "$text" --context 16 -m "kivi:bits=3"
expect_bad "$TPRESS" kv-eval "$model" --text "$text" --context 16 -m f16 --passkey 1 --passkey-context 64
expect_bad "$TPRESS" kv-eval "$model" --text "$text" --context 1
expect_bad "$TPRESS" kv-eval "$model" --text "$text" --bogus
expect_bad "$TPRESS" kv-eval "$model" --text "$WORK/missing.txt" --context 16 -m f16
expect_bad "$TPRESS" kv-eval "$text" -m f16
