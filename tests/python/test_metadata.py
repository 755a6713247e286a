"""A safetensors file's __metadata__ survives every way of writing an
archive (one codec, the planner, progressive layers) and comes back from
`tpress decompress`, as transformers' loaders expect ({"format": "pt"})."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TPRESS = os.environ.get("TPRESS") or os.path.join(ROOT, "build", "tpress")
META = {"format": "pt", "note": 'quoted "text" and \\ backslash'}


def tpress(*args):
    subprocess.run([TPRESS, *args], check=True, stdout=subprocess.DEVNULL)


rng = np.random.default_rng(3)
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, "m.safetensors")
    model = {"w": rng.standard_normal((64, 128)).astype(np.float32), "norm": np.ones(128, np.float32)}
    save_file(model, src, metadata=META)
    ways = {
        "codec": ["--codec", "kq:bits=4"],
        "planner": ["--target-ratio", "4", "--no-benchmark"],
        "layers": ["--layers", "kq:bits=2;kq:bits=4"],
    }
    for way, flags in ways.items():
        arc, back = os.path.join(d, way + ".tpz"), os.path.join(d, way + ".safetensors")
        tpress("compress", src, "-o", arc, "-f", *flags)
        tpress("decompress", arc, "-o", back, "-f")
        with safe_open(back, "np") as f:
            assert f.metadata() == META, (way, f.metadata())
            assert sorted(f.keys()) == sorted(model)
print("metadata kept through codec, planner and layers")
