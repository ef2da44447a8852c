"""Parsing an index key the way torch reads it: into a view key and an advanced key."""
from __future__ import annotations

import operator
import warnings

import numpy as np

from ..._tensor import Tensor
from ...backend import device as _dev
from ._common import _CPU, _FULL, _INT32, _INT64, _any_outside, _first_outside, _host, _shape_str, _xp

_UINT8 = np.dtype(np.uint8)
_INT, _SLICE, _NONE, _ELL, _BOOL, _IDX, _MASK = range(7)


def _on_device(a, x: Tensor):
    """The array ``a`` (numpy or device array) on ``x``'s device."""
    if x._device is _CPU:
        if type(a) is np.ndarray:
            return a
        return _dev.to_device(a, _CPU)
    if isinstance(a, np.ndarray):
        return _dev.cupy_module().asarray(a)
    if _dev.device_of_array(a) != x._device:
        return _dev.to_device(a, x._device)
    return a


def _bad_index_type(k) -> IndexError:
    return IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(k).__name__})"
    )


def _slice_int(v):
    if v is None or type(v) is int:
        return v
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            "slice indices must be integers or None or have an __index__ method"
        ) from None


def _norm_slice(k: slice) -> slice:
    start, stop, step = _slice_int(k.start), _slice_int(k.stop), _slice_int(k.step)
    if step is not None:
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")
    return slice(start, stop, step)


def _array_item(a, x: Tensor):
    """(kind, payload) for an index array (numpy or device), moved to ``x``'s device."""
    dt = a.dtype
    if dt.kind == "b" or dt == _UINT8:
        if dt == _UINT8:
            warnings.warn(
                "indexing with dtype disttorch.uint8 is now deprecated, please use a dtype "
                "disttorch.bool instead.", UserWarning, stacklevel=4)
            a = a.astype(np.bool_)
        if a.ndim == 0:
            return _BOOL, bool(a.item())
        return _MASK, _on_device(a, x)
    if dt == _INT64 or dt == _INT32:
        if a.ndim == 0:
            return _INT, int(a.item())
        return _IDX, _on_device(a, x)
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _seq_array(seq) -> np.ndarray:
    from ...creation import tensor

    if len(seq) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        t = tensor(seq)
    except (TypeError, ValueError) as e:
        raise IndexError(f"could not convert the index {seq!r} to a tensor: {e}") from None
    return _host(t._data)


def _item(k, x: Tensor):
    tk = type(k)
    if tk is int:
        return _INT, k
    if tk is slice:
        return _SLICE, _norm_slice(k)
    if k is None:
        return _NONE, None
    if k is Ellipsis:
        return _ELL, None
    if tk is bool or tk is np.bool_:
        return _BOOL, bool(k)
    if isinstance(k, Tensor):
        return _array_item(k._data, x)
    if isinstance(k, np.ndarray):
        return _array_item(k, x)
    if isinstance(k, np.integer):
        return _INT, int(k)
    if isinstance(k, (list, tuple, range)):
        return _array_item(_seq_array(list(k)), x)
    if isinstance(k, str):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(k, (float, np.floating)):
        raise _bad_index_type(k)
    if hasattr(k, "__cuda_array_interface__") or type(k).__name__ == "ndarray":
        return _array_item(k, x)
    try:
        return _INT, operator.index(k)
    except TypeError:
        raise _bad_index_type(k) from None


def _treat_as_tuple(key: list) -> bool:
    # torch (like old numpy) reads a short list holding slices, tensors or lists as a tuple
    if len(key) >= 32:
        return False
    for k in key:
        if isinstance(k, (Tensor, list, tuple, slice)) or k is None or k is Ellipsis:
            return True
    return False


def _key_items(key) -> tuple:
    if type(key) is tuple:
        return key
    if isinstance(key, tuple):  # Size, namedtuples
        return tuple(key)
    if type(key) is list and _treat_as_tuple(key):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq].", UserWarning, stacklevel=4)
        return tuple(key)
    return (key,)


def _parse(x: Tensor, key, check_bounds: bool):
    """(vkey, akey, checks) for ``x[key]``.

    ``vkey``: the numpy basic key of the view step (None when it would be the identity);
    ``akey``: the advanced key applied to that view (None for none); ``checks``: per
    integer index array, (position among index tensors, array, dim size) for bounds.
    """
    items = [_item(k, x) for k in _key_items(key)]
    shape = x._data.shape
    nd = len(shape)
    specified = 0
    for kind, p in items:
        if kind == _INT or kind == _SLICE or kind == _IDX:
            specified += 1
        elif kind == _MASK:
            specified += p.ndim
    if specified > nd:
        if nd == 0 and any(kind == _INT for kind, _ in items):
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {nd}")
    xp = _xp(x)
    vkey: list = []
    akey: list = []
    checks: list = []
    d = 0
    nadv = 0
    identity = True
    has_mask = False
    for pos, (kind, p) in enumerate(items):
        if kind == _INT:
            n = shape[d]
            if not -n <= p < n:
                raise IndexError(f"index {p} is out of bounds for dimension {pos} with size {n}")
            vkey.append(p)
            identity = False
            d += 1
        elif kind == _SLICE:
            vkey.append(p)
            akey.append(_FULL)
            if p != _FULL:
                identity = False
            d += 1
        elif kind == _NONE:
            vkey.append(None)
            akey.append(_FULL)
            identity = False
        elif kind == _ELL:
            n = min(nd - specified, nd - d)
            vkey.extend([_FULL] * n)
            akey.extend([_FULL] * n)
            d += n
        elif kind == _BOOL:
            # torch: unsqueeze, then index the new dim with [0] (True) or [] (False)
            vkey.append(None)
            akey.append(xp.zeros(1 if p else 0, dtype=np.int64))
            identity = False
            nadv += 1
        elif kind == _IDX:
            vkey.append(_FULL)
            akey.append(p)
            if check_bounds:
                checks.append((nadv, p, shape[d]))
            nadv += 1
            d += 1
        else:  # mask
            k = p.ndim
            for j in range(k):
                if p.shape[j] != shape[d + j]:
                    raise IndexError(
                        f"The shape of the mask {_shape_str(p.shape)} at index {j} does not "
                        f"match the shape of the indexed tensor {_shape_str(shape)} at index {d + j}"
                    )
            vkey.extend([_FULL] * k)
            akey.append(p)
            has_mask = True
            nadv += k
            d += k
    if nadv == 0:
        akey = None
    else:
        while akey and type(akey[-1]) is slice:
            akey.pop()
        arrays = [a for a in akey if type(a) is not slice]
        if len(arrays) > 1:
            if has_mask:
                expanded: list = []
                for a in akey:
                    if type(a) is not slice and a.dtype.kind == "b":
                        expanded.extend(xp.nonzero(a))
                    else:
                        expanded.append(a)
                akey = expanded
                arrays = [a for a in akey if type(a) is not slice]
            try:
                np.broadcast_shapes(*[a.shape for a in arrays])
            except ValueError:
                raise IndexError(
                    "shape mismatch: indexing tensors could not be broadcast together with shapes "
                    + ", ".join(_shape_str(a.shape) for a in arrays)
                ) from None
        akey = tuple(akey)
    if identity:
        vkey = None
    else:
        vkey.append(Ellipsis)  # keeps a 0-d result a view instead of a scalar copy
        vkey = tuple(vkey)
    for ordinal, a, n in checks:
        if _any_outside(xp, a, -n, n):
            v = _first_outside(a, -n, n)
            raise IndexError(f"index {v} is out of bounds for dimension {ordinal} with size {n}")
    return vkey, akey


def _parse_checked(x: Tensor, key):
    """``_parse`` with bounds checks where the array module does not raise for us."""
    return _parse(x, key, x._device is not _CPU)


def _fast_basic_key(key):
    """``key`` (with an Ellipsis appended) if it holds only ints, slices, None, Ellipsis."""
    t = type(key)
    if t is int:
        return (key, Ellipsis)
    if t is tuple:
        ell = False
        for k in key:
            tk = type(k)
            if tk is int or k is None:
                continue
            if tk is slice:
                s = k.step
                if s is None or (type(s) is int and s > 0):
                    continue
                return None
            if k is Ellipsis:
                if ell:
                    return None
                ell = True
                continue
            return None
        return key if ell else key + (Ellipsis,)
    if t is slice:
        s = key.step
        if s is None or (type(s) is int and s > 0):
            return (key,)
        return None
    if key is None or key is Ellipsis:
        return (key, Ellipsis) if key is None else (Ellipsis,)
    return None
