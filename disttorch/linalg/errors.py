"""``LinAlgError`` and the emulation of LAPACK's failure reports (``info``) with torch's messages."""
from __future__ import annotations

import numpy as np

from ._common import _INT32, _host


class LinAlgError(RuntimeError):
    """A linear algebra routine failed (singular matrix, not positive-definite...)."""

    __module__ = __package__  # shown in tracebacks as disttorch.linalg.LinAlgError


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
