#!/usr/bin/env bash
# Set up an environment for the course: use the active virtual environment (or conda env),
# or create ./.venv; install torch only if it is missing (never reinstall it: Colab and
# conda users keep theirs), then this package with its test and offline-landmark extras.
# Prints the python to use. Override the torch requirement with FEWSHOT_TORCH=...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${VIRTUAL_ENV:-}" ] || [ -n "${CONDA_PREFIX:-}" ]; then
  py=python
else
  [ -x .venv/bin/python ] || python3 -m venv .venv >&2
  py=.venv/bin/python
fi
if ! "$py" -c "import torch" 2>/dev/null; then
  # 2.13.0 is the version the course is tested with (a CPU build on the course's CI machines).
  "$py" -m pip install -q "${FEWSHOT_TORCH:-torch==2.13.0}" >&2
fi
"$py" -m pip install -q -e ".[course,test,offline]" >&2
echo "$py"
