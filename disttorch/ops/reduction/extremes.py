"""Extreme values: max, min, amax, amin, aminmax, argmax, argmin and median."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from .._util import binary_operands, wrap_dim
from ._common import _INT64, _const, _dims, _even_weights, _int_dim, _return_type, _unreduce

_rt_max = _return_type("max", ("values", "indices"))
_rt_min = _return_type("min", ("values", "indices"))
_rt_median = _return_type("median", ("values", "indices"))
_rt_aminmax = _return_type("aminmax", ("min", "max"))


# -- max / min / amax / amin / argmax / argmin / aminmax ------------------------------------
class AMax(Op):
    """amax (``is_min`` False) or amin over ``dim`` (a tuple); ties share the grad."""

    def forward(self, x):
        self.retain_inputs(0)
        self.retain_outputs(0)
        if self.is_min:
            return self.xp.amin(x, axis=self.dim, keepdims=self.keepdim)
        return self.xp.amax(x, axis=self.dim, keepdims=self.keepdim)

    def backward(self, gy):
        x, y = self.saved_tensors
        w = _even_weights(self.xp, x._data, y._data, self.dim, self.keepdim, self.nan_ties)
        return _unreduce(gy, x._data.shape, self.dim, self.keepdim) * _const(w, x)


class _IndexSelect(Op):
    """Values and indices picked along ``dim`` (max/min by ``mode``, or the median)."""

    def forward(self, x):
        xp, d = self.xp, self.dim
        if self.mode == "max":
            idx = xp.argmax(x, axis=d, keepdims=True)
        elif self.mode == "min":
            idx = xp.argmin(x, axis=d, keepdims=True)
        else:
            idx = _median_index(xp, x, d)
        vals = xp.take_along_axis(x, idx, axis=d)
        self.src = x.shape
        self.idx = idx
        if not self.keepdim:
            vals = vals.squeeze(d)
            idx = idx.squeeze(d)
        return vals, idx.astype(_INT64, copy=False)

    def backward(self, gv, gi):
        if gv is None:
            return None
        xp, d = self.xp, self.dim
        n = self.src[d]
        pos = xp.arange(n).reshape((n,) + (1,) * (len(self.src) - d - 1))
        onehot = (pos == self.idx).astype(gv._data.dtype)
        gv = gv if self.keepdim else gv.unsqueeze(d)
        return gv * _const(onehot, gv)


def _median_index(xp, x, d):
    """The index of the lower median along ``d``; the first NaN when a slice has one."""
    n = x.shape[d]
    order = xp.argsort(x, axis=d, kind="stable")
    if x.dtype.kind == "f" or x.dtype.kind == "V":
        nans = xp.isnan(x).sum(axis=d, keepdims=True)
        pos = xp.where(nans > 0, n - nans, (n - 1) // 2)
    else:
        pos = xp.full(x.shape[:d] + (1,) + x.shape[d + 1:], (n - 1) // 2, dtype=_INT64)
    return xp.take_along_axis(order, pos, axis=d)


def _empty_full_error(name: str) -> RuntimeError:
    return RuntimeError(
        f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
        "reduction dim with the 'dim' argument."
    )


def _extreme_all(input: Tensor, name: str, is_min: bool) -> Tensor:
    if input._data.size == 0:
        raise _empty_full_error(name)
    return AMax.apply(input, dim=tuple(range(input._data.ndim)), keepdim=False, is_min=is_min,
                      nan_ties=True)


def _extreme_dim(input: Tensor, dim, keepdim, name: str, mode: str):
    if not isinstance(keepdim, bool):
        raise TypeError(
            f"{name}(): argument 'keepdim' (position 2) must be bool, not {type(keepdim).__name__}")
    nd = input._data.ndim
    d = wrap_dim(_int_dim(dim, name), nd)
    rt = {"max": _rt_max, "min": _rt_min, "median": _rt_median}[name]
    if nd == 0:
        v, i = _IndexSelect.apply(input.reshape(1), dim=0, keepdim=False, mode=mode)
        return rt(v, i)
    if input._data.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    v, i = _IndexSelect.apply(input, dim=d, keepdim=keepdim, mode=mode)
    return rt(v, i)


class _Maximum(Op):
    """Elementwise max/min (used when the comparison family has not installed one)."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.minimum(a, b) if self.is_min else self.xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        ad, bd = a._data, b._data
        win = (ad < bd) if self.is_min else (ad > bd)
        wa = win.astype(gy._data.dtype) + (ad == bd).astype(gy._data.dtype) * 0.5
        na, nb = self.needs_input_grad
        return (gy * _const(wa, gy) if na else None), (gy * _const(1 - wa, gy) if nb else None)


def _elementwise(input: Tensor, other, name: str) -> Tensor:
    method = getattr(Tensor, name, None)
    if method is not None:
        return method(input, other)
    a, b = binary_operands(input, other)
    return _Maximum.apply(a, b, is_min=name == "minimum")


def _check_dim_or_other(dim, name: str) -> None:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got "
            f"({type(dim).__name__}), but expected one of: (), (Tensor other), "
            "(int dim, bool keepdim = False)"
        )


def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, other)``."""
    if other is not None:
        return _elementwise(input, other, "maximum")
    if dim is None:
        if keepdim:
            raise TypeError("max() received an invalid combination of arguments - got (keepdim=bool)")
        return _extreme_all(input, "max", False)
    if isinstance(dim, Tensor):
        return _elementwise(input, dim, "maximum")
    _check_dim_or_other(dim, "max")
    return _extreme_dim(input, dim, keepdim, "max", "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):  # noqa: A001
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(x, other)``."""
    if other is not None:
        return _elementwise(input, other, "minimum")
    if dim is None:
        if keepdim:
            raise TypeError("min() received an invalid combination of arguments - got (keepdim=bool)")
        return _extreme_all(input, "min", True)
    if isinstance(dim, Tensor):
        return _elementwise(input, dim, "minimum")
    _check_dim_or_other(dim, "min")
    return _extreme_dim(input, dim, keepdim, "min", "min")


def _amax_dims(input: Tensor, dim, name: str) -> tuple:
    shape = input._data.shape
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        if input._data.size == 0:
            raise _empty_full_error(name)
        return tuple(range(len(shape)))
    dims = _dims(dim, len(shape))
    raw = dim if isinstance(dim, (tuple, list)) else (dim,)
    for r in raw:
        if shape and shape[wrap_dim(int(r), len(shape))] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {r} to have non-zero size.")
    return dims


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (int or tuple; all dims when empty); ties share the grad."""
    dims = _amax_dims(input, dim, "amax")
    return AMax.apply(input, dim=dims, keepdim=keepdim, is_min=False, nan_ties=False)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (int or tuple; all dims when empty); ties share the grad."""
    dims = _amax_dims(input, dim, "amin")
    return AMax.apply(input, dim=dims, keepdim=keepdim, is_min=True, nan_ties=False)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """(min, max) over ``dim`` (all dims when None)."""
    shape = input._data.shape
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                "no identity."
            )
        dims = tuple(range(len(shape)))
    else:
        d = wrap_dim(_int_dim(dim, "aminmax"), len(shape))
        if shape and shape[d] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
        dims = (d,) if shape else ()
    lo = AMax.apply(input, dim=dims, keepdim=keepdim, is_min=True, nan_ties=False)
    hi = AMax.apply(input, dim=dims, keepdim=keepdim, is_min=False, nan_ties=False)
    return _rt_aminmax(lo, hi)


class ArgMax(Op):
    differentiable = False

    def forward(self, x):
        xp = self.xp
        fn = xp.argmin if self.is_min else xp.argmax
        if self.dim is None:
            r = fn(x)
            if self.keepdim:
                r = xp.reshape(r, (1,) * x.ndim)
            return xp.asarray(r, dtype=_INT64)
        return fn(x, axis=self.dim, keepdims=self.keepdim).astype(_INT64, copy=False)


def _arg_extreme(input: Tensor, dim, keepdim: bool, name: str, is_min: bool) -> Tensor:
    if input._data.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    nd = input._data.ndim
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        return ArgMax.apply(input, dim=None, keepdim=keepdim, is_min=is_min)
    d = wrap_dim(_int_dim(dim, name), nd)
    if nd == 0:
        return ArgMax.apply(input, dim=None, keepdim=False, is_min=is_min)
    if input._data.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return ArgMax.apply(input, dim=d, keepdim=keepdim, is_min=is_min)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, over the flattened input when ``dim`` is None."""
    return _arg_extreme(input, dim, keepdim, "argmax", False)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, over the flattened input when ``dim`` is None."""
    return _arg_extreme(input, dim, keepdim, "argmin", True)


# -- median ---------------------------------------------------------------------------------
class _MedianAll(Op):
    def forward(self, x):
        xp = self.xp
        self.retain_inputs(0)
        self.retain_outputs(0)
        flat = x.reshape(-1)
        n = flat.size
        if n == 0:
            if x.dtype.kind in "biu":
                return xp.asarray(np.iinfo(x.dtype).min, dtype=x.dtype)
            return xp.asarray(np.nan, dtype=x.dtype)
        s = xp.sort(flat)
        v = s[(n - 1) // 2]
        if x.dtype.kind == "f" or x.dtype.kind == "V":
            v = xp.where(xp.isnan(s[n - 1]), s[n - 1], v)
        return xp.asarray(v)

    def backward(self, gy):
        x, y = self.saved_tensors
        dims = tuple(range(x._data.ndim))
        w = _even_weights(self.xp, x._data, y._data, dims, False)
        return _unreduce(gy, x._data.shape, dims, False) * _const(w, x)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Lower median of all elements, or (values, indices) along ``dim``."""
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"median_cpu\" not implemented for 'Bool'")
    if dim is None:
        return _MedianAll.apply(input)
    return _extreme_dim(input, dim, keepdim, "median", "median")
