"""Tensors as MPI buffers: contiguous, a dtype MPI can reduce, in memory MPI can reach.

- Non-contiguous tensors go through a contiguous copy that is written back afterwards.
- float16/bfloat16 are reduced in float32 (MPI has no portable half types) and cast back;
  collectives that only move data send their raw 16-bit patterns.
- cuda tensors: the stream is synchronised first; device arrays go to MPI directly when
  it is CUDA-aware, else through a host copy (also the path of the CPU stand-in).
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from ..backend import device as _dev
from ..backend import dtypes

_cuda_aware: bool | None = None


def mpi_is_cuda_aware() -> bool:
    """Whether the MPI library takes device pointers (MPIX_Query_cuda_support, or the env)."""
    global _cuda_aware
    if _cuda_aware is None:
        env = os.environ.get("DISTTORCH_CUDA_AWARE_MPI")
        if env is not None:
            _cuda_aware = env == "1"
        else:
            try:
                from mpi4py import MPI  # noqa: F401  (loads libmpi globally)

                fn = ctypes.CDLL(None).MPIX_Query_cuda_support
                fn.restype = ctypes.c_int
                _cuda_aware = bool(fn())
            except (AttributeError, OSError):
                _cuda_aware = False
    return _cuda_aware


_HALF_DTYPES = frozenset(np.dtype(d) for d in ("float16",)) | (
    frozenset([np.dtype(dtypes.bfloat16.np)]) if dtypes.bfloat16 is not None else frozenset())


def _is_half(a) -> bool:
    return a.dtype in _HALF_DTYPES


class Staged:
    """An MPI-ready buffer for one tensor and how to put the result back."""

    __slots__ = ("tensor", "buf", "host", "upcast", "raw16")

    def __init__(self, tensor, *, reduce: bool, copy: bool = False) -> None:
        a = tensor._data
        dev = tensor._device
        self.tensor = tensor
        self.host = dev.type != "cpu" and not (mpi_is_cuda_aware() and not _is_stand_in())
        if dev.type != "cpu":
            _dev.synchronize(dev)
        if self.host:
            a = _dev.to_device(a, _dev.CPU)
        elif not a.flags.c_contiguous or copy:
            a = a.copy() if a.flags.c_contiguous else _contiguous(a, dev)
        self.upcast = reduce and _is_half(a)
        self.raw16 = not reduce and _is_half(a)
        if self.upcast:
            a = a.astype(np.float32)
        elif self.raw16:
            a = a.view(np.uint16)
        if dev.type == "cpu" and not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        self.buf = a

    @property
    def changed_memory(self) -> bool:
        """True when ``buf`` is not the tensor's own array (a write-back is needed)."""
        return self.buf is not self.tensor._data

    def result(self):
        """The buffer as an array of the tensor's dtype on the tensor's device."""
        t = self.tensor
        a = self.buf
        if self.upcast:
            a = a.astype(t._data.dtype)
        elif self.raw16:
            a = a.view(t._data.dtype)
        if self.host:
            a = _dev.to_device(a, t._device)
        return a

    def write_back(self) -> None:
        if self.changed_memory:
            self.tensor._data[...] = self.result()


def _contiguous(a, dev):
    xp = np if dev.type == "cpu" else _dev.cupy_module()
    return xp.ascontiguousarray(a)


def _is_stand_in() -> bool:
    return getattr(_dev.cupy_module(), "IS_STAND_IN", False)


def empty_like_buf(buf):
    """A new buffer of the same shape and dtype (host numpy or device cupy)."""
    if isinstance(buf, np.ndarray):
        return np.empty_like(buf)
    return _dev.cupy_module().empty_like(buf)
