"""Sum and mean over dims (int or tuple) with ``keepdim``, and ``sum_to_size``."""
from __future__ import annotations

from .._tensor import Tensor
from ..backend import dtypes
from ._op import Op
from ._util import normalize_dims, shape_arg


def _kept_shape(shape, dims) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


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
        return x.mean(axis=self.dim, keepdims=self.keepdim)

    def backward(self, gy):
        n = 1
        for d in self.dim:
            n *= self.src[d]
        if not self.keepdim and self.dim:
            gy = gy.reshape(_kept_shape(self.src, self.dim))
        return (gy / n).expand(self.src)


def _reduce_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtypes.canonical(dtype).np
    k = input._data.dtype.kind
    if k in "biu":  # torch sums integers and bools as int64
        return dtypes.int64.np
    return None


def _dims(dim, ndim: int) -> tuple:
    # an empty dim list means every dim, as in torch
    return normalize_dims(None if dim == () or dim == [] else dim, ndim)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    dims = _dims(dim, input._data.ndim)
    return Sum.apply(input, dim=dims, keepdim=keepdim, dtype=_reduce_dtype(input, dtype))


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f" and input._data.dtype.kind != "V":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}"
        )
    dims = _dims(dim, input._data.ndim)
    return Mean.apply(input, dim=dims, keepdim=keepdim)


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


def _install() -> None:
    Tensor.sum, Tensor.mean, Tensor.sum_to_size = sum, mean, sum_to_size


_install()

__all__ = ["mean", "sum", "sum_to_size"]
