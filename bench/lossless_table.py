"""Formats bench/lossless.sh results into docs/BENCHMARKS.md (between the
lossless markers; the rest of the file is kept). LOSSLESS_START_LOAD and
LOSSLESS_END_LOAD give the run's load averages (the end defaults to now)."""
import datetime, os, platform, re, subprocess, sys

log, gauss_mib, reps, doc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
z19 = sys.argv[5] if len(sys.argv) > 5 else "all"
rows, planes, versions = {}, {}, ""
for line in open(log):
    parts = line.split()
    th, name = parts[0], parts[1]
    if name == "#":
        versions = " ".join(parts[2:])
        continue
    m = re.match(r"(\S+) (\S+) ratio ([\d.]+) enc ([\d.]+) \[([\d.]+)-([\d.]+)\] dec ([\d.]+) \[([\d.]+)-([\d.]+)\]"
                 r" GB/s(?: flt (\d+))?", " ".join(parts[1:]))
    if m:
        f, meth, ratio = m.group(1), m.group(2), m.group(3)
        v = [float(x) for x in m.groups()[3:9]]
        rows.setdefault((f, meth), {})["ratio"] = float(ratio)
        rows[(f, meth)][th] = (v[0:3], v[3:6])  # enc, dec: median, min, max
        if m.group(10) is not None and th == "1":
            rows[(f, meth)]["faults"] = int(m.group(10))
    elif "exponent H0" in line and th == "1":
        planes[name] = line.split(" ", 2)[2].strip()

names = {"minilm_f32.raw": "MiniLM FP32", "minilm_bf16.raw": "MiniLM BF16", "minilm_f16.raw": "MiniLM FP16",
         "gauss_bf16.raw": f"Gaussian BF16 ({gauss_mib} MiB)"}
order = ["tp-py", "tp-py-new", "zipnn", "zipnn-fresh", "blosc2-bs", "numpy-copy", "lossless", "zstd-3", "zstd-19", "memcpy"]
label = {"tp-py": "**tensorpress lossless** (py)", "tp-py-new": "tensorpress lossless (py), decode into a new array", "zipnn": "ZipNN (py)",
         "zipnn-fresh": "ZipNN (py), output in fresh memory (malloc_trim before each decode)", "blosc2-bs": "blosc2 bitshuffle+zstd (py)",
         "numpy-copy": "numpy copy (py baseline)", "lossless": "**tensorpress lossless** (C)", "zstd-3": "zstd -3 (C)",
         "zstd-19": "zstd -19 (C)", "memcpy": "memcpy (C baseline)"}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
out = ["<!-- BEGIN lossless -->", "## Lossless codec (`lossless`) vs ZipNN, zstd, blosc2", "",
       f"Command: `bench/lossless.sh {gauss_mib} {reps}` · date {datetime.date.today()} · nproc {os.cpu_count()} · "
       f"CPU `{cpu}` · commit `{commit}` · peers: {versions}", "",
       f"GB/s of uncompressed bytes: median over {reps} repetitions after a warm-up, 1-thread cells also give "
       "[min–max]. (py) rows ran in one Python process, round-robin (one call of each method per repetition, "
       "seconds apart), tensorpress through the Python package (ctypes on build/libtpress.so, including the copy of "
       "the frame into a bytes object; decode into a reused array, and in the second row into a new numpy array); "
       "*faults* = median page faults per 1-thread decode call (getrusage): whether the output landed in fresh "
       "memory, which the kernel must zero first. ZipNN and blosc2 return new objects, which glibc may carve from "
       "recycled memory (few faults) or not (one per 4 KiB page); the ZipNN fresh-memory row trims the heap "
       "(malloc_trim, untimed) before each decode so that its output is fresh, as a new numpy array is (faults on "
       "its 4 KiB or 2 MiB pages). So compare tensorpress into a reused array with ZipNN's row when that row shows "
       "few faults, and tensorpress into a new array with ZipNN's fresh-memory row. (C) rows in one C process (bench/bench_lossless.c). zstd -19: one run, "
       "single-thread pass only" + (", MiniLM inputs only (it runs at ~1 MB/s)" if z19 == "minilm" else "") + ". "
       "1 thread = `taskset -c 1`; 2 threads = threads=2 / nbWorkers=2 / ZipNN threads=2 / blosc2 nthreads=2 "
       "(the zstd decoder is single-threaded). The machine is shared with other jobs (load average "
       + (f"{float(os.environ['LOSSLESS_START_LOAD']):.1f} at the start, " if os.environ.get("LOSSLESS_START_LOAD") else "")
       + f"{float(os.environ.get('LOSSLESS_END_LOAD', os.getloadavg()[0])):.1f} at the end): compare within a "
       "block of one process, not across runs.", ""]
for f in names:
    if not any(k[0] == f for k in rows):
        continue
    out += [f"### {names[f]}", "", "| method | ratio | enc 1T | dec 1T | faults | enc 2T | dec 2T |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for meth in order:
        r = rows.get((f, meth))
        if not r:
            continue
        cells = [f"{x[0]:.3f} [{x[1]:.2f}–{x[2]:.2f}]" for x in r["1"]] if "1" in r else ["—", "—"]
        cells.append(str(r["faults"]) if "faults" in r else "—")
        cells += [f"{x[0]:.3f}" for x in r["2"]] if "2" in r else ["—", "—"]
        out.append(f"| {label[meth]} | {r['ratio']:.4f} | " + " | ".join(cells) + " |")
    ll, zn, cp = rows.get((f, "tp-py")), rows.get((f, "zipnn")), rows.get((f, "numpy-copy"))
    nw, zf = rows.get((f, "tp-py-new")), rows.get((f, "zipnn-fresh"))
    if ll and zn and "1" in ll and "1" in zn:
        out.append("")
        out.append(f"vs ZipNN, same process, 1 thread (medians): ratio {ll['ratio']/zn['ratio']:.4f}×, "
                   f"encode {ll['1'][0][0]/zn['1'][0][0]:.2f}×, decode {ll['1'][1][0]/zn['1'][1][0]:.2f}× "
                   f"into a reused array (ZipNN's output: {zn.get('faults', '?')} faults per call)"
                   + (f", {nw['1'][1][0]/zf['1'][1][0]:.2f}× into a new one against ZipNN into fresh memory"
                      if nw and zf and "1" in nw and "1" in zf else "")
                   + (f"; tensorpress encode = {100*ll['1'][0][0]/cp['1'][0][0]:.1f} % and decode = "
                      f"{100*ll['1'][1][0]/cp['1'][1][0]:.1f} % of the numpy copy" if cp and "1" in cp else "") + ".")
    if f in planes:
        out.append("")
        out.append(f"Exponent: {planes[f]}")
    out.append("")
out.append("<!-- END lossless -->")
text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n\n<!-- BEGIN lossless -->\n<!-- END lossless -->\n"
if "<!-- BEGIN lossless -->" not in text:
    text += "\n<!-- BEGIN lossless -->\n<!-- END lossless -->\n"
a, b = text.index("<!-- BEGIN lossless -->"), text.index("<!-- END lossless -->") + len("<!-- END lossless -->")
open(doc, "w").write(text[:a] + "\n".join(out) + text[b:])
print("\n".join(out))
