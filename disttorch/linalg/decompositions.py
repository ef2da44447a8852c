"""Decompositions: ``cholesky``/``cholesky_ex``, ``qr``, ``eigh``/``eigvalsh``, ``svd``/``svdvals``."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._op import Op
from ..ops._util import need_tensor
from ._common import (
    _INT32,
    _check_float,
    _check_matrix,
    _check_square,
    _const,
    _eye,
    _grad_enabled_for,
    _lowp,
    _rt_linalg_cholesky_ex,
    _rt_linalg_eigh,
    _rt_linalg_qr,
    _rt_linalg_svd,
    _tname,
    _xp,
    _zeros_like,
)
from .errors import (
    LinAlgError,
    _cholesky_info,
    _cholesky_message,
    _failed,
    _first_failure,
    _replace_failed,
)
from .solvers import LinalgSolveEx, inv


class LinalgCholeskyEx(Op):
    """The lower Cholesky factor (from the lower triangle) and, with ``ex``, the info."""

    def forward(self, a):
        xp = self.xp
        self.retain_outputs(0)
        try:
            low = xp.linalg.cholesky(a) if a.size else a.copy()
            info = None
        except np.linalg.LinAlgError:
            low = None
        if low is None or _failed(xp, low):
            info, partial = _cholesky_info(xp, a)
            fail = _first_failure(info, low is None, a.shape[-1])
            if fail is not None:
                if self.check:
                    raise LinAlgError(_cholesky_message(self.fname, a.ndim, fail))
                if not bool((info != 0).any()):
                    info = info.reshape(-1).copy()
                    info[0] = fail[1]
                    info = info.reshape(a.shape[:-2])
                good = xp.linalg.cholesky(_replace_failed(xp, a, info))
                low = xp.where((info != 0)[..., None, None], partial, good)
        if not self.ex:
            return low
        if info is None:
            info = xp.zeros(a.shape[:-2], dtype=_INT32)
        return low, info

    def backward(self, g, *ginfo):
        if g is None:
            return None
        (low,) = self.saved_tensors
        n = low._data.shape[-1]
        eye = _eye(n, low)
        p = low.mT.matmul(g).tril()
        s = (p + p.mT) * 0.5 - p * eye * 0.5
        li = inv(low)
        return li.mT.matmul(s).matmul(li)


class LinalgQr(Op):
    def forward(self, a):
        xp = self.xp
        if self.mode == "r":
            r = xp.linalg.qr(a, mode="r")
            return xp.zeros((0,), dtype=a.dtype), r
        q, r = xp.linalg.qr(a, mode=self.mode)
        self.retain_outputs(0, 1)
        return q, r

    def backward(self, gq, gr):
        if self.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        q, r = self.saved_tensors
        m, n = q._data.shape[-2], r._data.shape[-1]
        if self.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        gq = gq if gq is not None else _zeros_like(q)
        gr = gr if gr is not None else _zeros_like(r)
        if m >= n:
            return _qr_grad_tall(q, r, gq, gr)
        # wide: A = Q [U | V]; the square part as above, with Q's grad through Y = Q V
        u, v = r[..., :, :m], r[..., :, m:]
        gu, gv = gr[..., :, :m], gr[..., :, m:]
        y = q.matmul(v)
        gx = _qr_grad_tall(q, u, gq + y.matmul(gv.mT), gu)
        gy = q.matmul(gv)
        xp = self.xp
        first = _const(xp.eye(m, n, dtype=q._data.dtype), q)
        second = _const(xp.eye(n - m, n, k=m, dtype=q._data.dtype), q)
        return gx.matmul(first) + gy.matmul(second)


def _qr_grad_tall(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """The QR grad for ``m >= n``: ``(gQ + Q copyltu(M)) R^{-T}``, ``M = R gR^T - gQ^T Q``."""
    m = r.matmul(gr.mT) - gq.mT.matmul(q)
    low = m.tril()
    sym = low + low.tril(-1).mT
    x = gq + q.matmul(sym)
    return LinalgSolveEx.apply(r, x.mT, check=True, ex=False).mT


class LinalgEigh(Op):
    def forward(self, a):
        w, v = self.xp.linalg.eigh(a, UPLO=self.uplo)
        self.retain_outputs(0, 1)
        return w, v

    def backward(self, gw, gv):
        w, v = self.saved_tensors
        inner = None
        if gv is not None:
            n = w._data.shape[-1]
            m = v.mT.matmul(gv)
            m = (m - m.mT) * 0.5
            e = w.unsqueeze(-2) - w.unsqueeze(-1) + _eye(n, w)
            inner = m / e
        if gw is not None:
            d = gw.diag_embed()
            inner = d if inner is None else inner + d
        return v.matmul(inner).matmul(v.mT)


class LinalgSvd(Op):
    def forward(self, a):
        u, s, vh = self.xp.linalg.svd(a, full_matrices=self.full)
        self.retain_outputs(0, 1, 2)
        return u, s, vh

    def backward(self, gu, gs, gvh):
        u, s, vh = self.saved_tensors
        m, n = u._data.shape[-2], vh._data.shape[-1]
        k = s._data.shape[-1]
        if self.full:  # the extra columns of U / rows of Vh are arbitrary: they get no grad
            if m > k:
                u = u[..., :, :k]
                gu = gu[..., :, :k] if gu is not None else None
            if n > k:
                vh = vh[..., :k, :]
                gvh = gvh[..., :k, :] if gvh is not None else None
        inner = gs.diag_embed() if gs is not None else None
        utgu = vtgv = gv = v = None
        if gu is not None or gvh is not None:
            s2 = s * s
            e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + _eye(k, s)
            if gu is not None:
                utgu = u.mT.matmul(gu)
                t = (utgu - utgu.mT) / e * s.unsqueeze(-2)
                inner = t if inner is None else inner + t
            if gvh is not None:
                v, gv = vh.mT, gvh.mT
                vtgv = v.mT.matmul(gv)
                t = s.unsqueeze(-1) * ((vtgv - vtgv.mT) / e)
                inner = t if inner is None else inner + t
        ga = u.matmul(inner).matmul(vh) if inner is not None else None
        if gu is not None and m > k:
            t = ((gu - u.matmul(utgu)) / s.unsqueeze(-2)).matmul(vh)
            ga = t if ga is None else ga + t
        if gvh is not None and n > k:
            t = u.matmul(((gv - v.matmul(vtgv)) / s.unsqueeze(-2)).mT)
            ga = t if ga is None else ga + t
        return ga


def _cholesky(A: Tensor, upper: bool, fname: str, check: bool, ex: bool):
    need_tensor(A, fname.replace(".", "_"), "A", 1)
    _check_float(A, fname, "cholesky_cpu")
    _check_square(A, fname)
    # the upper factor of A is the transposed lower factor of A^T (read from A's upper triangle)
    src = A.mT if upper else A
    res = LinalgCholeskyEx.apply(src, fname=fname, check=check, ex=ex)
    low, info = res if ex else (res, None)
    fac = low.mT if upper else low
    return (fac, info) if ex else fac


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """The Cholesky factor ``L`` (``A = L L^T``; ``U = L^T`` when ``upper``)."""
    return _cholesky(A, upper, "linalg.cholesky", True, False)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None) -> tuple:
    """(L, info) of :func:`cholesky` with LAPACK's info instead of an error."""
    fac, info = _cholesky(A, upper, "linalg.cholesky_ex", check_errors, True)
    return _rt_linalg_cholesky_ex(fac, info)


def qr(A: Tensor, mode: str = "reduced", *, out=None) -> tuple:
    """(Q, R) with ``A = Q R``; ``mode`` 'reduced', 'complete' or 'r' (Q empty)."""
    need_tensor(A, "linalg_qr", "A", 1)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
            "'complete'")
    _check_float(A, "linalg.qr", "geqrf_cpu")
    _check_matrix(A, "linalg.qr")
    q, r = LinalgQr.apply(A, mode=mode)
    return _rt_linalg_qr(q, r)


def _check_uplo(UPLO) -> None:
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def _check_eigh_input(A: Tensor, fname: str) -> None:
    need_tensor(A, fname.replace(".", "_"), "A", 1)
    _check_matrix(A, fname)
    a = A._data
    if a.dtype.kind not in "fV" or _lowp(a):
        raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for '{_tname(a)}'")
    _check_square(A, fname)


def eigh(A: Tensor, UPLO: str = "L", *, out=None) -> tuple:
    """(eigenvalues ascending, eigenvectors) of symmetric matrices (from the ``UPLO`` triangle)."""
    _check_eigh_input(A, "linalg.eigh")
    _check_uplo(UPLO)
    w, v = LinalgEigh.apply(A, uplo=UPLO.upper())
    return _rt_linalg_eigh(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices."""
    _check_eigh_input(A, "linalg.eigvalsh")
    _check_uplo(UPLO)
    if _grad_enabled_for(A):
        return LinalgEigh.apply(A, uplo=UPLO.upper())[0]
    return _const(_xp(A).linalg.eigvalsh(A._data, UPLO=UPLO.upper()), A)


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None) -> tuple:
    """(U, S, Vh) with ``A = U diag(S) Vh``, singular values descending."""
    need_tensor(A, "linalg_svd", "A", 1)
    _check_float(A, "linalg.svd", "linalg_svd_cpu")
    _check_matrix(A, "linalg.svd")
    u, s, vh = LinalgSvd.apply(A, full=bool(full_matrices))
    return _rt_linalg_svd(u, s, vh)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """The singular values (descending)."""
    need_tensor(A, "linalg_svdvals", "A", 1)
    _check_float(A, "linalg.svd", "linalg_svd_cpu")
    _check_matrix(A, "linalg.svd")
    if _grad_enabled_for(A):
        return LinalgSvd.apply(A, full=False)[1]
    a = A._data
    if a.size == 0:
        return _const(_xp(A).zeros(a.shape[:-2] + (min(a.shape[-2:]),), dtype=a.dtype), A)
    return _const(_xp(A).linalg.svd(a, compute_uv=False), A)
