"""all_reduce, broadcast and barrier against numpy references, every dtype, odd sizes."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
import disttorch.distributed as dist

pytestmark = pytest.mark.mpi(min_size=2)

DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "int64", "int8", "uint8"]


def _data(rank, shape, dtype):
    rng = np.random.default_rng(rank + 1)
    return (rng.integers(1, 5, size=shape)).astype(np.float64)


def _ref(size, shape, op):
    vals = [_data(r, shape, None) for r in range(size)]
    if op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG):
        out = np.sum(vals, axis=0)
        return out / size if op is dist.ReduceOp.AVG else out
    if op is dist.ReduceOp.PRODUCT:
        return np.prod(vals, axis=0)
    if op is dist.ReduceOp.MIN:
        return np.min(vals, axis=0)
    return np.max(vals, axis=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", [dist.ReduceOp.SUM, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN,
                                dist.ReduceOp.MAX, dist.ReduceOp.AVG])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5)], ids=str)
def test_all_reduce(world, dtype, op, shape, device):
    rank, size = world
    d = getattr(disttorch, dtype)
    t = disttorch.tensor(_data(rank, shape, dtype), device=device).to(d)
    if op is dist.ReduceOp.AVG and not d.is_floating_point:
        with pytest.raises(ValueError):
            dist.all_reduce(t, op=op)
        return
    v = t._version
    dist.all_reduce(t, op=op)
    assert t.dtype is d and t._version == v + 1
    np.testing.assert_allclose(t.cpu().double().numpy(), _ref(size, shape, op).astype(np.float64)
                               if d.is_floating_point else _ref(size, shape, op).astype(d.np),
                               rtol=1e-2 if dtype in ("float16", "bfloat16") else 1e-6)


def test_all_reduce_bool_and_noncontiguous(world):
    rank, size = world
    b = disttorch.tensor([rank == 0, False, True])
    dist.all_reduce(b)  # SUM on bool is logical or
    assert b.tolist() == [True, False, True]
    base = disttorch.arange(12, dtype=disttorch.float32).reshape(3, 4) * (rank + 1)
    view = base.t()
    assert not view.is_contiguous()
    dist.all_reduce(view)
    factor = size * (size + 1) / 2
    assert base.tolist() == (disttorch.arange(12, dtype=disttorch.float32).reshape(3, 4) * factor).tolist()


def test_async_all_reduce(world, device):
    rank, size = world
    t = disttorch.full((1000,), float(rank + 1), device=device)
    work = dist.all_reduce(t, async_op=True)
    assert work.wait()
    assert work.is_completed()
    assert t.cpu().numpy().tolist() == [size * (size + 1) / 2] * 1000
    fut = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True).get_future()
    assert fut.wait()[0] is t


def test_broadcast(world, device):
    rank, size = world
    for src in range(size):
        t = disttorch.full((2, 3), float(rank), device=device).to(disttorch.bfloat16)
        dist.broadcast(t, src=src)
        assert t.float().cpu().numpy().tolist() == [[float(src)] * 3] * 2
    work = dist.broadcast(disttorch.zeros(4, device=device) + rank, src=size - 1, async_op=True)
    work.wait()


def test_barrier_and_queries(world):
    rank, size = world
    dist.barrier()
    dist.barrier(async_op=True).wait()
    assert dist.get_rank() == rank and dist.get_world_size() == size
    assert dist.get_backend() == "mpi" and dist.is_initialized()
    assert 0 <= dist.get_node_local_rank() < dist.get_node_local_size()


def test_new_group(world):
    rank, size = world
    g = dist.new_group([0, 1])
    if rank in (0, 1):
        t = disttorch.tensor([float(rank + 1)])
        dist.all_reduce(t, group=g)
        assert t.item() == 3.0
        assert dist.get_rank(g) == rank and dist.get_world_size(g) == 2
        dist.broadcast(t, src=1, group=g)
    else:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    with pytest.raises(ValueError):
        dist.new_group([0, size])


def test_errors(world):
    with pytest.raises(TypeError):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError):
        dist.broadcast(disttorch.zeros(1), src=world[1])
    with pytest.raises(ValueError):
        dist.all_reduce(disttorch.zeros(1), op="sum")
