# tpress eval / dump on the SmolLM2-135M GGUF: the model against itself and
# against its own dequantized weights (safetensors) is exact, int8 of those
# weights stays close (KL < 0.05, top-1 > 0.9), dump writes the KV cache and
# hidden states that the weights reproduce.
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
model=$("$root/scripts/smollm2_path.sh")
text="$root/data/eval_text.txt"

"$TPRESS" eval "$model" "$model" --text "$text" --max-tokens 96 --window 48 --json >"$WORK/self.json"
"$TPRESS" dump "$model" --what weights -o "$WORK/w.safetensors" -q
"$TPRESS" eval "$model" "$WORK/w.safetensors" --text "$text" --max-tokens 96 --window 48 --json >"$WORK/st.json"
"$TPRESS" compress "$WORK/w.safetensors" -o "$WORK/w8.tpz" --codec "int:bits=8,group=32" -q
rm -f "$WORK/w.safetensors"
"$TPRESS" eval "$model" "$WORK/w8.tpz" --text "$text" --max-tokens 96 --window 48 >"$WORK/int8.txt"
"$TPRESS" eval "$model" "$WORK/w8.tpz" --text "$text" --max-tokens 96 --window 48 --json >"$WORK/int8.json"
# --plot: SNR per layer and KL along the text; the model against itself
# (every state exact) plots too. Into a directory that does not exist: an
# error and nothing written.
if command -v gnuplot >/dev/null; then
  "$TPRESS" eval "$model" "$WORK/w8.tpz" --text "$text" --max-tokens 96 --window 48 --plot "$WORK/int8.png" >/dev/null
  check_png "$WORK/int8.png"
  "$TPRESS" eval "$model" "$model" --text "$text" --max-tokens 32 --plot "$WORK/self.png" >/dev/null
  check_png "$WORK/self.png"
  expect_bad "$TPRESS" eval "$model" "$model" --text "$text" --max-tokens 32 --plot "$WORK/nodir/x.png"
else
  echo "gnuplot missing: --plot cases skipped (scripts/deps.sh installs gnuplot-nox)" >&2
fi
cat "$WORK/int8.txt"
grep -q "next-token KL(ref||cand)   mean" "$WORK/int8.txt" || fail "table lacks the KL line"
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
s, st, i8 = (json.load(open(f"{w}/{n}.json")) for n in ("self", "st", "int8"))
for j in (s, st):
    assert j["tokens"] == 96 and j["predictions"] == 94 and j["window"] == 48, j
    assert j["mean_kl"] == 0 and j["max_kl"] == 0 and j["top1_agreement"] == 1, j
    assert j["reference_ppl"] == j["candidate_ppl"] and all(v is None for v in j["hidden_snr_db"]), j
print("int8", i8["mean_kl"], i8["p99_kl"], i8["top1_agreement"], i8["candidate_ppl"], i8["candidate_bits_per_weight"])
assert 0 < i8["mean_kl"] < 0.05 and i8["top1_agreement"] > 0.9, i8
assert 8 < i8["candidate_bits_per_weight"] < 10, i8
assert len(i8["hidden_snr_db"]) == 31 and min(i8["hidden_snr_db"]) > 20, i8
PY

# KV cache: 30 layers of [T, 3, 64]; layer 0's values are
# rmsnorm(embedding) @ Wv^T, recomputed here from the dumped weights.
printf 'The cat sat on the mat. 42 is the answer.\n' >"$WORK/short.txt"
"$TPRESS" dump "$model" --what kv --text "$WORK/short.txt" -o "$WORK/kv" -q
"$TPRESS" dump "$model" --what hidden --text "$WORK/short.txt" -o "$WORK/hid" -q
"$TPRESS" dump "$model" --what tokens --text "$WORK/short.txt" -o "$WORK/tok" -q
cmp "$WORK/tok/tokens.npy" "$WORK/kv/tokens.npy" || fail "--what tokens differs from the ids of --what kv"
[ "$(ls "$WORK/tok")" = "tokens.npy" ] || fail "--what tokens wrote more than tokens.npy"
"$TPRESS" dump "$model" --what weights -o "$WORK/w.safetensors" -q
python3 - "$WORK" <<'PY'
import sys, numpy as np
from safetensors.numpy import load_file
w = sys.argv[1]
tok = np.load(f"{w}/kv/tokens.npy")
assert tok.dtype == np.int32 and 8 < len(tok) < 30, tok
for l in range(30):
    k, v = np.load(f"{w}/kv/k_{l:02d}.npy"), np.load(f"{w}/kv/v_{l:02d}.npy")
    assert k.shape == v.shape == (len(tok), 3, 64) and np.isfinite(k).all() and np.isfinite(v).all(), (l, k.shape)
W = load_file(f"{w}/w.safetensors", )
h0 = np.load(f"{w}/hid/hidden_00.npy")
assert h0.shape == (len(tok), 576) and np.array_equal(h0, W["token_embd.weight"][tok])
x = h0.astype(np.float64)
x = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * W["blk.0.attn_norm.weight"]
v0 = (x @ W["blk.0.attn_v.weight"].T).reshape(len(tok), 3, 64)
err = np.abs(v0 - np.load(f"{w}/kv/v_00.npy")).max()
assert err < 1e-3, err
# RoPE keeps the norm of every key pair.
k0 = (x @ W["blk.0.attn_k.weight"].T).reshape(len(tok), 3, 32, 2)
kd = np.load(f"{w}/kv/k_00.npy").reshape(len(tok), 3, 32, 2)
assert np.abs(np.linalg.norm(k0, axis=-1) - np.linalg.norm(kd, axis=-1)).max() < 1e-3
for l in range(31):
    assert np.load(f"{w}/hid/hidden_{l:02d}.npy").shape == (len(tok), 576)
PY

expect_bad "$TPRESS" eval "$model" "$WORK/missing.tpz" --text "$text"
expect_bad "$TPRESS" eval "$model" "$model" --text "$WORK/missing.txt"
expect_bad "$TPRESS" eval "$model" "$model" --window 1
expect_bad "$TPRESS" eval "$root/tests/data/fixture.safetensors" "$model" --model smollm2 --text "$text"
expect_bad "$TPRESS" dump "$model" --what attn --text "$WORK/short.txt" -o "$WORK/d2"
expect_bad "$TPRESS" dump "$root/tests/data/fixture.safetensors" --what kv --gguf "$model" --text "$WORK/short.txt" -o "$WORK/d3"
