#!/usr/bin/env python3
"""Regenerates the <!-- BEGIN planner --> section of docs/BENCHMARKS.md: the
whole-model planner (tpress compress --target-mb) against uniform
quantization (one spec for every tensor) and llama.cpp's formats and _M-rule
mixes (gguf package, bench/gguf_peer.py) at equal total bytes, on
all-MiniLM-L6-v2; model-level fidelity = mean embedding cosine over
data/eval_sentences.txt, measured by `tpress eval` on the written file.

usage: bench/planner.py [BUILD]"""
import datetime, json, os, re, subprocess, sys, tempfile

from doc_section import replace_section

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
T = os.path.join(ROOT, BUILD, "tpress")
MODEL = subprocess.check_output([os.path.join(ROOT, "scripts", "minilm_path.sh")], text=True).strip()
TEXT = os.path.join(ROOT, "data", "eval_sentences.txt")
UNIFORM = ["kq:bits=2", "kq:bits=3", "kq:bits=4", "kq:bits=5", "kq:bits=6", "int:bits=8,group=32"]
PEERS = ["Q4_0", "MIX:Q4_0:Q5_1", "Q5_0", "MIX:Q4_0:Q8_0", "Q8_0"]
MEASURED_AT = {"kq:bits=2", "kq:bits=3", "kq:bits=4"}


def run_json(args):
    return json.loads(subprocess.check_output(args, text=True, cwd=ROOT))


def cosine(path):
    return run_json([T, "eval", MODEL, path, "--text", TEXT, "--json"])["mean_cosine"]


def planner(out, extra):
    d = run_json([T, "compress", MODEL, "-o", out, "-f", "--json", "--text", TEXT] + extra)
    return d


def main():
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "m.tpz")
    rows, budgets, strategies = [], [], []
    raw = os.path.getsize(MODEL)
    values = None
    for spec in UNIFORM:
        subprocess.check_call([T, "compress", MODEL, "-o", out, "-f", "-q", "-c", spec], cwd=ROOT)
        size = os.path.getsize(out)
        u = cosine(out)
        p = planner(out, ["--target-mb", repr(size / 1e6)])
        values = p["weights"]
        m = planner(out, ["--target-mb", repr(size / 1e6), "--sensitivity", "measure"]) if spec in MEASURED_AT else None
        rows.append(("tpress uniform `%s`" % spec, size, u, p, m))
        print(spec, size, u, p["compressed_bytes"], p["fidelity"]["value"], m and m["fidelity"]["value"], file=sys.stderr)
    for peer in PEERS:
        dst = os.path.join(tmp, "peer.safetensors")
        info = json.loads(subprocess.check_output([sys.executable, os.path.join(ROOT, "bench", "gguf_peer.py"), MODEL, dst, peer], text=True))
        size = int(info["bits_per_weight"] * values / 8)
        u = cosine(dst)
        p = planner(out, ["--target-mb", repr(size / 1e6)])
        rows.append(("llama.cpp `%s` (gguf %s, tensor data only)" % (peer, info["gguf_version"]), size, u, p, None))
        print(peer, size, u, p["compressed_bytes"], p["fidelity"]["value"], file=sys.stderr)
    for share in (0.5, 0.25, 0.125, 0.08):
        target = share * raw
        p = planner(out, ["--target-mb", repr(target / 1e6)])
        best = max((r for r in rows if r[0].startswith("tpress uniform") and r[1] <= target), key=lambda r: r[2], default=None)
        budgets.append((share, target, p, best))
    for s in ("simple", "mobile", "advanced", "auto"):
        strategies.append((s, planner(out, ["--strategy", s])))

    cpu = re.search(r"Model name:\s*(.*)", subprocess.check_output(["lscpu"], text=True)).group(1).strip()
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True, cwd=ROOT).strip()
    L = ["## Whole-model planner (MiniLM)", "",
         "Command: `python3 bench/planner.py` (`make bench BENCH_SECTIONS=planner`). Machine: %s, nproc %s; %s; commit %s."
         % (cpu, os.cpu_count(), datetime.date.today().isoformat(), commit), "",
         "all-MiniLM-L6-v2 (FP32 safetensors, %d bytes, %d weights). Fidelity: mean cosine of the sentence "
         "embeddings against the FP32 model on data/eval_sentences.txt (250 lines), measured on the written file. "
         "Planner bytes are the whole .tpz (index included); the llama.cpp rows count tensor data only, no GGUF "
         "header, which favours them. `role`: default weights (relative error; embeddings 0.25, head 4); "
         "`measured`: `--sensitivity measure` (one model run per tensor at kq:bits=2)." % (raw, values), "",
         "### At equal total bytes", "",
         "| baseline | its bytes | its cosine | planner bytes | planner cosine (role) | planner cosine (measured) |",
         "|---|---|---|---|---|---|"]
    for name, size, u, p, m in rows:
        L.append("| %s | %d | %.4f | %d | %.4f | %s |" % (name, size, u, p["compressed_bytes"], p["fidelity"]["value"],
                                                        "%.4f" % m["fidelity"]["value"] if m else "-"))
    L += ["", "### Budgets as a share of the FP32 size", "",
          "| target | target bytes | planner bytes | % of target | cosine | plan + write s | peak RSS MiB | best uniform within it | its cosine |",
          "|---|---|---|---|---|---|---|---|---|"]
    for share, target, p, best in budgets:
        L.append("| %.1f %% | %d | %d | %.2f | %.4f | %.1f | %.0f | %s | %s |" % (
            100 * share, target, p["compressed_bytes"], 100 * p["compressed_bytes"] / target, p["fidelity"]["value"],
            p["seconds_plan"] + p["seconds_write"], p["peak_rss_bytes"] / 2**20,
            best[0].replace("tpress uniform ", "") if best else "none", "%.4f" % best[2] if best else "-"))
    L += ["", "### Strategies (no target; mobile's default target is 100 MB)", "",
          "| strategy | bytes | ratio | bits/weight | cosine | plan + write s |", "|---|---|---|---|---|---|"]
    for s, p in strategies:
        L.append("| %s | %d | %.2fx | %.3f | %.4f | %.1f |" % (s, p["compressed_bytes"], p["ratio"], p["bits_per_weight"],
                                                           p["fidelity"]["value"], p["seconds_plan"] + p["seconds_write"]))
    replace_section("planner", "\n".join(L) + "\n")


main()
