"""Distances and similarities: ``normalize``, ``cosine_similarity``, ``pairwise_distance``, ``pdist``."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from ...creation import tensor
from ...ops._op import Op
from ...ops._util import binary_operands, need_tensor, wrap_dim
from ...ops.indexing import index_select
from ...ops.pointwise import _broadcast_error


class _ClampMinPass(Op):
    """``max(x, eps)`` whose gradient is the identity (torch's no-grad in-place clamp)."""

    def forward(self, x):
        return self.xp.maximum(x, self.eps)

    def backward(self, gy):
        return gy


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    need_tensor(input, "normalize")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps)
    r = input / denom
    if out is not None:
        out.copy_(r)
        return out
    return r


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim`` (inputs broadcast)."""
    need_tensor(x1, "cosine_similarity", "x1", 1)
    need_tensor(x2, "cosine_similarity", "x2", 2)
    a, b = binary_operands(x1, x2)
    if not dtypes.from_numpy(a._data.dtype).is_floating_point:
        raise RuntimeError(
            "expected common dtype to be floating point, yet common dtype is "
            f"{dtypes.from_numpy(a._data.dtype).legacy_name}")
    shape = a._data.shape
    if b._data.shape != shape:
        try:
            shape = np.broadcast_shapes(shape, b._data.shape)
        except ValueError:
            raise _broadcast_error([a._data.shape, b._data.shape]) from None
    d = wrap_dim(dim, len(shape))
    if a._data.shape != shape:
        a = a.expand(shape)
    if b._data.shape != shape:
        b = b.expand(shape)
    # torch clamps the norms without cutting their gradient (the clamp passes it straight through)
    na = _ClampMinPass.apply(a.norm(2, d, keepdim=True), eps=eps)
    nb = _ClampMinPass.apply(b.norm(2, d, keepdim=True), eps=eps)
    return ((a / na) * (b / nb)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim (inputs broadcast)."""
    need_tensor(x1, "pairwise_distance", "x1", 1)
    need_tensor(x2, "pairwise_distance", "x2", 2)
    nd = max(x1._data.ndim, x2._data.ndim)
    diff = x1 - x2 + eps
    if nd == 0:
        return diff.norm(p)
    return diff.norm(p, nd - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """Distances between all pairs of rows of a 2-d input (the upper triangle, row by row)."""
    need_tensor(input, "pdist")
    if input._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input._data.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if not dtypes.from_numpy(input._data.dtype).is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    n = input._data.shape[0]
    i, j = np.triu_indices(n, 1)
    ti = tensor(i.astype(np.int64), device=input._device)
    tj = tensor(j.astype(np.int64), device=input._device)
    diff = index_select(input, 0, ti) - index_select(input, 0, tj)
    return diff.norm(p, 1)


__all__ = ["cosine_similarity", "normalize", "pairwise_distance", "pdist"]
