"""Variance and standard deviation: var, std, var_mean and std_mean."""
from __future__ import annotations

import warnings

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from ._common import _INF, _const, _dims, _is_float, _low_precision, _numel, _unreduce
from .sums import Mean


# -- var / std --------------------------------------------------------------------------------
class Var(Op):
    def forward(self, x):
        self.retain_inputs(0)
        if self.std:
            self.retain_outputs(0)
        xf = x.astype(np.float32) if _low_precision(x) else x
        if self.n - self.correction <= 0:
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                v = self.xp.var(xf, axis=self.dim, ddof=self.correction, keepdims=self.keepdim)
        else:
            v = self.xp.var(xf, axis=self.dim, ddof=self.correction, keepdims=self.keepdim)
        if self.std:
            v = self.xp.sqrt(v)
        return v.astype(x.dtype, copy=False)

    def backward(self, gy):
        saved = self.saved_tensors
        x = saved[0]
        dims, keep = self.dim, self.keepdim
        denom = self.n - self.correction
        dev = x - x.mean(dims, keepdim=True)
        gy = _unreduce(gy, x._data.shape, dims, keep)
        if not self.std:
            return gy * dev * (2.0 / denom if denom > 0 else _INF)
        y = _unreduce(saved[1], x._data.shape, dims, keep)
        safe = y + _const((y._data == 0).astype(y._data.dtype), y)  # std 0 gives grad 0
        return gy * dev / (safe * (denom if denom > 0 else 0.0))


def _var_args(input: Tensor, dim, unbiased, correction, name: str):
    if isinstance(dim, bool):  # var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got (correction=..., "
            "unbiased=...): use either unbiased or correction"
        )
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not _is_float(input):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = _dims(dim, input._data.ndim)
    n = _numel(input._data.shape, dims)
    if n - correction <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).",
            UserWarning, stacklevel=3,
        )
    return dims, correction, n


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased`` legacy)."""
    dims, c, n = _var_args(input, dim, unbiased, correction, "var")
    return Var.apply(input, dim=dims, correction=c, keepdim=keepdim, n=n, std=False)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's ``correction`` (default 1)."""
    dims, c, n = _var_args(input, dim, unbiased, correction, "std")
    return Var.apply(input, dim=dims, correction=c, keepdim=keepdim, n=n, std=True)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(var, mean) over ``dim``."""
    dims, c, n = _var_args(input, dim, unbiased, correction, "var_mean")
    v = Var.apply(input, dim=dims, correction=c, keepdim=keepdim, n=n, std=False)
    return v, Mean.apply(input, dim=dims, keepdim=keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """(std, mean) over ``dim``."""
    dims, c, n = _var_args(input, dim, unbiased, correction, "std_mean")
    s = Var.apply(input, dim=dims, correction=c, keepdim=keepdim, n=n, std=True)
    return s, Mean.apply(input, dim=dims, keepdim=keepdim)
