"""Binary cross entropy on probabilities and on logits: one op each, reduced inside."""
from __future__ import annotations

from ...._tensor import Tensor
from ....ops._op import Op
from ....ops._util import binary_operands, cast
from ....ops.pointwise import logsigmoid
from ._common import _is_float, _legacy, _not_differentiable, _quiet, _reduce_array, _reduction, _work

_EPS_BCE = 1e-12  # torch's floor on x * (1 - x) in the binary cross entropy grad


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
