"""The ``index_*`` ops: ``index_select``, ``index_add``, ``index_copy``, ``index_fill`` along one dim."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend.shims import scatter_add as _scatter_add
from .._op import Op
from .._util import cast, is_scalar, wrap_dim
from ._common import (
    _FULL,
    _INT32,
    _INT64,
    _any_outside,
    _check_dim_bounds,
    _first_outside,
    _index_array,
    _shape_str,
    _tname,
    _xp,
    _zero,
    _zeros,
)


class _IndexRangeError(IndexError, RuntimeError):
    """torch raises IndexError or RuntimeError for the same bad index depending on layout."""


def _dim_key(dim: int, idx) -> tuple:
    return (_FULL,) * dim + (idx,)


class IndexSelect(Op):
    def forward(self, x):
        self.src = x.shape
        return self.xp.take(x, self.idx, axis=self.dim)

    def backward(self, gy):
        z = _zeros(self.xp, self.src, gy._data.dtype, gy._device)
        return IndexAdd.apply(z, gy, dim=self.dim, idx=self.idx, alpha=1)


class IndexAdd(Op):
    def forward(self, x, src):
        out = x.copy()
        if self.alpha != 1:
            src = src * self.alpha
        _scatter_add(self.xp, out, _dim_key(self.dim, self.idx), src)
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gs = None
        if ns:
            gs = IndexSelect.apply(gy, dim=self.dim, idx=self.idx)
            if self.alpha != 1:
                gs = gs * self.alpha
        return (gy if nx else None), gs


class IndexCopy(Op):
    def forward(self, x, src):
        out = x.copy()
        out[_dim_key(self.dim, self.idx)] = src
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gx = gs = None
        if nx:
            gx = IndexFill.apply(gy, dim=self.dim, idx=self.idx, value=_zero(gy))
        if ns:
            gs = IndexSelect.apply(gy, dim=self.dim, idx=self.idx)
        return gx, gs


class IndexFill(Op):
    """A copy of ``x`` with the slices at ``idx`` along ``dim`` set to a value.

    The value is the attribute ``value`` or, when given, the 0-d tensor input ``v``.
    """

    def forward(self, x, *v):
        out = x.copy()
        out[_dim_key(self.dim, self.idx)] = v[0] if v else self.value
        return out

    def backward(self, gy):
        need = self.needs_input_grad
        filled = IndexFill.apply(gy, dim=self.dim, idx=self.idx, value=_zero(gy))
        gx = filled if need[0] else None
        if len(need) == 1:
            return gx
        gv = (gy - filled).sum() if need[1] else None
        return gx, gv


def _vector_index(index: Tensor, input: Tensor):
    idx = _index_array(index, input)
    return idx.reshape(-1) if idx.ndim == 0 else idx


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the vector ``index``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    idx = _vector_index(index, input)
    if nd == 0:
        if idx.size != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
            )
        if _any_outside(_xp(input), idx, 0, 1):
            raise _IndexRangeError("index out of range in self")
        return IndexSelect.apply(input.reshape(1), dim=0, idx=idx).reshape(())
    n = input._data.shape[d]
    if _any_outside(_xp(input), idx, 0, n):
        raise _IndexRangeError("index out of range in self")
    return IndexSelect.apply(input, dim=d, idx=idx)


def _index_src_checks(what: str, input: Tensor, d: int, idx, source: Tensor, copy=False):
    nsrc = source._data.shape[d] if source._data.ndim else 1
    if idx.size != nsrc:
        if copy:
            raise IndexError(
                f"{what}(): Number of indices ({idx.size}) should be equal to source.size(dim) ({nsrc})"
            )
        raise RuntimeError(
            f"{what}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
            f"({nsrc}), for dim: {d}"
        )
    xs, ss = input._data.shape, source._data.shape
    ok = len(xs) == len(ss) and all(a == b for i, (a, b) in enumerate(zip(xs, ss)) if i != d)
    if not ok:
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified dimension. "
            f"Got self.shape = {_shape_str(xs)} source.shape = {_shape_str(ss)}"
        )


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {index._data.ndim} "
            f"with type: {_tname(index._data.dtype)} and size: {_shape_str(index.shape)}"
        )
    dt = index._data.dtype
    if dt != _INT64 and dt != _INT32:
        raise RuntimeError(
            f"index_add_(): Expected dtype int32/int64 for index but got: {_tname(dt)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({_tname(input._data.dtype)}) and source "
            f"({_tname(source._data.dtype)}) must have the same scalar type"
        )
    idx = _vector_index(index, input)
    _index_src_checks("index_add_", input, d, idx, source)
    x, s = input, source
    if nd == 0:
        x, s = input.reshape(1), source.reshape(1)
    _check_dim_bounds(_xp(input), idx, x._data.shape[d], d)
    r = IndexAdd.apply(x, s, dim=d, idx=idx, alpha=alpha)
    return r.reshape(()) if nd == 0 else r


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by ``source``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0")
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"index_copy_(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{_tname(input._data.dtype)} and (source) {_tname(source._data.dtype)}"
        )
    idx = _vector_index(index, input)
    _index_src_checks("index_copy_", input, d, idx, source, copy=True)
    x, s = input, source
    if nd == 0:
        x, s = input.reshape(1), source.reshape(1)
    n = x._data.shape[d]
    if _any_outside(_xp(input), idx, 0, n):
        v = _first_outside(idx, 0, n)
        raise IndexError(f"index_copy_(): index {v} is out of bounds for dimension {d} with size {n}")
    r = IndexCopy.apply(x, s, dim=d, idx=idx)
    return r.reshape(()) if nd == 0 else r


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.dtype != _INT64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    idx = _vector_index(index, input)
    x = input.reshape(1) if nd == 0 else input
    n = x._data.shape[d]
    xp = _xp(input)
    if _any_outside(xp, idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"index {v} is out of bounds for dimension {d} with size {n}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        v = value
        if v._device is not input._device:
            v = v.to(input._device)
        r = IndexFill.apply(x, cast(v, input._data.dtype), dim=d, idx=idx)
    else:
        if not is_scalar(value):
            raise TypeError(f"index_fill(): argument 'value' must be Number, not {type(value).__name__}")
        r = IndexFill.apply(x, dim=d, idx=idx, value=xp.asarray(value, dtype=input._data.dtype))
    return r.reshape(()) if nd == 0 else r
