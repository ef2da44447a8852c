"""``gather``, ``scatter``, ``scatter_add`` and ``scatter_reduce`` along one dim."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ...backend.shims import scatter_add as _scatter_add
from .._op import Op
from .._util import is_scalar, tensor_arg_error, wrap_dim
from ._common import (
    _INT32,
    _INT64,
    _check_dim_bounds,
    _host,
    _index_array,
    _shape_str,
    _xp,
    _zero,
    _zeros,
)
from .getitem import BasicIndex, _pad_to
from .masked import MaskedFill


def _check_index_dtype(index: Tensor, what: str) -> None:
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError(f"{what}(): Expected dtype int32/int64 for index")


def _mesh(xp, shape: tuple, dim: int, idx) -> tuple:
    """Advanced-index arrays selecting ``idx`` along ``dim`` over the box ``shape``."""
    nd = len(shape)
    key = []
    for d in range(nd):
        if d == dim:
            key.append(idx)
        else:
            s = [1] * nd
            s[d] = shape[d]
            key.append(xp.arange(shape[d]).reshape(s))
    return tuple(key)


def _box(shape: tuple, inside: tuple):
    """Slices taking the leading ``shape`` block of an array of shape ``inside``."""
    if shape == inside:
        return None
    return tuple(slice(0, s) for s in shape)


class Gather(Op):
    def forward(self, x):
        xp = self.xp
        self.src = x.shape
        idx = self.idx
        sub = list(idx.shape)
        sub[self.dim] = x.shape[self.dim]
        box = _box(tuple(sub), x.shape)
        if box is not None:
            x = x[box]
        return xp.take_along_axis(x, idx, axis=self.dim)

    def backward(self, gy):
        z = _zeros(self.xp, self.src, gy._data.dtype, gy._device)
        return ScatterAdd.apply(z, gy, dim=self.dim, idx=self.idx)


class ScatterAdd(Op):
    """``x`` with ``src`` (its leading index-shaped block) added at ``idx`` along ``dim``."""

    def forward(self, x, src):
        out = x.copy()
        idx = self.idx
        self.src_shape = src.shape
        box = _box(idx.shape, src.shape)
        if box is not None:
            src = src[box]
        _scatter_add(self.xp, out, _mesh(self.xp, idx.shape, self.dim, idx), src)
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gs = None
        if ns:
            gs = _pad_to(Gather.apply(gy, dim=self.dim, idx=self.idx), self.src_shape)
        return (gy if nx else None), gs


class Scatter(Op):
    """``x`` with ``src`` (or the scalar ``value``) written at ``idx`` along ``dim``."""

    def forward(self, x, *src):
        out = x.copy()
        idx = self.idx
        key = _mesh(self.xp, idx.shape, self.dim, idx)
        if src:
            s = src[0]
            self.src_shape = s.shape
            box = _box(idx.shape, s.shape)
            out[key] = s if box is None else s[box]
        else:
            out[key] = self.value
        return out

    def backward(self, gy):
        need = self.needs_input_grad
        gx = Scatter.apply(gy, dim=self.dim, idx=self.idx, value=0) if need[0] else None
        if len(need) == 1:
            return gx
        gs = None
        if need[1]:
            gs = _pad_to(Gather.apply(gy, dim=self.dim, idx=self.idx), self.src_shape)
        return gx, gs


def _as_1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t._data.ndim == 0 else t


def _scatter_checks(what: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None):
    _check_index_dtype(index, what)
    nd = max(input._data.ndim, 1)
    d = wrap_dim(dim, nd)
    ishape = index._data.shape or (1,)
    xshape = input._data.shape or (1,)
    if src is not None:
        sshape = src._data.shape or (1,)
        if len(ishape) != len(sshape):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if len(ishape) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if index._data.size:
        for i in range(nd):
            if (i != d and ishape[i] > xshape[i]) or (src is not None and ishape[i] > sshape[i]):
                msg = (f"xpected index {_shape_str(index.shape)} to be no larger than self "
                       f"{_shape_str(input.shape)} apart from dimension {d}")
                if src is not None:
                    raise RuntimeError(
                        f"E{msg} and to be no larger size than src {_shape_str(src.shape)}")
                raise RuntimeError(f"Size does not match at dimension {i} e{msg}")
    return d


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (same ndim as input)."""
    d = _scatter_checks("gather", input, dim, index, None)
    idx = _index_array(index, input)
    x = input
    if input._data.ndim == 0 or idx.ndim == 0:
        x = _as_1d(input)
        idx = idx.reshape(-1) if idx.ndim == 0 else idx
    if idx.size:
        _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    r = Gather.apply(x, dim=d, idx=idx)
    if index._data.ndim == 0:
        r = r.reshape(())
    return r


def _scatter_prepare(what, input, dim, index, src):
    d = _scatter_checks(what, input, dim, index, src)
    idx = _index_array(index, input)
    x = input
    zero_d = input._data.ndim == 0
    if zero_d or idx.ndim == 0:
        x = _as_1d(input)
        idx = idx.reshape(-1) if idx.ndim == 0 else idx
        if src is not None:
            src = _as_1d(src)
    if idx.size:
        _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    return x, d, idx, src, zero_d


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src`` (tensor or number) written at ``index`` along ``dim``."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if reduce == "add":
            if not isinstance(src, Tensor):
                src = _full_like_index(input, index, src)
            return scatter_add(input, dim, index, src)
        if not isinstance(src, Tensor):
            src = _full_like_index(input, index, src)
        return scatter_reduce(input, dim, index, src, "prod")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        x, d, idx, s, zero_d = _scatter_prepare("scatter", input, dim, index, src)
        r = Scatter.apply(x, s, dim=d, idx=idx)
    else:
        if not is_scalar(src):
            raise TypeError(f"scatter(): argument 'value' must be Number, not {type(src).__name__}")
        x, d, idx, _, zero_d = _scatter_prepare("scatter", input, dim, index, None)
        val = _xp(input).asarray(src, dtype=input._data.dtype)
        r = Scatter.apply(x, dim=d, idx=idx, value=val)
    return r.reshape(()) if zero_d else r


def _full_like_index(input: Tensor, index: Tensor, value) -> Tensor:
    xp = _xp(input)
    return _wrap(xp.full(index._data.shape, value, dtype=input._data.dtype), input._device)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    if not isinstance(src, Tensor):
        raise tensor_arg_error("scatter_add", "src", 3, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter_add(): Expected self.dtype to be equal to src.dtype")
    x, d, idx, s, zero_d = _scatter_prepare("scatter_add", input, dim, index, src)
    r = ScatterAdd.apply(x, s, dim=d, idx=idx)
    return r.reshape(()) if zero_d else r


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _ufunc_at(xp, name: str, out, key, src):
    """``xp.<name>.at(out, key, src)``; through the host where the array module lacks it."""
    try:
        getattr(xp, name).at(out, key, src)
        return out
    except (AttributeError, NotImplementedError):
        if xp is np:
            raise
    host = _host(out)
    hkey = tuple(k if type(k) is slice else _host(k) for k in key)
    getattr(np, name).at(host, hkey, _host(src))
    return xp.asarray(host)


class ScatterReduce(Op):
    """``scatter_reduce``: sum, prod, mean, amax, amin of ``src`` into ``x`` at ``idx``."""

    def forward(self, x, src):
        xp = self.xp
        idx = self.idx
        box = _box(idx.shape, src.shape)
        self.src_shape = src.shape
        if box is not None:
            src = src[box]
        key = _mesh(xp, idx.shape, self.dim, idx)
        red = self.reduce
        out = x.copy()
        if not self.include_self:
            fill = {"sum": 0, "mean": 0, "prod": 1}.get(red)
            if fill is None:
                if x.dtype.kind in "fV":
                    fill = -np.inf if red == "amax" else np.inf
                else:
                    info = np.iinfo(x.dtype) if x.dtype.kind != "b" else None
                    fill = (info.min if red == "amax" else info.max) if info else red == "amin"
            out[key] = fill
        if red == "sum" or red == "mean":
            _scatter_add(xp, out, key, src)
        else:
            out = _ufunc_at(xp, {"prod": "multiply", "amax": "maximum", "amin": "minimum"}[red],
                            out, key, src)
        if red == "mean":
            cnt = xp.zeros(x.shape, dtype=np.int64)
            _scatter_add(xp, cnt, key, xp.ones(idx.shape, dtype=np.int64))
            if self.include_self:
                cnt += 1
            cnt = xp.maximum(cnt, 1)
            if x.dtype.kind in "fV":
                out = (out / cnt).astype(x.dtype)
            else:
                out = xp.floor_divide(out, cnt).astype(x.dtype)
        if not self.include_self and red != "sum" and red != "mean":
            touched = xp.zeros(x.shape, dtype=np.bool_)
            touched[key] = True
            out = xp.where(touched, out, x)
        self.retain_inputs(0, 1)
        self.retain_outputs(0)
        return out

    def backward(self, gy):
        x, src, out = self.saved_tensors
        nx, ns = self.needs_input_grad
        dim, idx, red = self.dim, self.idx, self.reduce
        src_b = src if src._data.shape == idx.shape else _index_box(src, idx.shape)
        touched = _touched(self.xp, x._data.shape, dim, idx)
        gx = gs = None
        if red == "sum":
            if nx:
                gx = gy if self.include_self else MaskedFill.apply(gy, mask=touched, value=_zero(gy))
            gs = Gather.apply(gy, dim=dim, idx=idx) if ns else None
        elif red == "mean":
            xp = self.xp
            cnt = xp.zeros(x._data.shape, dtype=gy._data.dtype)
            _scatter_add(xp, cnt, _mesh(xp, idx.shape, dim, idx), xp.ones(idx.shape, dtype=cnt.dtype))
            if self.include_self:
                cnt = cnt + 1
            cnt = _wrap(xp.maximum(cnt, 1), gy._device)
            g = gy / cnt
            if nx:
                gx = g if self.include_self else MaskedFill.apply(g, mask=touched, value=_zero(g))
            if ns:
                gs = Gather.apply(g, dim=dim, idx=idx)
        elif red == "prod":
            # d out / d x = out / x and d out / d src = out / src (no zeros among the factors)
            if nx:
                if self.include_self:
                    gx = gy * out / x
                else:
                    gx = MaskedFill.apply(gy, mask=touched, value=_zero(gy))
            if ns:
                gs = Gather.apply(gy * out, dim=dim, idx=idx) / src_b
        else:  # amax / amin: the grad is shared evenly among the elements equal to the result
            xp = self.xp
            eq_x = (x._data == out._data)
            if not self.include_self:
                eq_x = eq_x & xp.logical_not(touched)
            outg = Gather.apply(out.detach(), dim=dim, idx=idx)._data
            eq_s = src_b._data == outg
            cnt = eq_x.astype(gy._data.dtype)
            _scatter_add(xp, cnt, _mesh(xp, idx.shape, dim, idx), eq_s.astype(cnt.dtype))
            cnt = _wrap(xp.maximum(cnt, 1), gy._device)
            g = gy / cnt
            if nx:
                gx = MaskedFill.apply(g, mask=xp.logical_not(eq_x), value=_zero(g))
            if ns:
                gs = MaskedFill.apply(Gather.apply(g, dim=dim, idx=idx),
                                      mask=xp.logical_not(eq_s), value=_zero(g))
        if gs is not None:
            gs = _pad_to(gs, self.src_shape)
        return gx, gs


def _index_box(t: Tensor, shape: tuple) -> Tensor:
    return BasicIndex.apply(t, key=tuple(slice(0, s) for s in shape))


def _touched(xp, shape, dim, idx):
    m = xp.zeros(shape, dtype=np.bool_)
    m[_mesh(xp, idx.shape, dim, idx)] = True
    return m


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` (sum/prod/mean/amax/amin)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if not isinstance(src, Tensor):
        raise tensor_arg_error("scatter_reduce", "src", 3, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    x, d, idx, s, zero_d = _scatter_prepare("scatter_reduce", input, dim, index, src)
    r = ScatterReduce.apply(x, s, dim=d, idx=idx, reduce=reduce, include_self=bool(include_self))
    return r.reshape(()) if zero_d else r
