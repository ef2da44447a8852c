"""The legacy top-level forms (``torch.det``, ``torch.inverse``...) and ``TOP_LEVEL``, their names."""
from __future__ import annotations

from .._tensor import Tensor
from ._common import _const, _rt_qr, _rt_slogdet, _rt_svd, _xp
from .decompositions import cholesky, qr, svd, svdvals
from .determinants import det, slogdet
from .products import matrix_exp, matrix_power
from .pseudoinverse import pinv
from .solvers import inv


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


# names for the package's top level (``torch.det``, ``torch.logdet``...), for the core to export
TOP_LEVEL = {
    "det": det, "logdet": _logdet, "slogdet": _slogdet_legacy, "inverse": inv, "pinverse": _pinverse,
    "matrix_power": matrix_power, "matrix_exp": matrix_exp, "cholesky": _cholesky_legacy,
    "qr": _qr_legacy, "svd": _svd_legacy,
}
