"""Logical reductions (any, all) and count_nonzero."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from ._common import _INT64, _dims


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
