"""Reductions: sum/mean/prod, max/min/amax/amin/argmax/argmin, var/std, norm, logsumexp,
cumsum/cumprod, any/all, count_nonzero, median, aminmax, nansum/nanmean, ``sum_to_size``.

Backward formulas are Tensor expressions (so higher-order grads work). Where a backward
needs a selection mask (max, median, nan-skipping), the mask is computed from the saved
arrays and enters the graph as a constant factor.
"""
from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd import grad_mode
from ..backend import dtypes
from ._inplace import inplace_method
from ._op import Op
from ._util import binary_operands, cast, normalize_dims, shape_arg, wrap_dim

_INF = float("inf")
_INT64 = np.dtype(np.int64)


# -- helpers -----------------------------------------------------------------------------
def _kept_shape(shape, dims) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _unreduce(gy: Tensor, src, dims, keepdim) -> Tensor:
    """A reduced grad reshaped so it broadcasts against the input (``keepdim`` form)."""
    if not keepdim and dims:
        return gy.reshape(_kept_shape(src, dims))
    return gy


def _const(arr, like: Tensor) -> Tensor:
    """A constant (no-grad) tensor on ``like``'s device."""
    return _wrap(arr, like._device)


def _is_float(t: Tensor) -> bool:
    k = t._data.dtype.kind
    return k == "f" or k == "V"


def _low_precision(a) -> bool:
    """float16/bfloat16 arrays: accumulate in float32 (as torch does on CPU)."""
    return a.dtype.kind == "V" or a.dtype == np.float16


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
                "bfloat16": "BFloat16"}


def _scalar_type_name(d) -> str:
    return _TORCH_NAMES.get(d.name, d.name)


def _dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence; an empty sequence means all dims) as sorted axes.

    A 0-d tensor accepts dim 0 / -1 and reduces over nothing.
    """
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = normalize_dims(dim, ndim)
    return dims if ndim else ()


def _int_dim(dim, name: str) -> int:
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        return int(dim)
    raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")


def _numel(shape, dims) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _return_type(name: str, fields: tuple):
    """A namedtuple printed like ``torch.return_types.<name>`` (picklable: module-level)."""
    cls = namedtuple(name, fields)
    cls.__module__ = __name__
    cls.__qualname__ = f"_rt_{name}"

    def _repr(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"disttorch.return_types.{name}(\n{body})"

    cls.__repr__ = _repr
    return cls


_rt_max = _return_type("max", ("values", "indices"))
_rt_min = _return_type("min", ("values", "indices"))
_rt_median = _return_type("median", ("values", "indices"))
_rt_aminmax = _return_type("aminmax", ("min", "max"))


# -- private differentiable helpers --------------------------------------------------------
class _Exp(Op):
    def forward(self, x):
        self.retain_outputs(0)
        return self.xp.exp(x)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class _Shift(Op):
    """Shift along ``dim`` by one (``offset`` +1: towards higher indices), filling ``fill``."""

    def forward(self, x):
        out = self.xp.empty_like(x)
        d = self.dim
        lo = (slice(None),) * d
        if x.shape[d] == 0:
            return out
        if self.offset > 0:
            out[lo + (slice(1, None),)] = x[lo + (slice(None, -1),)]
            out[lo + (0,)] = self.fill
        else:
            out[lo + (slice(None, -1),)] = x[lo + (slice(1, None),)]
            out[lo + (-1,)] = self.fill
        return out

    def backward(self, gy):
        return _Shift.apply(gy, dim=self.dim, offset=-self.offset, fill=0)


class _LinRec(Op):
    """The first-order linear recurrence along ``dim`` (a loop over that dim).

    ``reverse``: ``s[n-1] = g[n-1]``, ``s[k] = g[k] + a[k+1] * s[k+1]``;
    otherwise ``s[0] = g[0]``, ``s[k] = g[k] + a[k] * s[k-1]``.
    The adjoint of one direction is the other, so this is differentiable to any order.
    """

    def forward(self, g, a):
        xp = self.xp
        if g.shape != a.shape:
            g, a = xp.broadcast_arrays(g, a)
        d = self.dim
        out = xp.empty(g.shape, dtype=g.dtype)
        gm, am, om = (xp.moveaxis(v, d, 0) for v in (g, a, out))
        n = gm.shape[0]
        if n:
            if self.reverse:
                om[n - 1] = gm[n - 1]
                for k in range(n - 2, -1, -1):
                    om[k] = gm[k] + am[k + 1] * om[k + 1]
            else:
                om[0] = gm[0]
                for k in range(1, n):
                    om[k] = gm[k] + am[k] * om[k - 1]
        self.retain_inputs(1)
        self.retain_outputs(0)
        return out

    def backward(self, gy):
        a, s = self.saved_tensors
        ng, na = self.needs_input_grad
        w = _LinRec.apply(gy, a, dim=self.dim, reverse=not self.reverse)
        ga = None
        if na:
            if self.reverse:  # d/da[m] = w[m-1] * s[m]
                ga = _Shift.apply(w, dim=self.dim, offset=1, fill=0) * s
            else:  # d/da[k] = w[k] * s[k-1]
                ga = w * _Shift.apply(s, dim=self.dim, offset=1, fill=0)
        return (w if ng else None), ga


def _has_zero(t: Tensor) -> bool:
    return bool((t._data == 0).any())


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


# -- prod / cumsum / cumprod ---------------------------------------------------------------
class Cumsum(Op):
    """Cumulative sum along ``dim`` (``reverse``: from the end)."""

    def forward(self, x):
        if x.ndim == 0:
            return x.copy()
        xp, d = self.xp, self.dim
        if self.reverse:
            return xp.flip(xp.cumsum(xp.flip(x, d), axis=d, dtype=x.dtype), d)
        return xp.cumsum(x, axis=d, dtype=x.dtype)

    def backward(self, gy):
        return Cumsum.apply(gy, dim=self.dim, reverse=not self.reverse)


def _prod_grad_zeros(xp, x, axis):
    """d prod(x, axis) / dx for an array with zeros: the product of all the other elements."""
    z = x == 0
    xs = xp.where(z, 1, x)
    cnt = z.sum(axis=axis, keepdims=True)
    p = xs.prod(axis=axis, keepdims=True, dtype=x.dtype)
    return xp.where(z, xp.where(cnt == 1, p, 0), xp.where(cnt == 0, p / xs, 0)).astype(x.dtype)


def _cumprod_grad_zeros(xp, x, y, g, d):
    """The cumprod grad for an array with zeros, in closed form around each slice's first zero."""
    n = x.shape[d]
    z = x == 0
    pos = xp.arange(n).reshape((n,) + (1,) * (x.ndim - d - 1))
    first = xp.where(z.any(axis=d, keepdims=True), xp.argmax(z, axis=d, keepdims=True), n)
    before = pos < first
    xs = xp.where(before, x, 1)
    left = xp.flip(xp.cumsum(xp.flip(g * y, d), axis=d), d) / xs
    e = xs.prod(axis=d, keepdims=True, dtype=x.dtype)  # the product before the first zero
    tail = xp.cumprod(xp.where(pos > first, x, 1), axis=d, dtype=x.dtype)
    s = (g * tail * (pos >= first)).sum(axis=d, keepdims=True)
    return xp.where(before, left, xp.where(pos == first, e * s, 0)).astype(x.dtype)


class Cumprod(Op):
    def forward(self, x):
        self.retain_inputs(0)
        self.retain_outputs(0)
        if x.ndim == 0:
            return x.copy()
        return self.xp.cumprod(x, axis=self.dim, dtype=x.dtype)

    def backward(self, gy):
        x, y = self.saved_tensors
        if x._data.ndim == 0 or x._data.size == 0:
            return gy
        d = self.dim
        if not _has_zero(x):
            return Cumsum.apply(gy * y, dim=d, reverse=True) / x
        if not grad_mode.state.grad_enabled:  # first order only: closed form
            g = self.xp.broadcast_to(gy._data, x._data.shape)
            return _const(_cumprod_grad_zeros(self.xp, x._data, y._data, g, d), x)
        # grad[k] = prod(x[:k]) * s[k], s[k] = g[k] + x[k+1] * s[k+1]: differentiable, exact
        excl = _Shift.apply(y, dim=d, offset=1, fill=1)
        return excl * _LinRec.apply(gy, x, dim=d, reverse=True)


class Prod(Op):
    def forward(self, x):
        self.retain_inputs(0)
        self.retain_outputs(0)
        self.src = x.shape
        return x.prod(axis=self.dim, keepdims=self.keepdim, dtype=x.dtype)

    def backward(self, gy):
        x, y = self.saved_tensors
        src, d = self.src, self.dim
        dims = tuple(range(len(src))) if d is None else (d,)
        gy = _unreduce(gy, src, dims, self.keepdim)
        if x._data.size == 0:
            return (gy * 0).expand(src)
        if not _has_zero(x):
            return gy * _unreduce(y, src, dims, self.keepdim) / x
        if not grad_mode.state.grad_enabled:  # first order only: closed form
            return gy * _const(_prod_grad_zeros(self.xp, x._data, d), x)
        # differentiable form: the product of all the others is the grad of the last
        # cumprod entry, computed by the exact (recurrence) cumprod backward
        xf, gf, ax = x, gy, d
        if d is None:
            xf, gf, ax = x.reshape(-1), gy.reshape(1), 0
        n = xf._data.shape[ax]
        last = self.xp.zeros((1,) * ax + (n,) + (1,) * (xf._data.ndim - ax - 1), dtype=x._data.dtype)
        last[(0,) * ax + (n - 1,)] = 1
        g = gf * _const(last, x)
        excl = _Shift.apply(Cumprod.apply(xf, dim=ax), dim=ax, offset=1, fill=1)
        out = excl * _LinRec.apply(g, xf, dim=ax, reverse=True)
        return out.reshape(src) if d is None else out


def _cum_input(input: Tensor, dtype, name: str) -> Tensor:
    if dtype is not None:
        d = dtypes.canonical(dtype)
        if d is dtypes.bool_:
            raise NotImplementedError(f'"{name}_out_cpu" not implemented for \'Bool\'')
        return cast(input, d.np)
    if input._data.dtype.kind in "biu":
        return cast(input, _INT64)
    return input


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim``; integers and bools accumulate as int64."""
    dim = _int_dim(dim, "cumsum")
    d = wrap_dim(dim, input._data.ndim)
    x = _cum_input(input, dtype, "cumsum")
    if _low_precision(x._data) and x._data.size:
        return cast(Cumsum.apply(cast(x, np.float32), dim=d, reverse=False), x._data.dtype)
    return Cumsum.apply(x, dim=d, reverse=False)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``; integers and bools accumulate as int64."""
    dim = _int_dim(dim, "cumprod")
    d = wrap_dim(dim, input._data.ndim)
    x = _cum_input(input, dtype, "cumprod")
    return Cumprod.apply(x, dim=d)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or along the int ``dim``; integers and bools give int64."""
    if dtype is not None:
        x = cast(input, dtypes.canonical(dtype).np)
    elif input._data.dtype.kind in "biu":
        x = cast(input, _INT64)
    else:
        x = input
    nd = x._data.ndim
    if dim is None:
        return Prod.apply(x, dim=None, keepdim=False)
    d = wrap_dim(_int_dim(dim, "prod"), nd)
    if nd == 0:
        return Prod.apply(x, dim=None, keepdim=False)
    return Prod.apply(x, dim=d, keepdim=keepdim)


# -- max / min / amax / amin / argmax / argmin / aminmax ------------------------------------
def _even_weights(xp, x, y, dims, keepdim, nan_ties=True):
    """Each element's share of the grad of an extreme value: ties split it evenly.

    With ``nan_ties`` a NaN result is shared among the NaNs (torch's max()/median());
    otherwise a NaN result matches nothing and gives NaN grads (torch's amax).
    """
    yk = y if keepdim or not dims else y.reshape(_kept_shape(x.shape, dims))
    hit = x == yk
    if nan_ties and (x.dtype.kind == "f" or x.dtype.kind == "V"):
        hit |= xp.isnan(x) & xp.isnan(yk)
    cnt = hit.sum(axis=dims, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hit.astype(x.dtype) / cnt.astype(x.dtype)


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


# -- logsumexp --------------------------------------------------------------------------------
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


# -- norm ------------------------------------------------------------------------------------
class Norm(Op):
    def forward(self, x):
        xp, dims, keep, p = self.xp, self.dim, self.keepdim, self.p
        self.retain_inputs(0)
        self.retain_outputs(0)
        xf = x.astype(np.float32) if _low_precision(x) else x
        if p == 2:
            r = xp.sqrt((xf * xf).sum(axis=dims, keepdims=keep))
        elif p == 1:
            r = xp.abs(xf).sum(axis=dims, keepdims=keep)
        elif p == _INF:
            r = xp.amax(xp.abs(xf), axis=dims, keepdims=keep)
        elif p == -_INF:
            r = xp.amin(xp.abs(xf), axis=dims, keepdims=keep)
        elif p == 0:
            r = (xf != 0).sum(axis=dims, keepdims=keep).astype(xf.dtype)
        else:
            with np.errstate(divide="ignore"):
                r = (xp.abs(xf) ** p).sum(axis=dims, keepdims=keep) ** (1.0 / p)
        return xp.asarray(r).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, y = self.saved_tensors
        src, dims, keep, p = x._data.shape, self.dim, self.keepdim, self.p
        gy = _unreduce(gy, src, dims, keep)
        if p == 0:
            return (gy * 0).expand(src)
        if p == 1:
            return gy * x.sign()
        yk = _unreduce(y, src, dims, keep)
        if p == _INF or p == -_INF:
            xp, xd = self.xp, x._data
            w = _even_weights(xp, xp.abs(xd), y._data, dims, keep, False)
            with np.errstate(invalid="ignore"):
                w = xp.where(w != 0, xp.sign(xd) * w, 0).astype(xd.dtype, copy=False)
            return gy * _const(w, x)
        nz = _const((yk._data == 0).astype(yk._data.dtype), yk)
        safe = yk + nz  # a zero norm gives a zero grad
        if p == 2:
            return gy * x / safe
        ax = x.abs()
        if p < 1:
            zero = _const((x._data == 0).astype(x._data.dtype), x)
            scaled = x.sign() * (ax + zero) ** (p - 1)
            return scaled * gy * yk ** (1 - p)
        if p < 2:
            scaled = x.sign() * ax ** (p - 1)
        else:
            scaled = x * ax ** (p - 2)
        return scaled * (gy / safe ** (p - 1))


def _norm_p(p) -> float | str:
    if p is None:
        return 2.0
    if isinstance(p, str):
        return p
    if isinstance(p, Tensor):
        p = p.item()
    return float(p)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """Vector norm of order ``p`` ('fro', 2, 1, inf, -inf, 0 or any number) over ``dim``."""
    p = _norm_p(p)
    nd = input._data.ndim
    if isinstance(p, str):
        if p == "fro":
            if isinstance(dim, (tuple, list)) and len(dim) > 2:
                raise RuntimeError(
                    "linalg.matrix_norm: dim must be a 2-tuple. Got " + " ".join(str(d) for d in dim))
            p = 2.0
        elif p == "nuc":
            raise RuntimeError("norm: the nuclear norm (p='nuc') is not supported")
        else:
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    if not _is_float(input):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_scalar_type_name(input.dtype)}"
        )
    if dtype is not None:
        d = dtypes.canonical(dtype)
        if not d.is_floating_point:
            raise RuntimeError(
                "linalg.vector_norm: dtype should be floating point or complex, but got "
                f"{_scalar_type_name(d)}")
        if dtypes.promote_types(input.dtype, d) is not d:
            raise RuntimeError(
                f"linalg.vector_norm: the dtype of the input ({_scalar_type_name(input.dtype)}) "
                "should be convertible without narrowing to the specified dtype "
                f"({_scalar_type_name(d)})")
        x = cast(input, d.np)
    else:
        x = input
    dims = _dims(dim, nd)
    if (p < 0 or p == _INF) and x._data.size == 0:
        ps = f"{p:g}"
        if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {ps} norm on an empty tensor because "
                "the operation does not have an identity")
        for d in dims:
            if x._data.shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {ps} norm on the dimension {d}"
                    "because this dimension is empty and the operation does not have an identity")
    return Norm.apply(x, dim=dims, keepdim=keepdim, p=p)


# -- any / all / count_nonzero -----------------------------------------------------------------
class _Logical(Op):
    differentiable = False

    def forward(self, x):
        fn = self.xp.all if self.is_all else self.xp.any
        r = fn(x, axis=self.dim, keepdims=self.keepdim)
        return r.astype(np.uint8) if x.dtype == np.uint8 else r


class _CountNonzero(Op):
    differentiable = False

    def forward(self, x):
        return (x != 0).sum(axis=self.dim, dtype=_INT64)


def _logical_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        return ()  # torch: an empty dim list reduces nothing here
    return _dims(dim, ndim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element is non-zero (bool; uint8 for uint8 input)."""
    return _Logical.apply(input, dim=_logical_dims(dim, input._data.ndim), keepdim=keepdim,
                          is_all=False)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element is non-zero (bool; uint8 for uint8 input)."""
    return _Logical.apply(input, dim=_logical_dims(dim, input._data.ndim), keepdim=keepdim,
                          is_all=True)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of non-zero elements over ``dim`` (int64)."""
    return _CountNonzero.apply(input, dim=_dims(dim, input._data.ndim))


def _install() -> None:
    T = Tensor
    T.sum, T.mean, T.sum_to_size = sum, mean, sum_to_size
    T.nansum, T.nanmean, T.prod = nansum, nanmean, prod
    T.max, T.min, T.amax, T.amin, T.aminmax = max, min, amax, amin, aminmax
    T.argmax, T.argmin, T.median = argmax, argmin, median
    T.var, T.std, T.norm, T.logsumexp = var, std, norm, logsumexp
    T.cumsum, T.cumprod = cumsum, cumprod
    T.any, T.all, T.count_nonzero = any, all, count_nonzero
    T.cumsum_ = inplace_method(cumsum)
    T.cumprod_ = inplace_method(cumprod)


_install()

__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "count_nonzero", "cumprod",
    "cumsum", "logsumexp", "max", "mean", "median", "min", "nanmean", "nansum", "norm", "prod",
    "std", "std_mean", "sum", "sum_to_size", "var", "var_mean",
]
