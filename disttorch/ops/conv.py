"""Convolution and pooling: conv{1,2,3}d, conv_transpose{1,2,3}d, max/avg/adaptive pools.

The array work is done by the kernels in ``_conv_kernels``; this module adds the
graph nodes, torch's argument handling (ints or tuples, ``'same'``/``'valid'``
padding, unbatched inputs) and torch's input checks and messages.

Convolution is closed under differentiation with three ops: ``_Conv`` (the forward
correlation), ``_ConvT`` (its input gradient, which is also the transposed
convolution) and ``_ConvW`` (its weight gradient). The backward of each is written
with the other two, so ``create_graph=True`` gives gradients of any order. A
gradient whose spatial size is shorter than the full conv output (a transposed conv
with ``output_padding >= stride``) is zero-padded at the end, and the matching
forward conv output is trimmed, which keeps the three ops adjoint to each other.

Pooling backward ops are linear in the incoming gradient, so each has an adjoint
op as its backward: average pooling and its gradient are adjoints of each other,
and the max-pool gradient (a scatter at the argmax positions) pairs with a gather.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from . import _conv_kernels as K
from ._op import Op

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
]

_IntArg = int | Sequence[int]
_f32 = np.dtype(np.float32)
_f64 = np.dtype(np.float64)
_i64 = np.dtype(np.int64)


# --------------------------------------------------------------------------- helpers


def _low(dtype) -> bool:
    """float16 / bfloat16: computed in float32 and rounded back (like torch's CPU
    kernels, which accumulate reduced-precision floats in float)."""
    return dtype.itemsize == 2 and dtype.kind in "fV"


def _in_f32(kernel, xp, a, *args):
    """``kernel(xp, a, *args)``, computed in float32 for a float16/bfloat16 ``a`` and
    rounded back (for a ``(values, indices)`` result, only the values)."""
    if not _low(a.dtype):
        return kernel(xp, a, *args)
    r = kernel(xp, a.astype(_f32), *args)
    if isinstance(r, tuple):
        return (r[0].astype(a.dtype),) + r[1:]
    return r.astype(a.dtype)


def _f32_pair(a, b):
    """``(a, b, dtype)``: float16/bfloat16 operands as float32 with the dtype to round the
    result back to, or the operands as they are and None."""
    if _low(a.dtype):
        return a.astype(_f32), b.astype(_f32), a.dtype
    return a, b, None


def _grad_into(kernel, xp, gy, x_shape, *args):
    """A pooling gradient ``kernel(xp, gy, *args)`` of shape ``x_shape`` (zeros for an
    empty ``gy``)."""
    if gy.size == 0:
        return xp.zeros(x_shape, dtype=gy.dtype)
    return _in_f32(kernel, xp, gy, *args)


def _legacy(t: Tensor) -> str:
    return dtypes.from_numpy(t._data.dtype).legacy_name


def _tensor_type(t: Tensor) -> str:
    return f"torch.{'cuda.' if t._device.type == 'cuda' else ''}{_legacy(t)}Tensor"


_C_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool",
}


def _c_name(t: Tensor) -> str:
    name = dtypes.from_numpy(t._data.dtype).name
    return _C_NAMES.get(name, name)


def _shape(t: Tensor) -> list[int]:
    return list(t._data.shape)


def _need_tensor(fname: str, name: str, pos: int, v) -> None:
    if not isinstance(v, Tensor):
        raise TypeError(
            f"{fname}(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}"
        )


def _index(v, name: str, fname: str) -> int:
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            f"{fname}(): argument '{name}' must be int or tuple of ints, not {type(v).__name__}"
        ) from None


def _seq(v, name: str, fname: str) -> int | tuple[int, ...]:
    """``v`` as an int (a single value) or a tuple of ints."""
    if isinstance(v, Tensor) and v._data.ndim == 0:
        v = v.item()
    try:
        return operator.index(v)
    except TypeError:
        pass
    if not isinstance(v, Sequence) or isinstance(v, str):
        raise TypeError(
            f"{fname}(): argument '{name}' must be tuple of ints, not {type(v).__name__}"
        )
    return tuple(_index(e, name, fname) for e in v)


def _nd_ints(v, nd: int, name: str, fname: str) -> tuple[int, ...]:
    """An int or a sequence of 1 int -> ``nd`` ints; other sequences as given (unchecked)."""
    t = _seq(v, name, fname)
    if type(t) is int:
        return (t,) * nd
    return t * nd if len(t) == 1 else t


def _conv_arg(v, nd: int, name: str, fname: str) -> tuple[int, ...]:
    """A conv parameter: an int or a list of 1 or ``nd`` ints -> ``nd`` ints."""
    t = _nd_ints(v, nd, name, fname)
    if len(t) != nd:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {nd} values to match "
            f"the convolution dimensions, but got {name}={list(t)}"
        )
    return t


_AXES = {1: ("height", "width"), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _as2d(vals: tuple[int, ...], fill: int) -> tuple[int, ...]:
    """1-d values in torch's 2-d message form (a leading dim of ``fill``)."""
    return (fill,) + vals if len(vals) == 1 else vals


def _spatial_sum_dims(nd: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, nd + 2))


def _bias_view(xp, b, nd: int):
    return b.reshape((-1,) + (1,) * nd)


def _pad_end(xp, a, want: tuple[int, ...]):
    """Zero-pad the spatial dims of ``a`` at the end up to ``want``."""
    have = a.shape[2:]
    if have == want:
        return a
    widths = [(0, 0), (0, 0)] + [(0, w - h) for h, w in zip(have, want)]
    return xp.pad(a, widths)


def _add_bias(xp, y, b):
    """``y`` plus the per-channel bias ``b`` (in place; None adds nothing)."""
    if b is not None:
        y += _bias_view(xp, b, y.ndim - 2).astype(y.dtype, copy=False)
    return y


def _full_out(in_shape, k, stride, padding, dilation) -> tuple[int, ...]:
    cs = K.conv_output_size
    return tuple(
        cs(L, kk, s, p, d) for L, kk, s, p, d in zip(in_shape[2:], k, stride, padding, dilation)
    )


# ----------------------------------------------------------------- convolution ops


class _ConvOp(Op):
    """Base of the convolution ops: ``stride``, ``padding``, ``dilation``, ``groups``."""

    def _geo(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                "groups": self.groups}


class _Conv(_ConvOp):
    """``y = conv(x, w) (+ b)``; ``trim`` keeps only the leading outputs (or None)."""

    def forward(self, x, w, b=None):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, w, dt = _f32_pair(x, w)
        if x.size == 0 or w.size == 0:
            out = _full_out(x.shape, w.shape[2:], self.stride, self.padding, self.dilation)
            # torch gives an input with no channels an output with no channels
            cout = w.shape[0] if x.shape[1] else 0
            y = xp.zeros((x.shape[0], cout) + out, dtype=x.dtype)
            if not cout:
                b = None
        else:
            y = K.conv_forward(xp, x, w, self.stride, self.padding, self.dilation, self.groups)
        trim = self.trim
        if trim is not None and tuple(y.shape[2:]) != trim:
            y = xp.ascontiguousarray(y[(slice(None), slice(None)) + tuple(slice(0, t) for t in trim)])
        y = _add_bias(xp, y, b)
        return y if dt is None else y.astype(dt)

    def backward(self, gy):
        x, w = self.saved_tensors
        need = self.needs_input_grad
        geo = self._geo()
        gx = _ConvT.apply(gy, w, out_shape=tuple(x.shape), **geo) if need[0] else None
        gw = _ConvW.apply(x, gy, w_shape=tuple(w.shape), **geo) if need[1] else None
        if len(need) == 3:
            gb = None
            if need[2]:
                if gy.shape[1] != w.shape[0]:  # an input without channels: see forward
                    gb = gy.sum().expand(w.shape[0])
                else:
                    gb = gy.sum(dim=_spatial_sum_dims(gy.ndim - 2))
            return gx, gw, gb
        return gx, gw


class _ConvT(_ConvOp):
    """``y = conv_input_grad(x, w) (+ b)`` into ``out_shape``: the gradient of a conv
    wrt its input, which is also the transposed convolution of ``x`` with ``w``."""

    def forward(self, x, w, b=None):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, w, dt = _f32_pair(x, w)
        out_shape = self.out_shape
        if x.size == 0 or w.size == 0:
            y = xp.zeros(out_shape, dtype=x.dtype)
        else:
            full = _full_out(out_shape, w.shape[2:], self.stride, self.padding, self.dilation)
            x = _pad_end(xp, xp.ascontiguousarray(x), full)
            y = K.conv_backward_input(
                xp, x, w, out_shape, self.stride, self.padding, self.dilation, self.groups
            )
        y = _add_bias(xp, y, b)
        return y if dt is None else y.astype(dt)

    def backward(self, gy):
        x, w = self.saved_tensors
        need = self.needs_input_grad
        geo = self._geo()
        gx = _Conv.apply(gy, w, trim=tuple(x.shape[2:]), **geo) if need[0] else None
        gw = _ConvW.apply(gy, x, w_shape=tuple(w.shape), **geo) if need[1] else None
        if len(need) == 3:
            gb = gy.sum(dim=_spatial_sum_dims(gy.ndim - 2)) if need[2] else None
            return gx, gw, gb
        return gx, gw


class _ConvW(_ConvOp):
    """``gw = conv_weight_grad(x, gy)`` of shape ``w_shape``."""

    def forward(self, x, gy):
        self.retain_inputs(0, 1)
        xp = self.xp
        x, gy, dt = _f32_pair(x, gy)
        if x.size == 0 or gy.size == 0:
            gw = xp.zeros(self.w_shape, dtype=x.dtype)
        else:
            full = _full_out(x.shape, self.w_shape[2:], self.stride, self.padding, self.dilation)
            gy = _pad_end(xp, xp.ascontiguousarray(gy), full)
            gw = K.conv_backward_weight(
                xp, xp.ascontiguousarray(x), gy, self.w_shape, self.stride, self.padding,
                self.dilation, self.groups,
            )
        return gw if dt is None else gw.astype(dt)

    def backward(self, ggw):
        x, gy = self.saved_tensors
        nx, ngy = self.needs_input_grad
        geo = self._geo()
        gx = _ConvT.apply(gy, ggw, out_shape=tuple(x.shape), **geo) if nx else None
        ggy = _Conv.apply(x, ggw, trim=tuple(gy.shape[2:]), **geo) if ngy else None
        return gx, ggy


class _PadEnd(Op):
    """Zero padding after the end of each spatial dim (torch's extra right padding for
    ``padding='same'`` with an even effective kernel)."""

    def forward(self, x):
        self.src = tuple(x.shape[2:])
        return self.xp.pad(x, [(0, 0), (0, 0)] + [(0, e) for e in self.extra])

    def backward(self, gy):
        return _CropEnd.apply(gy, size=self.src, extra=self.extra)


class _CropEnd(Op):
    """Keep the leading ``size`` entries of each spatial dim (adjoint of _PadEnd)."""

    def forward(self, x):
        keep = (slice(None), slice(None)) + tuple(slice(0, s) for s in self.size)
        return self.xp.ascontiguousarray(x[keep])

    def backward(self, gy):
        return _PadEnd.apply(gy, extra=self.extra)


# ---------------------------------------------------------------- conv front ends


def _check_conv_common(fname, nd, input, weight, bias) -> bool:
    """Type and rank checks; returns whether the input is unbatched."""
    _need_tensor(fname, "input", 1, input)
    _need_tensor(fname, "weight", 2, weight)
    if bias is not None:
        _need_tensor(fname, "bias", 3, bias)
    dim = input._data.ndim
    if dim != nd + 1 and dim != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fname}, "
            f"but got input of size: {_shape(input)}"
        )
    return dim == nd + 1


def _check_weight_rank(weight: Tensor, nd: int, stride: tuple[int, ...]) -> None:
    if weight._data.ndim != nd + 2:
        raise RuntimeError(
            f"expected stride to be a single integer value or a list of {weight._data.ndim - 2} "
            f"values to match the convolution dimensions, but got stride={list(stride)}"
        )


def _check_dtypes(fname: str, x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    dx = x._data.dtype
    if weight._data.dtype != dx:
        raise RuntimeError(
            f"Input type ({_tensor_type(x)}) and weight type ({_tensor_type(weight)}) should be "
            "the same or input should be a MKLDNN tensor and weight is a dense tensor"
        )
    if bias is not None and bias._data.dtype != dx:
        raise RuntimeError(
            f"Input type ({_c_name(x)}) and bias type ({_c_name(bias)}) should be the same"
        )
    if dx.kind == "b" or dx.kind == "c":
        kernel = f"slow_conv{'_transpose' if 'transpose' in fname else ''}{len(x.shape) - 2}d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(x)}\'')


def _check_groups_weight(groups: int, weight: Tensor) -> None:
    w0 = weight._data.shape[0]
    if w0 < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {_shape(weight)} instead"
        )
    if w0 % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{_shape(weight)}] instead"
        )


def _check_bias(bias: Tensor | None, n: int, weight: Tensor, transposed: bool) -> None:
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != n):
        pre = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(
            f"{pre} of size {_shape(weight)}, expected bias to be 1-dimensional with {n} "
            f"elements, but got bias of size {_shape(bias)} instead"
        )


def _check_in_channels(xs, ws, want: int, given: str) -> None:
    if xs[1] != want:
        raise RuntimeError(
            f"{given}, weight of size {list(ws)}, expected input{list(xs)} to have "
            f"{want} channels, but got {xs[1]} channels instead"
        )


def _conv_nd(fname, nd, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    unbatched = _check_conv_common(fname, nd, input, weight, bias)
    stride = _conv_arg(stride, nd, "stride", fname)
    dilation = _conv_arg(dilation, nd, "dilation", fname)
    groups = _index(groups, "groups", fname)
    _check_weight_rank(weight, nd, stride)
    k = weight._data.shape[2:]
    extra = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (kk - 1) for d, kk in zip(dilation, k)]
            padding = tuple(t // 2 for t in total)
            extra = tuple(t - 2 * (t // 2) for t in total)
            if not any(extra):
                extra = None
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _conv_arg(padding, nd, "padding", fname)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_groups_weight(groups, weight)
    x = input.unsqueeze(0) if unbatched else input
    xs = x._data.shape
    ws = weight._data.shape
    _check_in_channels(xs, ws, ws[1] * groups, f"Given groups={groups}")
    _check_bias(bias, ws[0], weight, False)
    ex = extra or (0,) * nd
    padded = tuple(L + 2 * p + e for L, p, e in zip(xs[2:], padding, ex))
    eff = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    if any(pi < ei for pi, ei in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, eff))}). "
            "Kernel size can't be greater than actual input size"
        )
    _check_dtypes(fname, x, weight, bias)
    if extra is not None:
        x = _PadEnd.apply(x, extra=extra)
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
           "trim": None}
    if bias is None:
        y = _Conv.apply(x, weight, **geo)
    else:
        y = _Conv.apply(x, weight, bias, **geo)
    return y.squeeze(0) if unbatched else y


def _conv_transpose_nd(fname, nd, input, weight, bias, stride, padding, output_padding, groups,
                       dilation) -> Tensor:
    unbatched = _check_conv_common(fname, nd, input, weight, bias)
    if isinstance(padding, str):
        raise TypeError(f"{fname}(): argument 'padding' must be tuple of ints, not str")
    stride = _conv_arg(stride, nd, "stride", fname)
    padding = _conv_arg(padding, nd, "padding", fname)
    output_padding = _conv_arg(output_padding, nd, "output_padding", fname)
    dilation = _conv_arg(dilation, nd, "dilation", fname)
    groups = _index(groups, "groups", fname)
    _check_weight_rank(weight, nd, stride)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    axes = _AXES[nd]
    if any(d <= 0 for d in dilation):
        desc = ", ".join(f"dilation_{a}: {v}" for a, v in zip(axes, _as2d(dilation, 1)))
        raise RuntimeError(f"dilation should be greater than zero, but got {desc}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    _check_groups_weight(groups, weight)
    x = input.unsqueeze(0) if unbatched else input
    xs = x._data.shape
    ws = weight._data.shape
    _check_in_channels(xs, ws, ws[0], "Given transposed=1")
    cout = ws[1] * groups
    _check_bias(bias, cout, weight, True)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        parts = [f"output_padding_{a}: {v}" for a, v in zip(axes, _as2d(output_padding, 0))]
        parts += [f"stride_{a}: {v}" for a, v in zip(axes, _as2d(stride, 1))]
        parts += [f"dilation_{a}: {v}" for a, v in zip(axes, _as2d(dilation, 1))]
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            + " ".join(parts)
        )
    k = ws[2:]
    out = tuple(
        K.conv_transpose_output_size(L, kk, s, p, op, d)
        for L, kk, s, p, op, d in zip(xs[2:], k, stride, padding, output_padding, dilation)
    )
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, _as2d(xs[2:], 1)))}). "
            f"Calculated output size per channel: ({' x '.join(map(str, _as2d(out, 1)))}). "
            "Output size is too small"
        )
    _check_dtypes(fname, x, weight, bias)
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    args = (x, weight) if bias is None else (x, weight, bias)
    y = _ConvT.apply(*args, out_shape=(xs[0], cout) + out, **geo)
    return y.squeeze(0) if unbatched else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntArg = 1,
           padding: _IntArg | str = 0, dilation: _IntArg = 1, groups: int = 1) -> Tensor:
    """1-d cross-correlation over (N, C_in, L) or unbatched (C_in, L) input."""
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntArg = 1,
           padding: _IntArg | str = 0, dilation: _IntArg = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation over (N, C_in, H, W) or unbatched (C_in, H, W) input."""
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntArg = 1,
           padding: _IntArg | str = 0, dilation: _IntArg = 1, groups: int = 1) -> Tensor:
    """3-d cross-correlation over (N, C_in, D, H, W) or unbatched (C_in, D, H, W) input."""
    return _conv_nd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: _IntArg = 1, padding: _IntArg = 0, output_padding: _IntArg = 0,
                     groups: int = 1, dilation: _IntArg = 1) -> Tensor:
    """1-d transposed convolution; weight is (C_in, C_out // groups, k)."""
    return _conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: _IntArg = 1, padding: _IntArg = 0, output_padding: _IntArg = 0,
                     groups: int = 1, dilation: _IntArg = 1) -> Tensor:
    """2-d transposed convolution; weight is (C_in, C_out // groups, kH, kW)."""
    return _conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: _IntArg = 1, padding: _IntArg = 0, output_padding: _IntArg = 0,
                     groups: int = 1, dilation: _IntArg = 1) -> Tensor:
    """3-d transposed convolution; weight is (C_in, C_out // groups, kD, kH, kW)."""
    return _conv_transpose_nd("conv_transpose3d", 3, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


# ------------------------------------------------------------------------ pool ops


class _ArgMaxPoolOp(Op):
    """``(y, indices)`` of a max pooling; indices are flat per input plane. Subclasses give
    the output shape and the kernel call."""

    def _out_shape(self, x) -> tuple[int, ...]:
        raise NotImplementedError

    def _pool(self, xp, x):
        raise NotImplementedError

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        out_shape = self._out_shape(x)
        if x.size == 0 or 0 in out_shape:
            y = xp.zeros(out_shape, dtype=x.dtype)
            idx = xp.zeros(out_shape, dtype=_i64)
        else:
            y, idx = _in_f32(self._pool, xp, x)
        self.idx = idx
        return y, idx

    def backward(self, gy, _gidx=None):
        return _IndexScatter.apply(gy, idx=self.idx, x_shape=self.x_shape)


class _MaxPool(_ArgMaxPoolOp):
    """Max pooling over windows (``kernel_size``, ``stride``, ``padding``, ``dilation``)."""

    def _out_shape(self, x):
        return self.out_shape

    def _pool(self, xp, x):
        return K.max_pool_forward(xp, x, self.kernel_size, self.stride, self.padding,
                                  self.dilation, self.ceil_mode)


class _AdaptiveMaxPool(_ArgMaxPoolOp):
    """Adaptive max pooling to ``output_size``."""

    def _out_shape(self, x):
        return x.shape[:2] + self.output_size

    def _pool(self, xp, x):
        return K.adaptive_max_pool_forward(xp, x, self.output_size)


class _IndexScatter(Op):
    """Gradient of max pooling: ``gy`` added into each plane at the flat ``idx``."""

    def forward(self, gy):
        return _grad_into(K.max_pool_backward, self.xp, gy, self.x_shape, self.idx, self.x_shape)

    def backward(self, ggx):
        return _IndexGather.apply(ggx, idx=self.idx, x_shape=self.x_shape)


class _IndexGather(Op):
    """Each plane of ``x`` read at the flat ``idx`` (adjoint of _IndexScatter)."""

    def forward(self, x):
        idx = self.idx
        nc = x.shape[0] * x.shape[1]
        if nc == 0 or idx.size == 0:
            return self.xp.zeros(idx.shape, dtype=x.dtype)
        flat = self.xp.ascontiguousarray(x).reshape(nc, -1)
        return self.xp.take_along_axis(flat, idx.reshape(nc, -1), axis=1).reshape(idx.shape)

    def backward(self, gy):
        return _IndexScatter.apply(gy, idx=self.idx, x_shape=self.x_shape)


class _AvgPool(Op):
    """Average pooling (``_avg_args``: kernel_size, stride, padding, ceil_mode,
    count_include_pad, divisor_override)."""

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        if x.size == 0:
            return xp.zeros(self.out_shape, dtype=x.dtype)
        k = x.dtype.kind
        if k == "f" and x.itemsize >= 4:
            return K.avg_pool_forward(xp, x, *self.args)
        if k in "iu":  # torch divides the integer window sum, truncating
            y = K.avg_pool_forward(xp, x.astype(_f64), *self.args)
            return xp.trunc(y).astype(x.dtype)
        return K.avg_pool_forward(xp, x.astype(_f32), *self.args).astype(x.dtype)

    def backward(self, gy):
        return _AvgPoolGrad.apply(gy, x_shape=self.x_shape, out_shape=tuple(gy.shape),
                                  args=self.args)


class _AvgPoolGrad(Op):
    """Gradient of average pooling; its own backward is the pooling again."""

    def forward(self, gy):
        return _grad_into(K.avg_pool_backward, self.xp, gy, self.x_shape, self.x_shape,
                          *self.args)

    def backward(self, ggx):
        return _AvgPool.apply(ggx, out_shape=self.out_shape, args=self.args)


class _AdaptiveAvgPool(Op):
    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        if x.size == 0 or 0 in self.output_size:
            return xp.zeros(x.shape[:2] + self.output_size, dtype=x.dtype)
        return _in_f32(K.adaptive_avg_pool_forward, xp, x, self.output_size)

    def backward(self, gy):
        return _AdaptiveAvgPoolGrad.apply(gy, x_shape=self.x_shape, output_size=self.output_size)


class _AdaptiveAvgPoolGrad(Op):
    def forward(self, gy):
        return _grad_into(K.adaptive_avg_pool_backward, self.xp, gy, self.x_shape, self.x_shape,
                          self.output_size)

    def backward(self, ggx):
        return _AdaptiveAvgPool.apply(ggx, output_size=self.output_size)


# ---------------------------------------------------------------- pool front ends

_COUNT = {1: "one int", 2: "two ints", 3: "three ints"}


def _pool_arg(v, nd: int, name: str, fname: str, *, optional: bool = False):
    """A pooling parameter: an int or 1 or ``nd`` ints (None/empty for an omitted
    stride) -> ``nd`` ints, or None when omitted."""
    if optional and (v is None or (isinstance(v, (tuple, list)) and len(v) == 0)):
        return None
    t = _nd_ints(v, nd, name, fname)
    if len(t) != nd:
        if fname == "max_pool1d":
            what = ("None, an int, list of ints, or tuple of ints" if optional
                    else "an int, list of ints or tuple of ints")
            raise RuntimeError(f"max_pool1d() {name} must be {what} of size 1 but got size {len(t)}")
        if fname in ("avg_pool1d",):
            raise RuntimeError(f"{fname}() argument '{name}' should contain one int (got {len(t)})")
        verb = "be either" if name == "dilation" else "either be"
        omitted = "omitted, " if optional else ""
        raise RuntimeError(
            f"{fname}: {name} must {verb} {omitted}a single int, or a tuple of {_COUNT[nd]}"
        )
    return t


def _pool_ksp(fname: str, nd: int, kernel_size, stride, padding):
    """``(kernel_size, stride, padding)`` of a window pool as ``nd`` ints each; an omitted
    stride is the kernel size."""
    k = _pool_arg(kernel_size, nd, "kernel_size", fname)
    s = _pool_arg(stride, nd, "stride", fname, optional=True)
    return k, (k if s is None else s), _pool_arg(padding, nd, "padding", fname)


def _pool_input(fname: str, nd: int, input, *, max_pool1d: bool = False) -> bool:
    """Rank and non-empty checks of a (max/avg) pool input; returns whether unbatched."""
    _need_tensor(fname, "input", 1, input)
    shape = input._data.shape
    dim = len(shape)
    if fname == "avg_pool1d" and dim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {dim}-dimensional tensor for argument #1 "
            "'self' (while checking arguments for avg_pool1d)"
        )
    if fname == "avg_pool2d" and dim < 3:
        lo, hi = (-dim, dim - 1) if dim else (-1, 0)
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got -3)")
    if fname.startswith("max_pool") and not max_pool1d and dim not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    if dim not in (nd + 1, nd + 2) or any(s == 0 for s in shape[dim - nd - 1:]):
        if max_pool1d:
            raise RuntimeError(
                "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch "
                f"size for input, but got:{list(shape)}"
            )
        shown = list(shape)
        n = nd
        if nd == 1:  # torch runs 1-d pooling as 2-d and reports the 2-d shape
            shown = shown[:-1] + [1] + shown[-1:]
            n = 2
        raise RuntimeError(
            f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{shown}"
        )
    return dim == nd + 1


def _pool_out_check(cs, out) -> None:
    """``cs``: (C, *spatial) of one sample."""
    if any(o < 1 for o in out):
        per = tuple(cs)
        cpo = (cs[0],) + tuple(out)
        if len(out) == 1:
            per = per[:1] + (1,) + per[1:]
            cpo = cpo[:1] + (1,) + cpo[1:]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, per))}). Calculated output size: "
            f"({'x'.join(map(str, cpo))}). Output size is too small"
        )


def _half_kernel_check(k, padding, dilation, *, check_plain: bool) -> None:
    for kk, p, d in zip(k, padding, dilation):
        if p > (d * (kk - 1) + 1) // 2:
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={kk} and dilation={d}"
            )
    if check_plain and any(p > kk // 2 for kk, p in zip(k, padding)):
        nd = len(k)
        if nd == 3:
            names = (("padT", padding[0]), ("padW", padding[2]), ("padH", padding[1]),
                     ("kT", k[0]), ("kW", k[2]), ("kH", k[1]))
        else:
            k2, p2 = _as2d(tuple(k), 1), _as2d(tuple(padding), 0)
            names = (("padW", p2[1]), ("padH", p2[0]), ("kW", k2[1]), ("kH", k2[0]))
        desc = ", ".join(f"{n} = {v}" for n, v in names)
        raise RuntimeError(
            f"pad should be smaller than or equal to half of kernel size, but got {desc}"
        )


def _pool_window_out(shape, k, s, p, d, ceil_mode: bool, *, dilated: bool) -> tuple[int, ...]:
    """Window checks of a 2-d/3-d max (``dilated``) or any avg pool; returns the output size."""
    nd = len(k)
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    letters = ("T", "H", "W")[3 - nd:] if nd > 1 else ("H", "W")
    if any(v <= 0 for v in k):
        desc = " ".join(f"k{a}: {v}" for a, v in zip(letters, _as2d(k, 1)))
        raise RuntimeError(f"kernel size should be greater than zero, but got {desc}")
    if any(v <= 0 for v in s):
        desc = " ".join(f"d{a}: {v}" for a, v in zip(letters, _as2d(s, 1)))
        raise RuntimeError(f"stride should be greater than zero, but got {desc}")
    if dilated and any(v <= 0 for v in d):
        desc = " ".join(f"dilation{a}: {v}" for a, v in zip(letters, _as2d(d, 1)))
        raise RuntimeError(f"dilation should be greater than zero, but got {desc}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(p)}")
    _half_kernel_check(k, p, d, check_plain=dilated)
    out = tuple(K.pool_output_size(L, kk, ss, pp, dd, ceil_mode)
                for L, kk, ss, pp, dd in zip(shape[-nd:], k, s, p, d))
    _pool_out_check(shape[-nd - 1:], out)
    return out


def _not_implemented(kernel: str, t: Tensor) -> NotImplementedError:
    return NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(t)}\'')


def _max_pool_nd(fname, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices):
    is1d = fname == "max_pool1d"
    unbatched = _pool_input(fname, nd, input, max_pool1d=is1d)
    k, s, p = _pool_ksp(fname, nd, kernel_size, stride, padding)
    d = _pool_arg(dilation, nd, "dilation", fname)
    ceil_mode = bool(ceil_mode)
    shape = input._data.shape
    sizes = shape[-nd:]
    if is1d:
        if k[0] <= 0:
            raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k[0]}")
        if s[0] <= 0:
            raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s[0]}")
        if p[0] < 0:
            raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p[0]}")
        if p[0] > k[0] // 2:
            raise RuntimeError(
                "max_pool1d() padding should be at most half of kernel size, but got "
                f"padding={p[0]} and kernel_size={k[0]}"
            )
        if d[0] <= 0:
            raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d[0]}")
        o = K.pool_output_size(sizes[0], k[0], s[0], p[0], d[0], ceil_mode)
        if o < 1:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {o}")
        out = (o,)
    else:
        out = _pool_window_out(shape, k, s, p, d, ceil_mode, dilated=True)
    kind = input._data.dtype.kind
    if kind == "b" or kind == "c":
        raise _not_implemented(f"max_pool{nd}d", input)
    if is1d and kind in "iu" and not return_indices and not input._requires_grad:
        raise _not_implemented("max_pool1d_impl", input)
    x = input.unsqueeze(0) if unbatched else input
    y, idx = _MaxPool.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                            ceil_mode=ceil_mode, out_shape=x._data.shape[:2] + out)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L) or (C, L); with ``return_indices`` also the argmax."""
    return _max_pool_nd("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling over (N, C, H, W) or (C, H, W); with ``return_indices`` also the argmax."""
    return _max_pool_nd("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool_nd("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                        ceil_mode, return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` returning ``(values, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
                            padding: _IntArg = 0, dilation: _IntArg = 1, ceil_mode: bool = False,
                            return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` returning ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool_nd(fname, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
    unbatched = _pool_input(fname, nd, input)
    k, s, p = _pool_ksp(fname, nd, kernel_size, stride, padding)
    ceil_mode = bool(ceil_mode)
    if divisor_override is not None:
        divisor_override = _index(divisor_override, "divisor_override", fname)
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    out = _pool_window_out(input._data.shape, k, s, p, (1,) * nd, ceil_mode, dilated=False)
    dt = input._data.dtype
    if not (dt.kind in "fV" or dt == _i64):
        raise _not_implemented(f"avg_pool{max(nd, 2)}d", input)
    x = input.unsqueeze(0) if unbatched else input
    args = (k, s, p, ceil_mode, bool(count_include_pad), divisor_override)
    y = _AvgPool.apply(x, out_shape=x._data.shape[:2] + out, args=args)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L)."""
    return _avg_pool_nd("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-d average pooling over (N, C, H, W) or (C, H, W)."""
    return _avg_pool_nd("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size: _IntArg, stride: _IntArg | None = None,
               padding: _IntArg = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _avg_pool_nd("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override)


def _adaptive_input(fname: str, nd: int, input, output_size, is_max: bool):
    """Checks of an adaptive pool; returns (unbatched, output size tuple)."""
    _need_tensor(fname, "input", 1, input)
    shape = input._data.shape
    dim = len(shape)
    if nd == 1:
        if dim not in (2, 3):
            raise RuntimeError(
                f"Expected 2 to 3 dimensions, but got {dim}-dimensional tensor for argument #1 "
                f"'self' (while checking arguments for {fname})"
            )
        t = _seq(output_size, "output_size", fname)
        if type(t) is int:
            t = (t,)
        if len(t) != 1:
            raise RuntimeError(
                f"{fname}() argument 'output_size' should contain one int (got {len(t)})"
            )
        out = t
    else:
        if dim not in (nd + 1, nd + 2):
            colon = ":" if is_max else ""
            raise RuntimeError(
                f"{fname}(): Expected {nd + 1}D or {nd + 2}D tensor, but got{colon} {list(shape)}"
            )
        if output_size is None or not isinstance(output_size, (tuple, list)):
            out = (_index(output_size, "output_size", fname),) * nd
        else:
            if len(output_size) != nd:
                raise RuntimeError(f"{fname}: output_size must be {nd}")
            out = tuple(shape[dim - nd + i] if o is None else _index(o, "output_size", fname)
                        for i, o in enumerate(output_size))
    name2d = f"adaptive_{'max' if is_max else 'avg'}_pool{max(nd, 2)}d"
    if any(o < 0 for o in out):
        shown = ", ".join(map(str, _as2d(out, 1)))
        raise RuntimeError(
            f"{name2d}: elements of output_size must be greater than or equal to 0 but "
            f"received {{{shown}}}"
        )
    for i in range(dim - nd, dim):
        if shape[i] == 0:
            shown = list(shape)
            j = i
            if nd == 1:
                shown = shown[:-1] + [1] + shown[-1:]
                j = i + 1
            raise RuntimeError(
                f"{name2d}(): Expected input to have non-zero size for non-batch dimensions, "
                f"but input has sizes {shown} with dimension {j} being empty"
            )
    if input._data.dtype.kind not in "fV":
        raise _not_implemented(name2d, input)
    return dim == nd + 1, out


def _adaptive_avg_pool_nd(fname, nd, input, output_size) -> Tensor:
    unbatched, out = _adaptive_input(fname, nd, input, output_size, False)
    x = input.unsqueeze(0) if unbatched else input
    y = _AdaptiveAvgPool.apply(x, output_size=out)
    return y.squeeze(0) if unbatched else y


def _adaptive_max_pool_nd(fname, nd, input, output_size, return_indices):
    unbatched, out = _adaptive_input(fname, nd, input, output_size, True)
    x = input.unsqueeze(0) if unbatched else input
    y, idx = _AdaptiveMaxPool.apply(x, output_size=out)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def adaptive_avg_pool1d(input: Tensor, output_size: _IntArg) -> Tensor:
    """1-d average pooling to a fixed output length."""
    return _adaptive_avg_pool_nd("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-d average pooling to a fixed output size (None entries keep the input size)."""
    return _adaptive_avg_pool_nd("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """3-d average pooling to a fixed output size (None entries keep the input size)."""
    return _adaptive_avg_pool_nd("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size: _IntArg, return_indices: bool = False):
    """1-d max pooling to a fixed output length; with ``return_indices`` also the argmax."""
    return _adaptive_max_pool_nd("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-d max pooling to a fixed output size; with ``return_indices`` also the argmax."""
    return _adaptive_max_pool_nd("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """3-d max pooling to a fixed output size; with ``return_indices`` also the argmax."""
    return _adaptive_max_pool_nd("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: _IntArg,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool1d`` returning ``(values, indices)`` (``torch.adaptive_max_pool1d``)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool3d`` returning ``(values, indices)``."""
    return adaptive_max_pool3d(input, output_size, True)
