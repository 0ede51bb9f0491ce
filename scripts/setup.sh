#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv: the package in editable mode
# with the generator's extra (torch, diffusers, transformers), the server's extra (FastAPI,
# uvicorn) and the dev tools. Safe to run again; it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "aigc-provenance needs Python >= 3.11" >&2; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    # Debian ships venv separately (python3-venv); install it when we can.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else
      echo "Python's venv module is missing: install it (Debian: apt-get install python3-venv)" >&2
      exit 2
    fi
  fi
  "$PYTHON" -m venv .venv
fi
# pip >= 25.1 understands dependency groups (--group dev).
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
# torch first, pinned, so that the generate extra never pulls a multi-GB CUDA build onto a CPU
# machine (here `pip install torch==2.13.0` takes the CPU wheel from the local wheel folder).
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  .venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
fi
.venv/bin/python -m pip install --quiet -e ".[generate,server]" --group dev
