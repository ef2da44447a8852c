"""prod, cumsum and cumprod, with the exact (recurrence) backward for inputs with zeros."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd import grad_mode
from ...backend import dtypes
from .._op import Op
from .._util import cast, wrap_dim
from ._common import _INT64, _const, _int_dim, _low_precision, _unreduce


# -- private differentiable helpers --------------------------------------------------------
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
