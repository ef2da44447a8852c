"""Products, powers and views: matmul, multi_dot, vecdot, cross, diagonal, matrix_power/_exp, vander."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ..ops._util import need_tensor, wrap_dim
from ._common import (
    _check_float,
    _check_square,
    _cname,
    _const,
    _eye,
    _tname,
    _xp,
)
from .solvers import inv


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` to the integer power ``n`` (the inverse's power for negative ``n``)."""
    need_tensor(A, "linalg_matrix_power", "A", 1)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    _check_square(A, "linalg.matrix_power")
    n = int(n)
    a = A._data
    if n == 0:  # the identity, in the graph with a zero gradient (as torch's)
        eye = _xp(A).broadcast_to(_xp(A).eye(a.shape[-1], dtype=a.dtype), a.shape)
        return A * 0 + _const(eye, A) if A._requires_grad else _const(eye.copy(), A)
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while True:
        if n & 1:
            result = base if result is None else result.matmul(base)
        n >>= 1
        if not n:
            break
        base = base.matmul(base)
    return result if result is not A else A.clone()


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """The Vandermonde matrix of ``x`` with columns ``x**0, x**1, ..., x**(N-1)``."""
    need_tensor(x, "linalg_vander", "x", 1)
    a = x._data
    if N is None:
        N = a.shape[-1] if a.ndim else 0  # noqa: N806
    if N <= 1 or a.ndim == 0:
        raise RuntimeError("N must be greater than 1.")
    xp = _xp(x)
    mask = xp.ones((N,), dtype=a.dtype)
    mask[0] = 0
    m = _const(mask, x)
    cols = x.unsqueeze(-1) * m + (1 - m)  # [1, x, x, ...]: their running product is [1, x, x^2, ...]
    return cols.cumprod(-1)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (batch dims broadcast)."""
    need_tensor(input, "linalg_cross")
    need_tensor(other, "linalg_cross", "other", 2)
    a, b = input._data, other._data
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    return input.cross(other, dim=d)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The dot product of vectors along ``dim`` (batch dims broadcast)."""
    need_tensor(x, "linalg_vecdot", "x", 1)
    need_tensor(y, "linalg_vecdot", "y", 2)
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(
            f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{_tname(x._data)} and y of type {_tname(y._data)} instead")
    _check_float(x, "linalg.vecdot")
    return (x * y).sum(dim)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The matrix product (torch.matmul's rules)."""
    need_tensor(input, "linalg_matmul")
    return input.matmul(other)


def _chain_order(dims: list) -> list:
    """The cheapest parenthesisation of a matrix chain (``dims`` has n+1 sizes): split table."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices in the cheapest order (first/last may be 1-d)."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        need_tensor(t, "linalg_multi_dot", "tensors", 1)
        nd = t._data.ndim
        if i == 0 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {nd}D")
        if i == n - 1 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {nd}D")
        if 0 < i < n - 1 and nd != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(
                f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{_cname(tensors[0]._data)} and tensor {i} {_cname(t._data)}")
    first_1d = tensors[0]._data.ndim == 1
    last_1d = tensors[-1]._data.ndim == 1
    mats = list(tensors)
    if first_1d:
        mats[0] = mats[0].unsqueeze(0)
    if last_1d:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i in range(n - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i]._data.shape)} and "
                f"{list(tensors[i + 1]._data.shape)} cannot be multiplied")
    dims = [m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]
    split = _chain_order(dims)

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return product(i, k).matmul(product(k + 1, j))

    r = product(0, n - 1)
    if first_1d and last_1d:
        return r.reshape(())
    if first_1d:
        return r.squeeze(0)
    if last_1d:
        return r.squeeze(-1)
    return r


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A view of the diagonal of each matrix (over ``dim1``/``dim2``)."""
    need_tensor(A, "linalg_diagonal", "A", 1)
    return A.diagonal(offset, dim1, dim2)


def _matrix_exp(A: Tensor) -> Tensor:
    """``exp(A)`` by scaling and squaring a degree-18 Taylor polynomial (Tensor ops, so it
    is differentiable to any order)."""
    need_tensor(A, "linalg_matrix_exp", "A", 1)
    _check_float(A, "linalg.matrix_exp")
    _check_square(A, "linalg.matrix_exp")
    a = A._data
    n = a.shape[-1]
    if a.size == 0:
        return A.clone()
    xp = _xp(A)
    norm1 = float(xp.abs(a).sum(-2).max()) if a.size else 0.0
    squarings = max(0, int(math.ceil(math.log2(norm1))) + 1) if norm1 > 0.5 else 0
    x = A * (0.5 ** squarings) if squarings else A
    eye = _eye(n, A)
    # Horner: I + X (I + X/2 (I + X/3 (...)))
    r = eye
    for k in range(18, 0, -1):
        r = eye + x.matmul(r) * (1.0 / k)
    for _ in range(squarings):
        r = r.matmul(r)
    return r


matrix_exp = _matrix_exp
