# Progressive archives from the CLI: info lists the layers, decompress
# --layers K gives an error that falls with K, a cut file shows its complete
# bases, compress --layers writes what the library writes. The archive is
# first written by tp_compress_progressive (through the Python package's
# ctypes handle).
. "$(dirname "$0")/lib.sh"
python3 - "$WORK" <<'PY'
import ctypes, os, sys
import numpy as np
root = os.getcwd()
sys.path.insert(0, os.path.join(root, "python"))
os.environ.setdefault("TPRESS_LIB", os.path.join(os.environ["TP_BUILD"], "libtpress.so"))
from tensorpress import _lib
w = sys.argv[1]
rng = np.random.default_rng(3)
np.save(w + "/x.npy", rng.standard_normal((96, 128)).astype(np.float32))
specs = [b"int:bits=2,group=32", b"int:bits=2,group=32", b"int:bits=4,group=32"]
c = (ctypes.c_char_p * 3)(*specs)
_lib.check(_lib.lib.tp_compress_progressive((w + "/x.npy").encode(), (w + "/x.tpz").encode(), c, 3, None, None, None,
                                            None), "compress")
PY
"$TPRESS" info "$WORK/x.tpz" >"$WORK/info.txt"
grep -q 'layer 0: .*int:bits=2' "$WORK/info.txt" || { cat "$WORK/info.txt"; fail "info lists no layer 0"; }
grep -q 'layer 2: .*int:bits=4' "$WORK/info.txt" || { cat "$WORK/info.txt"; fail "info lists no layer 2"; }
"$TPRESS" info "$WORK/x.tpz" --json | python3 -c '
import json, sys
t = json.load(sys.stdin)["tensors"][0]
assert t["n_layers"] == 3 and [l["layer"] for l in t["layers"]] == [0, 1, 2], t
s = [l["snr_db"] for l in t["layers"]]
assert s[0] < s[1] < s[2], s'
for k in 1 2 3 0; do
  "$TPRESS" decompress "$WORK/x.tpz" -o "$WORK/y$k.npy" --layers $k -q
done
python3 - "$WORK" <<'PY'
import numpy as np, sys
w = sys.argv[1]
x = np.load(w + "/x.npy").astype(np.float64)
snr = [10 * np.log10((x ** 2).sum() / ((x - np.load(f"{w}/y{k}.npy")) ** 2).sum()) for k in (1, 2, 3)]
assert 7 < snr[0] < snr[1] < snr[2], snr
assert snr[2] - snr[0] > 15, snr
assert np.array_equal(np.load(w + "/y0.npy"), np.load(w + "/y3.npy"))
PY
# A cut file: the full reader refuses it, info lists it from the early index.
head -c 3000 "$WORK/x.tpz" >"$WORK/cut.tpz"
expect_bad "$TPRESS" decompress "$WORK/cut.tpz" -o "$WORK/z.npy"
"$TPRESS" info "$WORK/cut.tpz" | grep -q 'partial file' || fail "info of a cut file says nothing about it"
# tpress compress --layers writes the same archive as the library call.
"$TPRESS" compress "$WORK/x.npy" -o "$WORK/c.tpz" -q -t 2 \
  --layers "int:bits=2,group=32; int:bits=2,group=32;int:bits=4,group=32"
cmp "$WORK/x.tpz" "$WORK/c.tpz" || fail "compress --layers differs from tp_compress_progressive"
"$TPRESS" compress "$WORK/x.npy" -o "$WORK/c.tpz" -f --json --layers "int:bits=2;int:bits=4" |
  python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["spec"] == "int:bits=2;int:bits=4", d'
# Bad options.
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/b.tpz" --layers "int:bits=2;;int:bits=4"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/b.tpz" --layers "int:bits=2;int:bits=9"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/b.tpz" --layers "int:bits=2;auto"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/b.tpz" --layers "int:bits=2" --codec "int:bits=4"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/b.tpz" --layers "int:bits=2" --target-mb 1
[ ! -e "$WORK/b.tpz" ] || fail "a refused compress left an output"
expect_bad "$TPRESS" decompress "$WORK/x.tpz" -o "$WORK/z.npy" --layers 17
expect_bad "$TPRESS" decompress "$WORK/x.tpz" -o "$WORK/z.npy" --layers two
