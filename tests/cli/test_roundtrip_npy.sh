# .npy in, .tpz, .npy out: lossless pipelines are bit-exact, int8 within its
# error bound; the dtype and shape come back.
. "$(dirname "$0")/lib.sh"
python3 - "$WORK" <<'PY'
import numpy as np, sys
rng = np.random.default_rng(1)
np.save(sys.argv[1] + "/x.npy", rng.standard_normal((37, 53)).astype(np.float32))
np.save(sys.argv[1] + "/h.npy", rng.standard_normal((5, 7, 9)).astype(np.float16))
np.save(sys.argv[1] + "/i.npy", np.arange(-50, 50, dtype=np.int64).reshape(10, 10))
PY
for spec in "zstd:level=3" "int:bits=8,group=32" "int:bits=3,group=0,axis=1,sym=0" "fp16|zstd"; do
  "$TPRESS" compress "$WORK/x.npy" -o "$WORK/x.tpz" --codec "$spec" -f -q
  "$TPRESS" decompress "$WORK/x.tpz" -o "$WORK/y.npy" -f -q
  python3 - "$WORK" "$spec" <<'PY'
import numpy as np, sys
w, spec = sys.argv[1], sys.argv[2]
x, y = np.load(w + "/x.npy"), np.load(w + "/y.npy")
assert x.dtype == y.dtype and x.shape == y.shape, (x.dtype, y.dtype, x.shape, y.shape)
if spec.startswith("zstd"):
    assert np.array_equal(x.view(np.uint32), y.view(np.uint32))
else:
    snr = 10 * np.log10((x.astype(np.float64) ** 2).sum() / ((x - y).astype(np.float64) ** 2).sum())
    floor = {"int:bits=8": 38, "int:bits=3": 12, "fp16|zstd": 60}[spec.split(",")[0]]
    assert snr > floor, (spec, snr)
PY
done
# f16 input keeps its dtype; integers fall back to lossless and say so.
"$TPRESS" compress "$WORK/h.npy" -o "$WORK/h.tpz" --codec "int:bits=8" -q
"$TPRESS" decompress "$WORK/h.tpz" -o "$WORK/h2.npy" -q
python3 -c "import numpy as np,sys; a=np.load('$WORK/h.npy'); b=np.load('$WORK/h2.npy'); assert b.dtype==np.float16 and a.shape==b.shape and np.abs(a.astype(float)-b).max() < 0.05"
"$TPRESS" compress "$WORK/i.npy" -o "$WORK/i.tpz" --codec "int:bits=4" | grep -q 'stored losslessly'
"$TPRESS" decompress "$WORK/i.tpz" -o "$WORK/i2.npy" -q
cmp <(tail -c 800 "$WORK/i.npy") <(tail -c 800 "$WORK/i2.npy")
# info shows the canonical spec; --json parses.
"$TPRESS" info "$WORK/x.tpz" | grep -q 'fp16 | zstd:level=3'
"$TPRESS" info "$WORK/x.tpz" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["tensors"][0]["name"]=="x"'
