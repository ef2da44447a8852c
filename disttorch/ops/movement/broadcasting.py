"""Broadcasting and grids: broadcast_shapes, broadcast_tensors, meshgrid and cartesian_prod."""
from __future__ import annotations

import warnings

from ..._tensor import Size, Tensor
from ..shape import expand
from ._common import _INT, _tensor_seq, _varargs
from .joining import stack

# -- broadcasting and grids --------------------------------------------------------------

def broadcast_shapes(*shapes) -> Size:
    """The shape all ``shapes`` broadcast to (ints count as 1-d shapes)."""
    norm = []
    for s in shapes:
        if isinstance(s, _INT):
            s = (int(s),)
        norm.append(tuple(int(v) for v in s))
    nd = max((len(s) for s in norm), default=0)
    out = [1] * nd
    for i, s in enumerate(norm):
        for k in range(1, len(s) + 1):
            v = s[-k]
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {list(s)}")
            cur = out[-k]
            if cur == 1:
                out[-k] = v
            elif v != 1 and v != cur:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {v} at {-k}! Mismatching "
                    f"argument at index {i} had {s}; but expected shape should be broadcastable "
                    f"to {out}")
    return Size(out)


def _broadcast_shape_tensors(tensors) -> tuple:
    shape: list = []
    for t in tensors:
        s = t._data.shape
        if len(s) > len(shape):
            shape = [1] * (len(s) - len(shape)) + shape
        for k in range(1, len(s) + 1):
            a, b = shape[-k], s[-k]
            if a == 1:
                shape[-k] = b
            elif b != 1 and a != b:
                raise RuntimeError(
                    f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                    f"non-singleton dimension {len(shape) - k}")
    return tuple(shape)


def broadcast_tensors(*tensors) -> tuple:
    """Expand all tensors (views) to their common broadcast shape."""
    tensors = _tensor_seq(list(tensors), "broadcast_tensors")
    if len(tensors) == 1:
        return (tensors[0],)
    shape = _broadcast_shape_tensors(tensors)
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-d tensors; ``indexing`` 'ij' (matrix) or 'xy' (Cartesian)."""
    tensors = _tensor_seq(list(_varargs(tensors)), "meshgrid")
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                f"tensor of shape {list(t._data.shape)}")
    dt = tensors[0]._data.dtype
    dev = tensors[0]._device
    for t in tensors:
        if t._data.dtype != dt:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t._device != dev:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors = [tensors[1], tensors[0]] + tensors[2:]
    n = len(tensors)
    shape = tuple(t._data.size for t in tensors)
    grids = []
    for i, t in enumerate(tensors):
        view = [1] * n
        view[i] = shape[i]
        grids.append(expand(t.reshape(tuple(view)), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """The Cartesian product of 1-d tensors, one row per combination."""
    tensors = _tensor_seq(list(_varargs(tensors)), "cartesian_prod")
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)
