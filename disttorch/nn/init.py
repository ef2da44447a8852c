"""Parameter initialisation (``disttorch.nn.init``) with torch's signatures and formulas.

Every function fills its tensor in place under ``no_grad`` and returns it. Random draws go
through the tensor samplers (``Tensor.uniform_`` / ``Tensor.normal_``), so they honour
``disttorch.manual_seed`` and an explicit ``generator=``.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np

from .. import creation as _creation
from .._tensor import Tensor, _wrap
from ..autograd import grad_mode as _grad_mode
from ..backend.dtypes import float64
from ..random import Generator

_NonlinearityType = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]
_FanMode = Literal["fan_in", "fan_out"]

_LINEAR_FNS = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d",
)
_no_grad = _grad_mode.no_grad


# -- gains and fans ---------------------------------------------------------------------------
def calculate_gain(nonlinearity: _NonlinearityType, param: int | float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)``: dims 1 and 0 times the receptive field (the product of dims 2:)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: _FanMode) -> int:
    """``fan_in`` or ``fan_out`` of ``tensor`` as ``mode`` names (case-insensitive)."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# -- plain distributions and constants ---------------------------------------------------------
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    with _no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    with _no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Fill with draws from N(mean, std^2) truncated to [a, b] (exact rejection sampling)."""
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    with _no_grad():
        # The bounds as the tensor's dtype holds them, so the acceptance test agrees with
        # the values that get stored.
        lo = _creation.tensor(a, dtype=tensor.dtype).item()
        hi = _creation.tensor(b, dtype=tensor.dtype).item()
        n = tensor.numel()
        if n == 0:
            return tensor
        mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
        # Sample into a flat buffer, then redraw only the rejected entries each round.
        work = tensor.new_empty(n)
        if mass > 0.3:
            # Proposals from the normal itself: each round keeps over 30%.
            def accept(x):
                return (x >= lo) & (x <= hi)

            def propose(k):
                return tensor.new_empty(k).normal_(mean, std, generator=generator)
        else:
            # Little mass inside [a, b]: uniform proposals on [a, b], accepted with
            # probability pdf(x) / pdf(mode).
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2

            def accept(x):
                log_ratio = ((x - mean) / std) ** 2 * -0.5 - log_peak
                u = _creation.empty_like(x).uniform_(generator=generator)
                return u.log_() <= log_ratio

            def propose(k):
                return tensor.new_empty(k).uniform_(a, b, generator=generator)

        work.copy_(propose(n))
        pending = (~accept(work)).nonzero().view(-1)
        while pending.numel():
            cand = propose(pending.numel())
            ok = accept(cand)
            work[pending[ok]] = cand[ok]
            pending = pending[~ok]
        tensor.copy_(work.view(tensor.shape))
        return tensor.clamp_(min=lo, max=hi)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value ``val``."""
    with _no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    with _no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    with _no_grad():
        return tensor.zero_()


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix (ones on the main diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    with _no_grad():
        return tensor.copy_(_creation.eye(rows, cols, dtype=tensor.dtype, device=tensor.device))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-d conv weight with the Dirac delta (identity per group)."""
    nd = tensor.ndim
    if nd not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    host = np.zeros(tuple(sizes), dtype=np.float64)
    d = np.arange(min_dim)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        host[(g * out_chans_per_grp + d, d) + centre] = 1
    with _no_grad():
        return tensor.copy_(_creation.tensor(host, dtype=tensor.dtype, device=tensor.device))


# -- fan-scaled initialisers -------------------------------------------------------------------
def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    with _no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    with _no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * (gain / math.sqrt(fan))
    with _no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                    nonlinearity: _NonlinearityType = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    with _no_grad():
        return tensor.normal_(0, std, generator=generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a Gaussian draw, dims 1: flattened, times gain."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with _no_grad():
        flat = tensor.new_empty((rows, cols)).normal_(0, 1, generator=generator)
        xp = tensor.device.xp
        m = flat._data
        if m.dtype.itemsize < 4:  # LAPACK has no half-precision QR
            m = m.astype(np.float32)
        if rows < cols:
            m = m.T
        q, r = xp.linalg.qr(m)
        # Multiply column j by sign(R[j, j]) so Q is Haar-distributed (unique factorisation).
        q = q * xp.sign(xp.diagonal(r))
        if rows < cols:
            q = q.T
        q = xp.ascontiguousarray(q.astype(tensor._data.dtype, copy=False)).reshape(tensor.shape)
        tensor.copy_(_wrap(q, tensor.device))
        return tensor.mul_(gain)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: Generator | None = None) -> Tensor:
    """N(0, std^2) entries with ``ceil(sparsity * rows)`` random zeros in each column."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    with _no_grad():
        tensor.normal_(0, std, generator=generator)
        if num_zeros <= 0 or rows == 0 or cols == 0:
            return tensor
        # Each column's zero rows: the first ``num_zeros`` of a random permutation, taken as
        # the ranks of independent uniform keys (one draw for all columns).
        keys = _creation.rand(rows, cols, generator=generator, dtype=float64,
                             device=tensor.device).cpu().numpy()
        picked = np.argsort(keys, axis=0, kind="stable")[:num_zeros]
        mask = np.zeros((rows, cols), dtype=bool)
        np.put_along_axis(mask, picked, True, axis=0)
        return tensor.masked_fill_(_creation.tensor(mask, device=tensor.device), 0)


# -- deprecated names without the trailing underscore -----------------------------------------
def _make_deprecate(meth: Callable) -> Callable:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated in favor of ``{new_name}``."
    deprecated_init.__name__ = old_name
    deprecated_init.__qualname__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)

__all__ = [
    "calculate_gain", "constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_",
    "normal_", "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "zeros_",
    "constant", "dirac", "eye", "kaiming_normal", "kaiming_uniform", "normal", "orthogonal",
    "sparse", "uniform", "xavier_normal", "xavier_uniform",
]
