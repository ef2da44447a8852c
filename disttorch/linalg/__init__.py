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

One concept per submodule: ``errors`` (LinAlgError, the emulation of LAPACK's failure info),
``determinants`` (det, slogdet), ``solvers`` (inv, solve, solve_triangular and their ``_ex``
forms), ``decompositions`` (cholesky, qr, eigh, svd), ``pseudoinverse`` (pinv, matrix_rank,
lstsq), ``norms`` (vector_norm, matrix_norm, norm), ``products`` (matmul, multi_dot, vecdot,
cross, diagonal, matrix_power, matrix_exp, vander), ``legacy`` (``torch.det``,
``torch.inverse``... and ``TOP_LEVEL``); ``_common`` holds the helpers they share. Importing
the package installs the Tensor methods.
"""
from __future__ import annotations

from .._tensor import Tensor

# Beyond ``__all__``: the ``_rt_*`` return types pickle by reference to this package (their
# ``__module__``); ``disttorch/__init__`` exports ``TOP_LEVEL``; tests/test_linalg_namespace.py
# checks the LAPACK failure emulation (``_lu_info``, ``_cholesky_info``, ``_failed``,
# ``_replace_failed``, ``_nan_failed``).
from ._common import (
    _rt_linalg_cholesky_ex,  # noqa: F401
    _rt_linalg_eigh,  # noqa: F401
    _rt_linalg_inv_ex,  # noqa: F401
    _rt_linalg_lstsq,  # noqa: F401
    _rt_linalg_qr,  # noqa: F401
    _rt_linalg_slogdet,  # noqa: F401
    _rt_linalg_solve_ex,  # noqa: F401
    _rt_linalg_svd,  # noqa: F401
    _rt_qr,  # noqa: F401
    _rt_slogdet,  # noqa: F401
    _rt_svd,  # noqa: F401
)
from .decompositions import cholesky, cholesky_ex, eigh, eigvalsh, qr, svd, svdvals
from .determinants import det, slogdet
from .errors import (
    LinAlgError,
    _cholesky_info,  # noqa: F401
    _failed,  # noqa: F401
    _lu_info,  # noqa: F401
    _nan_failed,  # noqa: F401
    _replace_failed,  # noqa: F401
)
from .legacy import (
    TOP_LEVEL,  # noqa: F401
    _cholesky_legacy,
    _logdet,
    _pinverse,
    _qr_legacy,
    _slogdet_legacy,
    _svd_legacy,
)
from .norms import matrix_norm, norm, vector_norm
from .products import cross, diagonal, matmul, matrix_exp, matrix_power, multi_dot, vander, vecdot
from .pseudoinverse import lstsq, matrix_rank, pinv
from .solvers import inv, inv_ex, solve, solve_ex, solve_triangular


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
