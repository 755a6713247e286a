# tpress image: PNG/JPEG in, .tpz out, PNG back; bad input rejected with
# one error line and no output left.
. "$(dirname "$0")/lib.sh"
python3 - "$WORK" <<'PY'
import sys, zlib, struct
import numpy as np
work = sys.argv[1]
def png(path, arr):
    h, w = arr.shape[:2]
    ct = 0 if arr.ndim == 2 else 2
    raw = b''.join(b'\x00' + arr[y].tobytes() for y in range(h))
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ct, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
y, x = np.mgrid[0:45, 0:61]
g = (128 + 80 * np.sin(x / 7.0) * np.cos(y / 5.0)).astype(np.uint8)
png(f'{work}/g.png', g)
rgb = np.stack([g, g[::-1], 255 - g], axis=2).copy()
png(f'{work}/c.png', rgb)
png(f'{work}/one.png', np.array([[200]], np.uint8))
PY
"$TPRESS" image --help | grep -q "image compress" || fail "help"
for f in g c one; do
  "$TPRESS" image compress "$WORK/$f.png" -o "$WORK/$f.tpz" >"$WORK/out.txt"
  grep -q "PSNR" "$WORK/out.txt" || fail "no PSNR in report: $(cat "$WORK/out.txt")"
  "$TPRESS" image decompress "$WORK/$f.tpz" -o "$WORK/$f.out.png" -q
  [ -s "$WORK/$f.out.png" ] || fail "no PNG written for $f"
done
"$TPRESS" info "$WORK/c.tpz" | grep -q dct2d || fail "info does not show dct2d"
# The decoded PNG reads back with the same size, close to the original.
python3 - "$WORK" <<'PY'
import sys, zlib, struct
import numpy as np
work = sys.argv[1]
def read_png(path):
    b = open(path, 'rb').read(); pos = 8; idat = b''; w = h = ct = 0
    while pos < len(b):
        n, t = struct.unpack('>I4s', b[pos:pos + 8]); d = b[pos + 8:pos + 8 + n]; pos += 12 + n
        if t == b'IHDR': w, h, _, ct = struct.unpack('>IIBB', d[:10])
        elif t == b'IDAT': idat += d
    c = 3 if ct == 2 else 1
    raw = zlib.decompress(idat); stride = w * c; out = np.zeros((h, stride), np.int32); prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]; row = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - c] if i >= c else 0; up = prev[i]; ul = prev[i - c] if i >= c else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = up
            elif f == 3: p = (a + up) // 2
            else:
                pa, pb, pc = abs(up - ul), abs(a - ul), abs(a + up - 2 * ul)
                p = a if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            cur[i] = (row[i] + p) & 255
        out[y] = cur; prev = cur
    return out.reshape(h, w, c) if c == 3 else out
for f in ['g', 'c']:
    a = read_png(f'{work}/{f}.png').astype(float); b = read_png(f'{work}/{f}.out.png').astype(float)
    assert a.shape == b.shape, (a.shape, b.shape)
    psnr = 10 * np.log10(255 ** 2 / np.mean((a - b) ** 2))
    assert psnr > 30, (f, psnr)
assert read_png(f'{work}/one.out.png').shape == (1, 1)
PY
# A JPEG input when cjpeg is present.
if command -v cjpeg >/dev/null; then
  python3 -c "
import numpy as np
y, x = np.mgrid[0:40, 0:50]; g = (128 + 60 * np.sin(x / 6.0)).astype(np.uint8)
open('$WORK/g.pgm', 'wb').write(b'P5 50 40 255\n' + g.tobytes())"
  cjpeg -quality 90 "$WORK/g.pgm" >"$WORK/g.jpg"
  "$TPRESS" image compress "$WORK/g.jpg" -o "$WORK/j.tpz" -q
fi
# Bad input: one line, exit 2, nothing left behind.
printf 'not an image' >"$WORK/bad.png"
expect_bad "$TPRESS" image compress "$WORK/bad.png" -o "$WORK/bad.tpz"
head -c 60 "$WORK/g.png" >"$WORK/trunc.png"
expect_bad "$TPRESS" image compress "$WORK/trunc.png" -o "$WORK/bad.tpz"
printf '\xff\xd8\xff\xe0garbage' >"$WORK/bad.jpg"
expect_bad "$TPRESS" image compress "$WORK/bad.jpg" -o "$WORK/bad.tpz"
expect_bad "$TPRESS" image compress "$WORK/missing.png" -o "$WORK/bad.tpz"
expect_bad "$TPRESS" image compress "$WORK/g.png" -o "$WORK/bad.tpz" --codec "dct2d:block=99"
expect_bad "$TPRESS" image compress "$WORK/g.png" -o "$WORK/bad.tpz" --codec "tokdct"
expect_bad "$TPRESS" image compress "$WORK/g.png" -o "$WORK/g.tpz"
expect_bad "$TPRESS" image compress "$WORK/g.png"
expect_bad "$TPRESS" image frobnicate
[ ! -e "$WORK/bad.tpz" ] || fail "output left behind"
expect_bad "$TPRESS" image decompress "$WORK/g.tpz" -o "$WORK/g.out.png"
expect_bad "$TPRESS" image decompress "$WORK/g.tpz" -o "$WORK/x.jpg"
head -c 100 "$WORK/g.tpz" >"$WORK/cut.tpz"
expect_bad "$TPRESS" image decompress "$WORK/cut.tpz" -o "$WORK/cut.png"
python3 -c "import numpy as np; np.save('$WORK/f.npy', np.ones((4, 4), np.float32))"
"$TPRESS" compress "$WORK/f.npy" -o "$WORK/f.tpz" -q
expect_bad "$TPRESS" image decompress "$WORK/f.tpz" -o "$WORK/f.png"
[ ! -e "$WORK/cut.png" ] && [ ! -e "$WORK/f.png" ] || fail "PNG left after failure"
ls "$WORK" | grep -q '\.tmp\.' && fail "temporary file left: $(ls "$WORK")"
exit 0
