"""NCCL communicators for cuda tensors on 'nccl' groups, through ``cupy.cuda.nccl``.

One ``NcclCommunicator`` per (group, device), created on the first cuda-tensor collective
of the group (a collective step: every rank of the group gets there together). Group rank
0 makes NCCL's unique id and broadcasts it over the group's MPI communicator.

Operations are enqueued on the device's current cupy stream, like torch's collectives on
the current stream; the result is ready for later work on that stream at once, and
``async_op=True`` returns a Work that completes when an event recorded after the
operation has happened (``wait()`` synchronises it). What NCCL cannot do here
(bool/int16/bfloat16 reductions, bitwise ops) and the CPU stand-in device use the MPI
path instead. cupy is imported only when a communicator is first needed.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..backend import device as _dev
from .reduce_op import ReduceOp
from .work import Work

UNIQUE_ID_BYTES = 128  # NCCL_UNIQUE_ID_BYTES

# cupy.cuda.nccl's constants (ncclDataType_t / ncclRedOp_t), by value: stable NCCL ABI
_MOVE_TYPES = {1: 1, 2: 6, 4: 2, 8: 4}  # pure data movement by item size: uint8/half/int32/int64
_REDUCE_TYPES = {"int8": 0, "uint8": 1, "int32": 2, "int64": 4, "float16": 6, "float32": 7,
                 "float64": 8}
_REDUCE_OPS = {ReduceOp.SUM: 0, ReduceOp.AVG: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2,
               ReduceOp.MIN: 3}

_unavailable: str | None = None  # why NCCL cannot be used (after a failed import)
_warned = False


def _nccl_module():
    """``cupy.cuda.nccl`` (imported on first use)."""
    from cupy.cuda import nccl

    return nccl


def _cupy():
    return _dev.cupy_module()


def available() -> bool:
    """Whether NCCL can run cuda tensors here (not on the CPU stand-in device)."""
    global _unavailable
    if getattr(_cupy(), "IS_STAND_IN", False):
        return False
    if _unavailable is None:
        try:
            _nccl_module()
            _unavailable = ""
        except Exception as e:  # ImportError, missing libnccl
            _unavailable = f"{type(e).__name__}: {e}"
    return _unavailable == ""


def for_tensor(pg, tensor, op: ReduceOp | None = None):
    """The communicator for ``tensor``'s device on ``pg``, or None when MPI must do the op."""
    global _warned
    if not available():
        if _unavailable and not _warned:
            _warned = True
            warnings.warn(
                f"backend 'nccl': cupy.cuda.nccl is unavailable ({_unavailable}); cuda tensors "
                "go through MPI with host staging instead",
                stacklevel=3,
            )
        return None
    if op is not None and not supports_reduce(tensor, op):
        return None
    return communicator(pg, tensor._device)


def supports_reduce(tensor, op: ReduceOp) -> bool:
    return tensor._data.dtype.name in _REDUCE_TYPES and op in _REDUCE_OPS


def exchange_unique_id(pg, nccl=None) -> tuple:
    """NCCL's unique id, made on group rank 0 and broadcast over the group's MPI communicator."""
    buf = np.zeros(UNIQUE_ID_BYTES, np.int16)  # holds signed or unsigned chars alike
    if pg.rank() == 0:
        uid = (nccl or _nccl_module()).get_unique_id()
        if len(uid) != UNIQUE_ID_BYTES:
            raise RuntimeError(f"NCCL unique id has {len(uid)} bytes, expected {UNIQUE_ID_BYTES}")
        buf[:] = uid
    pg.comm.Bcast(buf, root=0)
    return tuple(int(v) for v in buf)


def communicator(pg, device):
    """The group's communicator for ``device``, created (collectively) on first use."""
    d = _dev.device(device)
    index = d.index if d.index is not None else _dev.cuda_current_index()
    cache = pg._nccl
    if cache is None:
        cache = pg._nccl = {}
    comm = cache.get(index)
    if comm is None:
        comm = cache[index] = NcclCommunicator(pg, index)
    return comm


class StreamWork(Work):
    """An operation enqueued on a stream: complete once an event recorded after it is."""

    def __init__(self, event, result, keep=()) -> None:
        super().__init__([], None, result)
        self._event = event
        self._keep = keep  # buffers that must outlive the operation

    def wait(self, timeout=None) -> bool:
        if not self._completed:
            self._event.synchronize()
            self._keep = ()
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._completed and self._event.done:
            self._keep = ()
            self._complete()
        return self._completed


def _ptr(a) -> int:
    return a.data.ptr


def _contiguous(a, xp):
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


def _overlaps(a, b) -> bool:
    pa, pb = _ptr(a), _ptr(b)
    return a.nbytes > 0 and b.nbytes > 0 and pa < pb + b.nbytes and pb < pa + a.nbytes


class NcclCommunicator:
    """A ``cupy.cuda.nccl.NcclCommunicator`` over one group on one device."""

    def __init__(self, pg, index: int, nccl=None) -> None:
        self.nccl = nccl or _nccl_module()
        self.xp = _cupy()
        self.index = index
        self.size = pg.size()
        self.rank = pg.rank()
        uid = exchange_unique_id(pg, self.nccl)
        with self.xp.cuda.Device(index):
            self.comm = self.nccl.NcclCommunicator(self.size, uid, self.rank)

    # -- helpers --------------------------------------------------------------
    def _launch(self, call, after, result, keep, async_op: bool):
        """Enqueue ``call(stream_ptr)`` then ``after()`` (stream-ordered) on the current stream."""
        with self.xp.cuda.Device(self.index):
            stream = self.xp.cuda.get_current_stream()
            call(stream.ptr)
            if after is not None:
                after()
            if async_op:
                return StreamWork(stream.record(), result, keep)
        return None

    def _avg(self, buf, op: ReduceOp) -> None:
        if op is ReduceOp.AVG:
            buf /= self.size

    # -- collectives ---------------------------------------------------------
    def all_reduce(self, tensor, op: ReduceOp, async_op: bool):
        a = tensor._data
        buf = _contiguous(a, self.xp)
        dtype, nop = _REDUCE_TYPES[a.dtype.name], _REDUCE_OPS[op]

        def call(stream: int) -> None:
            self.comm.allReduce(_ptr(buf), _ptr(buf), buf.size, dtype, nop, stream)

        def after() -> None:
            self._avg(buf, op)
            if buf is not a:
                a[...] = buf
            tensor._vc[0] += 1

        return self._launch(call, after, lambda: [tensor], (buf,), async_op)

    def reduce(self, tensor, root: int, op: ReduceOp, async_op: bool):
        a = tensor._data
        buf = _contiguous(a, self.xp)
        dtype, nop = _REDUCE_TYPES[a.dtype.name], _REDUCE_OPS[op]
        is_root = self.rank == root

        def call(stream: int) -> None:
            self.comm.reduce(_ptr(buf), _ptr(buf), buf.size, dtype, nop, root, stream)

        def after() -> None:
            if is_root:
                self._avg(buf, op)
                if buf is not a:
                    a[...] = buf
                tensor._vc[0] += 1

        return self._launch(call, after, lambda: [tensor], (buf,), async_op)

    def broadcast(self, tensor, root: int, async_op: bool):
        a = tensor._data
        buf = _contiguous(a, self.xp)

        def call(stream: int) -> None:
            self.comm.broadcast(_ptr(buf), _ptr(buf), buf.size, _MOVE_TYPES[buf.itemsize], root,
                                stream)

        def after() -> None:
            if self.rank != root:
                if buf is not a:
                    a[...] = buf
                tensor._vc[0] += 1

        return self._launch(call, after, lambda: [tensor], (buf,), async_op)

    def all_gather_into_tensor(self, output, input, async_op: bool):
        o = output._data
        obuf = _contiguous(o, self.xp)
        ibuf = _contiguous(input._data, self.xp)
        count = ibuf.size
        # NCCL's in-place form: the input is exactly this rank's chunk of the output
        in_place = obuf is o and _ptr(ibuf) == _ptr(obuf) + self.rank * ibuf.nbytes
        if not in_place and _overlaps(ibuf, obuf):
            ibuf = ibuf.copy()

        def call(stream: int) -> None:
            self.comm.allGather(_ptr(ibuf), _ptr(obuf), count, _MOVE_TYPES[ibuf.itemsize], stream)

        def after() -> None:
            if obuf is not o:
                o[...] = obuf.reshape(o.shape)
            output._vc[0] += 1

        return self._launch(call, after, lambda: [output], (ibuf, obuf), async_op)

    def reduce_scatter_tensor(self, output, input, op: ReduceOp, async_op: bool):
        o = output._data
        obuf = _contiguous(o, self.xp)
        ibuf = _contiguous(input._data, self.xp)
        if _overlaps(ibuf, obuf):
            ibuf = ibuf.copy()
        dtype, nop = _REDUCE_TYPES[o.dtype.name], _REDUCE_OPS[op]

        def call(stream: int) -> None:
            self.comm.reduceScatter(_ptr(ibuf), _ptr(obuf), obuf.size, dtype, nop, stream)

        def after() -> None:
            self._avg(obuf, op)
            if obuf is not o:
                o[...] = obuf
            output._vc[0] += 1

        return self._launch(call, after, lambda: [output], (ibuf, obuf), async_op)

    def destroy(self) -> None:
        self.comm.destroy()
