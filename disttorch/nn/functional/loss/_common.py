"""Helpers the loss submodules share: array dtype/error helpers and the reduction mapping."""
from __future__ import annotations

import warnings

import numpy as np

from ...._tensor import Tensor
from ....autograd import grad_mode
from ....backend import device as _dev
from ....backend import dtypes

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _quiet():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def _work(a):
    """float16/bfloat16 arrays computed in float32 (as torch's CPU kernels accumulate)."""
    return a.astype(_F32) if a.dtype.kind == "V" or a.dtype == np.float16 else a


def _legacy(t: Tensor) -> str:
    return dtypes.from_numpy(t._data.dtype).legacy_name


def _is_float(t: Tensor) -> bool:
    k = t._data.dtype.kind
    return k == "f" or k == "V"


# -- reductions --------------------------------------------------------------------------------
def _legacy_get_string(size_average, reduce, emit_warning: bool = True, stacklevel: int = 3) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags to a reduction."""
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
            UserWarning, stacklevel=stacklevel,
        )
    return ret


def _check_reduction(reduction, stacklevel: int = 3) -> str:
    if reduction == "mean" or reduction == "sum" or reduction == "none":
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      UserWarning, stacklevel=stacklevel)
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduction(size_average, reduce, reduction) -> str:
    """The reduction a functional loss uses (legacy flags win, with torch's warning)."""
    if size_average is not None or reduce is not None:
        return _legacy_get_string(size_average, reduce, stacklevel=4)
    return _check_reduction(reduction, stacklevel=4)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def _reduce_array(xp, loss, reduction: str):
    """Reduce a loss array inside an op's forward (mean of nothing is nan, as in torch)."""
    if reduction == "none":
        return loss
    s = loss.sum()
    if reduction == "sum":
        return s
    with _quiet():
        return s / loss.size


# -- argument checks ---------------------------------------------------------------------------
def _not_differentiable(fname: str, arg: str, t: Tensor | None) -> None:
    if t is not None and t._requires_grad and grad_mode.state.grad_enabled:
        raise RuntimeError(
            f"The function '{fname}' is not differentiable with respect to argument '{arg}'. "
            "This input cannot have requires_grad True."
        )
