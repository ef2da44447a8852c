"""Pooling under torch.nn.functional's names.

Max/average/adaptive pools come from ``disttorch.ops.conv``; this file adds the
power-average pools (``lp_pool*``) and the max-unpooling functions, composed from
existing ops.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ..._tensor import Tensor
from ...ops.conv import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]

_INF = float("inf")
_I64 = np.dtype(np.int64)
_LEGACY = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _ntuple(v, n: int) -> tuple:
    """torch's ``_single``/``_pair``/``_triple``: a scalar repeated ``n`` times, else a tuple."""
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) * n


# -- power-average pooling -------------------------------------------------------------------
def _lp_pool(nd: int, pool, maxpool, input: Tensor, norm_type, kernel_size, stride, ceil_mode):
    if isinstance(norm_type, (int, float)) and not isinstance(norm_type, bool):
        if norm_type == _INF:
            return maxpool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        if norm_type == -_INF:
            return -maxpool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if nd == 1:
        if not isinstance(kernel_size, int):
            raise TypeError(
                f"mul(): argument 'other' (position 1) must be Tensor, not {type(kernel_size).__name__}"
            )
        area = kernel_size
    else:
        area = math.prod(_ntuple(kernel_size, nd))
    if stride is not None:
        out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = pool(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (out.sign() * out.abs().relu()).mul(area).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: int | float, kernel_size: int, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """1-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""
    return _lp_pool(1, avg_pool1d, max_pool1d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: int | float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """2-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""
    return _lp_pool(2, avg_pool2d, max_pool2d, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: int | float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """3-d power-average pooling: ``(sum x**p over the window) ** (1/p)``."""
    return _lp_pool(3, avg_pool3d, max_pool3d, input, norm_type, kernel_size, stride, ceil_mode)


# -- max unpooling ---------------------------------------------------------------------------
def _unpool_output_size(input: Tensor, kernel_size, stride, padding, output_size) -> tuple:
    """The spatial output size: the default one, or ``output_size`` checked against it."""
    shape = input.shape
    nd = len(kernel_size)
    default = [(shape[-nd + d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d]
               for d in range(nd)]
    if output_size is None:
        return tuple(default)
    output_size = list(output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(
            f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
            f"length of '{len(output_size)}'"
        )
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(
                f'invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})'
            )
    return tuple(operator.index(o) for o in output_size)


def _max_unpool(nd: int, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size) -> Tensor:
    k = _ntuple(kernel_size, nd)
    s = _ntuple(stride, nd) if stride is not None else k
    p = _ntuple(padding, nd)
    out = _unpool_output_size(input, k, s, p, output_size)
    name = max(nd, 2)
    dim = input.dim() + (nd == 1)  # torch runs 1-d unpooling as 2-d with a trailing 1
    if dim not in (name + 1, name + 2):
        raise RuntimeError(
            f"Input to max_unpooling{name}d should be a {name + 1}d or {name + 2}d Tensor, but got "
            f"a tensor with {dim} dimensions."
        )
    if indices._data.dtype != _I64:
        name_ = _LEGACY.get(indices._data.dtype.name, indices._data.dtype.name)
        raise RuntimeError(f"elements in indices should be type int64 but got: {name_}")
    if tuple(indices.shape) != tuple(input.shape):
        shape_in = list(input.shape) + [1] * (nd == 1)
        shape_ix = list(indices.shape) + [1] * (nd == 1)
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({shape_in}) but got indices tensor with shape: {shape_ix}"
        )
    lead = tuple(input.shape[:-nd])
    total = math.prod(out)
    flat_idx = indices.reshape(lead + (-1,))
    bad = (flat_idx < 0) | (flat_idx >= total)
    if bad.any():  # torch names the last invalid index in memory order
        volume = "x".join(str(v) for v in (out + (1,) if nd == 1 else out))
        raise RuntimeError(
            f"Found an invalid max index: {int(flat_idx[bad][-1])} (output volumes are of size "
            f"{volume})"
        )
    y = input.new_zeros(lead + (total,)).scatter(-1, flat_idx, input.reshape(lead + (-1,)))
    return y.reshape(lead + out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: values at their argmax positions, zeros elsewhere."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d``: values at their argmax positions, zeros elsewhere."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d``: values at their argmax positions, zeros elsewhere."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
