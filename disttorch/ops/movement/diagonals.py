"""Triangles and diagonals: tril, triu, diagonal, diag_embed, diag and trace."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import wrap_dim
from ..shape import clone
from ._common import _int_arg

# -- graph ops ---------------------------------------------------------------------------

class Tril(Op):
    def forward(self, x):
        return self.xp.triu(x, self.k) if self.upper else self.xp.tril(x, self.k)

    def backward(self, gy):
        return Tril.apply(gy, k=self.k, upper=self.upper)


def _writable_diagonal(a, offset, d1, d2):
    d = a.diagonal(offset, d1, d2)
    flags = d.flags
    if not getattr(flags, "writeable", True) and a.flags.writeable:
        flags.writeable = True  # numpy hands out read-only diagonals of writable arrays
    return d


class Diagonal(Op):
    view = True

    def forward(self, x):
        self.src = x.shape
        return _writable_diagonal(x, self.offset, self.dim1, self.dim2)

    def backward(self, gy):
        return DiagScatter.apply(gy, shape=self.src, offset=self.offset, dim1=self.dim1,
                                 dim2=self.dim2)


class DiagScatter(Op):
    """Zeros of ``shape`` with the input written on a diagonal (``diag_embed``)."""

    def forward(self, x):
        out = self.xp.zeros(self.shape, dtype=x.dtype)
        _writable_diagonal(out, self.offset, self.dim1, self.dim2)[...] = x
        return out

    def backward(self, gy):
        return Diagonal.apply(gy, offset=self.offset, dim1=self.dim1, dim2=self.dim2)


# -- triangles and diagonals -------------------------------------------------------------

def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements above ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, k=_int_arg(diagonal, "tril", "diagonal", 2), upper=False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements below ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tril.apply(input, k=_int_arg(diagonal, "triu", "diagonal", 2), upper=True)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal over ``dim1``/``dim2``, appended as the last dim."""
    nd = input._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=_int_arg(offset, "diagonal", "offset", 2), dim1=d1, dim2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Put the last dim of ``input`` on a diagonal of new dims ``dim1``/``dim2``."""
    shape = input._data.shape
    nd = len(shape) + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = _int_arg(offset, "diag_embed", "offset", 2)
    m = (shape[-1] if shape else 1) + abs(offset)
    out = list(shape[:-1])
    lo, hi = sorted((d1, d2))
    out.insert(lo, m)
    out.insert(hi, m)
    x = input if shape else input.reshape(1)
    return DiagScatter.apply(x, shape=tuple(out), offset=offset, dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d: a matrix with ``input`` on a diagonal; 2-d: a copy of the diagonal."""
    nd = input._data.ndim
    k = _int_arg(diagonal, "diag", "diagonal", 2)
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return DiagScatter.apply(input, shape=(m, m), offset=k, dim1=0, dim2=1)
    if nd == 2:
        return clone(Diagonal.apply(input, offset=k, dim1=0, dim2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers sum to int64)."""
    nd = input._data.ndim
    if nd != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {nd}")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Diagonal.apply(input, offset=0, dim1=0, dim2=1).sum()
