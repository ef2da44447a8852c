"""Every tensor collective against numpy references: dtypes, shapes, layouts, async, groups.

Run under ``mpiexec -n 2`` and ``-n 3`` (also with ``DISTTORCH_FAKE_CUDA=1``). Every rank
builds the inputs of every other rank from the same seeds, so each can check its results.
Error cases raise on every rank before any communication, so no rank is left waiting.
"""
from __future__ import annotations

import ctypes
import gc
import time
import types
import warnings
from datetime import timedelta

import numpy as np
import pytest

import disttorch
import disttorch.distributed as dist
from disttorch.backend import device as _dev
from disttorch.distributed import collectives as _coll
from disttorch.distributed import nccl as nccl_mod

pytestmark = pytest.mark.mpi(min_size=2)

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]
HALF = ("float16", "bfloat16")
OPS = [dist.ReduceOp.SUM, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN, dist.ReduceOp.MAX,
       dist.ReduceOp.AVG]
OP_IDS = [o.name for o in OPS]
# (shape, layout): 0-d, 1-d, 2-d, empty, and a non-contiguous strided view
CASES = [((), "c"), ((5,), "c"), ((3, 4), "c"), ((0, 2), "c"), ((3, 4), "nc")]


def _dt(name):
    return getattr(disttorch, name)


def data(rank, shape, dtype, salt=0):
    """Rank ``rank``'s values: small integers (exact in every dtype), as a numpy array."""
    rng = np.random.default_rng(7919 * salt + 31 * rank + 1)
    v = np.asarray(rng.integers(1, 5, size=shape))
    if dtype == "bool":
        return v % 2 == 1
    return v.astype(_dt(dtype).np)


def make(a, device, layout="c"):
    """A tensor with ``a``'s values (a list gives float32); layout 'nc': a non-contiguous view."""
    a = np.asarray(a, np.float32) if isinstance(a, list) else np.asarray(a)
    if layout == "nc" and a.ndim >= 1:
        big = np.zeros((2 * a.shape[0],) + a.shape[1:], a.dtype)
        big[::2] = a
        t = disttorch.tensor(big, device=device)[::2]
        assert not t.is_contiguous() or a.shape[0] <= 1
        return t
    return disttorch.tensor(a, device=device)


def empty(shape, dtype, device, layout="c"):
    return make(np.zeros(shape, _dt(dtype).np), device, layout)


def npy(t):
    return t.cpu().numpy()


def assert_equal(t, expected):
    got = npy(t)
    assert got.shape == np.shape(expected)
    np.testing.assert_array_equal(got.astype(np.float64), np.asarray(expected).astype(np.float64))


def ref_reduce(arrays, op, dtype):
    R = dist.ReduceOp
    if dtype == "bool":  # torch reduces bools logically
        a = np.stack(arrays)
        return a.any(axis=0) if op in (R.SUM, R.MAX, R.AVG) else a.all(axis=0)
    if _dt(dtype).is_floating_point:
        a = np.stack([np.asarray(x).astype(np.float64) for x in arrays])
        return {R.SUM: a.sum, R.AVG: a.mean, R.PRODUCT: a.prod, R.MIN: a.min, R.MAX: a.max}[op](axis=0)
    a = np.stack(arrays)  # integers in their own dtype: they wrap like MPI's C arithmetic
    if op in (R.SUM, R.PRODUCT):
        return (a.sum if op is R.SUM else a.prod)(axis=0, dtype=a.dtype)
    return (a.min if op is R.MIN else a.max)(axis=0)


def assert_reduced(t, expected, dtype):
    got = npy(t).astype(np.float64)
    tol = 1e-2 if dtype in HALF else 1e-6
    np.testing.assert_allclose(got, np.asarray(expected, np.float64), rtol=tol, atol=tol)


def _avg_unsupported(dtype, op):
    return op is dist.ReduceOp.AVG and not _dt(dtype).is_floating_point


def _root(size, kind):
    return 0 if kind == "first" else size - 1


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
@pytest.mark.parametrize("root_kind", ["first", "last"])
def test_reduce(world, dtype, op, root_kind, device):
    rank, size = world
    dst = _root(size, root_kind)
    for shape, layout in CASES:
        t = make(data(rank, shape, dtype), device, layout)
        if _avg_unsupported(dtype, op):
            with pytest.raises(ValueError, match="AVG"):
                dist.reduce(t, dst=dst, op=op)
            return
        v = t._version
        assert dist.reduce(t, dst=dst, op=op) is None
        assert t.dtype is _dt(dtype) and t.shape == shape
        if rank == dst:
            assert t._version == v + 1
            assert_reduced(t, ref_reduce([data(r, shape, dtype) for r in range(size)], op, dtype),
                           dtype)
        else:  # only dst's tensor changes
            assert t._version == v
            assert_equal(t, data(rank, shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_all_reduce_every_dtype(world, dtype, op, device):
    rank, size = world
    for shape, layout in CASES:
        t = make(data(rank, shape, dtype), device, layout)
        if _avg_unsupported(dtype, op):
            with pytest.raises(ValueError):
                dist.all_reduce(t, op=op)
            return
        dist.all_reduce(t, op=op)
        assert_reduced(t, ref_reduce([data(r, shape, dtype) for r in range(size)], op, dtype),
                       dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_reduce_scatter(world, dtype, op, device):
    rank, size = world
    for shape, layout in CASES:
        inputs = [make(data(rank, shape, dtype, salt=j), device, layout) for j in range(size)]
        out = empty(shape, dtype, device, layout)
        if _avg_unsupported(dtype, op):
            with pytest.raises(ValueError):
                dist.reduce_scatter(out, inputs, op=op)
            return
        before = [npy(t).copy() for t in inputs]
        dist.reduce_scatter(out, inputs, op=op)
        expected = ref_reduce([data(r, shape, dtype, salt=rank) for r in range(size)], op, dtype)
        assert_reduced(out, expected, dtype)
        for t, b in zip(inputs, before):  # inputs are untouched
            assert_equal(t, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
@pytest.mark.parametrize("stacked", [False, True], ids=["flat", "stacked"])
def test_reduce_scatter_tensor(world, dtype, op, stacked, device):
    rank, size = world
    for chunk, layout in [((), "c"), ((3,), "c"), ((2, 3), "c"), ((2, 3), "nc"), ((0,), "c")]:
        full = np.stack([data(rank, chunk, dtype, salt=j) for j in range(size)])
        if not stacked and chunk:
            full = full.reshape((size * chunk[0],) + chunk[1:])
        inp = make(full, device, layout if full.ndim >= 1 else "c")
        out = empty(chunk, dtype, device, layout)
        if _avg_unsupported(dtype, op):
            with pytest.raises(ValueError):
                dist.reduce_scatter_tensor(out, inp, op=op)
            return
        dist.reduce_scatter_tensor(out, inp, op=op)
        expected = ref_reduce([data(r, chunk, dtype, salt=rank) for r in range(size)], op, dtype)
        assert_reduced(out, expected, dtype)


def test_reduce_scatter_uneven(world, device):
    rank, size = world
    inputs = [make(np.full(j + 1, float(rank + 1), np.float32), device) for j in range(size)]
    out = disttorch.zeros(rank + 1, device=device)
    dist.reduce_scatter(out, inputs)
    assert_equal(out, np.full(rank + 1, size * (size + 1) / 2))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool"])
@pytest.mark.parametrize("op", [dist.ReduceOp.BAND, dist.ReduceOp.BOR, dist.ReduceOp.BXOR],
                         ids=["BAND", "BOR", "BXOR"])
def test_bitwise_reductions(world, dtype, op, device):
    rank, size = world
    fn = {dist.ReduceOp.BAND: np.bitwise_and, dist.ReduceOp.BOR: np.bitwise_or,
          dist.ReduceOp.BXOR: np.bitwise_xor}[op]
    arrays = [data(r, (6,), dtype) * (1 if dtype == "bool" else 5) for r in range(size)]
    t = make(arrays[rank], device)
    dist.all_reduce(t, op=op)
    assert_equal(t, fn.reduce(np.stack(arrays), axis=0))
    t = make(arrays[rank], device)
    dist.reduce(t, dst=size - 1, op=op)
    assert_equal(t, fn.reduce(np.stack(arrays), axis=0) if rank == size - 1 else arrays[rank])


def test_single_rank_group_aliasing(world, device):
    """Outputs that are also inputs (legal in torch) never reach MPI as aliased buffers."""
    rank, size = world
    g = dist.new_group([size - 1])
    if rank == size - 1:
        t = make([1.0, 2.0], device)
        dist.scatter(t, [t], group=g, group_src=0)
        dist.reduce_scatter(t, [t], group=g)
        dist.reduce_scatter_tensor(t, t, group=g)
        dist.all_gather_into_tensor(t, t, group=g)
        dist.all_to_all_single(t, t, group=g)
        assert t.tolist() == [1.0, 2.0]
        outs = [t]
        dist.all_gather(outs, t, group=g)
        dist.all_to_all(outs, [t], group=g)
        assert t.tolist() == [1.0, 2.0]
    dist.barrier()


# ---------------------------------------------------------------------------
# data movement
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_all_gather(world, dtype, device):
    rank, size = world
    for shape, layout in CASES:
        t = make(data(rank, shape, dtype), device, layout)
        outs = [empty(shape, dtype, device, "nc" if j % 2 else "c") for j in range(size)]
        versions = [o._version for o in outs]
        assert dist.all_gather(outs, t) is None
        for r, o in enumerate(outs):
            assert o.dtype is _dt(dtype)
            assert_equal(o, data(r, shape, dtype))
            assert o._version == versions[r] + 1
        assert_equal(t, data(rank, shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_gather_into_tensor(world, dtype, device):
    rank, size = world
    for shape, layout in CASES:
        chunks = [data(r, shape, dtype) for r in range(size)]
        t = make(chunks[rank], device, layout)
        stacked = empty((size,) + shape, dtype, device, layout)
        dist.all_gather_into_tensor(stacked, t)
        assert_equal(stacked, np.stack(chunks))
        if shape:
            flat = empty((size * shape[0],) + shape[1:], dtype, device, layout)
            dist.all_gather_into_tensor(flat, t)
            assert_equal(flat, np.concatenate(chunks))


def test_all_gather_into_tensor_in_place(world, device):
    """The input is this rank's chunk of the output (the FSDP pattern)."""
    rank, size = world
    out = disttorch.zeros(size * 4, device=device)
    chunk = out[rank * 4:(rank + 1) * 4]
    chunk.copy_(make(np.full(4, rank + 1.0, np.float32), device))
    dist.all_gather_into_tensor(out, chunk)
    assert_equal(out, np.repeat(np.arange(1.0, size + 1), 4))
    # an input overlapping the output elsewhere is copied first
    out = make(np.arange(size * 2, dtype=np.float64) + 100 * rank, device)
    src = out[:2]
    dist.all_gather_into_tensor(out, src)
    assert_equal(out, np.concatenate([np.arange(2.0) + 100 * r for r in range(size)]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("root_kind", ["first", "last"])
def test_gather(world, dtype, root_kind, device):
    rank, size = world
    dst = _root(size, root_kind)
    for shape, layout in CASES:
        t = make(data(rank, shape, dtype), device, layout)
        outs = ([empty(shape, dtype, device, "nc" if j % 2 else "c") for j in range(size)]
                if rank == dst else None)
        assert dist.gather(t, outs, dst=dst) is None
        if rank == dst:
            for r, o in enumerate(outs):
                assert_equal(o, data(r, shape, dtype))
        assert_equal(t, data(rank, shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("root_kind", ["first", "last"])
def test_scatter(world, dtype, root_kind, device):
    rank, size = world
    src = _root(size, root_kind)
    for shape, layout in CASES:
        ins = ([make(data(r, shape, dtype, salt=1), device, "nc" if r % 2 else "c")
                for r in range(size)] if rank == src else None)
        out = empty(shape, dtype, device, layout)
        v = out._version
        assert dist.scatter(out, ins, src=src) is None
        assert_equal(out, data(rank, shape, dtype, salt=1))
        assert out._version == v + 1


def test_gather_scatter_uneven(world, device):
    """MPI's v-variants: the root's list gives each rank's size."""
    rank, size = world
    mine = make(np.arange(rank + 1, dtype=np.float32) + 10 * rank, device)
    outs = [disttorch.zeros(r + 1, device=device) for r in range(size)] if rank == 0 else None
    dist.gather(mine, outs, dst=0)
    if rank == 0:
        for r, o in enumerate(outs):
            assert_equal(o, np.arange(r + 1) + 10 * r)
    ins = [make(np.full(r + 2, r * 1.5, np.float32), device) for r in range(size)]
    out = disttorch.zeros(rank + 2, device=device)
    dist.scatter(out, ins if rank == size - 1 else None, src=size - 1)
    assert_equal(out, np.full(rank + 2, rank * 1.5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_to_all(world, dtype, device):
    rank, size = world
    for shape, layout in CASES:
        # input j goes to rank j: data(rank, ..., salt=j)
        ins = [make(data(rank, shape, dtype, salt=j), device, layout) for j in range(size)]
        outs = [empty(shape, dtype, device, "nc" if j % 2 else "c") for j in range(size)]
        assert dist.all_to_all(outs, ins) is None
        for r, o in enumerate(outs):
            assert_equal(o, data(r, shape, dtype, salt=rank))


def test_all_to_all_uneven(world, device):
    rank, size = world
    # rank r sends r + j + 1 elements to rank j
    ins = [make(np.full((rank + j + 1, 2), 10.0 * rank + j, np.float64), device)
           for j in range(size)]
    outs = [disttorch.zeros(r + rank + 1, 2, dtype=disttorch.float64, device=device)
            for r in range(size)]
    dist.all_to_all(outs, ins)
    for r, o in enumerate(outs):
        assert_equal(o, np.full((r + rank + 1, 2), 10.0 * r + rank))


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_to_all_single(world, dtype, device):
    rank, size = world
    for row, layout in [((), "c"), ((3,), "c"), ((2, 2), "c"), ((3,), "nc")]:
        full = np.stack([data(rank, (2,) + row, dtype, salt=j) for j in range(size)])
        inp = make(full.reshape((2 * size,) + row), device, layout)
        out = empty((2 * size,) + row, dtype, device, layout)
        assert dist.all_to_all_single(out, inp) is None
        expected = np.concatenate([data(r, (2,) + row, dtype, salt=rank) for r in range(size)])
        assert_equal(out, expected)


def test_all_to_all_single_splits(world, device):
    rank, size = world
    in_splits = [rank + j + 1 for j in range(size)]  # rank r sends r + j + 1 rows to rank j
    out_splits = [r + rank + 1 for r in range(size)]
    inp = make(np.concatenate([np.full((s, 3), 100.0 * rank + j) for j, s in enumerate(in_splits)]),
               device)
    out = disttorch.zeros(sum(out_splits), 3, dtype=disttorch.float64, device=device)
    dist.all_to_all_single(out, inp, out_splits, in_splits)
    expected = np.concatenate([np.full((s, 3), 100.0 * r + rank) for r, s in enumerate(out_splits)])
    assert_equal(out, expected)
    # equal splits given explicitly match the default
    inp = make(np.arange(size * 2.0) + 10 * rank, device)
    out = disttorch.zeros(size * 2, dtype=disttorch.float64, device=device)
    dist.all_to_all_single(out, inp, [2] * size, [2] * size)
    assert_equal(out, np.concatenate([np.arange(2.0 * rank, 2.0 * rank + 2) + 10 * r
                                      for r in range(size)]))


def test_large_buffers(world, device):
    rank, size = world
    n = 1 << 18
    t = make(np.arange(n, dtype=np.float32) * (rank + 1), device)
    out = disttorch.zeros(size * n, device=device)
    dist.all_gather_into_tensor(out, t)
    assert_equal(out, np.concatenate([np.arange(n, dtype=np.float32) * (r + 1) for r in range(size)]))
    dist.all_reduce(t)
    assert_equal(t, np.arange(n, dtype=np.float32) * (size * (size + 1) / 2))


# ---------------------------------------------------------------------------
# async variants
# ---------------------------------------------------------------------------

def _finish(work):
    assert isinstance(work, dist.Work)
    assert work.wait() is True
    assert work.is_completed()
    return work


def test_async_collectives(world, device):
    rank, size = world
    tri = size * (size + 1) / 2
    f32 = np.float32

    t = make(np.full(3, rank + 1, f32), device)
    _finish(dist.reduce(t, dst=size - 1, async_op=True))
    assert_equal(t, np.full(3, tri if rank == size - 1 else rank + 1))

    outs = [disttorch.zeros(2, device=device) for _ in range(size)]
    w = _finish(dist.all_gather(outs, make(np.full(2, rank, f32), device), async_op=True))
    for r, o in enumerate(outs):
        assert_equal(o, [r, r])
    assert [id(x) for x in w.result()] == [id(o) for o in outs]

    out = disttorch.zeros(size, 2, device=device)
    fut = dist.all_gather_into_tensor(out, make(np.full(2, rank, f32), device),
                                      async_op=True).get_future()
    assert fut.wait()[0] is out
    assert_equal(out, np.repeat(np.arange(size, dtype=f32)[:, None], 2, axis=1))

    outs = [disttorch.zeros(1, device=device) for _ in range(size)] if rank == 1 else None
    w = dist.gather(make([rank * 2.0], device), outs, dst=1, async_op=True)
    _finish(w)
    if rank == 1:
        assert [o.item() for o in outs] == [2.0 * r for r in range(size)]

    out = disttorch.zeros(2, device=device)
    ins = [make(np.full(2, r + 0.5, f32), device) for r in range(size)] if rank == 0 else None
    _finish(dist.scatter(out, ins, src=0, async_op=True))
    assert_equal(out, [rank + 0.5] * 2)

    out = disttorch.zeros(2, device=device)
    _finish(dist.reduce_scatter(out, [make(np.full(2, j + rank, f32), device) for j in range(size)],
                                op=dist.ReduceOp.MAX, async_op=True))
    assert_equal(out, [rank + size - 1] * 2)

    out = disttorch.zeros(2, device=device)
    _finish(dist.reduce_scatter_tensor(out, make(np.arange(2 * size, dtype=f32), device),
                                       op=dist.ReduceOp.AVG, async_op=True))
    assert_equal(out, [2 * rank, 2 * rank + 1])

    outs = [disttorch.zeros(1, device=device) for _ in range(size)]
    _finish(dist.all_to_all(outs, [make([10.0 * rank + j], device) for j in range(size)],
                            async_op=True))
    assert [o.item() for o in outs] == [10.0 * r + rank for r in range(size)]

    out = disttorch.zeros(size, device=device)
    _finish(dist.all_to_all_single(out, make(np.arange(size, dtype=f32) + 10 * rank, device),
                                   async_op=True))
    assert_equal(out, [10.0 * r + rank for r in range(size)])

    t = make(np.full(2, rank, f32), device)
    _finish(dist.broadcast(t, src=size - 1, async_op=True))
    assert_equal(t, [size - 1] * 2)
    _finish(dist.barrier(async_op=True))


def test_async_temporaries_outlive_call(world, device):
    """Staging copies (non-contiguous, half, host) stay alive until the request completes."""
    rank, size = world
    works, expect = [], []
    for i in range(4):
        src = make(np.full((4, 3), rank + 10 * i, np.float16), device, "nc")
        outs = ([disttorch.zeros(4, 3, dtype=disttorch.float16, device=device)
                 for _ in range(size)] if rank == 0 else None)
        works.append(dist.gather(src, outs, dst=0, async_op=True))
        expect.append(outs)
        del src
    gc.collect()
    _ = [np.ones(10000) for _ in range(50)]  # reuse freed memory
    for i, w in enumerate(works):
        w.wait()
        if rank == 0:
            for r, o in enumerate(expect[i]):
                assert_equal(o, np.full((4, 3), r + 10 * i))


def test_async_overlap_many(world):
    """Several requests in flight at once complete independently."""
    rank, size = world
    ts = [disttorch.full((100,), float(rank + i)) for i in range(5)]
    works = [dist.all_reduce(t, async_op=True) for t in ts]
    for w in reversed(works):
        w.wait()
    for i, t in enumerate(ts):
        assert t[0].item() == sum(r + i for r in range(size))


# ---------------------------------------------------------------------------
# point to point
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_send_recv(world, dtype, device):
    rank, size = world
    for shape, layout in CASES:
        if rank == 0:
            for r in range(1, size):
                assert dist.send(make(data(r, shape, dtype), device, layout), dst=r) is None
        else:
            buf = empty(shape, dtype, device, layout)
            v = buf._version
            assert dist.recv(buf, src=0) == 0
            assert_equal(buf, data(rank, shape, dtype))
            assert buf._version == v + 1


def test_recv_any_source_and_tags(world, device):
    rank, size = world
    if rank == 0:
        seen = set()
        for _ in range(size - 1):
            buf = disttorch.zeros(2, device=device)
            sender = dist.recv(buf)  # any source: returns the sender's rank
            assert buf.tolist() == [float(sender)] * 2
            seen.add(sender)
        assert seen == set(range(1, size))
    else:
        dist.send(make(np.full(2, rank, np.float32), device), dst=0)
    # tags keep messages apart: received in the opposite order from sending
    if rank == 0:
        works = [dist.isend(make([float(tag)], device), dst=size - 1, tag=tag) for tag in (3, 4)]
        for w in works:
            w.wait()
    elif rank == size - 1:
        b4, b3 = disttorch.zeros(1, device=device), disttorch.zeros(1, device=device)
        assert dist.recv(b4, src=0, tag=4) == 0
        assert dist.recv(b3, src=0, tag=3) == 0
        assert (b3.item(), b4.item()) == (3.0, 4.0)
    dist.barrier()


def test_isend_irecv_ring(world, device):
    rank, size = world
    right, left = (rank + 1) % size, (rank - 1) % size
    out = make(np.arange(4, dtype=np.float32) + rank, device)
    buf = disttorch.zeros(2, 2, device=device).t()  # non-contiguous receive buffer
    ws = dist.isend(out, dst=right, tag=1)
    wr = dist.irecv(buf, src=left, tag=1)
    assert isinstance(ws, dist.Work) and isinstance(wr, dist.Work)
    wr.wait()
    ws.wait()
    assert_equal(buf, (np.arange(4, dtype=np.float32) + left).reshape(2, 2))
    # any-source irecv reports the sender
    buf = disttorch.zeros(1, device=device)
    wr = dist.irecv(buf, tag=2)
    dist.isend(make([float(rank)], device), dst=right, tag=2).wait()
    while not wr.is_completed():
        time.sleep(0.001)
    assert wr._source_rank() == left and buf.item() == float(left)


def test_batch_isend_irecv(world, device):
    rank, size = world
    right, left = (rank + 1) % size, (rank - 1) % size
    send_t = make(np.full(3, rank, np.int64), device)
    recv_t = disttorch.zeros(3, dtype=disttorch.int64, device=device)
    ops = [dist.P2POp(dist.irecv, recv_t, left), dist.P2POp(dist.isend, send_t, right)]
    assert "isend" in repr(ops[1])
    works = dist.batch_isend_irecv(ops)
    assert len(works) == 2
    for w in works:
        w.wait()
    assert recv_t.tolist() == [left] * 3
    with pytest.raises(ValueError, match="Invalid ``op``"):
        dist.P2POp(dist.send, send_t, right)
    with pytest.raises(ValueError, match="P2POp"):
        dist.batch_isend_irecv([send_t])
    with pytest.raises(ValueError, match="P2POp"):
        dist.batch_isend_irecv([])


# ---------------------------------------------------------------------------
# groups
# ---------------------------------------------------------------------------

def test_subgroups(world, device):
    rank, size = world
    last = size - 1
    g = dist.new_group([last, 0])  # two ranks, listed out of order
    rest = dist.new_group(list(range(1, size)))  # size - 1 ranks (a single rank when size is 2)
    if rank in (0, last):
        t = make([float(rank + 1)], device)
        dist.reduce(t, dst=last, group=g)
        assert t.item() == (float(last + 2) if rank == last else 1.0)
        t = make([float(rank)], device)
        dist.reduce(t, group=g, group_dst=0)  # group rank 0 is global rank 0
        assert rank != 0 or t.item() == float(last)
        outs = [disttorch.zeros(1, device=device) for _ in range(2)]
        dist.all_gather(outs, make([float(rank)], device), group=g)
        assert [o.item() for o in outs] == [0.0, float(last)]
        outs = [disttorch.zeros(1, device=device) for _ in range(2)] if rank == last else None
        dist.gather(make([rank + 0.5], device), outs, dst=last, group=g)
        if rank == last:
            assert [o.item() for o in outs] == [0.5, last + 0.5]
        out = disttorch.zeros(1, device=device)
        dist.scatter(out, [make([7.0], device), make([8.0], device)] if rank == last else None,
                     group=g, group_src=1)
        assert out.item() == (7.0 if rank == 0 else 8.0)
        if rank == 0:
            dist.send(make([42.0], device), dst=last, group=g)
        else:
            buf = disttorch.zeros(1, device=device)
            assert dist.recv(buf, group=g) == 0 and buf.item() == 42.0
        out = disttorch.zeros(2, device=device)
        dist.all_to_all_single(out, make([rank * 1.0, rank + 0.5], device), group=g)
        assert out.tolist() == ([0.0, float(last)] if rank == 0 else [0.5, last + 0.5])
    else:
        with pytest.warns(UserWarning, match="does not belong to the given group"):
            assert dist.all_gather([disttorch.zeros(1)], disttorch.zeros(1), group=g) is None
        with pytest.warns(UserWarning):
            assert dist.recv(disttorch.zeros(1), group=g) == -1
    if rank >= 1:
        n = size - 1
        t = make([float(rank)], device)
        dist.all_reduce(t, group=rest)
        assert t.item() == float(sum(range(1, size)))
        out = disttorch.zeros(n, device=device)
        dist.all_gather_into_tensor(out, make([float(rank)], device), group=rest)
        assert out.tolist() == [float(r) for r in range(1, size)]
        out = disttorch.zeros(1, device=device)
        dist.reduce_scatter_tensor(out, make(np.full(n, rank, np.float32), device), group=rest)
        assert out.item() == float(sum(range(1, size)))
        t = make([float(rank)], device)
        dist.broadcast(t, src=last, group=rest)
        assert t.item() == float(last)
        dist.barrier(group=rest)
    else:
        with pytest.warns(UserWarning):
            assert dist.broadcast(disttorch.zeros(1), src=1, group=rest) is None
        with pytest.warns(UserWarning):
            assert dist.barrier(group=rest) is None
    dist.barrier()


def test_group_rank_errors(world):
    rank, size = world
    g = dist.new_group([0, 1])
    if rank in (0, 1):
        with pytest.raises(ValueError, match="not part of group"):
            dist.reduce(disttorch.zeros(1), dst=size, group=g)
        with pytest.raises(ValueError):
            dist.gather(disttorch.zeros(1), None, dst=0, group=g, group_dst=0)
        with pytest.raises(ValueError):
            dist.scatter(disttorch.zeros(1), None, group=g, group_src=5)
    dist.barrier()


# ---------------------------------------------------------------------------
# errors (raised on every rank before any communication)
# ---------------------------------------------------------------------------

def test_type_errors(world):
    rank, size = world
    t = disttorch.zeros(3)
    with pytest.raises(TypeError, match="tensor_list"):
        dist.all_gather(t, t)
    with pytest.raises(TypeError, match="tensor_list"):
        dist.all_gather([t, 1], t)
    with pytest.raises(TypeError, match="`tensor`"):
        dist.gather([1.0])
    with pytest.raises(TypeError):
        dist.reduce(np.zeros(3), dst=0)
    with pytest.raises(TypeError):
        dist.all_to_all_single(t, [1.0])
    with pytest.raises(TypeError):
        dist.send("x", dst=(rank + 1) % size)
    with pytest.raises(TypeError, match="same type"):
        dist.all_gather_into_tensor(disttorch.zeros(3 * size, dtype=disttorch.float64), t)
    with pytest.raises(TypeError, match="same type"):
        dist.reduce_scatter_tensor(t, disttorch.zeros(3 * size, dtype=disttorch.float64))


def test_value_and_runtime_errors(world):
    rank, size = world
    t = disttorch.zeros(3)
    with pytest.raises(ValueError, match="different dtypes"):
        dist.all_gather([disttorch.zeros(3, dtype=disttorch.float64)] * size, t)
    with pytest.raises(ValueError, match="different dtypes"):
        dist.all_to_all([t] * size, [disttorch.zeros(3, dtype=disttorch.int64)] * size)
    with pytest.raises(RuntimeError, match="expected length"):
        dist.all_gather([disttorch.zeros(3)], t)
    with pytest.raises(RuntimeError, match=r"invalid tensor size at index 1 \(expected \(3\), got \(4\)\)"):
        dist.all_gather([disttorch.zeros(3), disttorch.zeros(4)] + [t] * (size - 2), t)
    with pytest.raises(RuntimeError, match="world_size times"):
        dist.all_gather_into_tensor(disttorch.zeros(3 * size + 1), t)
    with pytest.raises(RuntimeError, match="times world size"):
        dist.reduce_scatter_tensor(t, disttorch.zeros(3 * size - 1))
    with pytest.raises(RuntimeError, match="must be world size"):
        dist.reduce_scatter(t, [t])
    with pytest.raises(RuntimeError, match="does not match world size"):
        dist.all_to_all([t] * size, [t])
    with pytest.raises(RuntimeError, match="does not divide equally"):
        dist.all_to_all_single(disttorch.zeros(size * 2 + 1), disttorch.zeros(size * 2 + 1))
    with pytest.raises(RuntimeError, match="doesn't match total dim 0"):
        dist.all_to_all_single(disttorch.zeros(size), disttorch.zeros(size), [1] * size,
                               [2] + [1] * (size - 1))
    with pytest.raises(RuntimeError, match="not equal to group size"):
        dist.all_to_all_single(disttorch.zeros(size), disttorch.zeros(size), [size])
    with pytest.raises(IndexError):
        dist.all_to_all_single(disttorch.zeros(()), disttorch.zeros(()))
    with pytest.raises(ValueError, match="AVG"):
        dist.reduce_scatter_tensor(disttorch.zeros(1, dtype=disttorch.int64),
                                   disttorch.zeros(size, dtype=disttorch.int64),
                                   op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="ReduceOp"):
        dist.reduce(t, dst=0, op="max")
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.BAND with non-integral dtype"):
        dist.all_reduce(t, op=dist.ReduceOp.BAND)
    with pytest.raises(RuntimeError, match="Cannot use ReduceOp.BXOR"):
        dist.reduce_scatter(t, [t] * size, op=dist.ReduceOp.BXOR)
    with pytest.raises(ValueError, match="not be the same as the rank of the current process"):
        dist.send(t, dst=rank)
    with pytest.raises(ValueError, match="not be the same as the rank of the current process"):
        dist.recv(t, src=rank)
    with pytest.raises(ValueError, match="Must specify"):
        dist.send(t)
    with pytest.raises(ValueError, match="both"):
        dist.broadcast(t, src=0, group_src=0)
    dist.barrier()


def test_gather_scatter_list_errors(world):
    rank, size = world
    t = disttorch.zeros(2)
    lst = [disttorch.zeros(2) for _ in range(size)]
    # dst: a list is required; elsewhere it must not be given (each rank raises locally)
    if rank == 0:
        with pytest.raises(ValueError, match="must be specified on destination rank"):
            dist.gather(t, None, dst=0)
        with pytest.raises(ValueError, match="must be specified on source rank"):
            dist.scatter(t, [], src=0)
        with pytest.raises(RuntimeError, match="Incorrect output list size 1"):
            dist.gather(t, lst[:1], dst=0)
        with pytest.raises(RuntimeError, match="Incorrect input list size 1"):
            dist.scatter(t, lst[:1], src=0)
        with pytest.raises(RuntimeError, match="invalid tensor size at index 0"):
            dist.gather(t, [disttorch.zeros(3)] + lst[1:], dst=0)
    else:
        with pytest.raises(ValueError, match="must NOT be specified on non-destination ranks"):
            dist.gather(t, lst, dst=0)
        with pytest.raises(ValueError, match="must NOT be specified on non-source ranks"):
            dist.scatter(t, lst, src=0)
    with pytest.raises(ValueError, match="different dtypes"):
        dist.gather(t, [disttorch.zeros(2, dtype=disttorch.int32)] * size, dst=rank)
    dist.barrier()


def test_work_timeout(world):
    rank, size = world
    buf = disttorch.zeros(1)
    w = dist.irecv(buf, src=(rank + 1) % size, tag=77)
    with pytest.raises(RuntimeError, match="timed out"):
        w.wait(timeout=timedelta(milliseconds=50))
    assert not w.is_completed()
    dist.barrier()
    dist.send(disttorch.ones(1) * rank, dst=(rank - 1) % size, tag=77)
    w.wait()
    assert buf.item() == float((rank + 1) % size)


# ---------------------------------------------------------------------------
# monitored_barrier
# ---------------------------------------------------------------------------

def test_monitored_barrier(world):
    rank, size = world
    dist.monitored_barrier(timeout=timedelta(seconds=30))
    dist.monitored_barrier(wait_all_ranks=True)
    g = dist.new_group(list(range(size)))  # a fresh group: a late token cannot leak elsewhere
    if rank == 0:
        with pytest.raises(RuntimeError, match=r"Ranks? 1.* failed to pass monitoredBarrier in 300 ms"):
            dist.monitored_barrier(g, timeout=timedelta(milliseconds=300), wait_all_ranks=True)
    else:
        time.sleep(0.8)  # arrive after rank 0 gave up: the acknowledgement never comes
        with pytest.raises(RuntimeError, match="did not acknowledge"):
            dist.monitored_barrier(g, timeout=timedelta(milliseconds=300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="timedelta"):
            dist.monitored_barrier(timeout=1.0)
    dist.barrier()


# ---------------------------------------------------------------------------
# NCCL: fallback on CPU / stand-in, unique-id exchange, the communicator on a fake NCCL
# ---------------------------------------------------------------------------

def test_nccl_backend_cpu_tensors_use_mpi(world, device):
    rank, size = world
    g = dist.new_group(backend="nccl")
    assert dist.get_backend(g) == "nccl"
    t = make(np.full(3, rank + 1.0, np.float32), device)
    dist.all_reduce(t, group=g)
    assert_equal(t, np.full(3, size * (size + 1) / 2))
    out = disttorch.zeros(size, device=device)
    dist.all_gather_into_tensor(out, make([float(rank)], device), group=g)
    assert_equal(out, np.arange(size))
    assert g._nccl is None  # no NCCL communicator was created


class FakeNccl:
    """Records what rank 0's get_unique_id hands out, and builds FakeComms."""

    def __init__(self, pg, uid=None) -> None:
        self.pg = pg
        self.uid = uid or tuple(((i * 37) % 256) - 128 for i in range(nccl_mod.UNIQUE_ID_BYTES))
        self.calls = []
        self.comms = []

    def get_unique_id(self):
        self.calls.append("get_unique_id")
        return self.uid

    def NcclCommunicator(self, ndev, uid, rank):  # noqa: N802 - cupy's name
        comm = FakeComm(self.pg, ndev, uid, rank)
        self.comms.append(comm)
        return comm


_NCCL_NP = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
            6: np.float16, 7: np.float32, 8: np.float64}


def _mem(ptr, count, dtype):
    """A numpy view of ``count`` items at address ``ptr`` (stand-in device arrays live on the host)."""
    dtype = np.dtype(dtype)
    raw = (ctypes.c_char * max(count * dtype.itemsize, 1)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype, count=count)


class FakeComm:
    """NCCL's calls carried out with MPI on the memory behind the pointers."""

    def __init__(self, pg, ndev, uid, rank) -> None:
        self.pg, self.ndev, self.uid, self.rank = pg, ndev, uid, rank
        self.log = []

    def _op(self, op):
        from mpi4py import MPI

        return {0: MPI.SUM, 1: MPI.PROD, 2: MPI.MAX, 3: MPI.MIN}[op]

    def allReduce(self, send, recv, count, dtype, op, stream):  # noqa: N802
        self.log.append(("allReduce", count, dtype, op))
        a = _mem(send, count, _NCCL_NP[dtype]).copy()
        self.pg.comm.Allreduce(a, _mem(recv, count, _NCCL_NP[dtype]), op=self._op(op))

    def reduce(self, send, recv, count, dtype, op, root, stream):
        self.log.append(("reduce", count, dtype, op, root))
        a = _mem(send, count, _NCCL_NP[dtype]).copy()
        self.pg.comm.Reduce(a, _mem(recv, count, _NCCL_NP[dtype]) if self.rank == root else None,
                            op=self._op(op), root=root)

    def broadcast(self, send, recv, count, dtype, root, stream):
        self.log.append(("broadcast", count, dtype, root))
        self.pg.comm.Bcast(_mem(recv, count, _NCCL_NP[dtype]), root=root)

    def allGather(self, send, recv, count, dtype, stream):  # noqa: N802
        self.log.append(("allGather", count, dtype, send == recv + self.rank * count *
                         np.dtype(_NCCL_NP[dtype]).itemsize))
        a = _mem(send, count, _NCCL_NP[dtype]).copy()
        self.pg.comm.Allgather(a, _mem(recv, count * self.ndev, _NCCL_NP[dtype]))

    def reduceScatter(self, send, recv, count, dtype, op, stream):  # noqa: N802
        self.log.append(("reduceScatter", count, dtype, op))
        a = _mem(send, count * self.ndev, _NCCL_NP[dtype]).copy()
        self.pg.comm.Reduce_scatter_block(a, _mem(recv, count, _NCCL_NP[dtype]), op=self._op(op))


class FakeEvent:
    done = True

    def synchronize(self):
        self.synced = True


def _fake_xp():
    xp = _dev.cupy_module()
    stream = types.SimpleNamespace(ptr=1234, record=FakeEvent)
    cuda = types.SimpleNamespace(Device=xp.cuda.Device, get_current_stream=lambda: stream)
    return types.SimpleNamespace(cuda=cuda, ascontiguousarray=xp.ascontiguousarray)


def test_nccl_unique_id_exchange(world):
    rank, size = world
    g = dist.new_group(backend="nccl")
    fake = FakeNccl(g)
    uid = nccl_mod.exchange_unique_id(g, fake)
    assert fake.calls == (["get_unique_id"] if rank == 0 else [])  # made on group rank 0 only
    assert uid == FakeNccl(g).uid and len(uid) == nccl_mod.UNIQUE_ID_BYTES
    # an unsigned-char platform's id survives too
    fake = FakeNccl(g, uid=tuple(range(128, 256)))
    assert nccl_mod.exchange_unique_id(g, fake) == tuple(range(128, 256))


def test_nccl_communicator_cache(world, monkeypatch):
    rank, size = world
    g = dist.new_group(backend="nccl")
    fake = FakeNccl(g)
    monkeypatch.setattr(nccl_mod, "_nccl_module", lambda: fake)
    monkeypatch.setattr(nccl_mod, "_cupy", lambda: types.SimpleNamespace(
        cuda=types.SimpleNamespace(Device=lambda i: _NullContext())))
    c1 = nccl_mod.communicator(g, "cuda:0")  # strings, device objects: one cache key
    assert nccl_mod.communicator(g, disttorch.device("cuda", 0)) is c1  # cached per device
    c2 = nccl_mod.communicator(g, disttorch.device("cuda:1"))
    assert c2 is not c1 and len(fake.comms) == 2
    comm = fake.comms[0]
    assert (comm.ndev, comm.rank, comm.uid) == (size, rank, fake.uid)
    assert fake.calls == (["get_unique_id"] * 2 if rank == 0 else [])


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _stand_in_only():
    if not getattr(_dev.cupy_module(), "IS_STAND_IN", False):
        pytest.skip("the fake NCCL reads device memory through host pointers: CPU stand-in only")


@pytest.mark.gpu
def test_nccl_ops_on_fake_nccl(world, monkeypatch):
    """all_reduce/reduce/broadcast/all_gather_into_tensor/reduce_scatter_tensor routed to NCCL."""
    _stand_in_only()
    rank, size = world
    g = dist.new_group(backend="nccl")
    fake = FakeNccl(g)
    monkeypatch.setattr(nccl_mod, "_nccl_module", lambda: fake)
    monkeypatch.setattr(nccl_mod, "_cupy", _fake_xp)
    monkeypatch.setattr(nccl_mod, "available", lambda: True)
    tri = size * (size + 1) / 2

    t = make(np.full((2, 3), rank + 1, np.float32), "cuda")
    dist.all_reduce(t, group=g)
    assert_equal(t, np.full((2, 3), tri))
    comm = fake.comms[0]
    assert comm.log[-1] == ("allReduce", 6, 7, 0)
    # non-contiguous, AVG, half, async
    t = make(np.full((3, 2), rank + 1, np.float16), "cuda", "nc")
    w = dist.all_reduce(t, op=dist.ReduceOp.AVG, group=g, async_op=True)
    assert w.wait() and w.is_completed()
    assert_equal(t, np.full((3, 2), tri / size))
    assert comm.log[-1] == ("allReduce", 6, 6, 0)
    # bool and bfloat16 reductions are not NCCL's: they take the MPI path
    n_log = len(comm.log)
    b = make(np.array([rank == 0, False]), "cuda")
    dist.all_reduce(b, group=g)
    h = make(np.full(2, rank + 1, np.float32), "cuda").to(disttorch.bfloat16)
    dist.all_reduce(h, op=dist.ReduceOp.MAX, group=g)
    assert b.tolist() == [True, False] and h.float().tolist() == [float(size)] * 2
    assert len(comm.log) == n_log

    t = make(np.full(4, rank + 1, np.int64), "cuda")
    dist.reduce(t, dst=size - 1, op=dist.ReduceOp.PRODUCT, group=g)
    assert comm.log[-1] == ("reduce", 4, 4, 1, size - 1)
    assert_equal(t, np.full(4, float(np.prod(np.arange(1, size + 1))) if rank == size - 1
                            else rank + 1))

    t = make(np.full((2, 2), rank, np.float32), "cuda").to(disttorch.bfloat16)
    dist.broadcast(t, src=size - 1, group=g)
    assert comm.log[-1] == ("broadcast", 4, 6, size - 1)
    assert_equal(t, np.full((2, 2), size - 1))

    out = disttorch.zeros(size * 2, device="cuda")
    chunk = out[rank * 2:(rank + 1) * 2]
    chunk.copy_(make(np.full(2, rank + 1.0, np.float32), "cuda"))
    dist.all_gather_into_tensor(out, chunk, group=g)
    assert comm.log[-1] == ("allGather", 2, 2, True)  # in place: the input is our chunk
    assert_equal(out, np.repeat(np.arange(1.0, size + 1), 2))
    out = disttorch.zeros(size, 3, dtype=disttorch.float64, device="cuda")
    dist.all_gather_into_tensor(out, make(np.full(3, float(rank)), "cuda", "nc"), group=g)
    assert comm.log[-1] == ("allGather", 3, 4, False)
    assert_equal(out, np.repeat(np.arange(size, dtype=np.float64)[:, None], 3, axis=1))

    out = disttorch.zeros(2, device="cuda")
    w = dist.reduce_scatter_tensor(out, make(np.arange(2 * size, dtype=np.float32) + rank, "cuda"),
                                   op=dist.ReduceOp.MAX, group=g, async_op=True)
    w.wait()
    assert comm.log[-1] == ("reduceScatter", 2, 7, 2)
    assert_equal(out, [2 * rank + size - 1, 2 * rank + size])
    assert len(fake.comms) == 1  # one communicator for the group's device


def test_nccl_stand_in_uses_mpi(world, device):
    """The CPU stand-in has no NCCL: cuda tensors on an 'nccl' group go through MPI."""
    rank, size = world
    g = dist.new_group(backend="nccl")
    t = make(np.full(2, rank + 1.0, np.float32), device)
    if device == "cuda":
        assert not nccl_mod.available()
    assert _coll._nccl(g, t) is None
    dist.all_reduce(t, group=g)
    assert_equal(t, np.full(2, size * (size + 1) / 2))
