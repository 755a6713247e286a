#!/usr/bin/env python3
"""Per-column importance ("imatrix") of all-MiniLM-L6-v2's linear layers.

usage: scripts/minilm_imatrix.py MODEL.safetensors HIDDEN_DIR OUT.safetensors

HIDDEN_DIR is the output of `tpress dump MODEL --what hidden --text FILE -o
HIDDEN_DIR` on calibration text. For each linear layer W [out, in] the
importance of input column c is mean over tokens of x_c^2, x being the
layer's input (what llama.cpp's llama-imatrix accumulates). hidden_LL is
the input of layer LL's query/key/value; the inputs of the other three
linears of a layer are recomputed here from it with numpy (post-LN BERT,
exact-erf GELU), and each layer's recomputed output is checked against
hidden_LL+1. Output: one f32 vector per weight, for `tpress compress
--importance OUT.safetensors`."""
import math
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

model, hid, out = sys.argv[1:4]
W = load_file(model)
starts = np.load(f"{hid}/starts.npy")
heads = 12
erf = np.frompyfunc(math.erf, 1, 1)


def layer_norm(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-12) * g + b


def lin(x, name):
    return x @ W[name + ".weight"].T + W[name + ".bias"]


imp = {}
for layer in range(6):
    p = f"encoder.layer.{layer}."
    x = np.load(f"{hid}/hidden_{layer:02d}.npy").astype(np.float64)
    q, k, v = (lin(x, p + "attention.self." + n) for n in ("query", "key", "value"))
    ctx = np.zeros_like(x)
    d = x.shape[1] // heads
    for s, e in zip(starts[:-1], starts[1:]):  # each line attends to itself only
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            a = q[s:e, sl] @ k[s:e, sl].T / math.sqrt(d)
            a = np.exp(a - a.max(-1, keepdims=True))
            ctx[s:e, sl] = (a / a.sum(-1, keepdims=True)) @ v[s:e, sl]
    att = layer_norm(lin(ctx, p + "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"],
                     W[p + "attention.output.LayerNorm.bias"])
    pre = lin(att, p + "intermediate.dense")
    mid = 0.5 * pre * (1 + erf(pre / math.sqrt(2)).astype(np.float64))
    y = layer_norm(lin(mid, p + "output.dense") + att, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    ref = np.load(f"{hid}/hidden_{layer + 1:02d}.npy")
    err = np.abs(y - ref).max()
    assert err < 1e-2, f"layer {layer}: recomputed output differs from hidden_{layer + 1:02d} by {err}"
    for name, inp in (("attention.self.query", x), ("attention.self.key", x), ("attention.self.value", x),
                      ("attention.output.dense", ctx), ("intermediate.dense", att), ("output.dense", mid)):
        imp[p + name + ".weight"] = (inp ** 2).mean(0).astype(np.float32)
save_file(imp, out)
print(f"wrote {len(imp)} importance vectors to {out}")
