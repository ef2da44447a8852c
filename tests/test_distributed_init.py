"""Single-process checks of the distributed package (no mpiexec needed)."""
from __future__ import annotations

import pytest

import disttorch
import disttorch.distributed as dist


def test_collective_before_init_is_a_clear_error():
    if dist.is_initialized():
        pytest.skip("a default group exists in this process")
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(disttorch.zeros(1))
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()
    assert dist.is_available()
