# tpress eval / dump on real MiniLM weights: the model against itself is
# exact, int8 keeps the embeddings (cosine >= 0.999), int4 is lower but
# reported, and dump writes real hidden states.
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
model=$("$root/scripts/minilm_path.sh")
head -n 40 "$root/data/eval_sentences.txt" >"$WORK/text.txt"

"$TPRESS" eval "$model" "$model" --text "$WORK/text.txt" --json >"$WORK/self.json"
"$TPRESS" compress "$model" -o "$WORK/m8.tpz" --codec "int:bits=8,group=32" -q
"$TPRESS" eval "$model" "$WORK/m8.tpz" --text "$WORK/text.txt" --json >"$WORK/int8.json"
"$TPRESS" compress "$model" -o "$WORK/m4.tpz" --codec "int:bits=4,group=32" -q
"$TPRESS" eval "$model" "$WORK/m4.tpz" --text "$WORK/text.txt" --model minilm >"$WORK/int4.txt"
"$TPRESS" eval "$model" "$WORK/m4.tpz" --text "$WORK/text.txt" --json >"$WORK/int4.json"
cat "$WORK/int4.txt"
grep -q "embedding cosine   mean" "$WORK/int4.txt" || fail "table lacks the cosine line"
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
self_, i8, i4 = (json.load(open(f"{w}/{n}.json")) for n in ("self", "int8", "int4"))
assert self_["sentences"] == 40 and self_["tokens"] > 400, self_
assert self_["mean_cosine"] == 1 and self_["min_cosine"] == 1 and self_["top1_agreement"] == 1, self_
print("int8", i8["mean_cosine"], i8["min_cosine"], i8["top1_agreement"], i8["candidate_bits_per_weight"])
print("int4", i4["mean_cosine"], i4["min_cosine"], i4["top1_agreement"], i4["candidate_bits_per_weight"])
assert i8["mean_cosine"] >= 0.999 and i8["min_cosine"] > 0.99, i8
assert 8 < i8["candidate_bits_per_weight"] < 10, i8
assert i4["mean_cosine"] < i8["mean_cosine"] and i4["mean_cosine"] > 0.9, i4
assert i4["candidate_bits_per_weight"] < 6, i4
PY

# --plot: per-sentence cosine as PNG; without gnuplot on PATH an error
# before the run and no file; a plot that cannot be written leaves none.
if command -v gnuplot >/dev/null; then
  "$TPRESS" eval "$model" "$WORK/m4.tpz" --text "$WORK/text.txt" --plot "$WORK/int4.png" >/dev/null
  check_png "$WORK/int4.png"
else
  echo "gnuplot missing: --plot success case skipped (scripts/deps.sh installs gnuplot-nox)" >&2
fi
expect_bad env PATH=/nonexistent "$TPRESS" eval "$model" "$WORK/m4.tpz" --text "$WORK/text.txt" --plot "$WORK/nogp.png"
[ ! -e "$WORK/nogp.png" ] || fail "--plot without gnuplot left a file"
grep -q "gnuplot" "$WORK/stderr" || fail "--plot without gnuplot does not say so"

# Hidden states: 7 states of [T, 384], T = tokens of the text.
head -n 5 "$WORK/text.txt" >"$WORK/five.txt"
"$TPRESS" dump "$model" --what hidden --text "$WORK/five.txt" -o "$WORK/dump" -q
"$TPRESS" dump "$WORK/m8.tpz" --vocab "$(dirname "$model")/vocab.txt" --what embedding --text "$WORK/five.txt" -o "$WORK/emb" -q
python3 - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1]
tok, st = np.load(f"{w}/dump/tokens.npy"), np.load(f"{w}/dump/starts.npy")
assert tok.dtype == np.int32 and st.dtype == np.int64 and len(st) == 6 and st[-1] == len(tok), (tok.shape, st)
assert tok[0] == 101 and tok[-1] == 102
for l in range(7):
    h = np.load(f"{w}/dump/hidden_{l:02d}.npy")
    assert h.shape == (len(tok), 384) and h.dtype == np.float32 and np.isfinite(h).all(), (l, h.shape)
# The normalised mean of the last state of each line is its embedding (int8 model here: close, not equal).
h6, emb = np.load(f"{w}/dump/hidden_06.npy"), np.load(f"{w}/emb/embeddings.npy")
assert emb.shape == (5, 384)
for i in range(5):
    p = h6[st[i]:st[i + 1]].mean(0); p /= np.linalg.norm(p)
    assert float(p @ emb[i]) > 0.99, i
PY

expect_bad "$TPRESS" eval "$model" "$WORK/missing.tpz" --text "$WORK/text.txt"
expect_bad "$TPRESS" eval "$model" "$model" --text "$WORK/missing.txt"
expect_bad "$TPRESS" eval "$model" "$model" --model smollm2
expect_bad "$TPRESS" dump "$model" --what kv --text "$WORK/five.txt" -o "$WORK/d2"
expect_bad "$TPRESS" eval "$root/tests/data/fixture.safetensors" "$model" --text "$WORK/text.txt"
