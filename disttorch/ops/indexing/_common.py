"""Helpers the indexing submodules share: dtypes, array modules and devices, bounds, shapes."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import grad_mode
from ...backend import device as _dev
from ...backend import dtypes

_CPU = _dev.CPU
_FULL = slice(None)
_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)

_TORCH_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
    "bool": "Bool",
}


def _tname(np_dtype) -> str:
    return _TORCH_NAMES[dtypes.from_numpy(np_dtype).name]


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _zeros(xp, shape, dtype, device) -> Tensor:
    return _wrap(xp.zeros(shape, dtype=dtype), device)


def _zero(t: Tensor):
    return _xp(t).zeros((), dtype=t._data.dtype)


def _needs_graph(*tensors) -> bool:
    if not grad_mode.state.grad_enabled:
        return False
    for t in tensors:
        if isinstance(t, Tensor) and t._requires_grad:
            return True
    return False


def _host(a) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else _dev.to_device(a, _CPU)


def _index_array(index: Tensor, like: Tensor):
    a = index._data
    if index._device is not like._device:
        a = _dev.to_device(a, like._device)
    return a


def _first_outside(a, lo: int, hi: int):
    """The first value of ``a`` (flat order) outside ``[lo, hi)``, or None."""
    h = _host(a).reshape(-1)
    bad = np.nonzero((h < lo) | (h >= hi))[0]
    return int(h[bad[0]]) if bad.size else None


def _any_outside(xp, a, lo: int, hi: int) -> bool:
    if a.size == 0:
        return False
    if xp is np:
        return bool(a.min() < lo or a.max() >= hi)
    # one device-to-host transfer for both bounds
    mn, mx = xp.stack((a.min(), a.max())).tolist()
    return mn < lo or mx >= hi


def _check_dim_bounds(xp, idx, n: int, d: int, error=RuntimeError) -> None:
    if _any_outside(xp, idx, 0, n):
        v = _first_outside(idx, 0, n)
        raise error(f"index {v} is out of bounds for dimension {d} with size {n}")


def _shape_str(shape) -> str:
    return str(list(shape))


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """``np.broadcast_shapes`` with torch's error."""
    n = max(len(a), len(b))
    out = []
    for i in range(n):
        sa = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        sb = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                f"non-singleton dimension {i}"
            )
        out.append(sb if sa == 1 else sa)
    return tuple(out)
