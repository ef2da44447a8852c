"""Object collectives: broadcast/all_gather/gather/scatter of picklable objects, send/recv."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import disttorch
import disttorch.distributed as dist
from disttorch import nn

pytestmark = pytest.mark.mpi(min_size=2)

Point = collections.namedtuple("Point", "x y")


def obj(rank):
    """A different object per rank: nested containers, a big string, rank-dependent sizes."""
    return {"rank": rank, "name": "r" * (rank * 1000 + 1), "pt": Point(rank, [rank] * rank),
            "arr": np.arange(rank + 1), "none": None}


def assert_obj(o, rank):
    assert o["rank"] == rank and o["name"] == "r" * (rank * 1000 + 1)
    assert o["pt"] == Point(rank, [rank] * rank) and o["none"] is None
    np.testing.assert_array_equal(o["arr"], np.arange(rank + 1))


@pytest.mark.parametrize("src_kind", ["first", "last"])
def test_broadcast_object_list(world, src_kind):
    rank, size = world
    src = 0 if src_kind == "first" else size - 1
    objs = [obj(src), "text", 3.5, None, b"\x00" * 70000] if rank == src else [None] * 5
    keep = objs
    assert dist.broadcast_object_list(objs, src=src) is None
    assert objs is keep  # filled in place
    assert_obj(objs[0], src)
    assert objs[1:4] == ["text", 3.5, None] and objs[4] == b"\x00" * 70000
    empty = []
    dist.broadcast_object_list(empty, src=src)
    assert empty == []


def test_all_gather_object(world):
    rank, size = world
    out = [None] * size
    assert dist.all_gather_object(out, obj(rank)) is None
    for r, o in enumerate(out):
        assert_obj(o, r)
    out = [None] * size
    dist.all_gather_object(out, None if rank % 2 else ("odd",) * rank)
    assert out == [None if r % 2 else ("odd",) * r for r in range(size)]


@pytest.mark.parametrize("dst_kind", ["first", "last"])
def test_gather_object(world, dst_kind):
    rank, size = world
    dst = 0 if dst_kind == "first" else size - 1
    out = [None] * size if rank == dst else None
    assert dist.gather_object(obj(rank), out, dst=dst) is None
    if rank == dst:
        for r, o in enumerate(out):
            assert_obj(o, r)


@pytest.mark.parametrize("src_kind", ["first", "last"])
def test_scatter_object_list(world, src_kind):
    rank, size = world
    src = 0 if src_kind == "first" else size - 1
    out = [None]
    ins = [obj(r) for r in range(size)] if rank == src else None
    assert dist.scatter_object_list(out, ins, src=src) is None
    assert_obj(out[0], rank)


def test_send_recv_object_list(world):
    rank, size = world
    if rank == 0:
        for r in range(1, size):
            dist.send_object_list([obj(r), {"k": r}], dst=r)
    else:
        got = [None, None]
        assert dist.recv_object_list(got, src=0) == 0
        assert_obj(got[0], rank) and got[1] == {"k": rank}


def test_tensors_inside_objects(world, device):
    """Tensors are pickled from host memory and arrive on the CPU, keeping dtype and class."""
    rank, size = world
    p = nn.Parameter(disttorch.arange(3.0, device=device) + rank)
    payload = {"t": disttorch.ones(2, 2, device=device).to(disttorch.bfloat16) * (rank + 1),
               "p": p, "i": disttorch.tensor([rank], device=device)}
    out = [None] * size
    dist.all_gather_object(out, payload)
    for r, o in enumerate(out):
        assert o["t"].device.type == "cpu" and o["t"].dtype is disttorch.bfloat16
        assert o["t"].float().tolist() == [[r + 1.0] * 2] * 2
        assert isinstance(o["p"], nn.Parameter) and o["p"].requires_grad
        assert o["p"].device.type == "cpu" and o["p"].tolist() == [r, r + 1.0, r + 2.0]
        assert o["i"].tolist() == [r] and o["i"].dtype is disttorch.int64
    # the sender's own tensors stay where they were
    assert payload["t"].device.type == device and p.device.type == device
    objs = [payload] if rank == 0 else [None]
    dist.broadcast_object_list(objs, src=0)
    assert objs[0]["t"].device.type == ("cpu" if rank else device)


def test_object_collectives_in_subgroup(world):
    rank, size = world
    g = dist.new_group(list(range(1, size)))
    if rank == 0:
        with pytest.warns(UserWarning, match="does not belong"):
            assert dist.all_gather_object([None], "x", group=g) is None
        with pytest.warns(UserWarning):
            assert dist.recv_object_list([None], src=1, group=g) == -1
    else:
        n = size - 1
        out = [None] * n
        dist.all_gather_object(out, rank * 10, group=g)
        assert out == [r * 10 for r in range(1, size)]
        objs = ["from last"] if rank == size - 1 else [None]
        dist.broadcast_object_list(objs, src=size - 1, group=g)
        assert objs == ["from last"]
        out = [None]
        dist.scatter_object_list(out, [f"to {r}" for r in range(1, size)] if rank == 1 else None,
                                 group=g, group_src=0)
        assert out == [f"to {rank}"]
        gathered = [None] * n if rank == size - 1 else None
        dist.gather_object(rank, gathered, dst=size - 1, group=g)
        if rank == size - 1:
            assert gathered == list(range(1, size))
    dist.barrier()


def test_errors(world):
    rank, size = world
    if rank == 0:
        with pytest.raises(ValueError, match="must be specified on destination rank"):
            dist.gather_object("x", None, dst=0)
        with pytest.raises(ValueError, match="non-None scatter_object_input_list"):
            dist.scatter_object_list([None], None, src=0)
        with pytest.raises(RuntimeError, match="Incorrect input list size"):
            dist.scatter_object_list([None], ["only one"], src=0)
    else:
        with pytest.raises(ValueError, match="must NOT be specified on non-destination ranks"):
            dist.gather_object("x", [None] * size, dst=0)
    with pytest.raises(ValueError, match="at least 1"):
        dist.scatter_object_list([], None, src=0)
    with pytest.raises(ValueError, match="at least 1"):
        dist.scatter_object_list("not a list", None, src=0)
    with pytest.raises(ValueError, match="should not be the same"):
        dist.send_object_list(["x"], dst=rank)
    with pytest.raises(ValueError, match="should not be the same"):
        dist.recv_object_list([None], src=rank)
    with pytest.raises(ValueError, match="not part of group"):
        dist.broadcast_object_list([None], src=size)
    dist.barrier()
