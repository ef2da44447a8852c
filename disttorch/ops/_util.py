"""Shared helpers for op wrappers: operands, promotion, dims, casting."""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor, _wrap, _wrap_dim
from ..backend import device as _dev
from ..backend import dtypes
from ._op import Op

_from_np = dtypes.from_numpy
_SCALARS = (int, float, bool, np.number, np.bool_)


def is_scalar(x) -> bool:
    return isinstance(x, _SCALARS) or (isinstance(x, numbers.Number) and not isinstance(x, complex))


def tensor_arg_error(fname: str, arg: str, pos: int | None, value) -> TypeError:
    """torch's TypeError for a non-Tensor ``value`` passed as argument ``arg`` of ``fname``.

    ``pos=None`` leaves out the ``(position N)`` part, as torch does for some functions.
    """
    where = f" (position {pos})" if pos is not None else ""
    return TypeError(f"{fname}(): argument '{arg}'{where} must be Tensor, not {type(value).__name__}")


def need_tensor(x, fname: str, arg: str = "input", pos: int | None = 1) -> Tensor:
    """``x`` itself when it is a Tensor, else raise :func:`tensor_arg_error`."""
    if not isinstance(x, Tensor):
        raise tensor_arg_error(fname, arg, pos, x)
    return x


def scalar_tensor(value, np_dtype, device) -> Tensor:
    """A 0-d tensor holding ``value`` on ``device`` (no grad)."""
    xp = np if device is _dev.CPU else _dev.cupy_module()
    try:
        return _wrap(xp.asarray(value, dtype=np_dtype), device)
    except OverflowError:  # an out-of-range Python int wraps around, as in torch
        return _wrap(xp.asarray(np.asarray(value, dtype=np.int64).astype(np_dtype)), device)


def dtype_of(t: Tensor) -> dtypes.dtype:
    return _from_np(t._data.dtype)


def result_type(*operands) -> dtypes.dtype:
    """torch.result_type over Tensors and Python scalars."""
    dims, zero, scalars = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            (dims if o._data.ndim else zero).append(_from_np(o._data.dtype))
        elif is_scalar(o):
            scalars.append(o.item() if isinstance(o, (np.number, np.bool_)) else o)
        else:
            raise TypeError(f"expected Tensor or Number, got {type(o).__name__}")
    return dtypes.result_type_of(dims, zero, scalars)


class Cast(Op):
    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy  # the engine casts the grad back to the input's dtype


def cast(t: Tensor, np_dtype) -> Tensor:
    if t._data.dtype == np_dtype:
        return t
    return Cast.apply(t, dtype=np_dtype)


def to_tensor(x, like: Tensor | None = None, name: str = "other") -> Tensor:
    """``x`` as a Tensor (scalars and sequences become tensors on ``like``'s device)."""
    if isinstance(x, Tensor):
        return x
    from ..creation import tensor

    if is_scalar(x):
        dev = like._device if like is not None else _dev.CPU
        return tensor(x, device=dev)
    if isinstance(x, (list, tuple, np.ndarray)):
        return tensor(x, device=like._device if like is not None else None)
    raise TypeError(f"{name} must be a Tensor or a number, not {type(x).__name__}")


def binary_operands(a, b, *, float_result: bool = False):
    """Two Tensors of the promoted dtype (torch's rules) for a binary op.

    A Python scalar becomes a 0-d tensor; ``float_result`` (true division) turns an
    integral result into the default float dtype.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        da, db = a._data.dtype, b._data.dtype
        if da == db and (not float_result or da.kind == "f" or da.kind == "V"):
            return a, b
    elif isinstance(a, Tensor):
        tb = type(b)
        if tb is float or tb is int:  # fast path: a Python number never outranks a float tensor
            k = a._data.dtype.kind
            if k == "f" or k == "V" or (tb is int and k in "iu" and not float_result):
                return a, scalar_tensor(b, a._data.dtype, a._device)
        if not is_scalar(b):
            b = to_tensor(b, a)
    elif isinstance(b, Tensor):
        if not is_scalar(a):
            a = to_tensor(a, b)
    else:
        raise TypeError("binary op needs at least one Tensor operand")
    rt = result_type(a, b)
    if float_result and not rt.is_floating_point:
        rt = dtypes.get_default_dtype()
    nd = rt.np
    ref = a if isinstance(a, Tensor) else b
    a = cast(a, nd) if isinstance(a, Tensor) else scalar_tensor(a, nd, ref._device)
    b = cast(b, nd) if isinstance(b, Tensor) else scalar_tensor(b, nd, ref._device)
    return a, b


def wrap_dim(dim: int, ndim: int) -> int:
    return _wrap_dim(dim, ndim)


def normalize_dims(dim, ndim: int) -> tuple[int, ...]:
    """``dim`` (None, int, or sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (_wrap_dim(int(dim), ndim),)
    dims = tuple(_wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(dims))


def shape_arg(args) -> tuple[int, ...]:
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(Size)`` (``f(())`` for 0-d)."""
    if not args:
        raise TypeError("a size argument is required: pass the dims, or () for a 0-d tensor")
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, but got an element of type {type(s).__name__}")
        out.append(int(s))
    return tuple(out)
