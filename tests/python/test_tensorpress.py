"""The Python package round-trips arrays and archives and raises clear errors."""
import os
import sys
import tempfile

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "python"))
os.environ.setdefault("TPRESS_LIB", os.path.join(os.environ.get("TP_BUILD", os.path.join(root, "build")), "libtpress.so"))
import tensorpress as tp  # noqa: E402

rng = np.random.default_rng(0)
x = rng.standard_normal((64, 96)).astype(np.float32)

# Lossless: bit-exact, any dtype.
for a in (x, x.astype(np.float16), x.astype(np.float64), np.arange(-7, 93, dtype=np.int16).reshape(10, 10)):
    assert np.array_equal(tp.decode(tp.encode(a, "zstd")), a)

# lossless: bf16 bits as uint16, decoded into a caller's buffer; the frame is
# the same bytes on every call through the reused encode buffer, and within
# the bound the library computes without encoding.
import ctypes  # noqa: E402
from tensorpress import _api  # noqa: E402
bits = (rng.standard_normal(200000).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
frame = tp.encode(bits, "lossless", dtype="bf16")
assert len(frame) < bits.nbytes * 0.8, len(frame)
out = np.empty_like(bits)
assert tp.decode_into(frame, out) is out and np.array_equal(out, bits)
assert tp.encode(bits, "lossless", dtype="bf16") == frame  # the buffer is reused
a, t = _api._tensor(bits)
t.dtype = _api._NAMED["bf16"]
pipe = ctypes.c_void_p()
_api.check(_api.lib.tp_pipeline_parse(b"lossless", ctypes.byref(pipe)), "spec")
assert _api._encode_frame(pipe, t) == frame
assert len(frame) <= _api.lib.tp_frame_bound(pipe, ctypes.byref(t))
_api.lib.tp_pipeline_free(pipe)

# int8: the frame is smaller than the input and the error small.
frame = tp.encode(x, "int:bits=8,group=32")
assert len(frame) < x.nbytes / 3.5, len(frame)
y = tp.decode(frame)
assert y.shape == x.shape and y.dtype == np.float32
snr = 10 * np.log10((x.astype(np.float64) ** 2).sum() / ((x - y).astype(np.float64) ** 2).sum())
assert snr > 40, snr
assert tp.frame_info(frame)["spec"].startswith("int:bits=8")

# bf16 comes back as float32 holding the bf16 values.
b = tp.decode(tp.encode(x, "bf16"))
assert b.dtype == np.float32 and np.abs(b - x).max() <= np.abs(x).max() * 2 ** -8

# Errors carry the library's detail.
try:
    tp.encode(x, "int:bits=9")
    raise AssertionError("bits=9 accepted")
except tp.TensorpressError as e:
    assert "bits=9" in str(e), e
try:
    tp.decode(frame[:-1])
    raise AssertionError("truncated frame accepted")
except tp.TensorpressError as e:
    assert "truncated" in str(e), e
# A flipped payload byte: decode reads the header without hashing, then the
# decode's own checksum refuses it (int frame: frame checksum; lossless
# frame: the chunk's checksum of its decoded bytes).
for fr in (frame, tp.encode(bits, "lossless", dtype="bf16")):
    bad = bytearray(fr)
    bad[len(bad) // 2] ^= 0x10
    try:
        tp.decode(bytes(bad))
        raise AssertionError("corrupted frame accepted")
    except tp.TensorpressError as e:
        assert "checksum" in str(e), e

# Archives.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "w.tpz")
    tp.save(path, {"a": x, "b": x[:3].astype(np.float16)}, "int:bits=4,group=32,search=1")
    back = tp.load(path)
    assert list(back) == ["a", "b"] and back["b"].dtype == np.float16
    with tp.Archive(path) as arc:
        rows = arc.entries()
        assert rows[0]["snr_db"] > 18 and rows[0]["frame_size"] < x.nbytes / 6
    # The same policy as `tpress compress`: integer and 1-D tensors lossless.
    sd = {"w": x, "position_ids": np.arange(512, dtype=np.int64)[None], "ln.weight": x[0, :64].copy()}
    tp.save(path, sd, "kq:bits=4")
    with tp.Archive(path) as arc:
        specs = {r["name"]: r["spec"] for r in arc.entries()}
    assert specs["w"].startswith("kq:bits=4") and all(specs[k].startswith("lossless:") for k in ("position_ids", "ln.weight")), specs
    back = tp.load(path)
    assert np.array_equal(back["position_ids"], sd["position_ids"]) and np.array_equal(back["ln.weight"], sd["ln.weight"])
    assert {c["name"] for c in tp.codecs()} >= {"int", "fp16", "bf16", "zstd"}
print("ok")
