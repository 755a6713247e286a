#!/usr/bin/env python3
"""Peer for bench/eval.sh: applies a llama.cpp quantization format to a
safetensors model with the PyPI package `gguf` (gguf.quants.quantize, then
dequantize) and writes the dequantized weights as a safetensors file that
`tpress eval` reads like any candidate.

As llama.cpp does, 2-D float tensors whose rows split into whole blocks are
quantized; 1-D tensors (biases, LayerNorm) and the rest stay as they are.
Prints one JSON line: bits per weight = 8 * (quantized bytes of the
quantized tensors + raw bytes of the others) / all values (tensor data only,
no GGUF header), and which tensors were quantized.

usage: gguf_peer.py IN.safetensors OUT.safetensors TYPE   (TYPE e.g. Q4_0)
"""
import json, sys
import numpy as np
import gguf
from gguf import quants
from safetensors.numpy import load_file, save_file

src, dst, tname = sys.argv[1:4]
qt = gguf.GGMLQuantizationType[tname]
block, _ = gguf.GGML_QUANT_SIZES[qt]
tensors = load_file(src)
out, nbytes, values, n_q, n_kept = {}, 0, 0, 0, 0
for name, x in tensors.items():
    values += x.size
    if x.dtype == np.float32 and x.ndim == 2 and x.shape[-1] % block == 0:
        q = quants.quantize(x, qt)
        out[name] = quants.dequantize(q, qt).astype(np.float32).reshape(x.shape)
        nbytes += q.nbytes
        n_q += 1
    else:
        out[name] = x
        nbytes += x.nbytes
        n_kept += 1
save_file(out, dst)
print(json.dumps({"type": tname, "gguf_version": __import__("importlib.metadata").metadata.version("gguf"),
                  "bits_per_weight": 8.0 * nbytes / values, "quantized_tensors": n_q, "kept_tensors": n_kept}))
