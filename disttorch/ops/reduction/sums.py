"""Sums and means: sum, mean, nansum, nanmean, sum_to_size, and logsumexp (a stable log-sum)."""
from __future__ import annotations

import warnings

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from .._op import Op
from .._util import cast, shape_arg
from ._common import (
    _const,
    _dims,
    _is_float,
    _kept_shape,
    _low_precision,
    _numel,
    _scalar_type_name,
    _unreduce,
)


# -- sum / mean / nansum / nanmean ---------------------------------------------------------
class Sum(Op):
    def forward(self, x):
        self.src = x.shape
        return x.sum(axis=self.dim, keepdims=self.keepdim, dtype=self.dtype)

    def backward(self, gy):
        if not self.keepdim and self.dim:
            gy = gy.reshape(_kept_shape(self.src, self.dim))
        return gy.expand(self.src)


class Mean(Op):
    def forward(self, x):
        self.src = x.shape
        if x.size == 0 or _numel(x.shape, self.dim) == 0:
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return x.mean(axis=self.dim, keepdims=self.keepdim)
        return x.mean(axis=self.dim, keepdims=self.keepdim)

    def backward(self, gy):
        n = _numel(self.src, self.dim)
        if not self.keepdim and self.dim:
            gy = gy.reshape(_kept_shape(self.src, self.dim))
        return (gy / n if n else gy).expand(self.src)


class NanSum(Op):
    def forward(self, x):
        self.retain_inputs(0)
        self.src = x.shape
        return self.xp.nansum(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, gy):
        (x,) = self.saved_tensors
        keep = ~self.xp.isnan(x._data)
        gy = _unreduce(gy, self.src, self.dim, self.keepdim)
        return gy * _const(keep.astype(x._data.dtype), x)


class NanMean(Op):
    def forward(self, x):
        xp = self.xp
        self.retain_inputs(0)
        self.src = x.shape
        keep = ~xp.isnan(x)
        cnt = keep.sum(axis=self.dim, keepdims=self.keepdim).astype(x.dtype)
        s = xp.where(keep, x, 0).sum(axis=self.dim, keepdims=self.keepdim, dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (s / cnt).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        xp, xd = self.xp, x._data
        keep = ~xp.isnan(xd)
        cnt = keep.sum(axis=self.dim, keepdims=True).astype(xd.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = keep / cnt  # each element's weight in its mean
        gy = _unreduce(gy, self.src, self.dim, self.keepdim)
        return gy * _const(w.astype(xd.dtype, copy=False), x)


def _reduce_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtypes.canonical(dtype).np
    k = input._data.dtype.kind
    if k in "biu":  # torch sums integers and bools as int64
        return dtypes.int64.np
    return None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all dims when None); integers and bools sum as int64."""
    dims = _dims(dim, input._data.ndim)
    return Sum.apply(input, dim=dims, keepdim=keepdim, dtype=_reduce_dtype(input, dtype))


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim`` (floating point inputs, or with a float ``dtype``)."""
    if dtype is not None:
        d = dtypes.canonical(dtype)
        if not d.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a floating "
                f"point or complex dtype. Got: {_scalar_type_name(d)}"
            )
        x = cast(input, d.np)
    else:
        x = input
    if not _is_float(x):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_scalar_type_name(x.dtype)}"
        )
    dims = _dims(dim, x._data.ndim)
    return Mean.apply(x, dim=dims, keepdim=keepdim)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero."""
    x = cast(input, dtypes.canonical(dtype).np) if dtype is not None else input
    if not _is_float(x):
        return sum(x, dim, keepdim)
    dims = _dims(dim, x._data.ndim)
    return NanSum.apply(x, dim=dims, keepdim=keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over the non-NaN elements."""
    x = cast(input, dtypes.canonical(dtype).np) if dtype is not None else input
    if not _is_float(x):
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_scalar_type_name(x.dtype)}"
        )
    dims = _dims(dim, x._data.ndim)
    return NanMean.apply(x, dim=dims, keepdim=keepdim)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum a broadcast tensor back down to ``size`` (the inverse of ``expand``)."""
    size = shape_arg(size)
    shape = input._data.shape
    if tuple(size) == shape:
        return input
    lead = len(shape) - len(size)
    if lead < 0:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and shape[lead + i] != 1:
            dims.append(lead + i)
        elif s != shape[lead + i]:
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    out = Sum.apply(input, dim=tuple(dims), keepdim=True, dtype=None) if dims else input
    if lead:
        out = out.reshape(size)
    return out


# -- logsumexp --------------------------------------------------------------------------------
class _Exp(Op):
    def forward(self, x):
        self.retain_outputs(0)
        return self.xp.exp(x)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class LogSumExp(Op):
    def forward(self, x):
        xp, dims = self.xp, self.dim
        self.retain_inputs(0)
        self.retain_outputs(0)
        xf = x.astype(np.float32) if _low_precision(x) else x
        if x.size == 0:
            shape = _kept_shape(x.shape, dims) if self.keepdim else tuple(
                s for i, s in enumerate(x.shape) if i not in dims)
            return xp.full(shape, -np.inf, dtype=x.dtype)
        m = xp.amax(xf, axis=dims, keepdims=True)
        m = xp.where(xp.isinf(m), 0, m).astype(xf.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = xp.log(xp.exp(xf - m).sum(axis=dims, keepdims=True)) + m
        if not self.keepdim:
            r = r.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))
        return r.astype(x.dtype, copy=False)

    def backward(self, gy):
        x, y = self.saved_tensors
        src = x._data.shape
        return _unreduce(gy, src, self.dim, self.keepdim) * _Exp.apply(
            x - _unreduce(y, src, self.dim, self.keepdim))


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` computed stably (shifted by the max)."""
    x = input if _is_float(input) else cast(input, dtypes.get_default_dtype().np)
    dims = _dims(dim, x._data.ndim)
    return LogSumExp.apply(x, dim=dims, keepdim=keepdim)
