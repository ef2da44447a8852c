"""Negative log likelihood over class-index targets (``nll_loss``) and its target handling."""
from __future__ import annotations

import math

import numpy as np

from ...._tensor import Tensor, _wrap
from ....ops._op import Op, _same_device_error
from ._common import _is_float, _legacy, _not_differentiable, _quiet, _reduction, _work

_I64 = np.dtype(np.int64)
_U8 = np.dtype(np.uint8)


def _same_device(a: Tensor, b: Tensor | None) -> None:
    if b is not None and b._device is not a._device:
        raise _same_device_error(a._device, b._device)


# -- class-index targets -----------------------------------------------------------------------
def _check_bounds(xp, t, valid, c: int) -> None:
    """torch's IndexError for a (non-ignored) target outside [0, C)."""
    if t.size == 0:
        return
    oob = (t < 0) | (t >= c)
    if valid is not None:
        oob &= valid
    if oob.any():
        raise IndexError(f"Target {int(t[oob].ravel()[0])} is out of bounds.")


def _valid_mask(xp, t, ignore_index: int):
    """(int64 targets, valid mask or None when nothing is ignored, clamped targets)."""
    if t.dtype != _I64:
        t = t.astype(_I64)
    valid = t != ignore_index
    if t.size == 0 or bool(valid.all()):
        return t, None, t
    return t, valid, xp.where(valid, t, 0)


def _row_scale(xp, a, valid, reduction: str, shape: tuple, dtype):
    """Per-target factor of the output grad: 0 where ignored, 1 / total weight for 'mean'.

    Returns ``(factor array, or None for all ones; the 'mean' denominator array or None)``.
    """
    if reduction != "mean":
        return (None if valid is None else valid.astype(dtype)), None
    if a is None:
        den = xp.asarray(math.prod(shape), dtype=dtype) if valid is None else valid.sum(dtype=dtype)
    else:
        den = (a if valid is None else a * valid).sum()
    with _quiet():
        inv = (1.0 / den).astype(dtype, copy=False)
    if valid is None:
        return xp.broadcast_to(inv, shape), den
    return xp.where(valid, inv, 0).astype(dtype, copy=False), den


# -- negative log likelihood -------------------------------------------------------------------
class NllLoss(Op):
    """Negative log likelihood over log-probabilities (N, C, d1...), (N, C) or (C,).

    Attributes: ``target`` (int array), ``w`` (class weights array or None),
    ``ignore_index``, ``reduction``.
    """

    def forward(self, x):
        xp = self.xp
        shape = x.shape
        if x.ndim == 1:
            n, c, sp = 1, shape[0], 1
        else:
            n, c = shape[0], shape[1]
            sp = math.prod(shape[2:])
        t, valid, tc = _valid_mask(xp, self.target, self.ignore_index)
        _check_bounds(xp, t, valid, c)
        t2 = tc.reshape(n, sp)
        ni, si = xp.arange(n)[:, None], xp.arange(sp)[None, :]
        picked = _work(x.reshape(n, c, sp)[ni, t2, si])
        w = self.w
        a = None
        loss = -picked
        if w is not None:
            a = w[t2]
            loss *= a
        v2 = None if valid is None else valid.reshape(n, sp)
        if v2 is not None:
            loss = xp.where(v2, loss, 0).astype(loss.dtype, copy=False)
        red = self.reduction
        coef, den = _row_scale(xp, a, v2, red, (n, sp), loss.dtype)
        if red == "none":
            out = loss.reshape(() if x.ndim == 1 else t.shape)
        elif red == "sum":
            out = loss.sum()
        else:
            with _quiet():
                out = loss.sum() / den
        self.geom = (shape, n, c, sp)
        self.t2, self.a, self.coef = t2, a, coef
        return out.astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = self.xp
        shape, n, c, sp = self.geom
        dt = gy._data.dtype
        vals = -1.0 if self.coef is None else -self.coef
        if self.a is not None:
            vals = vals * self.a
        g = xp.zeros((n, c, sp), dtype=dt)
        g[xp.arange(n)[:, None], self.t2, xp.arange(sp)[None, :]] = vals
        g = _wrap(g.reshape(shape), gy._device)
        if self.reduction == "none" and len(shape) > 1:
            gy = gy.unsqueeze(1)
        return g * gy

    def _release(self) -> None:
        super()._release()
        self.coef = self.a = None


def _nll_checks(input: Tensor, target: Tensor, weight: Tensor | None, kernel_check: bool = True) -> int:
    """torch's nll_loss_nd argument checks, in torch's order; returns the number of classes."""
    ishape, tshape = input._data.shape, target._data.shape
    nd = len(ishape)
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    if nd != 1 and ishape[0] != (tshape[0] if tshape else 0):
        raise ValueError(
            f"Expected input batch_size ({ishape[0]}) to match target batch_size "
            f"({tshape[0] if tshape else 0})."
        )
    if nd <= 2:
        if len(tshape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd == 1 and len(tshape) == 1 and tshape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {tshape[0]}")
    elif nd == 4:
        if len(tshape) != 3:
            raise RuntimeError(
                "only batches of spatial targets supported (3D tensors) but got targets of "
                f"dimension: {len(tshape)}"
            )
        if ishape[2:] != tshape[1:]:
            raise RuntimeError(f"size mismatch (got input: {list(ishape)} , target: {list(tshape)}")
    else:
        expected = (ishape[0],) + ishape[2:]
        if tshape != expected:
            raise RuntimeError(f"Expected target size {list(expected)}, got {list(tshape)}")
    dt = target._data.dtype
    if dt != _I64 and dt != _U8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_legacy(target)}")
    c = ishape[0] if nd == 1 else ishape[1]
    if weight is not None:
        if weight._data.ndim != 1 or weight._data.size != c:
            raise RuntimeError(
                f"weight tensor should be defined either for all {c} classes or no classes but got "
                f"weight tensor of shape: {list(weight._data.shape)}"
            )
        if weight._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"expected scalar type {_legacy(input)} but found {_legacy(weight)}"
            )
        _same_device(input, weight)
        _not_differentiable("nll_loss_forward", "weight", weight)
    _same_device(input, target)
    if kernel_check and not _is_float(input):
        kernel = "nll_loss_out_frame" if nd <= 2 else "nll_loss2d_forward_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(input)}\'')
    return c


def _weight_array(weight: Tensor | None, input: Tensor):
    if weight is None:
        return None
    return _work(weight._data)


def _nll(input: Tensor, target: Tensor, weight, ignore_index: int, reduction: str) -> Tensor:
    return NllLoss.apply(input, target=target._data, w=_weight_array(weight, input),
                         ignore_index=int(ignore_index), reduction=reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of class-index targets under log-probabilities ``input``."""
    red = _reduction(size_average, reduce, reduction)
    _nll_checks(input, target, weight)
    return _nll(input, target, weight, ignore_index, red)
