"""Convolution front ends: torch's argument checks, ``conv{1,2,3}d``, ``conv_transpose{1,2,3}d``."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend import dtypes
from .. import _conv_kernels as K
from .._util import need_tensor
from ._common import _as2d, _index, _IntArg, _legacy, _nd_ints, _shape
from .conv_ops import _Conv, _ConvT, _PadEnd


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


def _check_conv_common(fname, nd, input, weight, bias) -> bool:
    """Type and rank checks; returns whether the input is unbatched."""
    need_tensor(input, fname)
    need_tensor(weight, fname, "weight", 2)
    if bias is not None:
        need_tensor(bias, fname, "bias", 3)
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

