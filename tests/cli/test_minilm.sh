# Real weights: all-MiniLM-L6-v2 through int8 (group 32) and back. Every
# tensor returns with its name, shape and dtype; mean SNR >= 40 dB.
. "$(dirname "$0")/lib.sh"
model=$("$(dirname "$0")/../../scripts/minilm_path.sh")
"$TPRESS" compress "$model" -o "$WORK/m.tpz" --codec "int:bits=8,group=32" --json >"$WORK/report.json"
"$TPRESS" decompress "$WORK/m.tpz" -o "$WORK/m.safetensors" -q
python3 - "$model" "$WORK/m.safetensors" "$WORK/report.json" "$WORK/m.tpz" <<'PY'
import json, os, sys
import numpy as np
from safetensors.numpy import load_file
ref, got = load_file(sys.argv[1]), load_file(sys.argv[2])
report = json.load(open(sys.argv[3]))
assert len(ref) >= 100, len(ref)
assert list(ref) == list(got) or set(ref) == set(got), "names differ"
snrs = []
for name, x in ref.items():
    y = got[name]
    assert x.dtype == y.dtype and x.shape == y.shape, name
    if x.dtype.kind != "f":
        assert np.array_equal(x, y), name
        continue
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    err = ((x64 - y64) ** 2).sum()
    snrs.append(np.inf if err == 0 else 10 * np.log10((x64 ** 2).sum() / err))
mean = float(np.mean([s for s in snrs if np.isfinite(s)]))
print(f"{len(ref)} tensors, mean SNR {mean:.2f} dB")
assert mean >= 40.0, mean
# The report's numbers are the real bytes: the total equals the file size.
assert report["total"]["file_bytes"] == os.path.getsize(sys.argv[4])
ratio = report["total"]["bytes_in"] / report["total"]["file_bytes"]
assert 3.5 < ratio < 4.0, ratio
PY
# The archive does not depend on the thread count.
"$TPRESS" compress "$model" -o "$WORK/m1.tpz" --codec "int:bits=4,group=32,sym=0" --threads 1 -q
"$TPRESS" compress "$model" -o "$WORK/m2.tpz" --codec "int:bits=4,group=32,sym=0" --threads 2 -q
cmp "$WORK/m1.tpz" "$WORK/m2.tpz" || fail "archive differs between 1 and 2 threads"
