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
.venv/bin/python -m pip install -q -e ".[test,blender]"
# Headless Chromium for the leaderboard site test (CI only, as root, when missing; the test skips without it).
if [ -n "${CI:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null || echo "setup: chromium install failed (site test will skip)"
fi
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, warp; print("torch", torch.__version__, "warp", warp.__version__)'))"
