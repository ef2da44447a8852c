"""softmax, log_softmax and softmin along a dim, computed stably (shifted by the max)."""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ._op import Op
from ._util import cast, wrap_dim
from .reduction import _Exp

_F32 = np.dtype(np.float32)


def _work(x):
    """float16/bfloat16 compute in float32 (as torch accumulates them on CPU)."""
    return x.astype(_F32) if x.dtype.kind == "V" or x.dtype == np.float16 else x


class Softmax(Op):
    def forward(self, x):
        self.retain_outputs(0)
        if x.size == 0:
            return x.copy()
        xp = self.xp
        axis = self.dim if x.ndim else None
        xf = _work(x)
        with np.errstate(invalid="ignore", over="ignore"):
            e = xp.exp(xf - xf.max(axis=axis, keepdims=True))
            e /= e.sum(axis=axis, keepdims=True)
        return e.astype(x.dtype, copy=False)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return y * (gy - (gy * y).sum(self.dim, keepdim=True))


class LogSoftmax(Op):
    def forward(self, x):
        self.retain_outputs(0)
        if x.size == 0:
            return x.copy()
        xp = self.xp
        axis = self.dim if x.ndim else None
        xf = _work(x)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            s = xf - xf.max(axis=axis, keepdims=True)
            s -= xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
        return s.astype(x.dtype, copy=False)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy - _Exp.apply(y) * gy.sum(self.dim, keepdim=True)


def _implicit_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning, stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(input: Tensor, dim, dtype, name: str, kernel: str):
    if dim is None:
        dim = _implicit_dim(name, input._data.ndim)
    elif not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    d = wrap_dim(int(dim), input._data.ndim)
    x = cast(input, dtypes.canonical(dtype).np) if dtype is not None else input
    k = x._data.dtype.kind
    if k != "f" and k != "V":
        tname = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool"}.get(x.dtype.name, x.dtype.name)
        raise NotImplementedError(f'"{kernel}_lastdim_kernel_impl" not implemented for \'{tname}\'')
    return x, d


def softmax(input: Tensor, dim: int | None, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``; ``dtype`` casts the input first."""
    x, d = _prepare(input, dim, dtype, "softmax", "softmax")
    return Softmax.apply(x, dim=d)


def log_softmax(input: Tensor, dim: int | None, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``; ``dtype`` casts the input first."""
    x, d = _prepare(input, dim, dtype, "log_softmax", "log_softmax")
    return LogSoftmax.apply(x, dim=d)


def softmin(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``softmax(-input, dim)``."""
    x, d = _prepare(input, dim, dtype, "softmin", "softmax")
    return Softmax.apply(-x, dim=d)


def _install() -> None:
    Tensor.softmax = softmax
    Tensor.log_softmax = log_softmax


_install()

__all__ = ["log_softmax", "softmax"]
