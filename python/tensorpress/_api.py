"""numpy in, numpy out: frames and .tpz archives."""
import ctypes
import threading

import numpy as np

from ._lib import ArchiveEntry, CompressOptions, FrameInfo, MAX_DIMS, Tensor, check, lib

# tp_dtype codes (pinned in include/tpress.h) <-> numpy dtypes. bf16 has no
# numpy dtype: it is handed out as float32 (exact widening).
_TO_TP = {np.dtype(np.float32): 1, np.dtype(np.float16): 2, np.dtype(np.float64): 4, np.dtype(np.int8): 5,
          np.dtype(np.uint8): 6, np.dtype(np.int16): 7, np.dtype(np.uint16): 8, np.dtype(np.int32): 9,
          np.dtype(np.uint32): 10, np.dtype(np.int64): 11, np.dtype(np.uint64): 12, np.dtype(np.bool_): 13}
_FROM_TP = {v: k for k, v in _TO_TP.items()}
_BF16 = 3


def _tensor(array):
    a = np.ascontiguousarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    if a.dtype not in _TO_TP:
        raise TypeError(f"dtype {a.dtype} is not supported")
    if a.ndim > MAX_DIMS:
        raise ValueError(f"at most {MAX_DIMS} dimensions")
    t = Tensor(_TO_TP[a.dtype], a.ndim)
    for i, d in enumerate(a.shape):
        t.shape[i] = d
    t.data = a.ctypes.data if a.size else None
    return a, t


def _empty(dtype_code, shape):
    if dtype_code == _BF16:
        return np.empty(shape, np.uint16)
    return np.empty(shape, _FROM_TP[dtype_code])


def _finish(buf, dtype_code):
    if dtype_code == _BF16:
        return (buf.astype(np.uint32) << 16).view(np.float32)
    return buf


# dtype names accepted by encode(dtype=...): raw bits of that type in an
# array of the same item size (bf16 weights as a uint16 array).
_NAMED = {"f32": 1, "f16": 2, "bf16": 3, "f64": 4, "i8": 5, "u8": 6, "i16": 7, "u16": 8, "i32": 9, "u32": 10,
          "i64": 11, "u64": 12}
_NAMED_SIZE = {1: 4, 2: 2, 3: 2, 4: 8, 5: 1, 6: 1, 7: 2, 8: 2, 9: 4, 10: 4, 11: 8, 12: 8}


# Frames are first written into a per-thread buffer that is kept between
# calls (up to _SCRATCH_MAX bytes): a fresh buffer of the frame's bound
# costs a page fault per 4 KiB written, more than the encoding itself on
# fast codecs; the frame is then copied once into its bytes object.
_SCRATCH_MAX = 1 << 30
_scratch = threading.local()


def _scratch_buffer(size):
    buf = getattr(_scratch, "buf", None)
    if buf is not None and buf.size >= size:
        return buf
    buf = np.empty(size, np.uint8)
    if size <= _SCRATCH_MAX:
        _scratch.buf = buf
    return buf


def _encode_frame(pipe, t):
    # tp_frame_bound comes from the stages' bounds alone (no encode)
    cap = check(lib.tp_frame_bound(pipe, ctypes.byref(t)), "encode")
    buf = _scratch_buffer(cap)
    n = check(lib.tp_frame_encode(pipe, ctypes.byref(t), None, buf.ctypes.data, cap), "encode")
    return buf[:n].tobytes()


def encode(array, spec="int:bits=8,group=32", dtype=None):
    """Compresses one array through a pipeline spec; returns the frame bytes.
    dtype (e.g. "bf16") reinterprets the array's bits as that type; its item
    size must match. The array is read in place when it is contiguous and
    little-endian (no copy). Each thread keeps the buffer frames are
    encoded into (the largest so far, up to 1 GiB) for its next call."""
    a, t = _tensor(array)
    if dtype is not None:
        code = _NAMED[dtype]
        if a.dtype.itemsize != _NAMED_SIZE[code]:
            raise TypeError(f"dtype {dtype} needs {_NAMED_SIZE[code]}-byte items, the array has {a.dtype.itemsize}")
        t.dtype = code
    pipe = ctypes.c_void_p()
    check(lib.tp_pipeline_parse(spec.encode(), ctypes.byref(pipe)), "spec")
    try:
        return _encode_frame(pipe, t)
    finally:
        lib.tp_pipeline_free(pipe)


def frame_info(frame):
    """Header of a frame: dtype, shape, sizes and the canonical spec."""
    info = FrameInfo()
    check(lib.tp_frame_inspect(frame, len(frame), ctypes.byref(info)), "frame")
    return {"shape": tuple(info.shape[i] for i in range(info.ndim)), "dtype_code": info.dtype,
            "nbytes": info.nbytes, "frame_size": info.frame_size, "spec": info.spec.decode()}


def decode_into(frame, out):
    """Decodes a frame into the writable contiguous array out (exactly the
    frame's byte size, any dtype: bf16 stays raw bits); returns out. If it
    raises, out holds unspecified bytes (a lossless payload is verified
    chunk by chunk as it decodes)."""
    check(lib.tp_frame_decode(frame, len(frame), out.ctypes.data, out.nbytes), "decode")
    return out


def decode(frame):
    """Decodes a frame into a new array of its original shape and dtype."""
    info = FrameInfo()
    check(lib.tp_frame_header(frame, len(frame), ctypes.byref(info)), "frame")  # decode verifies the checksum
    buf = _empty(info.dtype, tuple(info.shape[i] for i in range(info.ndim)))
    check(lib.tp_frame_decode(frame, len(frame), buf.ctypes.data, buf.nbytes), "decode")
    return _finish(buf, info.dtype)


def save(path, tensors, spec="int:bits=8,group=32", quantize_1d=False, threads=0):
    """Writes a dict name -> array into a .tpz archive (atomically), with the
    same policy as `tpress compress`: spec "auto" chooses per tensor; integer
    tensors, tensors with NaN/Inf and 1-D tensors (unless quantize_1d) are
    stored losslessly. Each tensor is decoded again and its measured error
    stored in the index. threads: tensors encoded at once (0: all cores)."""
    names = list(tensors)
    views = [_tensor(tensors[n]) for n in names]  # (array kept alive, tp_tensor)
    c_names = (ctypes.c_char_p * max(len(names), 1))(*[n.encode() for n in names])
    c_tensors = (Tensor * max(len(names), 1))(*[t for _, t in views])
    opt = CompressOptions(spec=spec.encode(), threads=threads, quantize_1d=int(bool(quantize_1d)))
    check(lib.tp_compress_tensors(len(names), c_names, c_tensors, str(path).encode(), ctypes.byref(opt),
                                  None, None, None), str(path))


class Archive:
    """A .tpz archive opened read-only (memory-mapped); tensors decode on access.
    partial=True also opens a streaming archive that is cut short (a download
    in progress): every tensor is listed, those whose base layer is in the
    file decode from it, the others raise."""

    def __init__(self, path, partial=False):
        self._h = ctypes.c_void_p()
        opener = lib.tp_archive_open_partial if partial else lib.tp_archive_open
        check(opener(str(path).encode(), ctypes.byref(self._h)), str(path))

    def close(self):
        if self._h:
            lib.tp_archive_close(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __len__(self):
        return lib.tp_archive_count(self._h)

    def _entry(self, i) -> ArchiveEntry:
        return lib.tp_archive_entry_at(self._h, i).contents

    def names(self):
        return [self._entry(i).name.decode() for i in range(len(self))]

    @property
    def partial(self):
        """True when opened from the early index of a cut streaming archive."""
        return bool(lib.tp_archive_is_partial(self._h))

    @property
    def metadata(self):
        """The archive's metadata JSON text, or None."""
        m = lib.tp_archive_metadata(self._h)
        return m.decode() if m is not None else None

    def layers(self, name):
        """Layers of tensor name that can be decoded (0: not in a partial file yet)."""
        return lib.tp_archive_layer_count(self._h, check(lib.tp_archive_find(self._h, name.encode()), name))

    def entries(self):
        """Index rows: name, shape, spec, sizes, stored error metrics and, for
        a layered tensor, one row per layer (bytes, spec, SNR of the layers
        up to it summed)."""
        out = []
        for i in range(len(self)):
            e = self._entry(i)
            row = {"name": e.name.decode(), "shape": tuple(e.shape[k] for k in range(e.ndim)),
                   "spec": e.spec.decode(), "frame_size": e.frame_size, "raw_size": e.raw_size,
                   "snr_db": e.metrics.snr_db, "max_abs": e.metrics.max_abs, "n_layers": e.n_layers,
                   "layers": []}
            for k in range(lib.tp_archive_layer_count(self._h, i)):
                le = lib.tp_archive_layer_at(self._h, i, k).contents
                row["layers"].append({"layer": k, "spec": le.spec.decode(), "frame_size": le.frame_size,
                                      "snr_db": le.metrics.snr_db})
            out.append(row)
        return out

    def get(self, name, layers=None):
        """Tensor name decoded from its first `layers` layers summed (None or
        0: all it has; more than it has: all)."""
        i = check(lib.tp_archive_find(self._h, name.encode()), name)
        e = self._entry(i)
        buf = _empty(e.dtype, tuple(e.shape[k] for k in range(e.ndim)))
        check(lib.tp_archive_decode_layers(self._h, i, int(layers or 0), buf.ctypes.data, buf.nbytes), name)
        return _finish(buf, e.dtype)

    def __getitem__(self, name):
        return self.get(name)


def load(path, layers=None, partial=False):
    """Decodes every tensor of a .tpz archive: dict name -> array. layers=K
    sums only the first K layers of each tensor of a progressive archive
    (`tpress compress --layers`; None: all). partial=True reads a streaming
    archive cut short and returns the tensors whose base layer it holds."""
    with Archive(path, partial=partial) as a:
        names = a.names()
        if partial:
            names = [n for n in names if a.layers(n) > 0]
        return {name: a.get(name, layers) for name in names}
