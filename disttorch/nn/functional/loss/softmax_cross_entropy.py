"""Cross entropy of logits: the fused (N, C) op, its grad op, and ``cross_entropy``'s other paths."""
from __future__ import annotations

from ...._tensor import Tensor, _wrap
from ....autograd import grad_mode
from ....ops._op import Op
from ....ops.activation import Softmax, log_softmax
from ....ops.pointwise import where
from ._common import _is_float, _legacy, _quiet, _reduction, _work
from .nll import _check_bounds, _nll, _nll_checks, _row_scale, _valid_mask, _weight_array


# -- fused cross entropy over (N, C) logits ----------------------------------------------------
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


# -- cross_entropy: the fused op, or composed paths --------------------------------------------
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
