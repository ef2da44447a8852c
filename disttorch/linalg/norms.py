"""Norms: ``vector_norm``, ``matrix_norm`` and ``norm``, which picks between them."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._util import need_tensor, wrap_dim
from ._common import _INF, _check_float, _check_matrix, _lowp, _tname
from .decompositions import svdvals


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None)."""
    need_tensor(x, "linalg_vector_norm", "x", 1)
    if isinstance(ord, Tensor):
        ord = ord.item()  # noqa: A001
    if not _is_number(ord) and not isinstance(ord, bool):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return x.norm(float(ord), dim, keepdim, dtype=dtype)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, _INF, -_INF)


def _matrix_dims(A: Tensor, dim) -> tuple:
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        got = " ".join(str(d) for d in dim) if isinstance(dim, (tuple, list)) else str(dim)
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {got}")
    nd = A._data.ndim
    d0, d1 = wrap_dim(int(dim[0]), nd), wrap_dim(int(dim[1]), nd)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _keep(r: Tensor, d0: int, d1: int, keepdim: bool) -> Tensor:
    if not keepdim:
        return r
    lo, hi = min(d0, d1), max(d0, d1)
    return r.unsqueeze(lo).unsqueeze(hi)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """The matrix norm of order ``ord`` ('fro', 'nuc', 2, -2, 1, -1, inf, -inf) over ``dim``."""
    need_tensor(A, "linalg_matrix_norm", "A", 1)
    _check_matrix(A, "linalg.matrix_norm")
    if isinstance(ord, str):
        valid = ord in ("fro", "nuc")
    else:
        valid = _is_number(ord) and float(ord) in (2.0, -2.0, 1.0, -1.0, _INF, -_INF)
    if not valid:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    _check_float(A, "linalg.matrix_norm")
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = _matrix_dims(A, dim)
    if ord == "fro":
        return A.norm(2.0, (d0, d1), keepdim)
    a = A._data
    if ord == "nuc" or ord in (2, -2):
        if _lowp(a):
            raise RuntimeError(f"linalg.matrix_norm: Low precision dtypes not supported. Got {_tname(a)}")
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        if ord == "nuc":
            r = s.sum(-1)
        elif ord == 2:
            r = s.amax(-1) if s._data.shape[-1] else s.sum(-1)
        else:
            r = s.amin(-1)
        return _keep(r, d0, d1, keepdim)
    o = float(ord)
    # 1: the largest column sum; inf: the largest row sum (-1 / -inf: the smallest)
    summed, other = (d0, d1) if abs(o) == 1 else (d1, d0)
    sums = A.abs().sum(summed)
    od = other - (summed < other)
    if o > 0:
        r = sums.amax(od) if sums._data.shape[od] else sums.sum(od)
    else:
        r = sums.amin(od)
    return _keep(r, d0, d1, keepdim)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, out=None, dtype=None) -> Tensor:
    """A vector or matrix norm, chosen from ``dim`` and ``ord`` as torch.linalg.norm does."""
    need_tensor(A, "linalg_norm")
    if dim is not None:
        if isinstance(dim, (int, np.integer)):
            if isinstance(ord, str):
                return matrix_norm(A, ord, int(dim), keepdim, dtype=dtype)
            return vector_norm(A, 2 if ord is None else ord, int(dim), keepdim, dtype=dtype)
        dims = tuple(dim)
        if len(dims) == 1 and not isinstance(ord, str):
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) != 1:
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
        return matrix_norm(A, ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    nd = A._data.ndim
    if nd not in (1, 2):
        raise RuntimeError(
            f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {nd}D.")
    if isinstance(ord, str) or nd == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, None, keepdim, dtype=dtype)
