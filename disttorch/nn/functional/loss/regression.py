"""Elementwise regression losses (mse, l1, smooth_l1, huber): one op each, reduced inside."""
from __future__ import annotations

import warnings

from ...._tensor import Tensor
from ....ops._op import Op
from ....ops._util import binary_operands
from ._common import (
    _check_reduction,
    _is_float,
    _legacy,
    _legacy_get_string,
    _reduce,
    _reduce_array,
    _reduction,
    _work,
)


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning, stacklevel=3,
        )


# -- elementwise regression losses: one op each, reduced inside ---------------------------------
class _PointwiseLoss(Op):
    """``f(input - target)`` elementwise (broadcast), reduced in the same op.

    Subclasses define ``f(xp, d)`` on arrays and ``df(d, gy)`` on Tensors.
    """

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        d = a - b
        loss = self.f(self.xp, _work(d))
        self.n = loss.size
        return _reduce_array(self.xp, loss, self.reduction).astype(a.dtype, copy=False)

    def backward(self, gy):
        a, b = self.saved_tensors
        if self.reduction == "mean" and self.n:
            gy = gy / self.n
        g = self.df(a - b, gy)
        na, nb = self.needs_input_grad
        return (g if na else None), (-g if nb else None)


class MseLoss(_PointwiseLoss):
    def f(self, xp, d):
        return d * d

    def df(self, d, gy):
        return d * (gy * 2)


class L1Loss(_PointwiseLoss):
    def f(self, xp, d):
        return xp.abs(d)

    def df(self, d, gy):
        return d.sign() * gy


class SmoothL1Loss(_PointwiseLoss):
    def f(self, xp, d):
        z = xp.abs(d)
        beta = self.beta
        return xp.where(z < beta, (0.5 / beta) * z * z, z - 0.5 * beta)

    def df(self, d, gy):
        return (d / self.beta).clamp(-1.0, 1.0) * gy


class HuberLoss(_PointwiseLoss):
    def f(self, xp, d):
        z = xp.abs(d)
        delta = self.delta
        return xp.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))

    def df(self, d, gy):
        return d.clamp(-self.delta, self.delta) * gy


def _regression_operands(input: Tensor, target: Tensor, kernel: str | None):
    a, b = binary_operands(input, target)
    if kernel is not None and not _is_float(a):
        raise NotImplementedError(
            f'"{kernel}_{a._device.type}" not implemented for \'{_legacy(a)}\''
        )
    return a, b


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean_by_weight: bool):
    if weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    raise ValueError(
        f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'."
    )


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, optionally weighted, then reduced."""
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    if weight is not None:
        a, b = _regression_operands(input, target, "mse")
        loss = MseLoss.apply(a, b, reduction="none")
        return _weighted(loss, weight, input, reduction, True)
    red = _check_reduction(reduction)
    a, b = _regression_operands(input, target, "mse")
    return MseLoss.apply(a, b, reduction=red)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, optionally weighted, then reduced."""
    _size_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    a, b = _regression_operands(input, target, None)
    if weight is not None:
        return _weighted(L1Loss.apply(a, b, reduction="none"), weight, input, reduction, True)
    red = _check_reduction(reduction)
    if not _is_float(a):  # integer l1 sums as integers; mean raises torch's dtype error
        return _reduce((a - b).abs(), red)
    return L1Loss.apply(a, b, reduction=red)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Quadratic below ``beta`` (``0.5 d**2 / beta``), linear above (``|d| - beta / 2``)."""
    _size_warning(input, target)
    red = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        a, b = _regression_operands(input, target, None)
        if not _is_float(a):
            return _reduce((a - b).abs(), red)
        return L1Loss.apply(a, b, reduction=red)
    a, b = _regression_operands(input, target, "smooth_l1")
    return SmoothL1Loss.apply(a, b, reduction=red, beta=float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Quadratic below ``delta`` (``0.5 d**2``), linear above (``delta (|d| - delta / 2)``)."""
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    a, b = _regression_operands(input, target, "huber")
    if weight is not None:
        loss = HuberLoss.apply(a, b, reduction="none", delta=float(delta))
        return _weighted(loss, weight, input, reduction, False)
    return HuberLoss.apply(a, b, reduction=_check_reduction(reduction), delta=float(delta))
