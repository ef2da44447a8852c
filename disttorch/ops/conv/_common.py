"""Helpers the conv and pool submodules share: dtypes, float32 compute, argument parsing, names."""
from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes

_IntArg = int | Sequence[int]
_f32 = np.dtype(np.float32)
_f64 = np.dtype(np.float64)
_i64 = np.dtype(np.int64)



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


def _shape(t: Tensor) -> list[int]:
    return list(t._data.shape)


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


def _as2d(vals: tuple[int, ...], fill: int) -> tuple[int, ...]:
    """1-d values in torch's 2-d message form (a leading dim of ``fill``)."""
    return (fill,) + vals if len(vals) == 1 else vals


def _not_implemented(kernel: str, t: Tensor) -> NotImplementedError:
    return NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(t)}\'')

