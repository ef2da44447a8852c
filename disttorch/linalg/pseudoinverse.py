"""The pseudo-inverse and what builds on it: ``pinv``, ``matrix_rank``, ``lstsq``."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._op import Op
from ..ops._util import need_tensor
from ._common import (
    _F32,
    _INT64,
    _check_float,
    _const,
    _lowp,
    _rt_linalg_lstsq,
    _tname,
    _xp,
)
from .decompositions import svdvals


class LinalgPinv(Op):
    """The pseudo-inverse through the SVD (or ``eigh`` when ``hermitian``)."""

    def forward(self, a):
        xp = self.xp
        self.retain_inputs(0)
        self.retain_outputs(0)
        m, n = a.shape[-2:]
        if a.size == 0:
            return xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
        atol, rtol = self.atol, self.rtol
        if self.hermitian:
            w, v = xp.linalg.eigh(a)
            top = xp.abs(w).max(axis=-1, keepdims=True)
            cut = xp.maximum(atol[..., None], rtol[..., None] * top)
            keep = xp.abs(w) > cut
            with np.errstate(divide="ignore", invalid="ignore"):
                winv = xp.where(keep, 1 / xp.where(keep, w, 1), 0).astype(a.dtype)
            return xp.matmul(v * winv[..., None, :], xp.swapaxes(v, -1, -2))
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        top = s[..., :1]
        cut = xp.maximum(atol[..., None], rtol[..., None] * top)
        keep = s > cut
        with np.errstate(divide="ignore", invalid="ignore"):
            sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
        return xp.matmul(xp.swapaxes(vh, -1, -2) * sinv[..., None, :], xp.swapaxes(u, -1, -2))

    def backward(self, g):
        a, p = self.saved_tensors
        # d(A+) = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+
        pt = p.mT
        gt = g.mT
        ga = -pt.matmul(g).matmul(pt)
        ga = ga + (gt - a.matmul(p).matmul(gt)).matmul(p).matmul(pt)
        ga = ga + pt.matmul(p).matmul(gt - gt.matmul(p).matmul(a))
        return ga


def _tolerances(A: Tensor, atol, rtol):
    """(atol, rtol) arrays broadcastable against the batch (torch's defaults)."""
    xp = _xp(A)
    a = A._data
    m, n = a.shape[-2:]
    batch = a.shape[:-2]

    def arr(v):
        if isinstance(v, Tensor):
            return v._data.astype(a.dtype)
        return xp.asarray(v, dtype=a.dtype)

    if rtol is None:
        eps = float(np.finfo(np.float32 if a.dtype == _F32 else np.float64).eps)
        if atol is None or (not isinstance(atol, Tensor) and atol <= 0):
            rtol = eps * max(m, n)
        else:
            rtol = 0.0
    at = arr(0.0 if atol is None else atol)
    rt = arr(rtol)
    return xp.broadcast_to(at, batch) if at.ndim <= len(batch) else at, (
        xp.broadcast_to(rt, batch) if rt.ndim <= len(batch) else rt)


def pinv(A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None, out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse (singular values up to max(atol, rtol * s_max) dropped)."""
    need_tensor(A, "linalg_pinv", "A", 1)
    a = A._data
    if a.ndim < 2 or a.dtype.kind not in "f" or _lowp(a):
        raise RuntimeError(
            f"linalg.pinv({_tname(a)}{{{list(a.shape)}}}): expected a tensor with 2 or more dimensions "
            "of float, double, cfloat or cdouble types")
    if rcond is not None:
        rtol = rcond
    at, rt = _tolerances(A, atol, rtol)
    return LinalgPinv.apply(A, atol=at, rtol=rt, hermitian=bool(hermitian))


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None) -> Tensor:
    """The number of singular values above max(atol, rtol * s_max) (int64)."""
    need_tensor(A, "linalg_matrix_rank", "A", 1)
    a = A._data
    if a.ndim < 2:
        raise RuntimeError(
            "torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if a.dtype.kind != "f" or _lowp(a):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    xp = _xp(A)
    at, rt = _tolerances(A, atol, rtol)
    if a.size == 0:
        return _const(xp.zeros(a.shape[:-2], dtype=_INT64), A)
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(a))
        top = s.max(axis=-1)
    else:
        s = xp.linalg.svd(a, compute_uv=False)
        top = s[..., 0]
    cut = xp.maximum(at, rt * top)
    return _const((s > cut[..., None]).sum(-1).astype(_INT64), A)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> tuple:
    """(solution, residuals, rank, singular_values): the least-squares / minimum-norm solution.

    The solution is ``pinv(A) @ B`` (differentiable); like torch's CPU drivers, ``gelsy``
    (the default) reports the rank, ``gelsd``/``gelss`` also the singular values, and the
    residuals come when ``m > n`` and every matrix has full rank (not for ``gelsy``).
    """
    need_tensor(A, "linalg_lstsq", "A", 1)
    need_tensor(B, "linalg_lstsq", "B", 2)
    a, b = A._data, B._data
    if a.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
            f"dtype {_tname(a)} and other's dtype {_tname(b)}")
    _check_float(A, "torch.linalg.lstsq", "linalg_lstsq_cpu")
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if not 0 <= a.ndim - b.ndim <= 1:
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            "(input.dim() - other.dim()) <= 1")
    vector = b.ndim == a.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm._data.shape[-2] != a.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = a.shape[-2:]
    xp = _xp(A)
    eps = float(np.finfo(np.float32 if a.dtype == _F32 else np.float64).eps)
    rc = eps * max(m, n) if rcond is None or rcond < 0 else float(rcond)
    x = pinv(A, rtol=rc).matmul(Bm)
    empty_f = _const(xp.zeros((0,), dtype=a.dtype), A)
    res = x.reshape(-1)[:0]  # empty, but part of the graph (as torch's is)
    rank = _const(xp.zeros((0,), dtype=_INT64), A)
    if driver != "gels":
        rank = matrix_rank(A.detach(), rtol=rc, atol=0.0)
    sv = empty_f
    if driver in ("gelsd", "gelss"):
        sv = svdvals(A.detach())
    if driver != "gelsy" and m > n and a.size:
        full = bool((matrix_rank(A.detach(), rtol=rc, atol=0.0)._data == n).all())
        if full:
            res = ((A.matmul(x) - Bm) ** 2).sum(-2)
    if vector:
        x = x.squeeze(-1)
    return _rt_linalg_lstsq(x, res, rank, sv)
