"""Helpers the reduction submodules share: shape/dtype checks, grad reshaping, return types."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..._tensor import Tensor, _wrap
from .._util import normalize_dims

_INF = float("inf")
_INT64 = np.dtype(np.int64)


# -- helpers -----------------------------------------------------------------------------
def _kept_shape(shape, dims) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _unreduce(gy: Tensor, src, dims, keepdim) -> Tensor:
    """A reduced grad reshaped so it broadcasts against the input (``keepdim`` form)."""
    if not keepdim and dims:
        return gy.reshape(_kept_shape(src, dims))
    return gy


def _const(arr, like: Tensor) -> Tensor:
    """A constant (no-grad) tensor on ``like``'s device."""
    return _wrap(arr, like._device)


def _is_float(t: Tensor) -> bool:
    k = t._data.dtype.kind
    return k == "f" or k == "V"


def _low_precision(a) -> bool:
    """float16/bfloat16 arrays: accumulate in float32 (as torch does on CPU)."""
    return a.dtype.kind == "V" or a.dtype == np.float16


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
                "bfloat16": "BFloat16"}


def _scalar_type_name(d) -> str:
    return _TORCH_NAMES.get(d.name, d.name)


def _dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence; an empty sequence means all dims) as sorted axes.

    A 0-d tensor accepts dim 0 / -1 and reduces over nothing.
    """
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = normalize_dims(dim, ndim)
    return dims if ndim else ()


def _int_dim(dim, name: str) -> int:
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
        return int(dim)
    raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")


def _numel(shape, dims) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _return_type(name: str, fields: tuple):
    """A namedtuple printed like ``torch.return_types.<name>`` (picklable: module-level)."""
    cls = namedtuple(name, fields)
    cls.__module__ = __package__  # the package re-exports each ``_rt_<name>``
    cls.__qualname__ = f"_rt_{name}"

    def _repr(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"disttorch.return_types.{name}(\n{body})"

    cls.__repr__ = _repr
    return cls


# -- extreme-value grads -----------------------------------------------------------------
def _even_weights(xp, x, y, dims, keepdim, nan_ties=True):
    """Each element's share of the grad of an extreme value: ties split it evenly.

    With ``nan_ties`` a NaN result is shared among the NaNs (torch's max()/median());
    otherwise a NaN result matches nothing and gives NaN grads (torch's amax).
    """
    yk = y if keepdim or not dims else y.reshape(_kept_shape(x.shape, dims))
    hit = x == yk
    if nan_ties and (x.dtype.kind == "f" or x.dtype.kind == "V"):
        hit |= xp.isnan(x) & xp.isnan(yk)
    cnt = hit.sum(axis=dims, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hit.astype(x.dtype) / cnt.astype(x.dtype)
