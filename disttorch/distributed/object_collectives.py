"""Collectives of picklable Python objects (torch's ``*_object*`` functions).

Objects are pickled (as torch does) and moved as raw bytes with MPI's buffer calls: the
byte counts first (an int64 array), then one uint8 buffer holding every payload, so
there is no per-object message and no padding to the largest object. Tensors inside the
objects are pickled from host memory and arrive as CPU tensors (what torch gives with
the 'gloo' backend's CPU device). Like torch, unpickling runs arbitrary code: only use
these with ranks you trust.
"""
from __future__ import annotations

import copyreg
import io
import pickle
from typing import Any

import numpy as np

from .. import _tensor
from .._tensor import Tensor
from .collectives import _check_not_self, _group, _group_rank, _offsets, _peer_rank

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _reduce_tensor_to_cpu(t: Tensor):
    """Pickle a tensor so that it is rebuilt on the CPU (its data is pickled from host memory)."""
    rv = t.__reduce_ex__(_PROTOCOL)
    fn, args = rv[0], rv[1]
    if fn is _tensor._rebuild and len(args) == 4 and args[2] != "cpu":
        return (fn, (args[0], args[1], "cpu", args[3])) + tuple(rv[2:])
    return rv


def _dispatch_table() -> dict:
    table = copyreg.dispatch_table.copy()
    stack = [Tensor]
    while stack:
        cls = stack.pop()
        table[cls] = _reduce_tensor_to_cpu
        stack.extend(cls.__subclasses__())
    return table


def _dumps(obj) -> bytes:
    f = io.BytesIO()
    p = pickle.Pickler(f, _PROTOCOL)
    p.dispatch_table = _dispatch_table()
    p.dump(obj)
    return f.getvalue()


def _loads(view) -> Any:
    return pickle.loads(view)


def _pack(objects) -> tuple[np.ndarray, np.ndarray]:
    """(sizes as int64, all payloads as one uint8 array)."""
    payloads = [_dumps(o) for o in objects]
    sizes = np.array([len(p) for p in payloads], dtype=np.int64)
    data = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    return sizes, data


def _unpack(data: np.ndarray, sizes) -> list:
    mv = memoryview(data)
    out, off = [], 0
    for s in sizes:
        s = int(s)
        out.append(_loads(mv[off:off + s]))
        off += s
    return out


def broadcast_object_list(object_list: list[Any], src: int | None = None, group=None,
                          device=None, group_src: int | None = None) -> None:
    """Replace ``object_list``'s entries on every rank by rank ``src``'s (pickled) objects."""
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    comm = pg.comm
    if pg.rank() == root:
        sizes, data = _pack(object_list)
    else:
        sizes = np.empty(len(object_list), dtype=np.int64)
    comm.Bcast(sizes, root=root)
    if pg.rank() != root:
        data = np.empty(int(sizes.sum()), dtype=np.uint8)
    comm.Bcast(data, root=root)
    if pg.rank() != root:
        object_list[:] = _unpack(data, sizes)
    return None


def all_gather_object(object_list: list[Any], obj: Any, group=None) -> None:
    """Fill ``object_list[i]`` with rank ``i``'s ``obj`` on every rank."""
    pg = _group(group, "all_gather_object")
    if pg is None:
        return None
    n = pg.size()
    sizes_one, data = _pack([obj])
    sizes = np.empty(n, dtype=np.int64)
    pg.comm.Allgather(sizes_one, sizes)
    counts = [int(s) for s in sizes]
    displs, total = _offsets(counts)
    recv = np.empty(total, dtype=np.uint8)
    pg.comm.Allgatherv(data, [recv, (counts, displs)])
    for i, o in enumerate(_unpack(recv, counts)):
        object_list[i] = o
    return None


def gather_object(obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None,
                  group=None, group_dst: int | None = None) -> None:
    """Fill ``object_gather_list[i]`` on rank ``dst`` with rank ``i``'s ``obj``."""
    pg = _group(group, "gather_object")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "dst")
    me, n = pg.rank(), pg.size()
    if me == root:
        if not object_gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    elif object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    sizes_one, data = _pack([obj])
    sizes = np.empty(n, dtype=np.int64) if me == root else None
    pg.comm.Gather(sizes_one, sizes, root=root)
    if me != root:
        pg.comm.Gatherv(data, None, root=root)
        return None
    counts = [int(s) for s in sizes]
    displs, total = _offsets(counts)
    recv = np.empty(total, dtype=np.uint8)
    pg.comm.Gatherv(data, [recv, (counts, displs)], root=root)
    for i, o in enumerate(_unpack(recv, counts)):
        object_gather_list[i] = o
    return None


def scatter_object_list(scatter_object_output_list: list[Any],
                        scatter_object_input_list: list[Any] | None = None,
                        src: int | None = None, group=None, group_src: int | None = None) -> None:
    """Put ``scatter_object_input_list[i]`` of rank ``src`` into rank ``i``'s output list [0]."""
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    me, n = pg.rank(), pg.size()
    size = np.empty(1, dtype=np.int64)
    if me == root:
        if scatter_object_input_list is None:
            raise ValueError("source rank must provide non-None scatter_object_input_list")
        if len(scatter_object_input_list) != n:
            raise RuntimeError(
                f"scatter: Incorrect input list size {len(scatter_object_input_list)}. Input list "
                f"size should be {n}, same as size of the process group."
            )
        sizes, data = _pack(scatter_object_input_list)
        pg.comm.Scatter(sizes, size, root=root)
        counts = [int(s) for s in sizes]
        displs, _ = _offsets(counts)
        send = [data, (counts, displs)]
    else:
        pg.comm.Scatter(None, size, root=root)
        send = None
    recv = np.empty(int(size[0]), dtype=np.uint8)
    pg.comm.Scatterv(send, recv, root=root)
    scatter_object_output_list[0] = _loads(memoryview(recv))
    return None


def send_object_list(object_list: list[Any], dst: int | None = None, group=None, device=None,
                     group_dst: int | None = None, use_batch: bool = False) -> None:
    """Send the (pickled) objects of ``object_list`` to rank ``dst``."""
    pg = _group(group, "send_object_list")
    if pg is None:
        return None
    peer = _peer_rank(pg, dst, group_dst, "dst")
    _check_not_self(pg, peer, "destination")
    sizes, data = _pack(object_list)
    pg.comm.Send(sizes, dest=peer, tag=0)
    pg.comm.Send(data, dest=peer, tag=0)
    return None


def recv_object_list(object_list: list[Any], src: int | None = None, group=None, device=None,
                     group_src: int | None = None, use_batch: bool = False) -> int:
    """Receive objects from rank ``src`` into ``object_list``; returns the sender's rank."""
    from mpi4py import MPI

    pg = _group(group, "recv_object_list")
    if pg is None:
        return -1
    peer = _peer_rank(pg, src, group_src, "src")
    _check_not_self(pg, peer, "source")
    sizes = np.empty(len(object_list), dtype=np.int64)
    status = MPI.Status()
    pg.comm.Recv(sizes, source=peer, tag=0, status=status)
    data = np.empty(int(sizes.sum()), dtype=np.uint8)
    pg.comm.Recv(data, source=peer, tag=0)
    object_list[:] = _unpack(data, sizes)
    return pg.global_ranks[status.Get_source()]


__all__ = [
    "all_gather_object", "broadcast_object_list", "gather_object", "recv_object_list",
    "scatter_object_list", "send_object_list",
]
