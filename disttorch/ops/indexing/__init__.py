"""Indexing: ``x[key]``, ``x[key] = v``, gather/scatter, index_* ops, masked ops, take/put, nonzero.

``x[key]`` splits the key the way torch does: integers, slices, ``None`` and ``...``
make a view (``BasicIndex``, sharing memory and the version counter); integer and bool
index tensors then pick elements (``AdvIndex``, a copy). Integers are applied before the
advanced indices, so ``x[0, :, [1, 2]]`` has torch's shape, not numpy's. The gradient of
an advanced index scatters back with accumulation for repeated indices.

``x[key] = v`` writes straight into the array when nothing needs a gradient; otherwise it
is the out-of-place ``IndexPut`` applied through ``inplace``, which rebases the tensor.
"""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace_method
from .gather_scatter import gather, scatter, scatter_add, scatter_reduce
from .getitem import getitem
from .index_ops import index_add, index_copy, index_fill, index_select
from .masked import masked_fill, masked_fill_, masked_scatter, masked_select
from .nonzero_argwhere import argwhere, nonzero
from .setitem import index_put, index_put_, setitem
from .take_put import put, take, take_along_dim


def _install() -> None:
    T = Tensor
    T.__getitem__ = getitem
    T.__setitem__ = setitem
    T.gather, T.scatter, T.scatter_add, T.scatter_reduce = gather, scatter, scatter_add, scatter_reduce
    T.index_select, T.index_add, T.index_copy, T.index_fill = (
        index_select, index_add, index_copy, index_fill)
    T.masked_fill, T.masked_scatter, T.masked_select = masked_fill, masked_scatter, masked_select
    T.take, T.take_along_dim, T.put, T.index_put = take, take_along_dim, put, index_put
    T.nonzero, T.argwhere = nonzero, argwhere
    T.masked_fill_ = masked_fill_
    for fn in (scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill,
               masked_scatter, put, index_put):
        setattr(T, fn.__name__ + "_", inplace_method(fn))


_install()


__all__ = [
    "argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_select", "masked_fill", "masked_scatter", "masked_select", "nonzero", "put",
    "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim",
]
