# --codec auto: a low-rank tensor gets a low-rank pipeline, an integer
# tensor the lossless one; every tensor meets --min-snr, the archive
# records each chosen spec, and -v prints the measurements.
. "$(dirname "$0")/lib.sh"
python3 - "$WORK" <<'PY'
import numpy as np, sys
from safetensors.numpy import save_file
rng = np.random.default_rng(2)
low = (rng.standard_normal((144, 6)) @ rng.standard_normal((6, 300))).astype(np.float32)
sp = rng.standard_normal((200, 100)).astype(np.float32); sp[rng.random(sp.shape) < 0.97] = 0
save_file({"low": low, "sparse": sp, "ids": np.arange(64, dtype=np.int64)}, sys.argv[1] + "/t.safetensors")
PY
"$TPRESS" compress "$WORK/t.safetensors" -o "$WORK/t.tpz" --codec auto --min-snr 35 -v >"$WORK/out.txt"
grep -q "    auto: .*zeros" "$WORK/out.txt" || fail "no measurements printed"
"$TPRESS" compress "$WORK/t.safetensors" -o "$WORK/t.tpz" --codec auto --min-snr 35 --json -f >"$WORK/out.json"
python3 - "$WORK/out.json" <<'PY'
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))["tensors"]}
assert rows["low"]["spec"].startswith(("svd", "pca")), rows["low"]["spec"]
assert rows["ids"]["spec"] == "lossless", rows["ids"]["spec"]  # the one lossless fallback
assert rows["sparse"]["spec"].startswith("sparse"), rows["sparse"]["spec"]
for r in rows.values():
    assert r["snr_db"] == "exact" or r["snr_db"] >= 35, r
PY
"$TPRESS" info "$WORK/t.tpz" | grep -q "svd\|pca" || fail "archive index lacks the chosen spec"
# --min-snr without --codec auto is the planner's dual: every lossy tensor
# at 20 dB or more, measured after writing
"$TPRESS" compress "$WORK/t.safetensors" -o "$WORK/u.tpz" --min-snr 20 --json >"$WORK/dual.json"
python3 - "$WORK/dual.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["tensors"]:
    assert "snr_db" not in t or t["snr_db"] >= 20, t
PY
expect_bad "$TPRESS" compress "$WORK/t.safetensors" -o "$WORK/v.tpz" --min-snr 20 --codec int:bits=4
