"""Repeating elements: repeat, tile and repeat_interleave."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from .._op import Op
from .._util import shape_arg, wrap_dim
from ._common import Take, _int_arg, _varargs

# -- graph ops ---------------------------------------------------------------------------

class Repeat(Op):
    def forward(self, x):
        self.src = x.shape
        return self.xp.tile(x.reshape(self.padded), self.reps)

    def backward(self, gy):
        inter = []
        for r, s in zip(self.reps, self.padded):
            inter += [r, s]
        g = gy.reshape(tuple(inter)).sum(tuple(range(0, 2 * len(self.reps), 2)))
        return g.reshape(self.src)


class RepeatInterleave(Op):
    """``repeat`` every slice along ``dim`` ``r`` times (an int ``r``)."""

    def forward(self, x):
        self.src = x.shape
        return self.xp.repeat(x, self.r, axis=self.dim)

    def backward(self, gy):
        d, src = self.dim, self.src
        return gy.reshape(src[:d] + (src[d], self.r) + src[d + 1:]).sum(d + 1)


# -- repeating ---------------------------------------------------------------------------

def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dim (``Tensor.repeat``)."""
    reps = shape_arg(sizes)
    shape = input._data.shape
    if len(reps) < len(shape):
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    padded = (1,) * (len(reps) - len(shape)) + shape
    out = [r * s for r, s in zip(reps, padded)]
    for r, o in zip(reps, out):
        if r < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {o}: {out}")
    return Repeat.apply(input, reps=reps, padded=padded)


def tile(input: Tensor, dims) -> Tensor:
    """Like :meth:`Tensor.repeat`, with missing leading repeats taken as 1."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(
            f"tile(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    reps = shape_arg((dims,))
    nd = input._data.ndim
    if len(reps) < nd:
        reps = (1,) * (nd - len(reps)) + reps
    return repeat(input, reps)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times, consecutively."""
    if repeats is None:  # repeat_interleave(repeats): the index of each repeat
        reps = input
        if reps._data.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        host = _dev.to_device(reps._data, _dev.CPU).reshape(-1)
        if (host < 0).any():
            raise RuntimeError("repeats can not be negative")
        idx = np.repeat(np.arange(host.size, dtype=host.dtype), host)
        return _from_host(idx, reps)
    x = input
    nd = x._data.ndim
    if dim is None:
        if nd != 1:
            x = x.reshape(-1)
        d = 0
    else:
        d = wrap_dim(dim, nd)
        if nd == 0:
            if isinstance(repeats, Tensor):
                raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got {d + 1})")
    n = x._data.shape[d]
    if isinstance(repeats, Tensor):
        if repeats._data.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats._data.dtype.kind not in "iu":
            raise NotImplementedError(
                f"\"repeat_interleave\" not implemented for '{repeats.dtype.name.capitalize()}'")
        if repeats._data.size == 1:
            repeats = int(repeats.item())
        else:
            host = _dev.to_device(repeats._data, _dev.CPU)
            if host.size != n:
                raise RuntimeError(
                    "repeats must have the same size as input along dim, but got "
                    f"repeats.size(0) = {host.size} and input.size({d}) = {n}")
            if (host < 0).any():
                raise RuntimeError("repeats can not be negative")
            idx = np.repeat(np.arange(n, dtype=np.int64), host)
            if output_size is not None and output_size != idx.size:
                raise RuntimeError("allocated size does not match required size")
            return Take.apply(x, idx=idx, axis=d, n=n)
    r = _int_arg(repeats, "repeat_interleave", "repeats", 1)
    if r < 0:
        raise RuntimeError("Repeats must be non-negative")
    if output_size is not None and output_size != n * r:
        raise RuntimeError(
            f"repeat_interleave: Invalid output_size, expected {n * r} but got {output_size}")
    return RepeatInterleave.apply(x, r=r, dim=d)


def _repeat_interleave_method(self: Tensor, repeats, dim: int | None = None, *,
                              output_size: int | None = None) -> Tensor:
    """``Tensor.repeat_interleave(repeats, dim=None)``."""
    return repeat_interleave(self, repeats, dim, output_size=output_size)


def _tile_method(self: Tensor, *dims) -> Tensor:
    """``Tensor.tile(*dims)`` or ``Tensor.tile(dims)``."""
    return tile(self, _varargs(dims))


def _from_host(arr: np.ndarray, like: Tensor) -> Tensor:
    dev = like._device
    return _wrap(arr if dev.type == "cpu" else _dev.to_device(arr, dev), dev)
