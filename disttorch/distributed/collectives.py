"""Tensor collectives with torch's signatures and in-place semantics, over MPI buffers.

Every call moves raw buffers through mpi4py's upper-case methods (never pickles an
array). ``async_op=True`` starts the non-blocking MPI call and returns a ``Work`` whose
completion writes the results into the output tensors.

Buffers: an input goes through ``Staged`` (contiguous, host-staged for cuda tensors
without CUDA-aware MPI, float32 for half types in reductions, raw 16-bit patterns when
only moving data). An output that MPI can write directly (contiguous, in reachable
memory) is used as the receive buffer; any other output gets a temporary buffer that is
copied into it when the operation completes. Only the outputs change (``reduce``
changes only ``dst``'s tensor, ``gather`` only ``dst``'s list).

Beyond torch's gloo backend, ``gather``/``scatter``/``reduce_scatter``/``all_to_all``
accept differently sized tensors per rank (``MPI_Gatherv`` and friends): the sizes come
from the root's list (gather/scatter) or from each rank's lists (the others).
"""
from __future__ import annotations

import math
import time
import warnings
from datetime import timedelta

import numpy as np

from .._tensor import Tensor
from ..backend import device as _dev
from . import nccl as _nccl_mod
from ._buffers import Staged, _is_half, _is_stand_in, mpi_is_cuda_aware
from .process_group import GroupMember, _resolve
from .reduce_op import ReduceOp, mpi_op
from .work import CompletedWork, Work, _mpi

_MONITORED_BARRIER_TAG = 32000  # within the MPI-guaranteed tag range (0..32767)


# ---------------------------------------------------------------------------
# argument checks (torch's messages)
# ---------------------------------------------------------------------------

def check_tensor(t, name: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type disttorch.Tensor "
            f"but got {type(t)} instead."
        )


def _check_list(lst, name: str) -> None:
    if not isinstance(lst, list):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[disttorch.Tensor] but got {type(lst)} instead."
        )
    if not all(isinstance(t, Tensor) for t in lst):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[disttorch.Tensor] but got {type(lst)} with elements of type "
            f"{[type(t) for t in lst]}."
        )


def _same_dtype(*items) -> None:
    """torch's check that every tensor (single tensors or lists) has one dtype."""
    last = None
    for item in items:
        for t in item if isinstance(item, list) else (item,):
            if last is None:
                last = t.dtype
            elif t.dtype is not last:
                raise ValueError(
                    f"Invalid usage of tensors with different dtypesFound {last} and  {t.dtype}"
                )


def _shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


def _check_avg(t: Tensor, op: ReduceOp) -> None:
    """Refuse, before any communication, what MPI cannot reduce (it would abort the job)."""
    if op is ReduceOp.AVG and not t.is_floating_point():
        raise ValueError(
            f"ReduceOp.AVG needs a floating-point tensor, got disttorch.{t.dtype.name}"
        )
    if op in _BITWISE and t.is_floating_point():
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")


def _group(group, op_name: str):
    """The ProcessGroup to use, or None (with torch's warning) on a rank outside ``group``."""
    if group is GroupMember.NON_GROUP_MEMBER:
        world = GroupMember.WORLD
        warnings.warn(
            f"Running {op_name} on global rank {-1 if world is None else world.rank()} which "
            "does not belong to the given group.",
            stacklevel=3,
        )
        return None
    return _resolve(group)


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


def _peer_rank(pg, global_rank: int | None, group_rank: int | None, name: str) -> int:
    """Like ``_group_rank`` but one of the two must be given (torch's point-to-point rule)."""
    if global_rank is None and group_rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    return _group_rank(pg, global_rank, group_rank, name)


def _check_not_self(pg, r: int, kind: str) -> None:
    if r == pg.rank():
        raise ValueError(
            f"Invalid {kind} rank: {kind} rank should not be the same as the rank of the "
            "current process."
        )


# ---------------------------------------------------------------------------
# buffers
# ---------------------------------------------------------------------------

def _host_staged(t: Tensor) -> bool:
    return t._device.type != "cpu" and not (mpi_is_cuda_aware() and not _is_stand_in())


def _xp_of(buf):
    return np if isinstance(buf, np.ndarray) else _dev.cupy_module()


def _empty(like, shape):
    """A new MPI buffer of ``like``'s dtype and array module."""
    return _xp_of(like).empty(shape, like.dtype)


def _flat(buf):
    return buf.reshape(-1)


def _concat(bufs, like):
    """One flat buffer holding ``bufs`` one after another (the send side of the v-calls)."""
    if len(bufs) == 1:
        return _flat(bufs[0])
    if not bufs:
        return _empty(like, (0,))
    return _xp_of(bufs[0]).concatenate([_flat(b) for b in bufs])


def _store(t: Tensor, a) -> None:
    """Write wire array ``a`` (``t``'s size) into ``t``, converting dtype and device."""
    dt = t._data.dtype
    if a.dtype != dt:
        a = a.view(dt) if a.dtype == np.uint16 and dt.itemsize == 2 else a.astype(dt)
    a = a.reshape(t._data.shape)
    if t._device.type != "cpu" or not isinstance(a, np.ndarray):
        a = _dev.to_device(a, t._device)
    t._data[...] = a
    t._vc[0] += 1


def _offsets(counts):
    displs, total = [], 0
    for c in counts:
        displs.append(total)
        total += c
    return displs, total


class _Out:
    """The receive buffer of an output tensor: its own memory when MPI can write it there."""

    __slots__ = ("tensor", "buf", "direct")

    def __init__(self, t: Tensor, reduce: bool = False) -> None:
        a = t._data
        self.tensor = t
        half = _is_half(a)
        if t._device.type != "cpu":
            _dev.synchronize(t._device)
        if not _host_staged(t) and a.flags.c_contiguous and not (reduce and half):
            self.buf = a.view(np.uint16) if half else a
            self.direct = True
        else:
            wire = np.float32 if (reduce and half) else np.uint16 if half else a.dtype
            xp = np if t._device.type == "cpu" or _host_staged(t) else _dev.cupy_module()
            self.buf = xp.empty(a.shape, wire)
            self.direct = False

    def finish(self) -> None:
        if self.direct:
            self.tensor._vc[0] += 1
        else:
            _store(self.tensor, self.buf)


def _may_overlap(t: Tensor, buf) -> bool:
    """Whether ``t``'s memory may overlap ``buf`` (MPI forbids aliased send/receive buffers)."""
    a = t._data
    if isinstance(a, np.ndarray) != isinstance(buf, np.ndarray):
        return False
    if isinstance(a, np.ndarray):
        return bool(np.may_share_memory(a, buf))
    check = getattr(_dev.cupy_module(), "may_share_memory", None)
    return True if check is None else bool(check(a, buf))


def _run(blocking, start, finish, result, async_op: bool):
    """``blocking()`` runs the MPI call; with ``async_op``, ``start()`` starts its non-blocking
    form and the returned Work runs ``finish`` (the write-back) on completion."""
    if async_op:
        work = Work([start()], finish, result)
        work._keep = start  # its closure holds every buffer MPI uses until completion
        return work
    blocking()
    if finish is not None:
        finish()
    return None


def _nccl(pg, t: Tensor, op: ReduceOp | None = None):
    """The group's NCCL communicator for a cuda tensor on an 'nccl' group (None: use MPI)."""
    if pg.backend == "nccl" and t._device.type == "cuda":
        return _nccl_mod.for_tensor(pg, t, op)
    return None




# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

def _finish_reduce(st: Staged, op: ReduceOp, size: int):
    def finish() -> None:
        if op is ReduceOp.AVG:
            st.buf /= size
        st.write_back()
        st.tensor._vc[0] += 1

    return finish


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group; every rank ends with the result, in place."""
    check_tensor(tensor)
    pg = _group(group, "all_reduce")
    if pg is None:
        return None
    _check_avg(tensor, op)
    nc = _nccl(pg, tensor, op)
    if nc is not None:
        return nc.all_reduce(tensor, op, async_op)
    MPI = _mpi()
    st = Staged(tensor, reduce=True)
    mop = mpi_op(op, tensor._data.dtype.kind == "b")
    finish = _finish_reduce(st, op, pg.size())
    return _run(lambda: pg.comm.Allreduce(MPI.IN_PLACE, st.buf, op=mop),
                lambda: pg.comm.Iallreduce(MPI.IN_PLACE, st.buf, op=mop),
                finish, lambda: [tensor], async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` across the group into rank ``dst``'s tensor (the others keep theirs)."""
    check_tensor(tensor)
    pg = _group(group, "reduce")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "dst")
    _check_avg(tensor, op)
    nc = _nccl(pg, tensor, op)
    if nc is not None:
        return nc.reduce(tensor, root, op, async_op)
    MPI = _mpi()
    st = Staged(tensor, reduce=True)
    mop = mpi_op(op, tensor._data.dtype.kind == "b")
    if pg.rank() == root:
        send, recv, finish = MPI.IN_PLACE, st.buf, _finish_reduce(st, op, pg.size())
    else:
        send, recv, finish = st.buf, None, None
    return _run(lambda: pg.comm.Reduce(send, recv, op=mop, root=root),
                lambda: pg.comm.Ireduce(send, recv, op=mop, root=root),
                finish, lambda: [tensor], async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across the group into rank ``i``'s ``output``."""
    check_tensor(output, "output")
    _check_list(input_list, "input_list")
    _same_dtype(output, input_list)
    pg = _group(group, "reduce_scatter")
    if pg is None:
        return None
    n, me = pg.size(), pg.rank()
    if len(input_list) != n:
        raise RuntimeError("reduce_scatter: invalid input tensor list size, must be world size")
    _check_avg(output, op)
    counts = [t.numel() for t in input_list]
    if counts[me] != output.numel():
        raise RuntimeError(
            f"reduce_scatter: invalid tensor size at index {me} (expected "
            f"{_shape_str(output.shape)}, got {_shape_str(input_list[me].shape)})"
        )
    bufs = [Staged(t, reduce=True).buf for t in input_list]
    out = _Out(output, reduce=True)
    send = _concat(bufs, out.buf)
    if n == 1 and out.direct and _may_overlap(input_list[0], out.buf):
        send = send.copy()
    mop = mpi_op(op, output._data.dtype.kind == "b")
    finish = _finish_out_reduce(out, op, n)
    return _run(lambda: pg.comm.Reduce_scatter(send, out.buf, counts, op=mop),
                lambda: pg.comm.Ireduce_scatter(send, out.buf, counts, op=mop),
                finish, lambda: [output], async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Reduce ``input`` (world_size chunks along dim 0) and keep chunk ``rank`` in ``output``."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = _group(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    n = pg.size()
    if input.dtype is not output.dtype:
        raise TypeError("input tensor must be the same type as the output tensor.")
    if input.numel() != n * output.numel():
        raise RuntimeError("input tensor must be the same size as output size times world size")
    _check_avg(output, op)
    nc = _nccl(pg, output, op)
    if nc is not None:
        return nc.reduce_scatter_tensor(output, input, op, async_op)
    out = _Out(output, reduce=True)
    st = Staged(input, reduce=True, copy=out.direct and _may_overlap(input, out.buf))
    mop = mpi_op(op, output._data.dtype.kind == "b")
    finish = _finish_out_reduce(out, op, n)
    return _run(lambda: pg.comm.Reduce_scatter_block(st.buf, out.buf, op=mop),
                lambda: pg.comm.Ireduce_scatter_block(st.buf, out.buf, op=mop),
                finish, lambda: [output], async_op)


def _finish_out_reduce(out: _Out, op: ReduceOp, size: int):
    def finish() -> None:
        if op is ReduceOp.AVG:
            out.buf /= size
        out.finish()

    return finish


# ---------------------------------------------------------------------------
# data movement
# ---------------------------------------------------------------------------

def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` from rank ``src`` (a global rank) to every rank of the group, in place."""
    check_tensor(tensor)
    pg = _group(group, "broadcast")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    nc = _nccl(pg, tensor)
    if nc is not None:
        return nc.broadcast(tensor, root, async_op)
    st = Staged(tensor, reduce=False)

    def finish() -> None:
        if pg.rank() != root:
            st.write_back()
            tensor._vc[0] += 1

    return _run(lambda: pg.comm.Bcast(st.buf, root=root),
                lambda: pg.comm.Ibcast(st.buf, root=root), finish, lambda: [tensor], async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None, async_op: bool = False):
    """Gather ``tensor`` from every rank into ``tensor_list`` (one entry per rank) on every rank."""
    _check_list(tensor_list, "tensor_list")
    check_tensor(tensor)
    _same_dtype(tensor_list, tensor)
    pg = _group(group, "all_gather")
    if pg is None:
        return None
    n = pg.size()
    if len(tensor_list) != n:
        raise RuntimeError(
            f"all_gather: invalid output tensor list at index 0 (expected length {n}, "
            f"got {len(tensor_list)})"
        )
    shape = tensor.shape
    for i, o in enumerate(tensor_list):
        if o.shape != shape:
            raise RuntimeError(
                f"all_gather: invalid tensor size at index {i} (expected {_shape_str(shape)}, "
                f"got {_shape_str(o.shape)})"
            )
    st = Staged(tensor, reduce=False)
    recv = _empty(st.buf, (n, st.buf.size))

    def finish() -> None:
        for i, o in enumerate(tensor_list):
            _store(o, recv[i])

    send = _flat(st.buf)
    return _run(lambda: pg.comm.Allgather(send, recv), lambda: pg.comm.Iallgather(send, recv),
                finish, lambda: list(tensor_list), async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (concatenated or stacked)."""
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    pg = _group(group, "all_gather_into_tensor")
    if pg is None:
        return None
    n = pg.size()
    if output_tensor.dtype is not input_tensor.dtype:
        raise TypeError("output tensor must have the same type as input tensor")
    if output_tensor.numel() != n * input_tensor.numel():
        raise RuntimeError("output tensor size must be equal to world_size times input tensor size")
    nc = _nccl(pg, output_tensor)
    if nc is not None:
        return nc.all_gather_into_tensor(output_tensor, input_tensor, async_op)
    out = _Out(output_tensor)
    st = Staged(input_tensor, reduce=False,
                copy=out.direct and _may_overlap(input_tensor, out.buf))
    send, recv = _flat(st.buf), _flat(out.buf)
    return _run(lambda: pg.comm.Allgather(send, recv), lambda: pg.comm.Iallgather(send, recv),
                out.finish, lambda: [output_tensor], async_op)


def _validate_list_for_rank(me: int, root: int, lst, name: str, root_kind: str) -> None:
    if me == root:
        if not lst:
            raise ValueError(f"Argument ``{name}`` must be specified on {root_kind} rank.")
    elif lst:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{root_kind} ranks.")


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group=None, async_op: bool = False, group_dst: int | None = None):
    """Gather every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    check_tensor(tensor)
    if gather_list:
        _check_list(gather_list, "gather_list")
    else:
        gather_list = []
    _same_dtype(tensor, gather_list)
    pg = _group(group, "gather")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "dst")
    me, n = pg.rank(), pg.size()
    _validate_list_for_rank(me, root, gather_list, "gather_list", "destination")
    st = Staged(tensor, reduce=False)
    send = _flat(st.buf)
    if me != root:
        return _run(lambda: pg.comm.Gatherv(send, None, root=root),
                    lambda: pg.comm.Igatherv(send, None, root=root), None, lambda: [], async_op)
    if len(gather_list) != n:
        raise RuntimeError(
            f"gather: Incorrect output list size {len(gather_list)}. Output list size should be "
            f"{n}, same as size of the process group."
        )
    counts = [o.numel() for o in gather_list]
    if counts[root] != tensor.numel():
        raise RuntimeError(
            f"gather: invalid tensor size at index {root} (expected {_shape_str(tensor.shape)}, "
            f"got {_shape_str(gather_list[root].shape)})"
        )
    displs, total = _offsets(counts)
    recv = _empty(st.buf, (total,))
    spec = [recv, (counts, displs)]

    def finish() -> None:
        for o, d, c in zip(gather_list, displs, counts):
            _store(o, recv[d:d + c])

    return _run(lambda: pg.comm.Gatherv(send, spec, root=root),
                lambda: pg.comm.Igatherv(send, spec, root=root), finish,
                lambda: list(gather_list), async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group=None, async_op: bool = False, group_src: int | None = None):
    """Send ``scatter_list[i]`` from rank ``src`` into rank ``i``'s ``tensor``."""
    check_tensor(tensor)
    if scatter_list:
        _check_list(scatter_list, "scatter_list")
    else:
        scatter_list = []
    _same_dtype(tensor, scatter_list)
    pg = _group(group, "scatter")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    me, n = pg.rank(), pg.size()
    _validate_list_for_rank(me, root, scatter_list, "scatter_list", "source")
    if me == root:
        if len(scatter_list) != n:
            raise RuntimeError(
                f"scatter: Incorrect input list size {len(scatter_list)}. Input list size should "
                f"be {n}, same as size of the process group."
            )
        if scatter_list[root].numel() != tensor.numel():
            raise RuntimeError(
                f"scatter: invalid tensor size at index {root} (expected "
                f"{_shape_str(tensor.shape)}, got {_shape_str(scatter_list[root].shape)})"
            )
    out = _Out(tensor)
    recv = _flat(out.buf)
    if me == root:
        counts = [t.numel() for t in scatter_list]
        displs, _ = _offsets(counts)
        data = _concat([Staged(t, reduce=False).buf for t in scatter_list], out.buf)
        if n == 1 and out.direct and _may_overlap(scatter_list[0], out.buf):
            data = data.copy()  # scattering a tensor into itself: MPI forbids aliased buffers
        send = [data, (counts, displs)]
    else:
        send = None
    return _run(lambda: pg.comm.Scatterv(send, recv, root=root),
                lambda: pg.comm.Iscatterv(send, recv, root=root), out.finish,
                lambda: [tensor], async_op)


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group=None,
               async_op: bool = False):
    """Send ``input_tensor_list[i]`` to rank ``i``; receive rank ``j``'s into ``output_tensor_list[j]``."""
    _check_list(output_tensor_list, "output_tensor_list")
    _check_list(input_tensor_list, "input_tensor_list")
    _same_dtype(output_tensor_list, input_tensor_list)
    pg = _group(group, "all_to_all")
    if pg is None:
        return None
    n = pg.size()
    for name, lst in (("input", input_tensor_list), ("output", output_tensor_list)):
        if len(lst) != n:
            raise RuntimeError(
                f"all_to_all: {name} tensor list size {len(lst)} does not match world size {n}"
            )
    bufs = [Staged(t, reduce=False).buf for t in input_tensor_list]
    scounts = [t.numel() for t in input_tensor_list]
    rcounts = [t.numel() for t in output_tensor_list]
    sdispls, _ = _offsets(scounts)
    rdispls, total = _offsets(rcounts)
    send = _concat(bufs, bufs[0])
    recv = _empty(send, (total,))
    sspec, rspec = [send, (scounts, sdispls)], [recv, (rcounts, rdispls)]

    def finish() -> None:
        for o, d, c in zip(output_tensor_list, rdispls, rcounts):
            _store(o, recv[d:d + c])

    return _run(lambda: pg.comm.Alltoallv(sspec, rspec),
                lambda: pg.comm.Ialltoallv(sspec, rspec), finish,
                lambda: list(output_tensor_list), async_op)


def _split_counts(t: Tensor, splits, n: int) -> list[int]:
    """Element counts per rank for ``all_to_all_single``: rows of dim 0 times the row size."""
    if t.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    rows = t.shape[0]
    row = math.prod(t.shape[1:])
    if splits is None or len(splits) == 0:
        if rows % n:
            raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
        return [rows // n * row] * n
    if len(splits) != n:
        raise RuntimeError("Number of tensor splits not equal to group size")
    splits = [int(s) for s in splits]
    if sum(splits) != rows:
        raise RuntimeError("Split sizes doesn't match total dim 0 size")
    return [s * row for s in splits]


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None, group=None,
                      async_op: bool = False):
    """Split ``input`` along dim 0, send part ``i`` to rank ``i``, gather the parts into ``output``."""
    pg = _group(group, "all_to_all_single")
    if pg is None:
        return None
    check_tensor(output, "output")
    check_tensor(input, "input")
    _same_dtype(output, input)
    n = pg.size()
    scounts = _split_counts(input, input_split_sizes, n)
    rcounts = _split_counts(output, output_split_sizes, n)
    out = _Out(output)
    st = Staged(input, reduce=False, copy=out.direct and _may_overlap(input, out.buf))
    sdispls, _ = _offsets(scounts)
    rdispls, _ = _offsets(rcounts)
    sspec = [_flat(st.buf), (scounts, sdispls)]
    rspec = [_flat(out.buf), (rcounts, rdispls)]
    return _run(lambda: pg.comm.Alltoallv(sspec, rspec),
                lambda: pg.comm.Ialltoallv(sspec, rspec), out.finish, lambda: [output], async_op)


# ---------------------------------------------------------------------------
# barriers
# ---------------------------------------------------------------------------

def barrier(group=None, async_op: bool = False, device_ids=None, timeout: timedelta | None = None):
    """Wait until every rank of the group reaches the barrier."""
    pg = _group(group, "barrier")
    if pg is None:
        return None
    if async_op:
        return Work([pg.comm.Ibarrier()])
    pg.comm.Barrier()
    return None


def _seconds(timeout) -> float:
    if timeout is None:
        return 1800.0  # torch's default process-group timeout (30 minutes)
    if isinstance(timeout, timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, (int, float)):
        warnings.warn(
            "Please specify timeout arg as a timedelta. Converting current value of "
            f"{timeout} assuming it represents seconds",
            stacklevel=3,
        )
        return float(timeout)
    raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")


def _poll(requests, deadline: float) -> list[int]:
    """Test ``requests`` until all complete or ``deadline``; the indices still pending."""
    pending = list(range(len(requests)))
    while pending:
        pending = [i for i in pending if not requests[i].Test()]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.0005)
    for i in pending:
        requests[i].Cancel()
        requests[i].Wait()
    return pending


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """A barrier that reports, on group rank 0, which ranks did not arrive within ``timeout``.

    Rank 0 waits for a token from every other rank, then acknowledges each. A rank missing
    after ``timeout`` makes rank 0 raise RuntimeError naming it (all missing ranks with
    ``wait_all_ranks=True``); the other ranks raise when rank 0's acknowledgement is late.
    """
    pg = _group(group, "monitored_barrier")
    if pg is None:
        return None
    limit = _seconds(timeout)
    deadline = time.monotonic() + limit
    comm, me, n = pg.comm, pg.rank(), pg.size()
    tag = _MONITORED_BARRIER_TAG
    ms = int(round(limit * 1000))
    if me == 0:
        bufs = [np.zeros(1, np.uint8) for _ in range(1, n)]
        reqs = [comm.Irecv(b, source=r, tag=tag) for r, b in zip(range(1, n), bufs)]
        missing = [r + 1 for r in _poll(reqs, deadline)]
        if missing:
            if wait_all_ranks:
                who = "Ranks " + ", ".join(str(pg.global_ranks[r]) for r in missing)
            else:
                who = f"Rank {pg.global_ranks[missing[0]]}"
            raise RuntimeError(
                f"[Rank {pg.global_ranks[0]}]: {who} failed to pass monitoredBarrier in {ms} ms"
            )
        token = np.ones(1, np.uint8)
        _mpi().Request.Waitall([comm.Isend(token, dest=r, tag=tag) for r in range(1, n)])
        return None
    token = np.ones(1, np.uint8)
    send = comm.Isend(token, dest=0, tag=tag)
    ack = np.zeros(1, np.uint8)
    if _poll([comm.Irecv(ack, source=0, tag=tag)], deadline):
        raise RuntimeError(
            f"[Rank {pg.global_ranks[me]}]: Rank {pg.global_ranks[me]} reached monitoredBarrier "
            f"but rank {pg.global_ranks[0]} did not acknowledge it within {ms} ms; check rank "
            f"{pg.global_ranks[0]}'s logs for the ranks that failed"
        )
    send.Wait()
    return None


# ---------------------------------------------------------------------------
# point to point
# ---------------------------------------------------------------------------

class _RecvWork(Work):
    """The Work of ``irecv``: keeps the MPI status so the sender's rank is known."""

    def __init__(self, request, finish, result, pg) -> None:
        super().__init__([request], finish, result)
        self._status = _mpi().Status()
        self._pg = pg

    def wait(self, timeout=None) -> bool:
        if self._completed:
            return True
        req = self._requests[0]
        if timeout is None:
            req.Wait(self._status)
        else:
            limit = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
            end = time.monotonic() + limit
            while not req.Test(self._status):
                if time.monotonic() > end:
                    raise RuntimeError(f"Work.wait timed out after {limit} seconds")
                time.sleep(0)
        self._complete()
        return True

    def is_completed(self) -> bool:
        if self._completed:
            return True
        if not self._requests[0].Test(self._status):
            return False
        self._complete()
        return True

    def _source_rank(self) -> int:
        """The sender's rank in the group (useful after a receive from any source)."""
        self.wait()
        return self._status.Get_source()


def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work (None outside the group)."""
    pg = _group(group, "isend")
    if pg is None:
        return None
    peer = _peer_rank(pg, dst, group_dst, "dst")
    check_tensor(tensor)
    st = Staged(tensor, reduce=False)
    work = Work([pg.comm.Isend(st.buf, dest=peer, tag=tag)], None, lambda: [tensor])
    work._keep = st  # the send buffer lives until completion
    return work


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a Work."""
    check_tensor(tensor)
    pg = _group(group, "irecv")
    if pg is None:
        return None
    MPI = _mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _peer_rank(
        pg, src, group_src, "src")
    out = _Out(tensor)
    return _RecvWork(pg.comm.Irecv(out.buf, source=peer, tag=tag), out.finish, lambda: [tensor], pg)


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the buffer may be reused)."""
    pg = _group(group, "send")
    if pg is None:
        return None
    peer = _peer_rank(pg, dst, group_dst, "dst")
    _check_not_self(pg, peer, "destination")
    check_tensor(tensor)
    st = Staged(tensor, reduce=False)
    pg.comm.Send(st.buf, dest=peer, tag=tag)
    return None


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's rank."""
    check_tensor(tensor)
    pg = _group(group, "recv")
    if pg is None:
        return -1
    MPI = _mpi()
    any_source = src is None and group_src is None
    peer = MPI.ANY_SOURCE if any_source else _peer_rank(pg, src, group_src, "src")
    if not any_source:
        _check_not_self(pg, peer, "source")
    out = _Out(tensor)
    status = MPI.Status()
    pg.comm.Recv(out.buf, source=peer, tag=tag, status=status)
    out.finish()
    return pg.global_ranks[status.Get_source()]


class P2POp:
    """A point-to-point operation for ``batch_isend_irecv``: ``op`` is ``isend`` or ``irecv``."""

    def __init__(self, op, tensor: Tensor, peer: int | None = None, group=None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op is not isend and op is not irecv:
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``disttorch.distributed.isend`` "
                "or ``disttorch.distributed.irecv``."
            )
        check_tensor(tensor)
        self.op = op
        self.tensor = tensor
        self.group = _resolve(group)
        self.group_peer = _peer_rank(self.group, peer, group_peer, "peer")
        self.peer = self.group.global_ranks[self.group_peer]
        self.tag = tag

    def __repr__(self) -> str:
        return (f"P2POp({self.op.__name__}, peer={self.peer}, {tuple(self.tensor.shape)}, "
                f"{self.tensor.dtype})")


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start every send/receive of ``p2p_op_list`` at once; returns their Works."""
    if not isinstance(p2p_op_list, list) or not p2p_op_list or not all(
            isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError(
            "Invalid ``p2p_op_list``. Each op is expected to to be of type "
            "``disttorch.distributed.P2POp``."
        )
    group = p2p_op_list[0].group
    if not all(p.group is group for p in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works = []
    for p in p2p_op_list:
        key = "group_dst" if p.op is isend else "group_src"
        works.append(p.op(p.tensor, group=p.group, tag=p.tag, **{key: p.group_peer}))
    return works


__all__ = [
    "CompletedWork", "P2POp", "all_gather", "all_gather_into_tensor", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast", "gather", "irecv", "isend",
    "monitored_barrier", "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "send",
]
