#!/usr/bin/env python3
"""tokdct on real MiniLM hidden states: bytes and cosine of token pruning, and
the quality profiles against step= at equal bytes. Writes a markdown table
(stdout) for docs/BENCHMARKS.md.

The hidden states come from `tpress dump` (all-MiniLM-L6-v2 on
data/eval_sentences.txt, one layer), cut into items of 144 tokens laid out
as 12x12 grids: [items, 144, 384] f32. Cosine is the mean over tokens of the
cosine between a token and its decoded vector; for pruning also over the kept
tokens only (a pruned token decodes as zeros and counts 0 in the first).
TPRESS_LIB selects another libtpress.so (e.g. an older build)."""
import argparse, os, subprocess, sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import tensorpress as tp  # noqa: E402


def hidden_states(work, layer):
    path = os.path.join(work, f"hidden_{layer:02d}.npy")
    if not os.path.exists(path):
        model = subprocess.check_output(["bash", os.path.join(ROOT, "scripts/minilm_path.sh")], text=True).strip()
        subprocess.check_call([os.path.join(ROOT, "build/tpress"), "dump", model, "--what", "hidden", "--text",
                               os.path.join(ROOT, "data/eval_sentences.txt"), "-o", work, "-q"])
    a = np.load(path)
    items = a.shape[0] // 144
    return np.ascontiguousarray(a[:items * 144].reshape(items, 144, a.shape[1]).astype(np.float32))


def cosines(x, y):
    xs, ys = x.reshape(-1, x.shape[-1]).astype(np.float64), y.reshape(-1, y.shape[-1]).astype(np.float64)
    den = np.linalg.norm(xs, axis=1) * np.linalg.norm(ys, axis=1)
    return np.where(den > 0, (xs * ys).sum(1) / np.where(den > 0, den, 1), 0.0)


def measure(x, spec):
    frame = tp.encode(x, spec)
    y = tp.decode(frame)
    c = cosines(x, y)
    kept = np.abs(y.reshape(-1, y.shape[-1])).sum(1) > 0
    return {"spec": spec, "bytes": len(frame), "cos": c.mean(), "cos_kept": c[kept].mean(), "kept": kept.mean()}


def step_at_bytes(x, target):
    """The step= whose bytes are closest to target (bisection on log step)."""
    lo, hi = 0.05, 20.0
    best = None
    for _ in range(30):
        mid = (lo * hi) ** 0.5
        r = measure(x, f"tokdct:step={mid:.6g}")
        if best is None or abs(r["bytes"] - target) < abs(best["bytes"] - target):
            best = r
        if r["bytes"] > target:
            lo = mid
        else:
            hi = mid
        if abs(r["bytes"] - target) <= target * 0.002:
            break
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layer", type=int, default=3)
    ap.add_argument("--work", default="/tmp/tpress_tokdct_bench")
    args = ap.parse_args()
    x = hidden_states(args.work, args.layer)
    P = print
    P(f"Input: MiniLM layer {args.layer} hidden states, {list(x.shape)} f32 ({x.nbytes} bytes).\n")
    P("| spec | bytes | vs prune=0 | tokens kept | cosine (all tokens) | cosine (kept tokens) |")
    P("|---|---:|---:|---:|---:|---:|")
    for base in ["tokdct", "tokdct:low=8,mid=4,high=0"]:
        full = None
        for k in [0, 108, 72, 36]:
            spec = base + ("" if k == 0 else ("," if ":" in base else ":") + f"prune={k}")
            r = measure(x, spec)
            full = full or r["bytes"]
            P(f"| `{spec}` | {r['bytes']} | {r['bytes'] / full:.3f} | {r['kept']:.3f} | {r['cos']:.4f} | {r['cos_kept']:.4f} |")
    P("")
    P("| profile | bytes | cosine | step= at equal bytes | its bytes | its cosine | band bits 8/4/2, 8/4/0, 8/3/0 | bytes | cosine |")
    P("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    fixed = {"mild": "low=8,mid=4,high=2", "aggressive": "low=8,mid=4,high=0", "extreme": "low=8,mid=3,high=0"}
    for prof in ["mild", "aggressive", "extreme"]:
        r = measure(x, f"tokdct:profile={prof}")
        s = step_at_bytes(x, r["bytes"])
        f = measure(x, f"tokdct:{fixed[prof]}")
        P(f"| `{prof}` | {r['bytes']} | {r['cos']:.4f} | `{s['spec'].split(':')[1]}` | {s['bytes']} | {s['cos']:.4f} "
          f"| `{fixed[prof]}` | {f['bytes']} | {f['cos']:.4f} |")


if __name__ == "__main__":
    main()
