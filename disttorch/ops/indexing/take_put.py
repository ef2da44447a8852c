"""``take``, ``take_along_dim`` and ``put``: elements picked or written by flat or along-dim index."""
from __future__ import annotations

from ..._tensor import Tensor, _wrap
from ...backend.shims import scatter_add as _scatter_add
from .._op import Op
from .._util import wrap_dim
from ._common import _INT64, _any_outside, _broadcast_shape, _first_outside, _index_array, _tname, _xp
from .gather_scatter import Gather, gather
from .getitem import AdvIndex


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (result has ``index``'s shape)."""
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    idx = _index_array(index, input)
    n = input._data.size
    if _any_outside(_xp(input), idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")
    return AdvIndex.apply(input.reshape(-1), key=(idx,))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` (flattened when ``dim`` is None)."""
    if indices._data.dtype != _INT64:
        raise RuntimeError(
            "torch.take_along_dim(): dtype of indices should be Long but got "
            f"{_tname(indices._data.dtype)}"
        )
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    nd = input._data.ndim
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, nd)
    if nd != indices._data.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {nd} dimensions for input, and {indices._data.ndim} dimensions for indices"
        )
    xs, is_ = list(input._data.shape), list(indices._data.shape)
    xs[d] = is_[d] = 1
    b = list(_broadcast_shape(tuple(xs), tuple(is_)))
    xt = list(b)
    xt[d] = input._data.shape[d]
    it = list(b)
    it[d] = indices._data.shape[d]
    x = input if tuple(xt) == input._data.shape else input.expand(xt)
    ind = indices if tuple(it) == indices._data.shape else indices.expand(it)
    idx = _index_array(ind, input)
    n = x._data.shape[d]
    xp = _xp(input)
    if idx.size and _any_outside(xp, idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise RuntimeError(f"index {v} is out of bounds for dimension {d} with size {n}")
    if idx.size and _any_outside(xp, idx, 0, n):
        idx = xp.where(idx < 0, idx + n, idx)
    return Gather.apply(x, dim=d, idx=idx)


class Put(Op):
    def forward(self, x, src):
        out = x.copy()
        self.src_shape = src.shape
        flat = out.reshape(-1)
        s = src.reshape(-1)
        if self.accumulate:
            _scatter_add(self.xp, flat, (self.idx,), s)
        else:
            flat[self.idx] = s
        return out

    def backward(self, gy):
        nx, ns = self.needs_input_grad
        gx = gs = None
        if nx:
            if self.accumulate:
                gx = gy
            else:
                z = _wrap(self.xp.zeros(self.idx.shape, dtype=gy._data.dtype), gy._device)
                gx = Put.apply(gy, z, idx=self.idx, accumulate=False)
        if ns:
            gs = AdvIndex.apply(gy.reshape(-1), key=(self.idx,)).reshape(self.src_shape)
        return gx, gs


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat positions ``index``."""
    if index._data.dtype != _INT64:
        raise RuntimeError(
            f"put_(): Expected a long tensor for index, but got {_tname(index._data.dtype)}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{_tname(input._data.dtype)} and source.dtype = {_tname(source._data.dtype)}"
        )
    if source._data.size != index._data.size:
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}"
        )
    idx = _index_array(index, input).reshape(-1)
    n = input._data.size
    if _any_outside(_xp(input), idx, -n, n):
        v = _first_outside(idx, -n, n)
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")
    return Put.apply(input, source, idx=idx, accumulate=bool(accumulate))
