# Every quantizer round-trips real weights through `tpress compress` and
# `tpress decompress`: a small safetensors made from all-MiniLM-L6-v2 (layer
# 0 and the pooler: 2-D weights plus 1-D biases and norms). Names, shapes and
# dtypes come back; 1-D tensors stay exact (lossless by default); the mean
# SNR of the 2-D weights clears a floor per codec (about 1.5 dB under what
# the codec measures on these weights, docs/BENCHMARKS.md).
. "$(dirname "$0")/lib.sh"
model=$("$(dirname "$0")/../../scripts/minilm_path.sh")
python3 - "$model" "$WORK/small.safetensors" <<'PY'
import sys
from safetensors.numpy import load_file, save_file
t = load_file(sys.argv[1])
keep = {k: v for k, v in t.items() if ".layer.0." in k or k.startswith("pooler")}
assert len(keep) >= 16, sorted(t)[:5]
save_file(keep, sys.argv[2])
PY
specs=(
  "int:bits=8,group=32=43.5"
  "int:bits=4,group=32,sym=0,search=1=20.8"
  "kmeans:bits=4=17.3"
  "kmeans:bits=3,group=256,iters=20=13.4"
  "nf:bits=4=19.5"
  "nf:bits=8=36.3"
  "log:bits=4=18.4"
  "log:bits=8=39"
  "fp8:format=e4m3=30"
  "fp8:format=e5m2,group=32=25"
  "ternary=3.7"
  "ternary:method=mse,group=256=5.6"
  "kq:bits=2=10.1"
  "kq:bits=3=15.2"
  "kq:bits=4=21.5"
  "kq:bits=5=27.6"
  "kq:bits=6=33.7"
)
i=0
for sf in "${specs[@]}"; do # SPEC=FLOOR_DB
  spec=${sf%=*}
  "$TPRESS" compress "$WORK/small.safetensors" -o "$WORK/q$i.tpz" --codec "$spec" -q || fail "compress --codec $spec"
  "$TPRESS" decompress "$WORK/q$i.tpz" -o "$WORK/q$i.safetensors" -q || fail "decompress ($spec)"
  i=$((i + 1))
done
python3 - "$WORK" "${specs[@]}" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
work = sys.argv[1]
ref = load_file(f"{work}/small.safetensors")
for i, sf in enumerate(sys.argv[2:]):
    spec, floor = sf.rsplit("=", 1)
    got = load_file(f"{work}/q{i}.safetensors")
    assert sorted(ref) == sorted(got), (spec, "names differ")
    snr = []
    for name, x in ref.items():
        y = got[name]
        assert x.dtype == y.dtype and x.shape == y.shape, (spec, name, x.shape, y.shape)
        if x.ndim < 2:
            assert np.array_equal(x, y), (spec, name, "1-D tensor not exact")
            continue
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        snr.append(10 * np.log10((x64 ** 2).sum() / ((x64 - y64) ** 2).sum()))
    mean = float(np.mean(snr))
    print(f"{spec:36s} {len(snr)} weights, mean SNR {mean:6.2f} dB (floor {floor})")
    assert mean >= float(floor), (spec, mean, floor)
PY
