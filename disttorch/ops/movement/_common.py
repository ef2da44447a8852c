"""Helpers the movement submodules share: argument parsing, grad zero-filling, and the ``Take`` gather."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from .._op import Op
from .._util import wrap_dim

_INT = (int, np.integer)
_promote = dtypes.promote_types
_from_np = dtypes.from_numpy


# -- argument helpers -------------------------------------------------------------------

def _int_arg(x, fn: str, name: str, pos: int) -> int:
    if isinstance(x, _INT) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, Tensor) and x._data.dtype.kind in "iu" and x._data.size == 1:
        return int(x.item())
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be int, not {type(x).__name__}")


def _int_list(x, fn: str, name: str, pos: int) -> list:
    """An int or a sequence of ints as a list (torch's ``int[]`` arguments)."""
    if isinstance(x, _INT) and not isinstance(x, bool):
        return [int(x)]
    if isinstance(x, Tensor):
        return [int(v) for v in x.reshape(-1).tolist()]
    if isinstance(x, (tuple, list)):
        out = []
        for i, v in enumerate(x):
            if isinstance(v, Tensor) and v._data.size == 1 and v._data.dtype.kind in "iu":
                v = int(v.item())
            if not isinstance(v, _INT) or isinstance(v, bool):
                raise TypeError(
                    f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, but found "
                    f"element of type {type(v).__name__} at pos {i}"
                )
            out.append(int(v))
        return out
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, not {type(x).__name__}")


def _varargs(args) -> tuple:
    """``f(1, 2)``, ``f((1, 2))`` or ``f([1, 2])`` as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def _tensor_seq(tensors, fn: str) -> list:
    if isinstance(tensors, (tuple, list)):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        return list(tensors)
    raise TypeError(
        f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type(tensors).__name__}")


def _dim_of_0d(dim: int, nd: int) -> int:
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, nd)


def _common_dtype(tensors) -> np.dtype:
    first = tensors[0]._data.dtype
    for t in tensors:
        if t._data.dtype != first:
            break
    else:
        return first
    d = _from_np(first)
    for t in tensors:
        d = _promote(d, _from_np(t._data.dtype))
    return d.np


def _zeros_for(grads, shapes):
    """The grads with each ``None`` replaced by zeros of its shape (at least one is set)."""
    ref = next(g for g in grads if g is not None)
    return [ref.new_zeros(s) if g is None else g for g, s in zip(grads, shapes)]


def _add_at(xp, a, idx, v) -> None:
    """``a[idx] += v`` along axis 0, repeated indices accumulating (``numpy.add.at``)."""
    if xp is np:
        np.add.at(a, idx, v)
        return
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(a, idx, v)
    else:  # older cupy
        import cupyx

        cupyx.scatter_add(a, idx, v)


# -- graph ops ---------------------------------------------------------------------------

class Take(Op):
    """``x.take(idx, axis)`` for a host index array ``idx`` into a dim of size ``n``."""

    def forward(self, x):
        didx = self.__dict__.get("didx")
        if didx is None:
            didx = self.didx = self.idx if self.xp is np else self.xp.asarray(self.idx)
        return x.take(didx, axis=self.axis)

    def backward(self, gy):
        return TakeBackward.apply(gy, idx=self.idx, didx=self.didx, axis=self.axis, n=self.n)


class TakeBackward(Op):
    """The adjoint of ``Take``: index-add the slices back into a dim of size ``n``."""

    def forward(self, g):
        xp = self.xp
        shape = list(g.shape)
        shape[self.axis] = self.n
        out = xp.zeros(tuple(shape), dtype=g.dtype)
        _add_at(xp, xp.moveaxis(out, self.axis, 0), self.didx, xp.moveaxis(g, self.axis, 0))
        return out

    def backward(self, gg):
        return Take.apply(gg, idx=self.idx, didx=self.didx, axis=self.axis, n=self.n)
