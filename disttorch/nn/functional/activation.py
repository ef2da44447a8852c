"""Activation functions under torch.nn.functional's names and signatures.

The elementwise kernels live in ``disttorch.ops.pointwise`` (reused here); this file adds
the ``inplace`` arguments and in-place ``*_`` forms torch's functional API has, and the
activations without a pointwise kernel: ``threshold``, ``hardshrink``, ``softshrink``,
``glu``, ``prelu``, ``rrelu`` and ``gumbel_softmax``.
"""
from __future__ import annotations

import numpy as np

from ... import random as _random
from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from ...backend import dtypes
from ...ops import activation as _act
from ...ops import pointwise as _pw
from ...ops._inplace import inplace as _inplace
from ...ops._op import Op
from ...ops._util import need_tensor, wrap_dim
from ...ops.movement import cat as _cat
from ...ops.pointwise import (
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    relu6,
    sigmoid,
    silu,
    softplus,
    softsign,
    tanh,
    tanhshrink,
)

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)
_LEGACY = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool"}


def _not_implemented(kernel: str, x: Tensor) -> NotImplementedError:
    name = _LEGACY.get(x._data.dtype.name, x._data.dtype.name)
    return NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def _floating_only(x, fname: str, kernel: str) -> Tensor:
    need_tensor(x, fname)
    k = x._data.dtype.kind
    if k != "f" and k != "V":
        raise _not_implemented(kernel, x)
    return x


# -- reused kernels with torch's functional signatures ----------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise max(x, 0)."""
    if inplace:
        return _inplace(input, _pw.relu)
    return _pw.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return _inplace(input, _pw.relu)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Elementwise x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _pw.elu(input, alpha, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return _pw.elu(input, alpha, True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise scale * elu(x, alpha) with the self-normalizing constants."""
    if inplace:
        return _inplace(input, _pw.selu)
    return _pw.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return _inplace(input, _pw.selu)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Elementwise max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if inplace:
        return _inplace(input, _pw.celu, alpha)
    return _pw.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return _inplace(input, _pw.celu, alpha)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``; ``dtype`` casts the input first."""
    return _act.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``; ``dtype`` casts the input first."""
    return _act.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x, dim)``; ``dtype`` casts the input first."""
    return _act.softmin(input, dim, dtype=dtype)


# -- threshold, shrinkage --------------------------------------------------------------------


class Threshold(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.where(x > self.th, x, xp.asarray(self.value, dtype=x.dtype))

    def backward(self, gy):
        (x,) = self.saved_tensors
        return _pw.where(x > self.th, gy, 0.0)


def _threshold(input: Tensor, threshold, value) -> Tensor:
    need_tensor(input, "threshold")
    k = input._data.dtype.kind
    if k == "b":
        raise _not_implemented(f"threshold_{input._device.type}", input)
    if k in "iu":  # torch converts both numbers to the integer type
        threshold, value = int(threshold), int(value)
    return Threshold.apply(input, th=threshold, value=value)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """Elementwise x where x > threshold, else value."""
    if inplace:
        return _inplace(input, _threshold, threshold, value)
    return _threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return _inplace(input, _threshold, threshold, value)


class Hardshrink(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        return xp.where(xp.abs(x) > self.lambd, x, xp.zeros((), dtype=x.dtype))

    def backward(self, gy):
        (x,) = self.saved_tensors
        return _pw.where(x.abs() > self.lambd, gy, 0.0)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Elementwise x where |x| > lambd, else 0."""
    x = _floating_only(input, "hardshrink", f"hardshrink_{_dev_type(input)}")
    return Hardshrink.apply(x, lambd=float(lambd))


class Softshrink(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        lam = self.lambd
        return xp.where(x > lam, x - lam, xp.where(x < -lam, x + lam, x * 0))

    def backward(self, gy):
        (x,) = self.saved_tensors
        return _pw.where(x.abs() > self.lambd, gy, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Elementwise x - lambd for x > lambd, x + lambd for x < -lambd, 0 in between."""
    x = _floating_only(input, "softshrink", "softshrink_check")
    if lambd < 0:
        name = dtypes.from_numpy(x._data.dtype).legacy_name
        raise RuntimeError(
            f"lambda must be in range [0, 3.40282e+38] for input dtype {name}, but found {lambd:g}")
    return Softshrink.apply(x, lambd=float(lambd))


def _dev_type(x) -> str:
    return x._device.type if isinstance(x, Tensor) else "cpu"


# -- gated and parametric ----------------------------------------------------------------------


class Glu(Op):
    def forward(self, x):
        self.retain_inputs(0)
        xp = self.xp
        d = self.dim
        h = x.shape[d] // 2
        a = x[(slice(None),) * d + (slice(0, h),)]
        b = x[(slice(None),) * d + (slice(h, None),)]
        h32 = x.dtype.itemsize < 4
        if h32:
            a, b = a.astype(_F32), b.astype(_F32)
        with np.errstate(over="ignore"):
            y = a / (1.0 + xp.exp(-b))
        return y.astype(x.dtype) if h32 else y

    def backward(self, gy):
        (x,) = self.saved_tensors
        a, b = x.chunk(2, self.dim)
        s = sigmoid(b)
        ga = gy * s
        gb = ga * a * (1 - s)
        return _cat([ga, gb], self.dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b) for the halves a, b of ``input`` along ``dim``."""
    need_tensor(input, "glu")
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    x = _floating_only(input, "glu", f"glu_{input._device.type}")
    return Glu.apply(x, dim=d)


class Prelu(Op):
    """``x > 0 ? x : w * x`` with ``w`` already shaped to broadcast over the channel dim."""

    def forward(self, x, w):
        self.retain_inputs(0, 1)
        return self.xp.where(x > 0, x, w * x)

    def backward(self, gy):
        x, w = self.saved_tensors
        nx, nw = self.needs_input_grad
        pos = x > 0
        gx = _pw.where(pos, gy, gy * w) if nx else None
        gw = _pw.where(pos, 0.0, gy * x) if nw else None
        return gx, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, weight per channel (dim 1) or a single value."""
    need_tensor(input, "prelu")
    need_tensor(weight, "prelu", "weight", 2)
    wd = weight._data
    if wd.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {wd.ndim}")
    x = input._data
    if input._data.dtype != wd.dtype:
        a = dtypes.from_numpy(x.dtype).legacy_name
        b = dtypes.from_numpy(wd.dtype).legacy_name
        raise RuntimeError(f"prelu: Type promoting not supported. Got {a} and {b}")
    if x.dtype.kind not in "fV":
        raise _not_implemented(f"prelu_{input._device.type}", input)
    n = wd.size
    if n != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{n} and channel size = {channels}.")
        w = weight.reshape((n,) + (1,) * (x.ndim - 2))
    else:
        w = weight.reshape(())
    return Prelu.apply(input, w)


class Rrelu(Op):
    """``x >= 0 ? x : a * x`` with per-element slopes ``a`` drawn uniformly in training."""

    def forward(self, x):
        xp = self.xp
        self.slopes = a = xp.where(x >= 0, xp.ones((), dtype=x.dtype), self.noise)
        return x * a

    def backward(self, gy):
        return gy * _wrap(self.slopes, gy._device)


def _rrelu(input: Tensor, lower, upper, training) -> Tensor:
    x = _floating_only(input, "rrelu", "leaky_relu_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return _pw.leaky_relu(x, (lower + upper) / 2.0)
    g = _random.generator_for(x._device, None)
    host = g._rng.uniform(lower, upper, x._data.shape).astype(
        _F32 if x._data.dtype.itemsize < 4 else x._data.dtype)
    noise = host if x._device is _CPU else _dev.to_device(host, x._device)
    return Rrelu.apply(x, noise=noise.astype(x._data.dtype, copy=False))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: negative slopes uniform in [lower, upper] in training, their mean otherwise."""
    if inplace:
        return _inplace(input, _rrelu, lower, upper, training)
    return _rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return _inplace(input, _rrelu, lower, upper, training)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Samples from the Gumbel-softmax distribution (one-hot with straight-through grads if ``hard``)."""
    need_tensor(logits, "gumbel_softmax", "logits")
    g = _random.generator_for(logits._device, None)
    host = g._rng.exponential(1.0, logits._data.shape)
    e = host if logits._device is _CPU else _dev.to_device(host, logits._device)
    gumbels = -_wrap(e.astype(logits._data.dtype), logits._device).log()
    y = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    index = y.argmax(dim, keepdim=True)
    y_hard = y.new_zeros(y.shape).scatter(dim, index, 1.0)
    return y_hard - y.detach() + y


__all__ = [
    "celu", "celu_", "elu", "elu_", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid",
    "hardswish", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax", "logsigmoid",
    "mish", "prelu", "relu", "relu6", "relu_", "rrelu", "rrelu_", "selu", "selu_", "sigmoid",
    "silu", "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh", "tanhshrink",
    "threshold", "threshold_",
]
