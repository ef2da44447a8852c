"""Activations (relu, hardtanh, leaky_relu, elu/selu/celu, gelu, silu, mish, softplus, ...)."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor
from .._inplace import inplace
from .._op import Op
from .._util import need_tensor
from ._common import _2_SQRTPI, _BITS, _F32, _float_only, _quiet, _select
from .selection import where
from .special import _erf
from .unary import sigmoid, tanh

_SQRT1_2 = math.sqrt(0.5)
_ONE_SIXTH_F = float(np.float32(1.0) / np.float32(6.0))  # torch's float constant in backward
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _softplus_arr(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Relu(Op):
    def forward(self, x):
        self.retain_outputs(0)
        return self.xp.maximum(x, 0)

    def backward(self, gy):
        (y,) = self.saved_tensors
        return ReluGrad.apply(gy, y)


class ReluGrad(Op):
    """``gy`` where ``y > 0``, else 0: one compare and one masked multiply (hot in MLPs)."""

    def name(self) -> str:
        return "ThresholdBackwardBackward0"

    def forward(self, gy, y):
        self.retain_inputs(1)
        mask = y > 0
        it = _BITS.get(gy.dtype) if self.xp is np else None
        if it is not None and gy.shape == mask.shape:
            # multiplying the bit pattern by 0/1 keeps gy exactly (NaN, -0.0 included)
            return np.multiply(gy.view(it), mask, dtype=it).view(gy.dtype)
        return self.xp.where(mask, gy, 0).astype(gy.dtype, copy=False)

    def backward(self, ggy):
        (y,) = self.saved_tensors
        return ReluGrad.apply(ggy, y), None


def relu(input: Tensor) -> Tensor:
    """Elementwise max(x, 0); integer dtypes are kept."""
    need_tensor(input, "relu")
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


class Hardtanh(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.minimum(xp.maximum(x, self.lo), self.hi)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where((x <= self.lo) | (x >= self.hi), 0.0, gy)


def _maybe_inplace(input: Tensor, fn, inplace_: bool, *args):
    if inplace_:
        return inplace(input, fn, *args)
    return fn(input, *args)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Elementwise clamp to [min_val, max_val] with zero gradient outside (and at the ends)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, _hardtanh, inplace, min_val, max_val)


def _hardtanh(input: Tensor, min_val, max_val) -> Tensor:
    need_tensor(input, "hardtanh")
    k = input._data.dtype.kind
    if k == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if k in "iu":  # torch converts the bounds to the integer type
        min_val, max_val = int(min_val), int(max_val)
    return Hardtanh.apply(input, lo=min_val, hi=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class LeakyRelu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        s = self.slope
        if 0.0 <= s <= 1.0:  # x > 0 ? x : s * x is the larger (the smaller for s > 1) of the two
            return self.xp.maximum(x, x * s)
        if s > 1.0:
            return self.xp.minimum(x, x * s)
        return _select(self.xp, x > 0, x, x * s)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where(x > 0, gy, gy * self.slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Elementwise x for x > 0, negative_slope * x otherwise."""
    return _maybe_inplace(input, _leaky_relu, inplace, negative_slope)


def _leaky_relu(input: Tensor, negative_slope) -> Tensor:
    return LeakyRelu.apply(_float_only(input, "leaky_relu"), slope=float(negative_slope))


class Elu(Op):
    """ELU family: ``x <= 0 ? neg * expm1(x * in_scale) : x * pos`` (elu, selu, celu)."""

    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        h = x.astype(_F32) if x.dtype.itemsize < 4 else x
        neg = self.neg * xp.expm1(xp.minimum(h, 0) * self.in_scale)
        return _select(xp, h <= 0, neg, h * self.pos).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        d = gy * (self.neg * self.in_scale) * (x.clamp(max=0) * self.in_scale).exp()
        return where(x <= 0, d, gy * self.pos)


class Celu(Elu):
    pass


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Elementwise x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _maybe_inplace(input, _elu, inplace, alpha)


def _elu(input: Tensor, alpha) -> Tensor:
    x = _float_only(input, "elu")
    return Elu.apply(x, neg=float(alpha), pos=1.0, in_scale=1.0)


def _selu(input: Tensor) -> Tensor:
    x = _float_only(input, "elu")
    return Elu.apply(x, neg=_SELU_ALPHA * _SELU_SCALE, pos=_SELU_SCALE, in_scale=1.0)


def selu(input: Tensor) -> Tensor:
    """Elementwise scale * elu(x, alpha) with the self-normalizing constants."""
    return _selu(input)


def _celu(input: Tensor, alpha) -> Tensor:
    x = _float_only(input, "elu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return Celu.apply(x, neg=float(alpha), pos=1.0, in_scale=1.0 / alpha)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """Elementwise max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _celu(input, alpha)


class Gelu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            if self.approximate == "tanh":
                inner = (math.sqrt(2.0 / math.pi)) * (h + 0.044715 * h * h * h)
                y = 0.5 * h * (1.0 + xp.tanh(inner))
            else:
                y = h * 0.5 * (1.0 + _erf(xp, h * _SQRT1_2))
            return y.astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        if self.approximate == "tanh":
            beta = math.sqrt(2.0) * _2_SQRTPI * 0.5
            kappa = 0.044715
            x_sq = x * x
            t = (beta * (x + kappa * x_sq * x)).tanh()
            left_d = 0.5 * (1 + t)
            right_d = 0.5 * x * ((1 - t * t) * beta * (1 + 3 * kappa * x_sq))
            return gy * (left_d + right_d)
        cdf = 0.5 * (1 + (x * _SQRT1_2).erf())
        pdf = (-0.5 * x * x).exp() * (_2_SQRTPI * _SQRT1_2 * 0.5)
        return gy * (cdf + x * pdf)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x) (``approximate='tanh'``: the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(_float_only(input, "GeluKernelImpl"), approximate=approximate)


class Silu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            return (h / (1.0 + xp.exp(-h))).astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        return gy * s * (1 + x * (1 - s))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * sigmoid(x) (swish)."""
    return _maybe_inplace(input, _silu, inplace)


def _silu(input: Tensor) -> Tensor:
    return Silu.apply(_float_only(input, "silu"))


class Mish(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            return (h * xp.tanh(_softplus_arr(xp, h))).astype(x.dtype)

    def backward(self, gy):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        t = softplus(x).tanh()
        return gy * (t + x * s * (1 - t * t))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * tanh(softplus(x))."""
    return _maybe_inplace(input, _mish, inplace)


def _mish(input: Tensor) -> Tensor:
    return Mish.apply(_float_only(input, "mish"))


class Softplus(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            h = x.astype(_F32) if x.dtype.itemsize < 4 else x
            bx = h * self.beta
            y = _select(xp, bx > self.threshold, h, _softplus_arr(xp, bx) / self.beta)
            return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        bx = x * self.beta
        return where(bx > self.threshold, gy, gy * sigmoid(bx))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Elementwise log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    return Softplus.apply(_float_only(input, "softplus"), beta=float(beta), threshold=float(threshold))


class Hardsigmoid(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, gy):
        (x,) = self.saved_tensors
        return where((x > -3) & (x < 3), gy * _ONE_SIXTH_F, 0.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise relu6(x + 3) / 6."""
    return _maybe_inplace(input, _hardsigmoid, inplace)


def _hardsigmoid(input: Tensor) -> Tensor:
    return Hardsigmoid.apply(_float_only(input, "hardsigmoid"))


class Hardswish(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        with _quiet():
            return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    def backward(self, gy):
        (x,) = self.saved_tensors
        mid = where(x < 3, gy * (x / 3 + 0.5), gy)
        return where(x <= -3, 0.0, mid)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise x * relu6(x + 3) / 6."""
    return _maybe_inplace(input, _hardswish, inplace)


def _hardswish(input: Tensor) -> Tensor:
    return Hardswish.apply(_float_only(input, "hardswish"))


def softsign(input: Tensor) -> Tensor:
    """Elementwise x / (1 + |x|)."""
    need_tensor(input, "softsign")
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """Elementwise x - tanh(x)."""
    need_tensor(input, "tanhshrink")
    return input - tanh(input)
