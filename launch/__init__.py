"""``disttorch.launch``: the local launcher ``disttorch-run`` (like ``torchrun``) over ``mpiexec``.

``python -m disttorch.launch -n 2 train.py`` starts two ranks; each rank's bootstrap
(:mod:`disttorch.launch._bootstrap`) takes its rank, world size and node-local split from MPI
and exports them as ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``LOCAL_WORLD_SIZE``.
"""
from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``disttorch-run`` with ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    from .run import main as _main

    return _main(argv)
