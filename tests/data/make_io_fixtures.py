#!/usr/bin/env python3
"""Writes the tensor-file fixtures read by tests/test_io.c, with numpy and
the reference `safetensors` package, so our readers are checked against
files we did not write. Values are exact in every dtype used; test_io.c
recomputes them with the same formulas. Run from the repository root:
    python3 tests/data/make_io_fixtures.py
"""
import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

# fixture_f16.npy: 3x5 float16, value[i] = (i - 7) * 0.25 (i = flat index).
f16 = ((np.arange(15, dtype=np.float64) - 7) * 0.25).astype(np.float16).reshape(3, 5)
np.save(os.path.join(HERE, "fixture_f16.npy"), f16)

# fixture.safetensors: "weight" 2x3 float32, value[i] = i * 1.5 - 2;
# "ids" 4 int64, value[i] = i * 1000000007 - 3.
weight = (np.arange(6, dtype=np.float32) * np.float32(1.5) - np.float32(2)).reshape(2, 3)
ids = np.arange(4, dtype=np.int64) * 1000000007 - 3
save_file({"weight": weight, "ids": ids}, os.path.join(HERE, "fixture.safetensors"))
