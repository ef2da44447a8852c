#!/usr/bin/env bash
# The whole test suite: single-process, device tests on the CUDA stand-in, and
# (once present) multi-rank tests under mpiexec -n 2 and -n 3.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

echo "== single-process tests"
python -m pytest -q tests

echo "== device tests on the CPU stand-in for cupy (DISTTORCH_FAKE_CUDA=1)"
DISTTORCH_FAKE_CUDA=1 python -m pytest -q -m gpu tests
