"""Ops that move, combine and pick elements: cat/stack/split, flip/roll, repeat, pad, diagonals.

Multi-output ops (``split``, ``chunk``, ``unbind``) are single graph nodes returning a tuple
of views; their adjoints are ``cat``/``stack``, and the other way round, so every backward
is itself differentiable. Gathers with host-side indices (non-constant ``pad``,
``repeat_interleave`` with a tensor of repeats) go through ``Take``, whose adjoint is an
index-add.
"""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace_method
from ._common import _add_at  # noqa: F401  (nn.functional.sparse and .vision import it from here)
from .broadcasting import broadcast_shapes, broadcast_tensors, cartesian_prod, meshgrid
from .diagonals import diag, diag_embed, diagonal, trace, tril, triu
from .joining import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    cat,
    column_stack,
    concat,
    concatenate,
    dstack,
    hstack,
    row_stack,
    stack,
    vstack,
)
from .padding import pad  # noqa: F401  (not in __all__ like torch; nn and tests use movement.pad)
from .reordering import _flip_method, flip, fliplr, flipud, roll, rot90
from .repeating import _repeat_interleave_method, _tile_method, repeat, repeat_interleave, tile
from .splitting import (
    _split_method,
    chunk,
    dsplit,
    hsplit,
    narrow,
    narrow_copy,
    select,
    split,
    split_with_sizes,
    tensor_split,
    unbind,
    vsplit,
)


def _install() -> None:
    T = Tensor
    T.split, T.split_with_sizes, T.chunk, T.tensor_split = (
        _split_method, split_with_sizes, chunk, tensor_split)
    T.hsplit, T.vsplit, T.dsplit, T.unbind = hsplit, vsplit, dsplit, unbind
    T.narrow, T.narrow_copy, T.select = narrow, narrow_copy, select
    T.flip, T.fliplr, T.flipud, T.roll, T.rot90 = _flip_method, fliplr, flipud, roll, rot90
    T.repeat, T.tile, T.repeat_interleave = repeat, _tile_method, _repeat_interleave_method
    T.tril, T.triu, T.diagonal, T.diag_embed, T.diag, T.trace = (
        tril, triu, diagonal, diag_embed, diag, trace)
    T.tril_, T.triu_ = inplace_method(tril), inplace_method(triu)


_install()

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "cartesian_prod", "cat", "chunk", "column_stack", "concat", "concatenate", "diag",
    "diag_embed", "diagonal", "dsplit", "dstack", "flip", "fliplr", "flipud", "hsplit", "hstack",
    "meshgrid", "narrow", "narrow_copy", "repeat_interleave", "roll", "rot90", "row_stack",
    "select", "split", "split_with_sizes", "stack", "tensor_split", "tile", "trace", "tril",
    "triu", "unbind", "vsplit", "vstack",
]
