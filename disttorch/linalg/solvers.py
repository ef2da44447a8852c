"""Inverses and linear solvers: ``inv``/``inv_ex``, ``solve``/``solve_ex``, ``solve_triangular``."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..ops._op import Op
from ..ops._util import need_tensor
from ._common import (
    _INT32,
    _broadcast_batch,
    _check_float,
    _check_square,
    _eye,
    _lowp,
    _rt_linalg_inv_ex,
    _rt_linalg_solve_ex,
    _tname,
)
from .errors import (
    LinAlgError,
    _failed,
    _first_failure,
    _inv_message,
    _lu_info,
    _nan_failed,
    _replace_failed,
    _solve_message,
)


class LinalgInvEx(Op):
    """The inverse (and, with ``ex``, LAPACK's info); raises torch's error when ``check``."""

    def forward(self, a):
        xp = self.xp
        self.retain_outputs(0)
        try:
            r = xp.linalg.inv(a)
            info = None
        except np.linalg.LinAlgError:
            r = None
        if r is None or _failed(xp, r):
            info = _lu_info(xp, a)
            fail = _first_failure(info, r is None, a.shape[-1])
            if fail is not None:
                if self.check:
                    raise LinAlgError(_inv_message(self.fname, a.ndim, fail))
                if not bool((info != 0).any()):
                    info = info.reshape(-1).copy()
                    info[0] = fail[1]
                    info = info.reshape(a.shape[:-2])
                r = _nan_failed(xp, xp.linalg.inv(_replace_failed(xp, a, info)), info)
        if not self.ex:
            return r
        if info is None:
            info = xp.zeros(a.shape[:-2], dtype=_INT32)
        return r, info

    def backward(self, g, *ginfo):
        if g is None:
            return None
        (y,) = self.saved_tensors
        yt = y.mT
        return -(yt.matmul(g).matmul(yt))


class LinalgSolveEx(Op):
    """``X`` with ``A X = B`` for matrices ``B`` (batch dims broadcast)."""

    def forward(self, a, b):
        xp = self.xp
        self.retain_inputs(0)
        self.retain_outputs(0)
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        if a.shape[:-2] != batch:
            a = xp.broadcast_to(a, batch + a.shape[-2:])
        if b.shape[:-2] != batch:
            b = xp.broadcast_to(b, batch + b.shape[-2:])
        try:
            x = xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            x = None
        info = None
        if x is None or _failed(xp, x):
            info = _lu_info(xp, a)
            fail = _first_failure(info, x is None, a.shape[-1])
            if fail is not None:
                if self.check:
                    raise LinAlgError(_solve_message(a.ndim, fail))
                if not bool((info != 0).any()):
                    info = info.reshape(-1).copy()
                    info[0] = fail[1]
                    info = info.reshape(a.shape[:-2])
                x = _nan_failed(xp, xp.linalg.solve(_replace_failed(xp, a, info), b), info)
        if not self.ex:
            return x
        if info is None:
            info = xp.zeros(batch, dtype=_INT32)
        return x, info

    def backward(self, g, *ginfo):
        if g is None:
            return None, None
        a, x = self.saved_tensors
        na, nb = self.needs_input_grad
        gb = LinalgSolveEx.apply(a.mT, g, check=True, ex=False)
        ga = -gb.matmul(x.mT) if na else None
        return ga, (gb if nb else None)


class LinalgSolveTriangular(Op):
    """``X`` with ``T X = B`` for the triangle ``T`` of ``A`` (``upper``; unit diagonal if
    ``unit``)."""

    def forward(self, a, b):
        xp = self.xp
        self.retain_inputs(0)
        self.retain_outputs(0)
        t = _triangle(xp, a, self.upper, self.unit)
        batch = tuple(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]))
        t = xp.broadcast_to(t, batch + t.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        try:
            return xp.linalg.solve(t, b)
        except np.linalg.LinAlgError:  # a zero on the diagonal: substitution gives infinities
            return _substitute(xp, t, b, self.upper)

    def backward(self, g):
        a, x = self.saved_tensors
        na, nb = self.needs_input_grad
        gb = LinalgSolveTriangular.apply(a.mT, g, upper=not self.upper, unit=self.unit)
        ga = None
        if na:
            ga = -gb.matmul(x.mT)
            ga = ga.triu() if self.upper else ga.tril()
            if self.unit:
                ga = ga - ga * _eye(a._data.shape[-1], a)
        return ga, (gb if nb else None)


def _triangle(xp, a, upper: bool, unit: bool):
    t = xp.triu(a) if upper else xp.tril(a)
    if unit:
        n = a.shape[-1]
        eye = xp.eye(n, dtype=bool)
        t = xp.where(eye, xp.asarray(1, dtype=a.dtype), t)
    return t


def _substitute(xp, t, b, upper: bool):
    """Back/forward substitution row by row (IEEE infinities for zero pivots)."""
    n = t.shape[-1]
    x = xp.zeros(b.shape, dtype=b.dtype)
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            acc = b[..., i, :] - (t[..., i, :, None] * x).sum(-2)
            x[..., i, :] = acc / t[..., i, i][..., None]
    return x


def _inv(A: Tensor, fname: str, check: bool, ex: bool):
    need_tensor(A, fname.replace(".", "_"), "A", 1)
    _check_float(A, fname)
    if _lowp(A._data):
        raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got {_tname(A._data)}")
    _check_square(A, fname)
    return LinalgInvEx.apply(A, fname=fname, check=check, ex=ex)


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of each square matrix (LinAlgError when one is singular)."""
    return _inv(A, "linalg.inv", True, False)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None) -> tuple:
    """(inverse, info): ``info`` is LAPACK's (0 on success) instead of an error."""
    r, info = _inv(A, "linalg.inv_ex", check_errors, True)
    return _rt_linalg_inv_ex(r, info)


def _solve(A: Tensor, B: Tensor, left: bool, check: bool, ex: bool):
    need_tensor(A, "linalg_solve", "A", 1)
    need_tensor(B, "linalg_solve", "B", 2)
    a, b = A._data, B._data
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type {_tname(a)} "
            f"and B of type {_tname(b)} instead")
    _check_float(A, "linalg.solve", "lu_cpu")
    _check_square(A, "linalg.solve")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    n = a.shape[-1]
    r, c = Bm._data.shape[-2:]
    if (left and r != n) or (not left and c != n):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and {r}x{c})")
    _broadcast_batch(a.shape[:-2], Bm._data.shape[:-2])
    if left:
        res = LinalgSolveEx.apply(A, Bm, check=check, ex=ex)
    else:
        res = LinalgSolveEx.apply(A.mT, Bm.mT, check=check, ex=ex)
    x, info = res if ex else (res, None)
    if not left:
        x = x.mT
    if vector:
        x = x.squeeze(-1)
    return (x, info) if ex else x


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` when not ``left``); ``B`` a matrix or a vector."""
    return _solve(A, B, left, True, False)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None) -> tuple:
    """(result, info) of :func:`solve` with LAPACK's info instead of an error."""
    x, info = _solve(A, B, left, check_errors, True)
    return _rt_linalg_solve_ex(x, info)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
    """``X`` with ``T X = B`` (``X T = B`` when not ``left``) for the triangle ``T`` of ``A``."""
    need_tensor(A, "linalg_solve_triangular", "A", 1)
    need_tensor(B, "linalg_solve_triangular", "B", 2)
    a, b = A._data, B._data
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"linalg.solve_triangular: Expected A and B to have the same dtype, but found A of type "
            f"{_tname(a)} and B of type {_tname(b)} instead")
    _check_float(A, "linalg.solve_triangular", "triangular_solve_cpu")
    _check_square(A, "linalg.solve_triangular")
    if b.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    n = a.shape[-1]
    r, c = b.shape[-2:]
    if (left and r != n) or (not left and c != n):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
            f"({n}x{n} and {r}x{c})")
    _broadcast_batch(a.shape[:-2], b.shape[:-2])
    if left:
        return LinalgSolveTriangular.apply(A, B, upper=bool(upper), unit=bool(unitriangular))
    return LinalgSolveTriangular.apply(A.mT, B.mT, upper=not upper, unit=bool(unitriangular)).mT
