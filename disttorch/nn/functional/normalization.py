"""Normalization functionals: batch_norm, instance_norm, layer_norm, group_norm, rms_norm and
local_response_norm, with torch's signatures, checks and messages.

Batch, instance, layer and group norm share one fused op, ``_Normalize``: one forward pass
over the arrays computes the statistics, the normalized output and (for batch/instance
norm in training) the running-statistics update. Its backward is the closed form

    gx = invstd * (g - mean(g) - xhat * mean(g * xhat)),  g = gy * w

written with Tensor ops. Without ``create_graph`` the statistics saved by forward enter
as constants; with it, they are recomputed from the input as differentiable Tensor
expressions, so the same formula also gives correct higher-order gradients.
``rms_norm`` has its own fused op of the same design, and eval-mode batch norm (fixed
statistics) is the affine op ``_NormalizeStats``. Half and bfloat16 inputs are computed
in float32 (with float32 ``eps`` defaults, as torch's CPU kernels do) and rounded back.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...ops._op import Op
from ...ops._util import cast, need_tensor, wrap_dim
from ...ops.conv import avg_pool2d, avg_pool3d
from ...ops.movement import pad

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "rms_norm",
]

_F32 = np.dtype(np.float32)
_EPS = {"float16": float(np.finfo(np.float32).eps), "bfloat16": float(np.finfo(np.float32).eps),
        "float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
_LEGACY = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
           "bfloat16": "BFloat16"}


def _low(dt) -> bool:
    """float16 / bfloat16: computed in float32 and rounded back."""
    return dt.itemsize == 2 and dt.kind in "fV"


def _legacy(dt) -> str:
    return _LEGACY.get(dt.name, dt.name)


def _check_float(x: Tensor, kernel: str) -> None:
    k = x._data.dtype.kind
    if k != "f" and k != "V":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(x._data.dtype)}'")


def _check_param_dtypes(x: Tensor, params) -> None:
    """torch's CPU rule: parameters share the input's dtype, or are float32 for a half input."""
    dt = x._data.dtype
    dts = [p._data.dtype for p in params if p is not None]
    if all(d == dt for d in dts):
        return
    if _low(dt):
        if all(d == _F32 for d in dts):
            return
        if all(d == dt or d == _F32 for d in dts):
            raise RuntimeError(f"expected scalar type {_legacy(dt)} but found Float")
    if dt == np.float64:
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")


def _check_device(x: Tensor, *others) -> None:
    for o in others:
        if o is not None and o._device is not x._device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{x._device} and {o._device}!"
            )


def _shape_list(fname: str, normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral) or not isinstance(normalized_shape, Sequence):
        raise TypeError(
            f"{fname}(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
            f"{type(normalized_shape).__name__}"
        )
    return tuple(int(s) for s in normalized_shape)


def _const(arr, like: Tensor) -> Tensor:
    return _wrap(arr, like._device)


def _reduce_to(g: Tensor, axes: tuple[int, ...], shape) -> Tensor:
    """``g`` summed over ``axes`` and reshaped to a parameter's ``shape``."""
    if axes:
        g = g.sum(axes)
    return g.reshape(tuple(shape))


def _affine_args(has_w: bool, has_b: bool, weight, bias) -> tuple:
    return tuple(t for t, h in ((weight, has_w), (bias, has_b)) if h)


def _f32(a):
    return a if a.dtype == _F32 else a.astype(_F32)


def _update_buffers(rm, rv, mean, var, n: int, m: float) -> None:
    """``running = (1 - m) * running + m * stat`` in place, with the unbiased variance.

    ``mean``/``var`` are arrays with one value per channel (any kept dims). Like torch,
    the buffers' version counters are not bumped.
    """
    if rm is not None:
        d = rm._data
        d *= 1.0 - m
        d += (mean.reshape(d.shape) * m).astype(d.dtype, copy=False)
    if rv is not None:
        d = rv._data
        unbiased = var * (n / (n - 1)) if n > 1 else var * float("nan")
        d *= 1.0 - m
        d += (unbiased.reshape(d.shape) * m).astype(d.dtype, copy=False)


# --------------------------------------------------------------------------- fused ops
class _Normalize(Op):
    """``(x - mean) / sqrt(var + eps) * w + b``; mean and biased var over ``axes`` (kept).

    Attributes: ``axes`` (reduced axes of x), ``wshape`` (w and b viewed to broadcast
    against x, or None when they broadcast as they are), ``waxes`` (axes of x summed for
    the w/b grads), ``has_w``, ``has_b``, ``eps`` and ``running``: None, or
    ``(running_mean, running_var, momentum, batch_axes)`` for an in-place update of the
    running statistics (with the unbiased variance, averaged over ``batch_axes`` first).
    """

    def forward(self, x, *wb):
        xp = self.xp
        low = _low(x.dtype)
        xf = x.astype(_F32) if low else x
        self.retain_inputs(0, 1) if self.has_w else self.retain_inputs(0)
        if x.size == 0:
            self.mean = self.invstd = None
            return x.copy()
        axes = self.axes
        mean = xf.mean(axis=axes, keepdims=True)
        xc = xf - mean
        var = xp.square(xc).mean(axis=axes, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + self.eps)
        self.mean, self.invstd = mean, invstd
        xc *= invstd
        ws = self.wshape
        if self.has_w:
            w = _f32(wb[0]) if low else wb[0]
            xc *= w.reshape(ws) if ws is not None else w
        if self.has_b:
            b = _f32(wb[-1]) if low else wb[-1]
            xc += b.reshape(ws) if ws is not None else b
        if self.running is not None:
            self._update_running(mean, var, x.size // max(mean.size, 1))
        return xc.astype(x.dtype) if low else xc

    def _update_running(self, mean, var, n: int) -> None:
        rm, rv, m, batch_axes = self.running
        if batch_axes:
            mean = mean.mean(axis=batch_axes)
            var = var.mean(axis=batch_axes)
        _update_buffers(rm, rv, mean, var, n, m)

    def backward(self, gy):
        saved = self.saved_tensors
        x = saved[0]
        w = saved[1] if self.has_w else None
        need = self.needs_input_grad
        if self.mean is None:  # empty input: every grad is zero
            out = [gy * 0 if need[0] else None]
            if self.has_w:
                out.append(w.new_zeros(w.shape) if need[1] else None)
            if self.has_b:
                out.append(x.new_zeros(self.bshape) if need[-1] else None)
            return tuple(out)
        axes = self.axes
        if _low(x._data.dtype):
            x = cast(x, _F32)
            gy = cast(gy, _F32)
        if grad_mode.state.grad_enabled:  # create_graph: statistics as functions of x
            xc = x - x.mean(axes, keepdim=True)
            invstd = ((xc * xc).mean(axes, keepdim=True) + self.eps).rsqrt()
            xhat = xc * invstd
        else:
            invstd = _const(self.invstd, x)
            xhat = (x - _const(self.mean, x)) * invstd
        grads = []
        if need[0]:
            g = gy
            if w is not None:
                g = gy * (w.reshape(self.wshape) if self.wshape is not None else w)
            grads.append((g - g.mean(axes, keepdim=True)
                          - xhat * (g * xhat).mean(axes, keepdim=True)) * invstd)
        else:
            grads.append(None)
        if self.has_w:
            grads.append(_reduce_to(gy * xhat, self.waxes, w.shape) if need[1] else None)
        if self.has_b:
            grads.append(_reduce_to(gy, self.waxes, self.bshape) if need[-1] else None)
        return tuple(grads)


class _NormalizeStats(Op):
    """``(x - mean) / sqrt(var + eps) * w + b`` with fixed per-channel statistics (eval
    batch norm): ``mean`` and ``var`` are the running arrays; they take no grad.
    """

    def forward(self, x, *wb):
        low = _low(x.dtype)
        xf = x.astype(_F32) if low else x
        self.retain_inputs(0, 1) if self.has_w else self.retain_inputs(0)
        ws = self.wshape
        mean, var = self.mean, self.var
        if low or _low(mean.dtype):
            mean, var = _f32(mean), _f32(var)
        self.mean = mean = mean.reshape(ws).copy()  # the buffers may change before backward
        self.invstd = scale = 1.0 / self.xp.sqrt(var.reshape(ws) + self.eps)
        if self.has_w:
            scale = scale * (_f32(wb[0]) if low else wb[0]).reshape(ws)
        shift = -mean * scale
        if self.has_b:
            shift = shift + (_f32(wb[-1]) if low else wb[-1]).reshape(ws)
        y = xf * scale.astype(xf.dtype, copy=False)
        y += shift.astype(xf.dtype, copy=False)
        return y.astype(x.dtype) if low else y

    def backward(self, gy):
        saved = self.saved_tensors
        x = saved[0]
        w = saved[1] if self.has_w else None
        need = self.needs_input_grad
        if _low(x._data.dtype):
            x = cast(x, _F32)
            gy = cast(gy, _F32)
        invstd = _const(self.invstd, x)
        grads = []
        if need[0]:
            grads.append(gy * (w.reshape(self.wshape) * invstd if w is not None else invstd))
        else:
            grads.append(None)
        if self.has_w:
            if need[1]:
                xhat = (x - _const(self.mean, x)) * invstd
                grads.append(_reduce_to(gy * xhat, self.waxes, w.shape))
            else:
                grads.append(None)
        if self.has_b:
            grads.append(_reduce_to(gy, self.waxes, self.bshape) if need[-1] else None)
        return tuple(grads)


class _RMSNorm(Op):
    """``x / sqrt(mean(x**2) + eps) * w`` over the trailing ``axes``."""

    def forward(self, x, *w):
        xp = self.xp
        low = _low(x.dtype)
        xf = x.astype(_F32) if low else x
        self.retain_inputs(0, 1) if w else self.retain_inputs(0)
        if x.size == 0:
            self.r = None
            return x.copy()
        r = 1.0 / xp.sqrt(xp.square(xf).mean(axis=self.axes, keepdims=True) + self.eps)
        self.r = r
        y = xf * r
        if w:
            y *= _f32(w[0]) if low else w[0]
        return y.astype(x.dtype) if low else y

    def backward(self, gy):
        saved = self.saved_tensors
        x = saved[0]
        w = saved[1] if len(saved) > 1 else None
        need = self.needs_input_grad
        if self.r is None:
            return (gy * 0 if need[0] else None,) + ((w * 0 if need[1] else None,) if w is not None else ())
        axes = self.axes
        if _low(x._data.dtype):
            x = cast(x, _F32)
            gy = cast(gy, _F32)
        if grad_mode.state.grad_enabled:  # create_graph: r as a function of x
            r = ((x * x).mean(axes, keepdim=True) + self.eps).rsqrt()
        else:
            r = _const(self.r, x)
        gx = None
        if need[0]:
            g = gy * w if w is not None else gy
            gx = (g - x * (r * r) * (g * x).mean(axes, keepdim=True)) * r
        if w is None:
            return gx
        gw = _reduce_to(gy * (x * r), self.waxes, w.shape) if need[1] else None
        return gx, gw


# ------------------------------------------------------------------------- batch norm
def _verify_batch_size(size) -> None:
    size_prods = size[0]
    for i in range(len(size) - 2):
        size_prods *= size[i + 2]
    if size_prods == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _channel_layout(nd: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """For an (N, C, *) input: the non-channel axes, and the per-channel view shape."""
    return (0,) + tuple(range(2, nd)), (-1,) + (1,) * (nd - 2)


def _fixed_stats(x: Tensor, mean: Tensor, var: Tensor, weight, bias, eps: float, wshape, waxes):
    """Normalize with given running statistics (no grad into them)."""
    has_w, has_b = weight is not None, bias is not None
    return _NormalizeStats.apply(
        x, *_affine_args(has_w, has_b, weight, bias), mean=mean._data, var=var._data, eps=eps,
        wshape=wshape, waxes=waxes, has_w=has_w, has_b=has_b,
        bshape=tuple(bias._data.shape) if has_b else None,
    )


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over the channel dim 1 of an (N, C, *) input.

    In training the batch statistics normalize the input (biased variance) and update the
    running statistics in place (unbiased variance); otherwise the running ones are used.
    """
    need_tensor(input, "batch_norm")
    shape = input._data.shape
    if training:
        _verify_batch_size(input.size())
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool):
        raise TypeError(
            f"batch_norm(): argument 'momentum' (position 7) must be float, not {type(momentum).__name__}"
        )
    nd = len(shape)
    c = shape[wrap_dim(1, nd)]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t._data.size}")
    if not training:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
    elif (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    _check_float(input, "batch_norm")
    _check_param_dtypes(input, (weight, bias, running_mean, running_var))
    _check_device(input, weight, bias, running_mean, running_var)
    axes, wshape = _channel_layout(nd)
    wshape = (c,) + wshape[1:]
    if not training:
        return _fixed_stats(input, running_mean, running_var, weight, bias, eps, wshape, axes)
    running = None
    if running_mean is not None and input._data.size:
        running = (running_mean, running_var, float(momentum), ())
    has_w, has_b = weight is not None, bias is not None
    return _Normalize.apply(
        input, *_affine_args(has_w, has_b, weight, bias), axes=axes, wshape=wshape, waxes=axes,
        has_w=has_w, has_b=has_b, bshape=tuple(bias._data.shape) if has_b else None,
        eps=eps, running=running,
    )


def _batch_norm_from_stats(input: Tensor, mean: Tensor, var: Tensor, count: int,
                           running_mean: Tensor | None, running_var: Tensor | None,
                           weight: Tensor | None, bias: Tensor | None, momentum: float,
                           eps: float) -> Tensor:
    """Training-mode batch norm with given (differentiable) per-channel ``mean`` and biased
    ``var`` over ``count`` values per channel: the path for statistics computed elsewhere
    (e.g. gathered over processes); composed from Tensor ops so grads flow into the stats."""
    nd = input.dim()
    view = (-1,) + (1,) * (nd - 2)
    if (running_mean is not None or running_var is not None) and input._data.size:
        _update_buffers(running_mean, running_var, mean._data, var._data, count, float(momentum))
    y = (input - mean.reshape(view)) * (var.reshape(view) + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization: each (sample, channel) over its spatial dims of (N, C, *)."""
    need_tensor(input, "instance_norm")
    shape = input._data.shape
    if use_input_stats:
        size_prods = 1
        for s in shape[2:]:
            size_prods *= s
        if size_prods == 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input size {input.size()}"
            )
    nd = len(shape)
    c = shape[wrap_dim(1, nd)]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != c:  # torch repeats them over the batch
            raise RuntimeError(
                f"{name} should contain {shape[0] * c} elements not {t._data.size * shape[0]}"
            )
    if use_input_stats and (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    _check_float(input, "batch_norm")
    _check_param_dtypes(input, (weight, bias, running_mean, running_var))
    _check_device(input, weight, bias, running_mean, running_var)
    wshape = (c,) + (1,) * (nd - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is false"
            )
        return _fixed_stats(input, running_mean, running_var, weight, bias, eps, wshape,
                            _channel_layout(nd)[0])
    running = None
    if (running_mean is not None or running_var is not None) and input._data.size:
        running = (running_mean, running_var, float(momentum), (0,))
    has_w, has_b = weight is not None, bias is not None
    return _Normalize.apply(
        input, *_affine_args(has_w, has_b, weight, bias), axes=tuple(range(2, nd)),
        wshape=wshape, waxes=_channel_layout(nd)[0], has_w=has_w, has_b=has_b,
        bshape=tuple(bias._data.shape) if has_b else None, eps=eps, running=running,
    )


# ------------------------------------------------------------------- layer/group/rms norm
def _check_normalized(input: Tensor, ns: tuple[int, ...], weight, bias, with_bias: bool,
                      rms: bool) -> None:
    if not ns:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    for name, t in (("weight", weight), ("bias", bias if with_bias else None)):
        if t is not None and tuple(t._data.shape) != ns:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t._data.shape)} and normalized_shape = {list(ns)}"
            )
    shape = input._data.shape
    k = len(ns)
    if len(shape) < k or tuple(shape[len(shape) - k:]) != ns:
        star = "*" if rms else "*, "
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [{star}"
            f"{', '.join(map(str, ns))}], but got input of size{list(shape)}"
        )


def layer_norm(input: Tensor, normalized_shape: list[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` dims."""
    need_tensor(input, "layer_norm")
    ns = _shape_list("layer_norm", normalized_shape)
    _check_normalized(input, ns, weight, bias, True, False)
    _check_float(input, "LayerNormKernelImpl")
    _check_param_dtypes(input, (weight, bias))
    _check_device(input, weight, bias)
    nd = input._data.ndim
    k = len(ns)
    has_w, has_b = weight is not None, bias is not None
    return _Normalize.apply(
        input, *_affine_args(has_w, has_b, weight, bias), axes=tuple(range(nd - k, nd)),
        wshape=None, waxes=tuple(range(nd - k)), has_w=has_w, has_b=has_b, bshape=ns,
        eps=eps, running=None,
    )


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalization: channels of (N, C, *) split into ``num_groups`` groups, each
    normalized over its channels and spatial dims, then a per-channel affine map."""
    need_tensor(input, "group_norm")
    shape = input._data.shape
    nd = len(shape)
    if nd < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {nd}")
    _verify_batch_size([shape[0] * shape[1] // num_groups, num_groups] + list(shape[2:]))
    n, c = shape[0], shape[1]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {list(shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t._data.ndim != 1 or t._data.size != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t._data.shape)} and input of shape "
                f"{list(shape)}"
            )
    _check_float(input, "GroupNormKernelImpl")
    _check_param_dtypes(input, (weight, bias))
    _check_device(input, weight, bias)
    spatial = math.prod(shape[2:])
    x = input.reshape((n, num_groups, c // num_groups, spatial))
    has_w, has_b = weight is not None, bias is not None
    y = _Normalize.apply(
        x, *_affine_args(has_w, has_b, weight, bias), axes=(2, 3),
        wshape=(num_groups, c // num_groups, 1), waxes=(0, 3), has_w=has_w, has_b=has_b,
        bshape=(c,), eps=eps, running=None,
    )
    return y.reshape(shape)


def rms_norm(input: Tensor, normalized_shape: list[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalization over the trailing ``normalized_shape`` dims; ``eps``
    defaults to the machine epsilon of the computation dtype."""
    need_tensor(input, "rms_norm")
    ns = _shape_list("rms_norm", normalized_shape)
    _check_normalized(input, ns, weight, None, False, True)
    _check_float(input, "rms_norm")
    _check_device(input, weight)
    dt = input._data.dtype
    if eps is None:
        eps = _EPS[dt.name]
    nd = input._data.ndim
    k = len(ns)
    args = (input,) if weight is None else (input, weight)
    if weight is not None and weight._data.dtype != dt:
        # torch computes in the input's dtype and returns it
        args = (input, cast(weight, _F32 if _low(dt) else dt))
    return _RMSNorm.apply(*args, axes=tuple(range(nd - k, nd)), waxes=tuple(range(nd - k)),
                          eps=float(eps))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalization across channels (dim 1) of an (N, C, *) input."""
    need_tensor(input, "local_response_norm")
    dim = input.dim()
    if dim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got {dim} dimensions)"
        )
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.view(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div
