#!/usr/bin/env bash
# The whole test suite: single-process tests (including the launcher and the example
# programs as real multi-rank jobs), device tests on the CPU stand-in for cupy, multi-rank
# tests under mpiexec -n 2 and -n 3 (one thread per rank), and SLURM jobs on a local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
MPIEXEC=${MPIEXEC:-mpiexec}
# a hung collective must fail the run, not stall it
LIMIT=${DISTTORCH_TEST_TIMEOUT:-900}

echo "== single-process tests"
python -m pytest -q tests --ignore=tests/slurm

echo "== SLURM jobs on a local single-node cluster (skipped, saying why, where SLURM cannot run)"
timeout "$LIMIT" python -m pytest -q -rs tests/slurm

echo "== device tests on the CPU stand-in for cupy (DISTTORCH_FAKE_CUDA=1)"
DISTTORCH_FAKE_CUDA=1 python -m pytest -q -m gpu tests

for n in 2 3; do
  echo "== multi-rank tests: $MPIEXEC -n $n"
  timeout "$LIMIT" "$MPIEXEC" -n "$n" python -m pytest -q --with-mpi -m mpi tests/distributed
done

echo "== multi-rank device tests on the stand-in: $MPIEXEC -n 2"
DISTTORCH_FAKE_CUDA=1 timeout "$LIMIT" "$MPIEXEC" -n 2 python -m pytest -q --with-mpi -m "mpi and gpu" tests/distributed
