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
       TYPE may be MIX:BASE:MORE, llama.cpp's _M rule for types the gguf
       package can quantize: the embeddings, and attn_v/ffn_down in the
       layers llama.cpp's use_more_bits picks (the first and last eighth and
       every third between), get MORE; the other matrices BASE.
"""
import json, sys
import numpy as np
import gguf
from gguf import quants
from safetensors.numpy import load_file, save_file

import re

src, dst, tname = sys.argv[1:4]
tensors = load_file(src)
if tname.startswith("MIX:"):
    _, base_name, more_name = tname.split(":")
else:
    base_name = more_name = tname
base, more = gguf.GGMLQuantizationType[base_name], gguf.GGMLQuantizationType[more_name]
layers = 1 + max([int(m.group(1)) for n in tensors for m in [re.search(r"layer\.(\d+)\.|blk\.(\d+)\.", n)] if m and m.group(1)]
                 or [0])


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def type_for(name):
    if "embed" in name or "token_embd" in name or name == "output.weight":
        return more
    m = re.search(r"(?:layer|blk)\.(\d+)\.", name)
    down_or_v = re.search(r"attention\.self\.value|attn_v|\.output\.dense|ffn_down", name) and "attention.output" not in name
    if m and down_or_v and use_more_bits(int(m.group(1)), layers):
        return more
    return base


out, nbytes, values, n_q, n_kept = {}, 0, 0, 0, 0
for name, x in tensors.items():
    values += x.size
    qt = type_for(name)
    block, _ = gguf.GGML_QUANT_SIZES[qt]
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
