"""Helpers the pointwise submodules share: dtype constants, argument checks, errors, ``_select``."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from ...backend import dtypes
from .._util import cast, tensor_arg_error

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_CPU = _dev.CPU
_LN2 = math.log(2.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)


def _quiet():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore")


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _zeros_like(t: Tensor) -> Tensor:
    return _wrap(_xp(t).zeros(t._data.shape, dtype=t._data.dtype), t._device)


def _legacy(t: Tensor) -> str:
    return dtypes.from_numpy(t._data.dtype).legacy_name


def _floating(x, fname: str) -> Tensor:
    """``x`` itself when floating; integer and bool tensors as the default float dtype."""
    try:
        k = x._data.dtype.kind
    except AttributeError:
        raise tensor_arg_error(fname, "input", 1, x) from None
    if k == "f" or k == "V":
        return x
    if not isinstance(x, Tensor):
        raise tensor_arg_error(fname, "input", 1, x)
    return cast(x, dtypes.get_default_dtype().np)


def _float_only(x, kernel: str, device_suffix: bool = True) -> Tensor:
    """``x`` when floating, else torch's NotImplementedError for the kernel."""
    try:
        k = x._data.dtype.kind
    except AttributeError:
        raise tensor_arg_error(kernel.split("_")[0], "input", 1, x) from None
    if k == "f" or k == "V":
        return x
    name = f"{kernel}_{x._device.type}" if device_suffix else kernel
    raise NotImplementedError(f'"{name}" not implemented for \'{_legacy(x)}\'')


def _broadcast_error(shapes) -> RuntimeError:
    n = max(len(s) for s in shapes)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    for i in range(n - 1, -1, -1):
        sizes = [p[i] for p in padded]
        big = [s for s in sizes if s != 1]
        if len(set(big)) > 1:
            a = next(s for s in sizes if s != 1)
            b = next(s for s in sizes if s != 1 and s != a)
            return RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {i}"
            )
    return RuntimeError(f"shapes {[list(s) for s in shapes]} cannot be broadcast together")


def _apply_bc(op: type, *inputs: Tensor, **attrs):
    """``op.apply`` for three operands: numpy's broadcast ValueError as torch's RuntimeError."""
    try:
        return op.apply(*inputs, **attrs)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        raise _broadcast_error([t._data.shape for t in inputs]) from None


# -- array helpers (numpy and cupy alike, only ``xp`` calls) ---------------------------------------

_BITS = {_F32: np.dtype(np.int32), _F64: np.dtype(np.int64)}


def _select(xp, c, a, b):
    """``xp.where(c, a, b)`` for arrays or numbers of one float dtype.

    numpy's ``where`` branches per element and is ~10x slower than a few passes on a random
    mask, so on the CPU a float32/float64 select is done on the bit patterns instead:
    ``b ^ ((a ^ b) * c)`` in the same-width integer type (exact for every value, NaN too).
    """
    if type(a) is not type(b):  # a number on one side: a 0-d array of the other's dtype
        if isinstance(a, (int, float)):
            a = xp.asarray(a, dtype=b.dtype)
        else:
            b = xp.asarray(b, dtype=a.dtype)
    if xp is np and a.dtype == b.dtype and c.size >= 4096:
        it = _BITS.get(a.dtype)
        if it is not None:
            ai, bi = a.view(it), b.view(it)
            if bi.ndim == 0 and not bi:  # b is +0.0: a's bits where c, zero bits elsewhere
                return np.multiply(ai, c, dtype=it).view(a.dtype)
            r = np.multiply(np.bitwise_xor(ai, bi), c, dtype=it)
            r ^= bi
            return r.view(a.dtype)
    return xp.where(c, a, b)
