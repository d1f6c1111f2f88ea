#!/usr/bin/env bash
# Create .venv and install physrecon-bench with its test extras (idempotent; ~2-4 min on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# torch==2.13.0 first: on these machines it resolves to the local CPU wheel; any other spec pulls CUDA wheels.
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, warp; print("torch", torch.__version__, "warp", warp.__version__)'))"
