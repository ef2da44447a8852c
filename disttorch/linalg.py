"""``disttorch.linalg``: torch.linalg's functions (norms, decompositions, solvers, inverses).

Forward passes call ``xp.linalg`` (numpy on the CPU, cupy on the GPU) on whole batches;
backward passes are written with Tensor ops (matmul, solve, inv, tril...) so
``create_graph=True`` gives higher-order gradients. Gradients follow torch's formulas: the
symmetric-input gradients of cholesky and eigh, the "gauge" terms of svd, and the
conventions for reduced/complete QR.

Where LAPACK reports a failure (a singular matrix, a matrix that is not positive-definite)
the functions raise :class:`LinAlgError` with torch's message, naming the failing diagonal
element or leading minor (found with a small pivoting elimination on the failing batch).
cupy does not raise on these failures; a non-finite result triggers the same check there.
"""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import math

import numpy as np

from ._tensor import Tensor, _wrap
from .autograd import grad_mode
from .backend import device as _dev
from .backend import dtypes
from .ops._op import Op
from .ops._util import wrap_dim
from .ops.reduction import _return_type

_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_F32 = np.dtype(np.float32)
_INF = float("inf")

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
                "bfloat16": "BFloat16"}
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
            "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "float32": "float", "float64": "double"}


class LinAlgError(RuntimeError):
    """A linear algebra routine failed (singular matrix, not positive-definite...)."""


def _named(name: str, fields: tuple):
    cls = _return_type(name, fields)
    cls.__module__ = __name__  # pickled by reference to this module's ``_rt_<name>``
    return cls


_rt_linalg_slogdet = _named("linalg_slogdet", ("sign", "logabsdet"))
_rt_linalg_eigh = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
_rt_linalg_qr = _named("linalg_qr", ("Q", "R"))
_rt_linalg_svd = _named("linalg_svd", ("U", "S", "Vh"))
_rt_linalg_lstsq = _named("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_rt_linalg_inv_ex = _named("linalg_inv_ex", ("inverse", "info"))
_rt_linalg_cholesky_ex = _named("linalg_cholesky_ex", ("L", "info"))
_rt_linalg_solve_ex = _named("linalg_solve_ex", ("result", "info"))
_rt_slogdet = _named("slogdet", ("sign", "logabsdet"))
_rt_qr = _named("qr", ("Q", "R"))
_rt_svd = _named("svd", ("U", "S", "V"))


# ------------------------------------------------------------------------------------------
# helpers


def _xp(t: Tensor):
    return np if t._device is _dev.CPU else _dev.cupy_module()


def _host(a) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.get()


def _tname(a) -> str:
    name = dtypes.from_numpy(a.dtype).name
    return _TORCH_NAMES.get(name, name)


def _cname(a) -> str:
    name = dtypes.from_numpy(a.dtype).name
    return _C_NAMES.get(name, name)


def _const(arr, like: Tensor) -> Tensor:
    return _wrap(arr, like._device)


def _eye(n: int, like: Tensor) -> Tensor:
    return _const(_xp(like).eye(n, dtype=like._data.dtype), like)


def _require_tensor(fn: str, name: str, pos: int, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _lowp(a) -> bool:
    return a.dtype.kind == "V" or a.dtype == np.float16


def _check_float(A: Tensor, fn: str, kernel: str | None = None) -> None:
    """torch's dtype checks: floating point only; no half precision kernels on the CPU."""
    a = A._data
    if a.dtype.kind != "f" and a.dtype.kind != "V":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {_tname(a)}")
    if kernel is not None and _lowp(a):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(a)}'")


def _check_matrix(A: Tensor, fn: str, name: str = "A") -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def _check_square(A: Tensor, fn: str) -> None:
    _check_matrix(A, fn)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are {m} by {n} matrices")


def _batch_prefix(ndim: int, index: int) -> str:
    return f"(Batch element {index}): " if ndim > 2 else ""


def _first_failure(info, raised: bool = False, n: int = 0):
    """(flat batch index, info value) of the first failed matrix, or None.

    ``raised``: numpy reported a failure that the emulation did not find (rounding in a
    different elimination order); the first matrix is then blamed, at element ``n``.
    """
    h = _host(info).reshape(-1)
    bad = np.flatnonzero(h)
    if bad.size == 0:
        return (0, max(n, 1)) if raised else None
    return int(bad[0]), int(h[bad[0]])


def _lu_info(xp, a):
    """LAPACK getrf's ``info`` per matrix: 0, or the (1-based) column of the first exactly
    zero pivot of an LU factorisation with partial pivoting."""
    n = a.shape[-1]
    batch = a.shape[:-2]
    w = a.reshape((-1, n, n)).astype(a.dtype, copy=True)
    b = w.shape[0]
    info = xp.zeros((b,), dtype=_INT32)
    rows = xp.arange(b)
    for k in range(n):
        p = xp.argmax(xp.abs(w[:, k:, k]), axis=1) + k
        piv = w[rows, p, k]
        top = w[rows, k, :].copy()
        w[rows, k, :] = w[rows, p, :]
        w[rows, p, :] = top
        zero = piv == 0
        info = xp.where((info == 0) & zero, k + 1, info).astype(_INT32)
        if k + 1 < n:
            safe = xp.where(zero, 1, piv)
            f = xp.where(zero[:, None], 0, w[:, k + 1:, k] / safe[:, None])
            w[:, k + 1:, :] -= f[:, :, None] * w[:, k:k + 1, :]
    return info.reshape(batch)


def _cholesky_info(xp, a):
    """LAPACK potrf's ``info`` per matrix (the order of the first leading minor that is not
    positive-definite, NaN included) and the partial factor it leaves (lower triangle)."""
    n = a.shape[-1]
    batch = a.shape[:-2]
    w = a.reshape((-1, n, n))
    b = w.shape[0]
    low = xp.tril(w).astype(a.dtype, copy=True)
    info = xp.zeros((b,), dtype=_INT32)
    for j in range(n):
        ok = info == 0
        s = w[:, j, j] - (low[:, j, :j] ** 2).sum(-1)
        bad = ok & ~(s > 0)
        info = xp.where(bad, j + 1, info).astype(_INT32)
        low[:, j, j] = xp.where(bad, s, low[:, j, j])  # potrf leaves the failing pivot there
        go = ok & ~bad
        d = xp.sqrt(xp.where(go, s, 1))
        col = (w[:, j + 1:, j] - (low[:, j + 1:, :j] * low[:, j:j + 1, :j]).sum(-1)) / d[:, None]
        low[:, j, j] = xp.where(go, d, low[:, j, j])
        low[:, j + 1:, j] = xp.where(go[:, None], col, low[:, j + 1:, j])
    return info.reshape(batch), low.reshape(a.shape)


def _failed(xp, result) -> bool:
    """Whether a result may hide a LAPACK failure: cupy does not raise on one, and numpy's
    Cholesky lets a NaN pivot through; a non-finite result is then checked."""
    return result.size > 0 and not bool(xp.isfinite(result).all())


def _replace_failed(xp, a, info):
    """``a`` with the failed matrices replaced by identities (to compute the others)."""
    n = a.shape[-1]
    return xp.where((info != 0)[..., None, None], xp.eye(n, dtype=a.dtype), a)


def _nan_failed(xp, r, info):
    return xp.where((info != 0).reshape(info.shape + (1,) * (r.ndim - info.ndim)), np.nan, r)


def _inv_message(fn: str, ndim: int, fail) -> str:
    idx, k = fail
    return (f"{fn}: {_batch_prefix(ndim, idx)}The diagonal element {k} is zero, the inversion could "
            "not be completed because the input matrix is singular.")


def _solve_message(ndim: int, fail) -> str:
    return (f"torch.linalg.solve: {_batch_prefix(ndim, fail[0])}The solver failed because the input "
            "matrix is singular.")


def _cholesky_message(fn: str, ndim: int, fail) -> str:
    idx, k = fail
    return (f"{fn}: {_batch_prefix(ndim, idx)}The factorization could not be completed because the "
            f"input is not positive-definite (the leading minor of order {k} is not positive-definite).")


def _broadcast_batch(*shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        a, b = shapes[0], shapes[1]
        nd = max(len(a), len(b))
        pa, pb = (1,) * (nd - len(a)) + tuple(a), (1,) * (nd - len(b)) + tuple(b)
        for i in range(nd - 1, -1, -1):
            if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                    f"non-singleton dimension {i}") from None
        raise


def _grad_enabled_for(*tensors) -> bool:
    return grad_mode.state.grad_enabled and any(t._requires_grad for t in tensors)


def _zeros_like(t: Tensor) -> Tensor:
    return _const(_xp(t).zeros(t._data.shape, dtype=t._data.dtype), t)


# ------------------------------------------------------------------------------------------
# ops


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


# ------------------------------------------------------------------------------------------
# norms


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None)."""
    _require_tensor("linalg_vector_norm", "x", 1, x)
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
    _require_tensor("linalg_matrix_norm", "A", 1, A)
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
    _require_tensor("linalg_norm", "input", 1, A)
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


# ------------------------------------------------------------------------------------------
# determinants, inverses, solvers


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant of each square matrix."""
    _require_tensor("linalg_det", "A", 1, A)
    _check_float(A, "linalg.det", "lu_cpu")
    _check_square(A, "linalg.det")
    return LinalgDet.apply(A)


def slogdet(A: Tensor, *, out=None) -> tuple:
    """(sign, log|det|) of each square matrix (the sign's gradient is zero)."""
    _require_tensor("linalg_slogdet", "A", 1, A)
    _check_float(A, "linalg.slogdet", "lu_cpu")
    _check_square(A, "linalg.slogdet")
    sign, logabs = LinalgSlogdet.apply(A)
    return _rt_linalg_slogdet(sign, logabs)


def _inv(A: Tensor, fname: str, check: bool, ex: bool):
    _require_tensor(fname.replace(".", "_"), "A", 1, A)
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
    _require_tensor("linalg_solve", "A", 1, A)
    _require_tensor("linalg_solve", "B", 2, B)
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
    _require_tensor("linalg_solve_triangular", "A", 1, A)
    _require_tensor("linalg_solve_triangular", "B", 2, B)
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


def _cholesky(A: Tensor, upper: bool, fname: str, check: bool, ex: bool):
    _require_tensor(fname.replace(".", "_"), "A", 1, A)
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
    _require_tensor("linalg_qr", "A", 1, A)
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
    _require_tensor(fname.replace(".", "_"), "A", 1, A)
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
    _require_tensor("linalg_svd", "A", 1, A)
    _check_float(A, "linalg.svd", "linalg_svd_cpu")
    _check_matrix(A, "linalg.svd")
    u, s, vh = LinalgSvd.apply(A, full=bool(full_matrices))
    return _rt_linalg_svd(u, s, vh)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """The singular values (descending)."""
    _require_tensor("linalg_svdvals", "A", 1, A)
    _check_float(A, "linalg.svd", "linalg_svd_cpu")
    _check_matrix(A, "linalg.svd")
    if _grad_enabled_for(A):
        return LinalgSvd.apply(A, full=False)[1]
    a = A._data
    if a.size == 0:
        return _const(_xp(A).zeros(a.shape[:-2] + (min(a.shape[-2:]),), dtype=a.dtype), A)
    return _const(_xp(A).linalg.svd(a, compute_uv=False), A)


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
    _require_tensor("linalg_pinv", "A", 1, A)
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
    _require_tensor("linalg_matrix_rank", "A", 1, A)
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
    _require_tensor("linalg_lstsq", "A", 1, A)
    _require_tensor("linalg_lstsq", "B", 2, B)
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


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` to the integer power ``n`` (the inverse's power for negative ``n``)."""
    _require_tensor("linalg_matrix_power", "A", 1, A)
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
    _require_tensor("linalg_vander", "x", 1, x)
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


# ------------------------------------------------------------------------------------------
# products and views


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (batch dims broadcast)."""
    _require_tensor("linalg_cross", "input", 1, input)
    _require_tensor("linalg_cross", "other", 2, other)
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
    _require_tensor("linalg_vecdot", "x", 1, x)
    _require_tensor("linalg_vecdot", "y", 2, y)
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(
            f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{_tname(x._data)} and y of type {_tname(y._data)} instead")
    _check_float(x, "linalg.vecdot")
    return (x * y).sum(dim)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The matrix product (torch.matmul's rules)."""
    _require_tensor("linalg_matmul", "input", 1, input)
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
        _require_tensor("linalg_multi_dot", "tensors", 1, t)
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
    _require_tensor("linalg_diagonal", "A", 1, A)
    return A.diagonal(offset, dim1, dim2)


# ------------------------------------------------------------------------------------------
# the legacy top-level forms (``torch.det``, ``torch.inverse``...) and Tensor methods


def _logdet(input: Tensor) -> Tensor:
    """log(det): NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabs = slogdet(input)
    return logabs.masked_fill(_const(sign._data < 0, sign), float("nan"))


def _slogdet_legacy(input: Tensor) -> tuple:
    """(sign, log|det|) as ``torch.slogdet`` returns them."""
    s, la = slogdet(input)
    return _rt_slogdet(s, la)


def _pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The pseudo-inverse with singular values below ``rcond * s_max`` dropped."""
    return pinv(input, rtol=rcond)


def _cholesky_legacy(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky``: the lower (or ``upper``) Cholesky factor."""
    return cholesky(input, upper=upper)


def _qr_legacy(input: Tensor, some: bool = True) -> tuple:
    """``torch.qr``: (Q, R), reduced when ``some``."""
    q, r = qr(input, "reduced" if some else "complete")
    return _rt_qr(q, r)


def _svd_legacy(input: Tensor, some: bool = True, compute_uv: bool = True) -> tuple:
    """``torch.svd``: (U, S, V) with ``V`` (not ``Vh``); U and V zero-filled without ``compute_uv``."""
    if not compute_uv:
        s = svdvals(input)
        a = input._data
        m, n = a.shape[-2:]
        xp = _xp(input)
        return _rt_svd(_const(xp.zeros(a.shape[:-2] + (m, m), dtype=a.dtype), input), s,
                       _const(xp.zeros(a.shape[:-2] + (n, n), dtype=a.dtype), input))
    u, s, vh = svd(input, full_matrices=not some)
    return _rt_svd(u, s, vh.mT)


def _matrix_exp(A: Tensor) -> Tensor:
    """``exp(A)`` by scaling and squaring a degree-18 Taylor polynomial (Tensor ops, so it
    is differentiable to any order)."""
    _require_tensor("linalg_matrix_exp", "A", 1, A)
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

# names for the package's top level (``torch.det``, ``torch.logdet``...), for the core to export
TOP_LEVEL = {
    "det": det, "logdet": _logdet, "slogdet": _slogdet_legacy, "inverse": inv, "pinverse": _pinverse,
    "matrix_power": matrix_power, "matrix_exp": matrix_exp, "cholesky": _cholesky_legacy,
    "qr": _qr_legacy, "svd": _svd_legacy,
}


def _install() -> None:
    T = Tensor
    T.det, T.logdet, T.slogdet, T.inverse, T.pinverse = det, _logdet, _slogdet_legacy, inv, _pinverse
    T.matrix_power, T.matrix_exp = matrix_power, matrix_exp
    T.cholesky, T.qr, T.svd = _cholesky_legacy, _qr_legacy, _svd_legacy


_install()

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
    "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
    "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
    "svdvals", "vander", "vecdot", "vector_norm",
]
