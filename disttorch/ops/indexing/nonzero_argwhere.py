"""``nonzero`` and ``argwhere``: the indices of the non-zero elements."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ._common import _xp


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one vector per dim."""
    xp = _xp(input)
    d = input._data
    if as_tuple:
        if d.ndim == 0:
            d = d.reshape(1)
        return tuple(_wrap(a.astype(np.int64, copy=False), input._device) for a in xp.nonzero(d))
    return _wrap(xp.argwhere(d).astype(np.int64, copy=False), input._device)


def argwhere(input: Tensor) -> Tensor:
    """Indices of the non-zero elements as an (n, ndim) int64 tensor."""
    return nonzero(input)
