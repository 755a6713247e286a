"""Formats bench/lossless.sh results into docs/BENCHMARKS.md (between the
lossless markers; the rest of the file is kept)."""
import datetime, os, platform, re, subprocess, sys

log, gauss_mib, reps, doc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows, planes, versions = {}, {}, ""
for line in open(log):
    parts = line.split()
    th, name = parts[0], parts[1]
    if name == "#":
        versions = " ".join(parts[2:])
        continue
    m = re.match(r"(\S+) (\S+) ratio ([\d.]+) enc ([\d.]+) dec ([\d.]+)", " ".join(parts[1:]))
    if m:
        f, meth, ratio, enc, dec = m.groups()
        rows.setdefault((f, meth), {})["ratio"] = float(ratio)
        rows[(f, meth)][th] = (float(enc), float(dec))
    elif "exponent-plane" in line and th == "1":
        planes[name] = line.split(" ", 2)[2].strip()

names = {"minilm_f32.raw": "MiniLM FP32", "minilm_bf16.raw": "MiniLM BF16", "minilm_f16.raw": "MiniLM FP16",
         "gauss_bf16.raw": f"Gaussian BF16 ({gauss_mib} MiB)"}
order = ["lossless", "zipnn", "zstd-3", "zstd-19", "blosc2-bs", "memcpy"]
label = {"lossless": "**tensorpress lossless**", "zipnn": "ZipNN", "zstd-3": "zstd -3", "zstd-19": "zstd -19",
         "blosc2-bs": "blosc2 bitshuffle+zstd", "memcpy": "memcpy (baseline)"}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
out = ["<!-- BEGIN lossless -->", "## Lossless codec (`lossless`) vs ZipNN, zstd, blosc2", "",
       f"Command: `bench/lossless.sh {gauss_mib} {reps}` · date {datetime.date.today()} · nproc {os.cpu_count()} · "
       f"CPU `{cpu}` · commit `{commit}` · peers: {versions}", "",
       "GB/s of uncompressed bytes, median of the repetitions after a warm-up (zstd -19: one run, single-thread pass only). "
       "1 thread = `taskset -c 1`; 2 threads = threads=2 / nbWorkers=2 / ZipNN threads=2 / blosc2 nthreads=2 "
       "(the zstd decoder is single-threaded). The machine is shared: compare within a column, not across runs.", ""]
for f in names:
    if not any(k[0] == f for k in rows):
        continue
    out += [f"### {names[f]}", "", "| method | ratio | enc 1T | dec 1T | enc 2T | dec 2T |", "|---|---:|---:|---:|---:|---:|"]
    for meth in order:
        r = rows.get((f, meth))
        if not r:
            continue
        cells = [f"{v:.3f}" for th in ("1", "2") for v in r[th]] if "2" in r else \
            [f"{v:.3f}" for v in r["1"]] + ["—", "—"]
        out.append(f"| {label[meth]} | {r['ratio']:.4f} | " + " | ".join(cells) + " |")
    ll, zn = rows.get((f, "lossless")), rows.get((f, "zipnn"))
    if ll and zn and "1" in ll and "1" in zn:
        out.append("")
        out.append(f"vs ZipNN: ratio {ll['ratio']/zn['ratio']:.4f}×, 1-thread encode {ll['1'][0]/zn['1'][0]:.2f}×, "
                   f"1-thread decode {ll['1'][1]/zn['1'][1]:.2f}×.")
    if f in planes:
        out.append("")
        out.append(f"Exponent plane: {planes[f]}")
    out.append("")
out.append("<!-- END lossless -->")
text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n\n<!-- BEGIN lossless -->\n<!-- END lossless -->\n"
if "<!-- BEGIN lossless -->" not in text:
    text += "\n<!-- BEGIN lossless -->\n<!-- END lossless -->\n"
a, b = text.index("<!-- BEGIN lossless -->"), text.index("<!-- END lossless -->") + len("<!-- END lossless -->")
open(doc, "w").write(text[:a] + "\n".join(out) + text[b:])
print("\n".join(out))
