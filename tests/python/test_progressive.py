"""tensorpress.load(path, layers=K) on a progressive archive: the error falls
with K, K=None gives every layer, and a cut file loads its complete bases."""
import ctypes
import os
import sys
import tempfile

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(root, "python"))
os.environ.setdefault("TPRESS_LIB", os.path.join(os.environ.get("TP_BUILD", os.path.join(root, "build")), "libtpress.so"))
import tensorpress as tp  # noqa: E402
from tensorpress import _lib  # noqa: E402


def snr(x, y):
    x = x.astype(np.float64)
    return 10 * np.log10((x ** 2).sum() / ((x - y) ** 2).sum())


rng = np.random.default_rng(5)
x = rng.standard_normal((128, 64)).astype(np.float32)
specs = [b"int:bits=2,group=32", b"int:bits=3,group=32", b"int:bits=4,group=32"]
with tempfile.TemporaryDirectory() as d:
    src, path = os.path.join(d, "x.npy"), os.path.join(d, "x.tpz")
    np.save(src, x)
    c_specs = (ctypes.c_char_p * len(specs))(*specs)
    _lib.check(_lib.lib.tp_compress_progressive(src.encode(), path.encode(), c_specs, len(specs), None, None, None,
                                                None), path)
    got = [tp.load(path, layers=k)["x"] for k in (1, 2, 3)]
    s = [snr(x, g) for g in got]
    assert s[0] < s[1] < s[2] and s[0] > 7, s
    assert np.array_equal(tp.load(path)["x"], got[2])
    assert np.array_equal(tp.load(path, layers=9)["x"], got[2])
    with tp.Archive(path) as a:
        assert a.layers("x") == 3 and not a.partial and a.metadata is None
        rows = a.entries()[0]["layers"]
        assert [r["layer"] for r in rows] == [0, 1, 2], rows
        assert abs(rows[1]["snr_db"] - s[1]) < 1e-9, (rows, s)
    # A download cut just after the base layer: the base loads, nothing more.
    data = open(path, "rb").read()
    with tp.Archive(path) as a:
        e = _lib.lib.tp_archive_entry_at(a._h, 0).contents
        base_end = e.offset + e.frame_size
    cut = os.path.join(d, "cut.tpz")
    open(cut, "wb").write(data[:base_end + 10])
    try:
        tp.load(cut)
        raise AssertionError("a cut archive loaded as complete")
    except tp.TensorpressError as err:
        assert "truncated" in str(err), err
    part = tp.load(cut, partial=True)
    assert list(part) == ["x"] and np.array_equal(part["x"], got[0])
    open(cut, "wb").write(data[:base_end - 1])
    assert tp.load(cut, partial=True) == {}
    with tp.Archive(cut, partial=True) as a:
        assert a.partial and a.layers("x") == 0
        try:
            a["x"]
            raise AssertionError("an incomplete base decoded")
        except tp.TensorpressError as err:
            assert "truncated" in str(err), err
print("ok")
