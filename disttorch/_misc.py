"""Small process-level switches PyTorch scripts call: thread counts and ``compile``."""
from __future__ import annotations

import os

_threads: int | None = None


def set_num_threads(n: int) -> None:
    """Threads for BLAS/OpenMP in this process (through threadpoolctl when it is installed)."""
    global _threads
    _threads = int(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(_threads)


def get_num_threads() -> int:
    if _threads is not None:
        return _threads
    return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


def compile(model=None, **kwargs):  # noqa: A001 - torch's name
    """Accepted for compatibility: returns ``model`` unchanged (there is no compiler here)."""
    if model is None:
        return lambda m: m
    return model
