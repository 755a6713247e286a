"""tensorpress.compress_model: the planner through Python, a target met on
the bytes written, a dry run that writes nothing, an impossible target."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import tensorpress as tp  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

rng = np.random.default_rng(5)
with tempfile.TemporaryDirectory() as d:
    src, dst = os.path.join(d, "m.safetensors"), os.path.join(d, "m.tpz")
    model = {f"blk.{i}.w": (rng.standard_normal((64, 256)) * (i + 1) * 0.01).astype(np.float32) for i in range(24)}
    model["norm"] = rng.standard_normal(256).astype(np.float32)
    save_file(model, src)
    raw = sum(a.nbytes for a in model.values())

    target_mb = 0.125 * raw / 1e6
    r = tp.compress_model(src, dst, target_mb=target_mb)
    size = os.path.getsize(dst)
    assert r["compressed_bytes"] == size and size <= target_mb * 1e6 and size >= 0.99 * target_mb * 1e6, (r, size)
    assert r["target_met"] and r["fidelity"]["metric"] == "min tensor cosine" and r["fidelity"]["value"] > 0.9
    assert {t["name"] for t in r["tensors"]} == set(model)
    norm = next(t for t in r["tensors"] if t["name"] == "norm")
    assert norm["spec"].startswith("lossless") and norm["role"] == "norm"
    back = tp.load(dst)
    assert np.array_equal(back["norm"], model["norm"])

    r = tp.compress_model(src, None, target_ratio=6, dry_run=True, rules=[("blk\\.0\\.", "keep")])
    assert r["compressed_bytes"] == r["predicted_bytes"] <= raw / 6 and r["tensors"][0]["spec"].startswith("lossless")

    r = tp.compress_model(src, dst, strategy="simple")
    assert all(t["spec"].startswith(("ternary", "lossless")) for t in r["tensors"])

    try:
        tp.compress_model(src, os.path.join(d, "x.tpz"), target_mb=0.001)
        raise AssertionError("an impossible target was accepted")
    except tp.TensorpressError as e:
        assert "smallest plan" in str(e), e
    assert not os.path.exists(os.path.join(d, "x.tpz"))
print("ok")
