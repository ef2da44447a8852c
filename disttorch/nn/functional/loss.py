"""Loss functions with ``torch.nn.functional``'s names, signatures, reductions and errors.

The hot losses are single ops whose backward is written with Tensor ops (so double
backward works): ``cross_entropy`` on an (N, C) or (C,) input with class indices fuses
log_softmax and nll (its input grad is ``(softmax - smoothed one-hot) * scale``);
``nll_loss`` gathers in one op for any number of spatial dims; the elementwise regression
losses (mse, l1, smooth_l1, huber) and both binary cross entropies reduce inside their op.
The other losses are composed of existing ops. ``size_average``/``reduce`` map to a
reduction string as torch's ``_Reduction.legacy_get_string`` does.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...backend import device as _dev
from ...backend import dtypes
from ...ops._op import Op, _same_device_error
from ...ops._util import binary_operands, cast
from ...ops.activation import Softmax, log_softmax
from ...ops.pointwise import logsigmoid, where, xlogy

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_U8 = np.dtype(np.uint8)
_EPS_BCE = 1e-12  # torch's floor on x * (1 - x) in the binary cross entropy grad


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


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning, stacklevel=3,
        )


def _broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, or torch's RuntimeError naming the mismatching sizes."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for i in range(n):
        x, y = pa[i], pb[i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {i}"
            )
        out.append(y if x == 1 else x)
    return tuple(out)


def _not_differentiable(fname: str, arg: str, t: Tensor | None) -> None:
    if t is not None and t._requires_grad and grad_mode.state.grad_enabled:
        raise RuntimeError(
            f"The function '{fname}' is not differentiable with respect to argument '{arg}'. "
            "This input cannot have requires_grad True."
        )


def _same_device(a: Tensor, b: Tensor | None) -> None:
    if b is not None and b._device is not a._device:
        raise _same_device_error(a._device, b._device)


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


# -- negative log likelihood and cross entropy --------------------------------------------------
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


class CrossEntropy(Op):
    """log_softmax + nll (+ label smoothing) over an (N, C) input with class indices.

    Attributes: ``target`` (int array (N,)), ``w`` (class weights array or None), ``ls``
    (label smoothing), ``ignore_index``, ``reduction``, ``src`` (the input Tensor, used to
    rebuild softmax with a graph under ``create_graph``).
    """

    def forward(self, x):
        xp = self.xp
        n, c = x.shape
        t, valid, tc = _valid_mask(xp, self.target, self.ignore_index)
        _check_bounds(xp, t, valid, c)
        xf = _work(x)
        w, ls = self.w, self.ls
        if n == 0:
            z = xf.copy()
            zt = lse = zs = xp.zeros((0,), dtype=xf.dtype)
            s = zt
        else:
            z = xf - xf.max(axis=1, keepdims=True)
            zt = z[xp.arange(n), tc]
            if ls:
                zs = z.sum(axis=1) if w is None else z @ w
            xp.exp(z, out=z)
            s = z.sum(axis=1)
            lse = xp.log(s)
        loss = lse - zt
        a = None
        if w is not None:
            a = w[tc]
            loss *= a
        if ls:
            wsum = c if w is None else w.sum()
            loss = (1.0 - ls) * loss + (ls / c) * (wsum * lse - zs)
        if valid is not None:
            loss = xp.where(valid, loss, 0).astype(loss.dtype, copy=False)
        red = self.reduction
        coef, den = _row_scale(xp, a, valid, red, (n,), loss.dtype)
        if red == "none":
            out = loss
        elif red == "sum":
            out = loss.sum()
        else:
            with _quiet():
                out = loss.sum() / den
        self.e, self.s, self.tc, self.a, self.coef = z, s, tc, a, coef
        return out.astype(x.dtype, copy=False)

    def backward(self, gy):
        n, c = self.e.shape
        dev = gy._device
        dt = gy._data.dtype
        norm = None
        if grad_mode.state.grad_enabled:  # create_graph: softmax with its graph to the input
            p = Softmax.apply(self.src, dim=1)
        else:  # softmax = e / sum(e), the division folded into the grad op's one pass
            p = _wrap(self.e, dev)
            with _quiet():
                norm = (1.0 / self.s)[:, None]
        s = gy if self.coef is None else gy * _wrap(self.coef.astype(dt, copy=False), dev)
        s = s.expand(n).reshape(n, 1) if s._data.ndim == 0 else s.reshape(n, 1)
        w, ls = self.w, self.ls
        r = None
        if w is not None:
            r = (1.0 - ls) * self.a + (ls / c) * w.sum() if ls else self.a
            r = r[:, None]
        if norm is not None:
            r = norm if r is None else r * norm
        return CrossEntropyGrad.apply(p, s, tc=self.tc, a=self.a, w=w, ls=ls, r=r)

    def _release(self) -> None:
        super()._release()
        self.e = self.s = self.coef = None


class CrossEntropyGrad(Op):
    """``(P * r - T) * s``: the cross-entropy input grad from softmax ``P`` (N, C) and row
    scales ``s`` (N, 1), where ``T = (1 - ls) a onehot(target) + ls / C * w`` and
    ``r = (1 - ls) a + ls / C * sum(w)`` (``a = w[target]``; ``w`` = 1 without weights).

    ``P`` may also be unnormalised ``exp(x - max)`` with ``r`` carrying ``1 / sum``."""

    def forward(self, p, s):
        self.retain_inputs(0, 1)
        xp = self.xp
        n, c = p.shape
        dt = p.dtype
        r, a, w, ls = self.r, self.a, self.w, self.ls
        s = s.astype(dt, copy=False)
        out = p * (s if r is None else s * r.astype(dt, copy=False))
        k = s[:, 0] if a is None else s[:, 0] * a.astype(dt, copy=False)
        if ls:
            k = k * (1.0 - ls)
        if n:
            out[xp.arange(n), self.tc] -= k
        if ls:
            out -= (ls / c) * (s if w is None else s * w.astype(dt, copy=False))
        return out

    def backward(self, g):
        p, s = self.saved_tensors
        n, c = p._data.shape
        dev, dt = g._device, g._data.dtype
        r, a, w, ls = self.r, self.a, self.w, self.ls
        np_, ns = self.needs_input_grad
        gp = gs = None
        if np_:
            gp = g * (s if r is None else s * _wrap(r.astype(dt, copy=False), dev))
        if ns:
            gs = (g * p).sum(1, keepdim=True)
            if r is not None:
                gs = gs * _wrap(r.astype(dt, copy=False), dev)
            k = 1.0 - ls
            picked = g.gather(1, _wrap(self.tc.reshape(n, 1), dev))
            if a is not None:
                picked = picked * _wrap(a.astype(dt, copy=False).reshape(n, 1), dev)
            gs = gs - picked * k if k != 1.0 else gs - picked
            if ls:
                gw = g.sum(1, keepdim=True) if w is None else (
                    g * _wrap(w.astype(dt, copy=False), dev)).sum(1, keepdim=True)
                gs = gs - gw * (ls / c)
        return gp, gs


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


def _check_smoothing(label_smoothing: float) -> None:
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")


def _cross_entropy_fused(input: Tensor, target: Tensor, weight, ignore_index: int,
                         reduction: str, label_smoothing: float) -> Tensor:
    """The single-op path: (N, C) or (C,) input with class indices."""
    if input._data.ndim == 1:
        x = input.unsqueeze(0)
        out = CrossEntropy.apply(x, target=target._data.reshape(1), w=_weight_array(weight, input),
                                 ls=float(label_smoothing), ignore_index=int(ignore_index),
                                 reduction=reduction, src=x)
        return out.reshape(()) if reduction == "none" else out
    return CrossEntropy.apply(input, target=target._data, w=_weight_array(weight, input),
                              ls=float(label_smoothing), ignore_index=int(ignore_index),
                              reduction=reduction, src=input)


def _cross_entropy_reference(input: Tensor, target: Tensor, weight, ignore_index: int,
                             reduction: str, label_smoothing: float) -> Tensor:
    """Class-index cross entropy composed as log_softmax + nll_loss + torch's smoothing term."""
    nd = input._data.ndim
    class_dim = 0 if nd == 1 else 1
    logp = log_softmax(input, class_dim)
    nll = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0.0:
        return nll
    c = input._data.shape[class_dim]
    if weight is not None:
        wshape = [1] * nd
        wshape[class_dim] = c
        smooth = -(logp * weight.reshape(wshape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignore = target == ignore_index
    smooth = where(ignore, 0.0, smooth)
    if reduction == "mean":
        if weight is not None:
            picked = target.masked_select(ignore.logical_not()).long()
            ret = smooth.sum() / weight.index_select(0, picked).sum()
        else:
            ret = smooth.sum() / ignore.logical_not().sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1.0 - label_smoothing) + ret * (label_smoothing / c)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight, ignore_index: int,
                         reduction: str, label_smoothing: float) -> Tensor:
    """Cross entropy against class probabilities (target shaped like input)."""
    if not _is_float(target):
        raise RuntimeError(
            f"Expected floating point type for target with class probabilities, got {_legacy(target)}"
        )
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    nd = input._data.ndim
    class_dim = 0 if nd == 1 else 1
    c = input._data.shape[class_dim] if nd else 1
    if weight is not None and (weight._data.ndim != 1 or weight._data.size != c):
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {c} classes or no "
            f"classes but got weight tensor of shape: {list(weight._data.shape)}"
        )
    _check_smoothing(label_smoothing)
    logp = log_softmax(input, class_dim)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    if weight is not None:
        wshape = [1] * nd
        wshape[class_dim] = c
        logp = logp * weight.reshape(wshape)
    loss = -(logp * target)
    if reduction == "mean":
        numel = input._data.size
        return loss.sum() / (numel / c) if numel else loss.sum() * float("nan")
    if reduction == "sum":
        return loss.sum()
    return loss.sum(class_dim)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits ``input`` against class indices or class probabilities."""
    red = _reduction(size_average, reduce, reduction)
    if input._data.shape == target._data.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, red, label_smoothing)
    if not _is_float(input):  # torch fails in log_softmax first
        raise NotImplementedError(
            f'"log_softmax_lastdim_kernel_impl" not implemented for \'{_legacy(input)}\''
        )
    _check_smoothing(label_smoothing)
    _nll_checks(input, target, weight)
    if input._data.ndim <= 2:
        return _cross_entropy_fused(input, target, weight, ignore_index, red, label_smoothing)
    return _cross_entropy_reference(input, target, weight, ignore_index, red, label_smoothing)


# -- binary cross entropy -----------------------------------------------------------------------
class BinaryCrossEntropy(Op):
    """``-w (t log x + (1 - t) log(1 - x))`` with the logs clamped at -100, reduced inside."""

    def forward(self, x, t, *w):
        self.retain_inputs(0, 1, *range(2, 2 + len(w)))
        xp = self.xp
        xf, tf = _work(x), _work(t)
        with _quiet():
            lx = xp.maximum(xp.log(xf), -100.0)
            l1x = xp.maximum(xp.log1p(-xf), -100.0)
        loss = (tf - 1) * l1x - tf * lx
        if w:
            loss = loss * _work(w[0])
        self.n = loss.size
        return _reduce_array(xp, loss, self.reduction).astype(x.dtype, copy=False)

    def backward(self, gy):
        saved = self.saved_tensors
        x, t = saved[0], saved[1]
        if self.reduction == "mean" and self.n:
            gy = gy / self.n
        if len(saved) > 2:
            gy = gy * saved[2]
        nx, nt = self.needs_input_grad[:2]
        gx = gy * (x - t) / ((1 - x) * x).clamp_min(_EPS_BCE) if nx else None
        gt = gy * -x.logit() if nt else None
        return (gx, gt) + (None,) * (len(saved) - 2)


def _check_unit_interval(t: Tensor, what: str) -> None:
    a = t._data
    if a.size == 0:
        return
    lo, hi = a.min(), a.max()
    if not (bool(lo >= 0) and bool(hi <= 1)):
        raise RuntimeError(f"all elements of {what} should be between 0 and 1")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities ``input`` against ``target`` in [0, 1]."""
    red = _reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}) is deprecated. Please ensure they have the same size."
        )
    if weight is not None:
        shape = input._data.shape
        try:
            full = _broadcast_shapes(shape, weight._data.shape)
        except RuntimeError:
            full = None
        if full != shape:
            raise RuntimeError(
                f"The expanded size of the weight ({list(weight._data.shape)}) must match the "
                f"target size ({list(shape)})"
            )
        _not_differentiable("binary_cross_entropy", "weight", weight)
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {_legacy(target)} but expected {_legacy(input)}")
    if not _is_float(input):
        raise NotImplementedError(f'"binary_cross_entropy" not implemented for \'{_legacy(input)}\'')
    _check_unit_interval(input, "input")
    _check_unit_interval(target, "target")
    if weight is None:
        return BinaryCrossEntropy.apply(input, target, reduction=red)
    w = cast(weight, input._data.dtype)
    return BinaryCrossEntropy.apply(input, target, w, reduction=red)


class BinaryCrossEntropyWithLogits(Op):
    """``(1 - t) x - (1 + (pw - 1) t) logsigmoid(x)``, times ``w``, reduced inside."""

    def forward(self, x, t, *extra):
        self.retain_inputs(*range(2 + len(extra)))
        xp = self.xp
        xf, tf = _work(x), _work(t)
        w = _work(extra[0]) if self.has_w else None
        pw = _work(extra[-1]) if self.has_pw else None
        with _quiet():
            lsig = xp.minimum(xf, 0) - xp.log1p(xp.exp(-xp.abs(xf)))
        if pw is not None:
            lsig = lsig * ((pw - 1) * tf + 1)
        loss = (1 - tf) * xf - lsig
        if w is not None:
            loss = loss * w
        self.n = loss.size
        return _reduce_array(xp, loss, self.reduction).astype(x.dtype, copy=False)

    def backward(self, gy):
        saved = self.saved_tensors
        x, t = saved[0], saved[1]
        w = saved[2] if self.has_w else None
        pw = saved[-1] if self.has_pw else None
        if self.reduction == "mean" and self.n:
            gy = gy / self.n
        if w is not None:
            gy = gy * w
        nx, nt = self.needs_input_grad[:2]
        gx = gt = None
        if nx:
            sig = x.sigmoid()
            gx = gy * (sig - t) if pw is None else gy * (((pw - 1) * t + 1) * sig - pw * t)
        if nt:
            gt = gy * -x if pw is None else gy * (-x - (pw - 1) * logsigmoid(x))
        return (gx, gt) + (None,) * (len(saved) - 2)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one numerically stable op; ``pos_weight`` scales
    the positive term per class."""
    red = _reduction(size_average, reduce, reduction)
    if target._data.shape != input._data.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    x, t = binary_operands(input, target)
    if not _is_float(x):
        raise NotImplementedError(
            f'"log_sigmoid_{x._device.type}" not implemented for \'{_legacy(x)}\''
        )
    ins = [x, t]
    shape = x._data.shape
    for name, extra in (("weight", weight), ("pos_weight", pos_weight)):
        if extra is not None:
            _broadcast_shapes(shape, extra._data.shape)
            _not_differentiable("binary_cross_entropy_with_logits", name, extra)
            ins.append(cast(extra, x._data.dtype))
    return BinaryCrossEntropyWithLogits.apply(*ins, reduction=red, has_w=weight is not None,
                                              has_pw=pos_weight is not None)


# -- divergences and likelihoods (composed) ------------------------------------------------------
def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from log-probabilities ``input``."""
    if size_average is not None or reduce is not None:
        red = _legacy_get_string(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support "
                "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                "major release.",
                UserWarning, stacklevel=2,
            )
        red = "sum" if reduction == "batchmean" else _check_reduction(reduction)
    if not _is_float(input) or not _is_float(target):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    out = _reduce(loss, red)
    if reduction == "batchmean" and input._data.ndim != 0:
        n = input._data.shape[0]
        out = out / n if n else out * float("nan")
    return out


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Poisson negative log likelihood (``exp(input) - target * input`` for log inputs)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    if reduction != "none" and reduction != "mean" and reduction != "sum":
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (target * (2 * math.pi)).log()
        loss = loss + where(target <= 1, 0.0, stirling)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Gaussian negative log likelihood ``0.5 (log var + (input - target)**2 / var)``."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from ...creation import full as _full

        var = _full(input._data.shape, var, dtype=input.dtype, device=input.device)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    ishape, vshape = tuple(input._data.shape), tuple(var._data.shape)
    if vshape != ishape:
        if ishape[:-1] == vshape:
            var = var.unsqueeze(-1)
        elif not (len(ishape) == len(vshape)
                  and sum(v for i, v in zip(ishape, vshape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction != "none" and reduction != "mean" and reduction != "sum":
        raise ValueError(reduction + " is not valid")
    # clamp the value at eps without stopping its gradient (torch clamps a clone under no_grad)
    var = var + (var.detach().clamp_min(eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- margin and embedding losses (composed) -------------------------------------------------------
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1."""
    red = _reduction(size_average, reduce, reduction)
    td = target._data.ndim
    if td > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    s1, s2 = list(input1._data.shape), list(input2._data.shape)
    if td == 1 and (len(s1) != 2 or len(s2) != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes {s1} and {s2}.")
    if td == 0 and (len(s1) != 1 or len(s2) != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes {s1} and {s2}.")
    eps = 1e-12
    prod = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + eps
    mag2 = (input2 * input2).sum(td) + eps
    cos = prod / (mag1 * mag2).sqrt()
    pos = where(target == 1, 1 - cos, 0.0)
    neg = where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(pos + neg, red)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    red = _reduction(size_average, reduce, reduction)
    if not (input1._data.ndim == input2._data.ndim == target._data.ndim):
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} "
        )
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), red)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    red = _reduction(size_average, reduce, reduction)
    margin_part = where(target != 1, (margin - input).clamp_min(0), 0.0)
    self_part = where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, red)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))``."""
    red = _reduction(size_average, reduce, reduction)
    return _reduce((-(target * input)).exp().log1p(), red)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """Multi-label one-versus-all logistic loss, averaged over classes."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input._data.ndim - 1
    loss = loss.sum(class_dim) / input._data.shape[class_dim]
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction + " is not valid")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the p-norm distance over the last dim."""
    red = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    da, dp, dn = anchor._data.ndim, positive._data.ndim, negative._data.ndim
    if not (da == dp == dn):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {da}D, positive {dp}D, and negative {dn}D inputs"
        )

    def dist(x1, x2):
        return (x1 - x2 + eps).norm(p, -1)

    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), red)


__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
    "l1_loss", "margin_ranking_loss", "mse_loss", "multilabel_soft_margin_loss", "nll_loss",
    "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
]
