# The lossless codec on real weights: all-MiniLM-L6-v2 as shipped (FP32)
# and converted to BF16 and FP16 comes back bit-exactly (names, dtypes,
# shapes, bytes) through `tpress compress --codec lossless` + `decompress`.
. "$(dirname "$0")/lib.sh"
model=$("$(dirname "$0")/../../scripts/minilm_path.sh")
python3 - "$model" "$WORK" <<'PY'
import json, struct, sys
import numpy as np
src, out = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
head = json.loads(b[8:8 + n])
def write(path, conv, tag):
    meta, blobs, off = {}, [], 0
    for k, v in head.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw, dt = b[8 + n + s:8 + n + e], v["dtype"]
        if dt == "F32":
            raw, dt = conv(np.frombuffer(raw, np.float32)), tag
        meta[k] = {"dtype": dt, "shape": v["shape"], "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(meta).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
def bf16(x):  # round to nearest even on the bits
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7fff + ((u >> 16) & 1)) >> 16).astype(np.uint16).tobytes()
write(out + "/bf16.safetensors", bf16, "BF16")
write(out + "/f16.safetensors", lambda x: x.astype(np.float16).tobytes(), "F16")
PY
cp "$model" "$WORK/f32.safetensors"
for v in f32 bf16 f16; do
  "$TPRESS" compress "$WORK/$v.safetensors" -o "$WORK/$v.tpz" --codec lossless -q
  "$TPRESS" decompress "$WORK/$v.tpz" -o "$WORK/$v.out.safetensors" -q
  python3 - "$WORK/$v.safetensors" "$WORK/$v.out.safetensors" "$WORK/$v.tpz" "$v" <<'PY'
import json, os, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in h.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert len(a) >= 100 and set(a) == set(b), "tensor names differ"
for k in a:
    assert a[k] == b[k], f"{k} differs after the round trip"
raw = sum(len(t[2]) for t in a.values())
size = os.path.getsize(sys.argv[3])
print(f"{sys.argv[4]}: {len(a)} tensors bit-exact, {raw} -> {size} bytes ({raw / size:.4f}x)")
assert raw / size > {"f32": 1.15, "bf16": 1.4, "f16": 1.12}[sys.argv[4]], raw / size
PY
done
