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
