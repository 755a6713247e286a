# `tpress compress --importance FILE`: a per-column importance vector from a
# .safetensors (by tensor name) or a .npy (by column count) lowers the error
# on the columns it emphasises, leaves tensors without one byte-identical,
# and bad files fail with one error line, exit 2 and no output file.
. "$(dirname "$0")/lib.sh"
python3 - "$WORK" <<'PY'
import sys
import numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
rng = np.random.default_rng(7)
a = rng.standard_normal((32, 256)).astype(np.float32)
emph = (np.arange(256) % 16) < 4
a[:, emph] *= 0.2          # small columns that matter
b = rng.standard_normal((16, 64)).astype(np.float32)
save_file({"a": a, "a.bias": rng.standard_normal(256).astype(np.float32), "b": b}, f"{d}/m.safetensors")
imp = np.where(emph, 100.0, 1.0).astype(np.float32)
save_file({"a": imp}, f"{d}/imp.safetensors")
np.save(f"{d}/imp.npy", imp)
np.save(f"{d}/emph.npy", emph)
save_file({"a": imp[:255]}, f"{d}/short.safetensors")
save_file({"a": imp.astype(np.float64)}, f"{d}/f64.safetensors")
save_file({"a": imp.astype(np.float16)}, f"{d}/f16.safetensors")
save_file({"a": np.tile(imp, (2, 1))}, f"{d}/twod.safetensors")
save_file({"zz": imp}, f"{d}/unknown.safetensors")
neg = imp.copy(); neg[3] = -1
save_file({"a": neg}, f"{d}/neg.safetensors")
save_file({"a": np.zeros(256, np.float32)}, f"{d}/zero.safetensors")
np.save(f"{d}/cols100.npy", np.ones(100, np.float32))
open(f"{d}/garbage.safetensors", "wb").write(b"not a tensor file at all")
PY
m="$WORK/m.safetensors"
for spec in "kq:bits=3" "kmeans:bits=3" "int:bits=3,group=32,search=1"; do
  "$TPRESS" compress "$m" -o "$WORK/plain.tpz" --codec "$spec" -q -f || fail "compress $spec"
  "$TPRESS" compress "$m" -o "$WORK/st.tpz" --codec "$spec" --importance "$WORK/imp.safetensors" -q -f \
    || fail "compress $spec --importance .safetensors"
  "$TPRESS" compress "$m" -o "$WORK/np.tpz" --codec "$spec" --importance "$WORK/imp.npy" -q -f \
    || fail "compress $spec --importance .npy"
  for x in plain st np; do
    "$TPRESS" decompress "$WORK/$x.tpz" -o "$WORK/$x.safetensors" -q -f || fail "decompress $x ($spec)"
  done
  python3 - "$WORK" "$spec" <<'PY' || fail "importance effect ($spec)"
import sys
import numpy as np
from safetensors.numpy import load_file
d, spec = sys.argv[1], sys.argv[2]
ref = load_file(f"{d}/m.safetensors")
emph = np.load(f"{d}/emph.npy")
got = {x: load_file(f"{d}/{x}.safetensors") for x in ("plain", "st", "np")}
err = {x: float(((ref["a"] - g["a"])[:, emph] ** 2).sum()) for x, g in got.items()}
print(f"  {spec}: emphasised-column SSE plain {err['plain']:.4g}, weighted {err['st']:.4g}")
assert err["st"] < 0.8 * err["plain"], err
assert np.array_equal(got["st"]["a"], got["np"]["a"])       # same vector, both file kinds
assert np.array_equal(got["st"]["b"], got["plain"]["b"])    # no entry: unweighted fit
PY
done

out="$WORK/bad.tpz"
for f in short f64 f16 twod unknown neg zero garbage; do
  expect_bad "$TPRESS" compress "$m" -o "$out" --codec kq:bits=3 --importance "$WORK/$f.safetensors"
  [ ! -e "$out" ] || fail "--importance $f.safetensors left $out"
done
expect_bad "$TPRESS" compress "$m" -o "$out" --codec kq:bits=3 --importance "$WORK/cols100.npy"
expect_bad "$TPRESS" compress "$m" -o "$out" --codec kq:bits=3 --importance "$WORK/missing.safetensors"
expect_bad "$TPRESS" compress "$m" -o "$out" --codec kq:bits=3 --importance
[ ! -e "$out" ] || fail "a failed --importance left $out"
ls "$WORK" | grep -q '^bad\.tpz' && fail "a failed --importance left a temporary file"
# the messages say what is wrong
msg() { "$TPRESS" compress "$m" -o "$out" --codec kq:bits=3 --importance "$WORK/$1" 2>&1 >/dev/null || true; }
msg short.safetensors | grep -q "has 255 values, the tensor has 256 columns" || fail "length message: $(msg short.safetensors)"
msg f64.safetensors | grep -q "is f64; it must be f32" || fail "dtype message: $(msg f64.safetensors)"
msg unknown.safetensors | grep -q "'zz' names no tensor" || fail "name message: $(msg unknown.safetensors)"
msg cols100.npy | grep -q "no tensor of the input has 100 columns" || fail "npy message: $(msg cols100.npy)"
