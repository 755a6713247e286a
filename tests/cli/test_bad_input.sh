# Bad input: one error line on stderr, exit 2, no output file left behind.
. "$(dirname "$0")/lib.sh"
python3 -c "import numpy as np; np.save('$WORK/x.npy', np.linspace(-1, 1, 4096, dtype=np.float32).reshape(64, 64))"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/o.tpz" --codec "nope"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/o.tpz" --codec "int:bits=9"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/o.tpz" --codec "int:group=-1"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/o.tpz" --codec "int:bits=4,group=32,axis=0"
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/o.tpz" --threads 0
expect_bad "$TPRESS" compress "$WORK/missing.npy" -o "$WORK/o.tpz"
[ ! -e "$WORK/o.tpz" ] || fail "output left behind"
# A bad .npy header (Fortran order) and a truncated .npy.
python3 -c "import numpy as np; np.save('$WORK/f.npy', np.asfortranarray(np.ones((3, 4), np.float32)))"
expect_bad "$TPRESS" compress "$WORK/f.npy" -o "$WORK/o.tpz"
head -c 100 "$WORK/x.npy" >"$WORK/t.npy"
expect_bad "$TPRESS" compress "$WORK/t.npy" -o "$WORK/o.tpz"
printf 'garbage' >"$WORK/g.safetensors"
expect_bad "$TPRESS" compress "$WORK/g.safetensors" -o "$WORK/o.tpz"
[ -z "$(ls "$WORK" | grep -E 'o\.tpz')" ] || fail "partial output left: $(ls "$WORK")"
# Existing output is not overwritten without --force.
"$TPRESS" compress "$WORK/x.npy" -o "$WORK/good.tpz" -q
expect_bad "$TPRESS" compress "$WORK/x.npy" -o "$WORK/good.tpz"
# Truncated and bit-flipped archives are rejected by info and decompress.
size=$(stat -c %s "$WORK/good.tpz")
for cut in 0 1 63 64 100 $((size / 2)) $((size - 33)) $((size - 1)); do
  head -c "$cut" "$WORK/good.tpz" >"$WORK/cut.tpz"
  expect_bad "$TPRESS" info "$WORK/cut.tpz"
  expect_bad "$TPRESS" decompress "$WORK/cut.tpz" -o "$WORK/cut.npy"
  [ ! -e "$WORK/cut.npy" ] || fail "output left after truncation at $cut"
done
for pos in 10 70 200 $((size - 40)) $((size - 10)); do
  cp "$WORK/good.tpz" "$WORK/flip.tpz"
  python3 -c "
import sys; p, k = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, 'rb').read()); b[k] ^= 0x10; open(p, 'wb').write(b)" "$WORK/flip.tpz" "$pos"
  expect_bad "$TPRESS" decompress "$WORK/flip.tpz" -o "$WORK/flip.npy"
  [ ! -e "$WORK/flip.npy" ] || fail "output left after bit flip at $pos"
done
ls "$WORK" | grep -q '\.tmp\.' && fail "temporary file left: $(ls "$WORK")"
exit 0
