#!/usr/bin/env python3
"""Writes a large synthetic safetensors model for the streaming benchmark:
N tensors layers.I.mlp.up_proj.weight of 4096x11008 f16 (Gaussian x 0.02),
written a tensor at a time so the generator itself stays small.

usage: bench/gen_big_model.py N OUT.safetensors   (N=40: 3.6 GB)"""
import json
import struct
import sys

import numpy as np

ROWS, COLS = 4096, 11008


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    header, nbytes = {"__metadata__": {"format": "pt"}}, ROWS * COLS * 2
    for i in range(n):
        header[f"layers.{i}.mlp.up_proj.weight"] = {"dtype": "F16", "shape": [ROWS, COLS],
                                                    "data_offsets": [i * nbytes, (i + 1) * nbytes]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(1)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _ in range(n):
            f.write((rng.standard_normal((ROWS, COLS), dtype=np.float32) * 0.02).astype(np.float16).tobytes())


main()
