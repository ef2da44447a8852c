"""Adaptive pools: ``adaptive_avg_pool{1,2,3}d``, ``adaptive_max_pool{1,2,3}d`` (and ``_with_indices``)."""
from __future__ import annotations

from ..._tensor import Tensor
from .._util import need_tensor
from ._common import _as2d, _index, _IntArg, _not_implemented, _seq
from .pool_ops import _AdaptiveAvgPool, _AdaptiveMaxPool


def _adaptive_input(fname: str, nd: int, input, output_size, is_max: bool):
    """Checks of an adaptive pool; returns (unbatched, output size tuple)."""
    need_tensor(input, fname)
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

