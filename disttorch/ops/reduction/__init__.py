"""Reductions: sum/mean/prod, max/min/amax/amin/argmax/argmin, var/std, norm, logsumexp,
cumsum/cumprod, any/all, count_nonzero, median, aminmax, nansum/nanmean, ``sum_to_size``.

Backward formulas are Tensor expressions (so higher-order grads work). Where a backward
needs a selection mask (max, median, nan-skipping), the mask is computed from the saved
arrays and enters the graph as a constant factor.

One concept per submodule: ``sums`` (sum, mean, nansum, nanmean, sum_to_size, logsumexp),
``cumulative`` (prod, cumsum, cumprod), ``extremes`` (max/min family, argmax/argmin, median),
``variance`` (var/std), ``norms`` (norm), ``logical`` (any/all, count_nonzero); ``_common``
holds the helpers they share. Importing the package installs the Tensor methods.
"""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace_method

# Beyond ``__all__``, other modules reach for private names here: ``ops.sorting`` and
# ``linalg`` build their return types with ``_return_type``, ``ops.activation`` uses ``_Exp``,
# and the ``_rt_*`` return types pickle by reference to this package (their ``__module__``).
from ._common import _return_type  # noqa: F401
from .cumulative import cumprod, cumsum, prod
from .extremes import (
    _rt_aminmax,  # noqa: F401
    _rt_max,  # noqa: F401
    _rt_median,  # noqa: F401
    _rt_min,  # noqa: F401
    amax,
    amin,
    aminmax,
    argmax,
    argmin,
    max,  # noqa: A004
    median,
    min,  # noqa: A004
)
from .logical import all, any, count_nonzero  # noqa: A004
from .norms import norm
from .sums import (
    _Exp,  # noqa: F401
    logsumexp,
    mean,
    nanmean,
    nansum,
    sum,  # noqa: A004
    sum_to_size,
)
from .variance import std, std_mean, var, var_mean


def _install() -> None:
    T = Tensor
    T.sum, T.mean, T.sum_to_size = sum, mean, sum_to_size
    T.nansum, T.nanmean, T.prod = nansum, nanmean, prod
    T.max, T.min, T.amax, T.amin, T.aminmax = max, min, amax, amin, aminmax
    T.argmax, T.argmin, T.median = argmax, argmin, median
    T.var, T.std, T.norm, T.logsumexp = var, std, norm, logsumexp
    T.cumsum, T.cumprod = cumsum, cumprod
    T.any, T.all, T.count_nonzero = any, all, count_nonzero
    T.cumsum_ = inplace_method(cumsum)
    T.cumprod_ = inplace_method(cumprod)


_install()

__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "count_nonzero", "cumprod",
    "cumsum", "logsumexp", "max", "mean", "median", "min", "nanmean", "nansum", "norm", "prod",
    "std", "std_mean", "sum", "sum_to_size", "var", "var_mean",
]
