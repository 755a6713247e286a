"""Peers for the lossless benchmark: ZipNN and blosc2 (bitshuffle) on raw files.

Usage: python3 bench/lossless.py THREADS REPS FILE:DTYPE ...
Prints one line per (file, peer): name ratio enc dec GB/s (medians after a
warm-up; GB = 1e9 uncompressed bytes). Single-thread figures are meant to run
under `taskset -c 1`."""
import statistics
import sys
import time



def timeit(fn, arg, reps):
    """Median time of fn(copy of arg): ZipNN rewrites its input buffer in
    place, so every call gets a fresh copy made outside the timed region."""
    fn(bytearray(arg))
    ts = []
    for _ in range(reps):
        a = bytearray(arg)
        t0 = time.perf_counter()
        out = fn(a)
        ts.append(time.perf_counter() - t0)
    return out, statistics.median(ts)


def zipnn_codec(dtype, threads):
    import zipnn
    bits = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[dtype]
    z = zipnn.ZipNN(input_format="byte", bytearray_dtype=bits, threads=threads)
    return z.compress, z.decompress


def blosc2_codec(dtype, threads):
    import blosc2
    blosc2.set_nthreads(threads)
    size = {"bf16": 2, "f16": 2, "f32": 4}[dtype]
    def enc(b):
        return blosc2.compress(b, typesize=size, clevel=5, filter=blosc2.Filter.BITSHUFFLE, codec=blosc2.Codec.ZSTD)
    return enc, blosc2.decompress


def main():
    threads, reps = int(sys.argv[1]), int(sys.argv[2])
    import zipnn, blosc2
    print(f"# zipnn {getattr(zipnn, '__version__', '?')} blosc2 {blosc2.__version__}")
    for arg in sys.argv[3:]:
        path, dtype = arg.split(":")
        raw = open(path, "rb").read()
        for name, mk in (("zipnn", zipnn_codec), ("blosc2-bs", blosc2_codec)):
            enc, dec = mk(dtype, threads)
            c, te = timeit(enc, raw, reps)
            c = bytes(c)
            d, td = timeit(dec, c, reps)
            assert bytes(d) == raw, name + " round trip failed"
            print(f"{path} {name} ratio {len(raw)/len(c):.4f} enc {len(raw)/te/1e9:.3f} dec {len(raw)/td/1e9:.3f} GB/s", flush=True)


if __name__ == "__main__":
    main()
