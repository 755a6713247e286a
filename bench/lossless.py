"""Same-process comparison for the lossless benchmark: tensorpress (through
the Python package, ctypes on build/libtpress.so; decoding into a reused
array, tp-py, and into a new one, tp-py-new), ZipNN (as it comes, and
zipnn-fresh: after malloc_trim, outside the timing, so that its new output
object lands in fresh pages like tp-py-new's), blosc2 (bitshuffle) and a
numpy copy as the memory baseline, on raw files.

Usage: python3 bench/lossless.py THREADS REPS FILE:DTYPE ...
The methods are timed round-robin (one call of each per repetition, after a
warm-up), so they see the same machine load seconds apart. Prints one line
per (file, method): name ratio R enc MED [MIN-MAX] dec MED [MIN-MAX] GB/s
flt F (GB = 1e9 uncompressed bytes; F = median page faults per decode call,
from getrusage: whether the output landed in fresh memory). Run
single-thread figures under taskset -c 1."""
import ctypes
import importlib.metadata
import os
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tensorpress as tp  # noqa: E402

NP_DTYPE = {"bf16": np.uint16, "f16": np.float16, "f32": np.float32}


def methods(dtype, threads, raw):
    """(name, encode, decode, encode needs a fresh copy of its input, untimed step before decode)"""
    import blosc2
    import zipnn
    out = []
    trim = ctypes.CDLL("libc.so.6").malloc_trim
    src = np.frombuffer(raw, NP_DTYPE[dtype])
    dst = np.empty_like(src)
    out.append(("numpy-copy", lambda a: np.copyto(dst, src) or raw, lambda c: np.copyto(dst, src), False, None))
    spec = f"lossless:threads={threads}"
    tbuf = np.empty_like(src)
    out.append(("tp-py", lambda a: tp.encode(src, spec, dtype=dtype), lambda c: tp.decode_into(c, tbuf), False, None))
    # the same, decoding into a new array each time (fresh pages)
    out.append(("tp-py-new", lambda a: tp.encode(src, spec, dtype=dtype),
                lambda c: tp.decode_into(c, np.empty_like(src)), False, None))
    bits = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[dtype]
    z = zipnn.ZipNN(input_format="byte", bytearray_dtype=bits, threads=threads)
    out.append(("zipnn", z.compress, z.decompress, True, None))  # rewrites its input: fresh copy per call
    # glibc often recycles freed memory for ZipNN's new output (no page faults); trimming first makes it fresh
    out.append(("zipnn-fresh", z.compress, z.decompress, True, lambda: trim(0)))
    blosc2.set_nthreads(threads)
    size = {"bf16": 2, "f16": 2, "f32": 4}[dtype]
    out.append(("blosc2-bs", lambda b: blosc2.compress(b, typesize=size, clevel=5, filter=blosc2.Filter.BITSHUFFLE,
                                                      codec=blosc2.Codec.ZSTD), blosc2.decompress, False, None))
    return out


def main():
    threads, reps = int(sys.argv[1]), int(sys.argv[2])
    import blosc2
    print(f"# zipnn {importlib.metadata.version('zipnn')} blosc2 {blosc2.__version__} numpy {np.__version__}")
    for arg in sys.argv[3:]:
        path, dtype = arg.split(":")
        raw = open(path, "rb").read()
        ms = methods(dtype, threads, raw)
        te = {m[0]: [] for m in ms}
        td = {m[0]: [] for m in ms}
        faults = {m[0]: [] for m in ms}
        comp = {}
        for r in range(reps + 1):
            for name, enc, dec, copy_in, prep in ms:
                a = bytearray(raw) if copy_in else raw
                t0 = time.perf_counter()
                c = enc(a)
                t1 = time.perf_counter()
                c = bytes(c) if not isinstance(c, bytes) else c
                if prep:
                    prep()
                f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                t2 = time.perf_counter()
                d = dec(c)
                t3 = time.perf_counter()
                f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                if r == 0:
                    comp[name] = len(c)
                    if name != "numpy-copy":
                        got = d.tobytes() if isinstance(d, np.ndarray) else bytes(d)
                        assert got == raw, name + " round trip failed"
                else:
                    te[name].append(t1 - t0)
                    td[name].append(t3 - t2)
                    faults[name].append(f1 - f0)
                del d  # the caller is done with it: its memory may serve the next call
        for name, *_ in ms:
            def fmt(ts):
                g = [len(raw) / t / 1e9 for t in ts]
                return f"{len(raw) / statistics.median(ts) / 1e9:.3f} [{min(g):.3f}-{max(g):.3f}]"
            print(f"{path} {name} ratio {len(raw) / comp[name]:.4f} enc {fmt(te[name])} dec {fmt(td[name])} GB/s "
                  f"flt {statistics.median(faults[name]):.0f}", flush=True)


if __name__ == "__main__":
    main()
