# safetensors does not align tensors: a float tensor at an odd offset goes
# through every kind of pipeline (run under `make asan` this also checks
# that no codec reads a misaligned typed pointer).
. "$(dirname "$0")/lib.sh"
python3 - "$WORK/u.safetensors" <<'PY'
import json, struct, sys
import numpy as np
a, b = np.arange(3, dtype=np.uint8), np.linspace(-1, 1, 1000, dtype=np.float32)
c = np.linspace(-2, 2, 99, dtype=np.float16)
hdr = {"a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
       "b": {"dtype": "F32", "shape": [10, 100], "data_offsets": [3, 4003]},
       "c": {"dtype": "F16", "shape": [99], "data_offsets": [4003, 4201]}}
h = json.dumps(hdr).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + a.tobytes() + b.tobytes() + c.tobytes())
PY
for spec in "int:bits=4,group=32" "fp16|zstd" "bf16" "zstd"; do
  "$TPRESS" compress "$WORK/u.safetensors" -o "$WORK/u.tpz" -c "$spec" -f -q
  "$TPRESS" decompress "$WORK/u.tpz" -o "$WORK/v.safetensors" --compare "$WORK/u.safetensors" -f >"$WORK/out"
  grep -q 'restored 3 tensor' "$WORK/out" || fail "$spec: $(cat "$WORK/out")"
done
