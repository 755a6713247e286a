#!/usr/bin/env python3
"""Rate-distortion of the structured codecs (svd, pca, sparse, sparsecode,
autoenc) next to int
quantization, on real data: every 2-D weight of all-MiniLM-L6-v2 and
skimage test images cut into 14x14 patches (visual tokens, 144 x 588 per
168x168 RGB crop). Bits/value come from real frame bytes; SNR is computed
in float64 against the input. Also the hit rate of tp_choose_pipeline.

usage: bench/struct.py BUILD OUTDIR [--quick]
"""
import csv, ctypes, os, subprocess, sys, time
import numpy as np

BUILD, OUT = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv
os.environ.setdefault("TPRESS_LIB", os.path.join(BUILD, "libtpress.so"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import tensorpress as tpr  # noqa: E402
from tensorpress._lib import lib, Tensor  # noqa: E402

lib.tp_choose_pipeline.restype = ctypes.c_size_t
lib.tp_choose_pipeline.argtypes = [ctypes.POINTER(Tensor), ctypes.c_double, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]


def choose(a, min_snr):
    a = np.ascontiguousarray(a, np.float32)
    t = Tensor(1, a.ndim)
    for i, d in enumerate(a.shape):
        t.shape[i] = d
    t.data = a.ctypes.data
    buf = ctypes.create_string_buffer(256)
    r = lib.tp_choose_pipeline(ctypes.byref(t), min_snr, buf, 256, None)
    assert not lib.tp_is_error(r), lib.tp_last_error_detail()
    return buf.value.decode()


def snr(x, y):
    x = x.astype(np.float64); y = y.astype(np.float64)
    e = np.sum((x - y) ** 2)
    return float("inf") if e == 0 else 10 * np.log10(np.sum(x * x) / e)


def measure(x, spec, reps=1):
    t0 = time.perf_counter(); f = tpr.encode(x, spec); te = time.perf_counter() - t0
    td = 1e9
    for _ in range(reps):
        t0 = time.perf_counter(); y = tpr.decode(f); td = min(td, time.perf_counter() - t0)
    return 8.0 * len(f) / x.size, snr(x, y), te, td


def minilm():
    path = subprocess.check_output([os.path.join(os.path.dirname(__file__), "..", "scripts", "minilm_path.sh")]).decode().strip()
    from safetensors.numpy import load_file
    w = load_file(path)
    # word_embeddings [30522, 384] is left out: its grid of 15 full SVDs takes
    # many minutes on one core (the chooser still handles it: int, see CLI)
    out = [(k, v.astype(np.float32)) for k, v in sorted(w.items())
           if v.ndim == 2 and min(v.shape) > 1 and "word_embeddings" not in k]
    if QUICK:
        out = [o for o in out if "layer.0." in o[0]]
    return out


def images():
    from matplotlib.image import imread
    d = "/usr/lib/python3/dist-packages/skimage/data"
    out = []
    for name in ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "hubble_deep_field.jpg"]:
        p = os.path.join(d, name)
        if not os.path.exists(p):
            continue
        im = imread(p)
        im = im.astype(np.float32) / (255.0 if im.dtype == np.uint8 else 1.0)
        if im.ndim == 2:
            im = np.stack([im] * 3, -1)
        im = im[..., :3]
        H, W = im.shape[:2]
        crops = [(0, 0), (H // 2 - 84, W // 2 - 84), (H - 168, W - 168)]
        for (y, x) in crops[: (1 if QUICK else 3)]:
            c = im[y:y + 168, x:x + 168]
            tok = c.reshape(12, 14, 12, 14, 3).transpose(0, 2, 1, 3, 4).reshape(144, 588)
            out.append((f"{name.split('.')[0]}@{y},{x}", np.ascontiguousarray(tok)))
    return out


def grid(shape):
    p = min(shape)
    specs = [("int", f"bits={b}", f"int:bits={b},group=32,search=1") for b in range(2, 9)]
    for fr in [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2]:
        r = max(1, int(round(fr * p)))
        st = f"rank {fr * p:.0f}/{p}" if len({p}) else ""
        st = f"rank 1/{int(round(1 / fr))} of min dim"
        specs.append(("svd f16", st, f"svd:rank={r}"))
        specs.append(("svd|int8", st, f"svd:rank={r},factor=pass | int:bits=8,group=32"))
        specs.append(("pca f16", st, f"pca:components={r}"))
    for k in [0.05, 0.1, 0.25, 0.5]:
        specs.append(("sparse top-k f16", f"keep={k}", f"sparse:keep={k},values=f16"))
    # learned codecs (issue 6): a few points each, short training (5 K-SVD
    # iterations, 20 epochs) so that the whole grid stays minutes on one core
    P = 16 if shape[1] % 16 == 0 else 42 if shape[1] % 42 == 0 else 0
    for k in [1, 2, 4]:
        specs.append(("sparsecode", f"atoms 256, k={k}, patch {P}", f"sparsecode:atoms=256,k={k},patch={P},iterations=5"))
    specs.append(("sparsecode|int8", f"atoms 64, k=4, patch {P}", f"sparsecode:atoms=64,k=4,patch={P},iterations=5,codes=pass | int:bits=8 | zstd"))
    for fr in [1 / 16, 1 / 8, 1 / 4]:
        L = max(1, int(round(fr * p)))
        specs.append(("autoenc linear", f"latent 1/{int(round(1 / fr))} of min dim", f"autoenc:hidden=0,latent={L},epochs=20"))
    specs.append(("autoenc mlp", "hidden 128, latent 1/8 of min dim", f"autoenc:hidden=128,latent={max(1, int(round(p / 8)))},epochs=20"))
    return specs


def envelope(curves, b):
    """Best SNR at bits b over the codec families: each family's own
    piecewise-linear curve (no mixing of families: one tensor, one codec),
    and any point at or below b."""
    best = -1e9
    for pts in curves.values():
        pts = sorted(pts)
        for (b0, s0) in pts:
            if b0 <= b:
                best = max(best, s0)
        for (b0, s0), (b1, s1) in zip(pts, pts[1:]):
            if b0 < b <= b1:
                best = max(best, s0 + (s1 - s0) * (b - b0) / (b1 - b0))
    return best


def main():
    os.makedirs(OUT, exist_ok=True)
    rows, hits = [], []
    for dsname, data in [("minilm", minilm()), ("patches", images())]:
        for name, x in data:
            pts, curves = [], {}
            for fam, setting, spec in grid(x.shape):
                reps = 3 if x.size < 2_000_000 else 1
                bpv, s, te, td = measure(x, spec, reps)
                rows.append(dict(dataset=dsname, tensor=name, family=fam, setting=setting, spec=spec, bits=bpv, snr=s,
                                 enc_ms=te * 1e3, dec_ms=td * 1e3, mb=x.nbytes / 1e6))
                pts.append((bpv, s))
                curves.setdefault(fam, []).append((bpv, s))
            for bound in (20.0, 30.0, 40.0):
                t0 = time.perf_counter(); pick = choose(x, bound); tc = time.perf_counter() - t0
                bpv, s, te, td = measure(x, pick)
                allpts = pts + [(bpv, s)]
                env = envelope(dict(curves, pick=[(bpv, s)]), bpv)
                meeting = [b for (b, q) in allpts if q >= bound]
                hits.append(dict(dataset=dsname, tensor=name, bound=bound, pick=pick, bits=bpv, snr=s,
                                 envelope=env, hit=int(s >= env - 0.5), meets=int(s >= bound),
                                 best_bits=min(meeting) if meeting else float("nan"), choose_ms=tc * 1e3))
            print(f"{dsname} {name} done", file=sys.stderr, flush=True)
    with open(os.path.join(OUT, "struct_points.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
    with open(os.path.join(OUT, "struct_choice.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(hits[0])); w.writeheader(); w.writerows(hits)
    report(rows, hits)


def report(rows, hits):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    md = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, ds in zip(axes, ["minilm", "patches"]):
        md.append(f"\n**{ds}** ({len({r['tensor'] for r in rows if r['dataset'] == ds})} tensors): totals over tensors "
                  f"(bits/value = 8 x all frame bytes / all values; SNR = mean over tensors; speed = MB of f32 input per s, sum over tensors)\n")
        md.append("| codec | setting | bits/value | mean SNR dB | encode MB/s | decode MB/s | int SNR at same bits |")
        md.append("|---|---|---:|---:|---:|---:|---:|")
        by = {}
        for r in rows:
            if r["dataset"] != ds:
                continue
            key = (r["family"], r["setting"])
            by.setdefault(key, []).append(r)
        int_pts = []
        summ = []
        for (fam, st), rs in by.items():
            vals = sum(x["mb"] for x in rs) / 4 * 1e6
            bits = sum(x["bits"] * x["mb"] / 4 * 1e6 for x in rs) / vals
            s = float(np.mean([x["snr"] for x in rs]))
            enc = sum(x["mb"] for x in rs) / (sum(x["enc_ms"] for x in rs) / 1e3)
            dec = sum(x["mb"] for x in rs) / (sum(x["dec_ms"] for x in rs) / 1e3)
            summ.append((fam, st, bits, s, enc, dec))
            if fam == "int":
                int_pts.append((bits, s))
        for fam, st, bits, s, enc, dec in sorted(summ, key=lambda z: (z[0], z[2])):
            md.append(f"| {fam} | {st} | {bits:.2f} | {s:.2f} | {enc:.0f} | {dec:.0f} | {interp(int_pts, bits)} |")
        fams = sorted({z[0] for z in summ})
        for fam in fams:
            pts = sorted((z[2], z[3]) for z in summ if z[0] == fam)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=fam)
        ax.set_title(f"{ds}: rate-distortion (real frame bytes)")
        ax.set_xlabel("bits / value"); ax.set_ylabel("mean SNR (dB)"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
        ax.set_xlim(0, 17)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "struct_rd.png"), dpi=110)
    md.append("\n**tp_choose_pipeline** (`--codec auto`): hit = the pick's measured SNR is within 0.5 dB of the best "
              "codec in hindsight at the pick's bits/value (each family's measured curve, linear between its grid points); meets = measured SNR >= bound\n")
    md.append("| data | bound dB | tensors | hits | hit rate | meets bound | picks (count) | mean pick bits | mean bits of cheapest grid point meeting the bound | mean choose ms |")
    md.append("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for ds in ["minilm", "patches"]:
        for bound in (20.0, 30.0, 40.0):
            hs = [h for h in hits if h["dataset"] == ds and h["bound"] == bound]
            if not hs:
                continue
            fams = {}
            for h in hs:
                f = h["pick"].split(":")[0] + ("|int8" if "|" in h["pick"] else "")
                fams[f] = fams.get(f, 0) + 1
            bb = [h["best_bits"] for h in hs if h["best_bits"] == h["best_bits"]]
            md.append(f"| {ds} | {bound:.0f} | {len(hs)} | {sum(h['hit'] for h in hs)} | {100 * np.mean([h['hit'] for h in hs]):.0f} % | "
                      f"{sum(h['meets'] for h in hs)} | {', '.join(f'{k} {v}' for k, v in sorted(fams.items()))} | "
                      f"{np.mean([h['bits'] for h in hs]):.2f} | {np.mean(bb) if bb else float('nan'):.2f} | {np.mean([h['choose_ms'] for h in hs]):.0f} |")
    allh = [h["hit"] for h in hits]
    md.append(f"\nOverall hit rate: {sum(allh)}/{len(allh)} = {100 * np.mean(allh):.1f} % (bar: >= 90 %).\n")
    misses = [h for h in hits if not h["hit"]]
    if misses:
        md.append("Misses: " + "; ".join(f"{h['tensor']} @{h['bound']:.0f} dB: {h['pick']} {h['bits']:.2f} b {h['snr']:.1f} dB vs envelope {h['envelope']:.1f}" for h in misses[:12]))
    with open(os.path.join(OUT, "struct_tables.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


def setting_of(spec):
    import re
    s = spec.split("|")[0]
    if s.startswith("int"):
        return re.search(r"bits=\d+", s).group(0)
    if s.startswith("sparse"):
        return re.search(r"keep=[\d.]+", s).group(0)
    return "rank share " + "?"


def interp(pts, b):
    pts = sorted(pts)
    for (b0, s0), (b1, s1) in zip(pts, pts[1:]):
        if b0 <= b <= b1:
            return f"{s0 + (s1 - s0) * (b - b0) / (b1 - b0):.2f}"
    return "—"


if __name__ == "__main__":
    main()
