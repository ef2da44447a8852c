"""Multi-rank tests: run under ``mpiexec -n N python -m pytest --with-mpi -m mpi tests/distributed``.

Every rank runs the same session; the default group is created once per process.
"""
from __future__ import annotations

import pytest

import disttorch.distributed as dist


@pytest.fixture(scope="session")
def world():
    """The initialised default group (rank, size)."""
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return dist.get_rank(), dist.get_world_size()
