"""Tensor collectives with torch's signatures and in-place semantics, over MPI buffers.

Every call moves raw buffers through mpi4py's upper-case methods (never pickles an
array). ``async_op=True`` starts the non-blocking MPI call and returns a ``Work``.
"""
from __future__ import annotations

from .._tensor import Tensor
from ._buffers import Staged
from .process_group import _resolve
from .reduce_op import ReduceOp, mpi_op
from .work import CompletedWork, Work


def check_tensor(t, name: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type disttorch.Tensor "
            f"but got {type(t)} instead."
        )


def _finish_reduce(st: Staged, op: ReduceOp, size: int):
    def finish() -> None:
        if op is ReduceOp.AVG:
            st.buf /= size
        st.write_back()
        st.tensor._vc[0] += 1

    return finish


def _check_avg(t: Tensor, op: ReduceOp) -> None:
    if op is ReduceOp.AVG and not t.is_floating_point():
        raise ValueError(
            f"ReduceOp.AVG needs a floating-point tensor, got disttorch.{t.dtype.name}"
        )


def _nccl(pg, t: Tensor):
    """The group's NCCL communicator when the backend is 'nccl' and ``t`` is a cuda tensor."""
    if pg.backend == "nccl" and t._device.type == "cuda":
        from .nccl import communicator

        return communicator(pg, t._device)
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group; every rank ends with the result, in place."""
    check_tensor(tensor)
    pg = _resolve(group)
    _check_avg(tensor, op)
    nc = _nccl(pg, tensor)
    if nc is not None:
        return nc.all_reduce(tensor, op, async_op)
    from mpi4py import MPI

    st = Staged(tensor, reduce=True)
    mop = mpi_op(op, tensor._data.dtype.kind == "b")
    finish = _finish_reduce(st, op, pg.size())
    if async_op:
        return Work([pg.comm.Iallreduce(MPI.IN_PLACE, st.buf, op=mop)], finish, lambda: [tensor])
    pg.comm.Allreduce(MPI.IN_PLACE, st.buf, op=mop)
    finish()
    return None


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` from rank ``src`` (a global rank) to every rank of the group, in place."""
    check_tensor(tensor)
    pg = _resolve(group)
    root = _group_rank(pg, src, group_src, "src")
    nc = _nccl(pg, tensor)
    if nc is not None:
        return nc.broadcast(tensor, root, async_op)
    st = Staged(tensor, reduce=False)

    def finish() -> None:
        if pg.rank() != root:
            st.write_back()
            tensor._vc[0] += 1

    if async_op:
        return Work([pg.comm.Ibcast(st.buf, root=root)], finish, lambda: [tensor])
    pg.comm.Bcast(st.buf, root=root)
    finish()
    return None


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group reaches the barrier."""
    pg = _resolve(group)
    if async_op:
        return Work([pg.comm.Ibarrier()])
    pg.comm.Barrier()
    return None


def _group_rank(pg, global_rank: int | None, group_rank: int | None, name: str) -> int:
    """Translate torch's global ``src``/``dst`` (or ``group_src``/``group_dst``) to a group rank."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError(f"Can not specify both {name} and group_{name}")
        r = group_rank
    else:
        if global_rank is None:
            global_rank = 0
        if global_rank not in pg.global_ranks:
            raise ValueError(
                f"Global rank {global_rank} is not part of group {pg} (ranks {pg.global_ranks})"
            )
        r = pg.global_ranks.index(global_rank)
    if not 0 <= r < pg.size():
        raise ValueError(f"{name} rank {r} is out of range for a group of size {pg.size()}")
    return r


__all__ = ["CompletedWork", "all_reduce", "barrier", "broadcast"]
