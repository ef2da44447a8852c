"""Shared benchmark plumbing: single-threaded BLAS/OpenMP, best-of-N timing, tables."""
from __future__ import annotations

import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def load_torch():
    """torch with one thread, or None (benchmarks then print our numbers alone)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def best_time(fn, repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``number`` calls, over ``repeat`` rounds (seconds per call)."""
    fn()  # warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def best_times(fns: dict, rounds: int = 20, number: int = 1) -> dict:
    """Best time per call of each function, measured interleaved round by round.

    Interleaving spreads any background load evenly over the contenders, so their
    ratio stays fair on a busy machine.
    """
    for fn in fns.values():
        fn()  # warm up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return best


def row(name: str, ours: float, theirs: float | None, unit: str = "ms", scale: float = 1e3) -> str:
    if theirs is None:
        return f"{name:<44} {ours * scale:10.3f} {unit}   (torch not installed)"
    return (f"{name:<44} {ours * scale:10.3f} {unit}  torch {theirs * scale:10.3f} {unit}  "
            f"ratio {ours / theirs:6.2f}x")


def best_times_synced(fns: dict, comm, rounds: int = 20, number: int = 1) -> dict:
    """``best_times`` for collectives: every rank runs the same calls in the same order.

    A barrier lines the ranks up before each timed batch, so one rank's lag is not
    counted as another's wait; each rank keeps its best per function and the result is
    the slowest rank's best (a collective is as fast as its last participant).
    """
    from mpi4py import MPI

    for fn in fns.values():
        fn()  # warm up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return {name: comm.allreduce(t, op=MPI.MAX) for name, t in best.items()}


def mpiexec() -> str:
    """The mpiexec next to this Python (the MPI the mpi4py wheel brings), else the one on PATH."""
    import shutil
    import sys
    from pathlib import Path

    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else (shutil.which("mpiexec") or "mpiexec")


def fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} B"


def _checkout_on_path() -> None:
    """Put this checkout's root on sys.path (after the script's folder), so a benchmark
    imports the disttorch next to it whether or not the package is installed."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(1, root)


_checkout_on_path()
