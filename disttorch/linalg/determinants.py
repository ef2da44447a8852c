"""Determinants: ``det`` and ``slogdet`` with their ops and the cofactor gradient."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._op import Op
from ..ops._util import need_tensor
from ._common import (
    _check_float,
    _check_square,
    _const,
    _rt_linalg_slogdet,
    _zeros_like,
)
from .solvers import inv


class LinalgDet(Op):
    def forward(self, a):
        self.retain_inputs(0)
        self.retain_outputs(0)
        return self.xp.linalg.det(a)

    def backward(self, g):
        a, d = self.saved_tensors
        return _cofactor_grad(self.xp, a, g * d, d._data, g, False)


class LinalgSlogdet(Op):
    def forward(self, a):
        self.retain_inputs(0)
        sign, logabs = self.xp.linalg.slogdet(a)
        self.sign = sign
        return sign, logabs

    def backward(self, gsign, glog):
        if glog is None:
            return None
        (a,) = self.saved_tensors
        return _cofactor_grad(self.xp, a, glog, self.sign, glog, True)


def _cofactor_grad(xp, a: Tensor, scale: Tensor, det, g: Tensor, divide: bool) -> Tensor:
    """``scale * A^{-T}`` (the det/slogdet grads); singular matrices go through the adjugate."""
    if a._data.size == 0:
        return _zeros_like(a)
    if not bool((det == 0).any()):
        return scale.unsqueeze(-1).unsqueeze(-1) * inv(a).mT
    # adj(A)^T = det(U) det(Vh) U diag(prod of the other singular values) Vh
    u, s, vh = xp.linalg.svd(a._data)
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = xp.concatenate([ones, xp.cumprod(s, axis=-1)[..., :-1]], axis=-1)
    right = xp.flip(xp.concatenate([ones, xp.cumprod(xp.flip(s, -1), axis=-1)[..., :-1]], axis=-1), -1)
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    adj_t = sign[..., None, None] * xp.matmul(u * (left * right)[..., None, :], vh)
    if divide:  # slogdet: A^{-T} = adj(A)^T / det(A), infinite for a singular matrix
        with np.errstate(divide="ignore", invalid="ignore"):
            d = xp.linalg.det(a._data)
            adj_t = adj_t / d[..., None, None]
    return g.unsqueeze(-1).unsqueeze(-1) * _const(adj_t.astype(a._data.dtype, copy=False), a)


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant of each square matrix."""
    need_tensor(A, "linalg_det", "A", 1)
    _check_float(A, "linalg.det", "lu_cpu")
    _check_square(A, "linalg.det")
    return LinalgDet.apply(A)


def slogdet(A: Tensor, *, out=None) -> tuple:
    """(sign, log|det|) of each square matrix (the sign's gradient is zero)."""
    need_tensor(A, "linalg_slogdet", "A", 1)
    _check_float(A, "linalg.slogdet", "lu_cpu")
    _check_square(A, "linalg.slogdet")
    sign, logabs = LinalgSlogdet.apply(A)
    return _rt_linalg_slogdet(sign, logabs)
