"""Reordering elements along dims: flip, fliplr, flipud, roll and rot90."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import wrap_dim
from ..shape import clone, transpose
from ._common import _dim_of_0d, _int_arg, _int_list, _varargs

# -- graph ops ---------------------------------------------------------------------------

class Flip(Op):
    def forward(self, x):
        if not self.dims:
            return x.copy()
        return self.xp.ascontiguousarray(self.xp.flip(x, axis=self.dims))

    def backward(self, gy):
        return Flip.apply(gy, dims=self.dims)


class Roll(Op):
    def forward(self, x):
        return self.xp.roll(x, self.shifts, axis=self.dims)

    def backward(self, gy):
        neg = tuple(-s for s in self.shifts) if self.dims is not None else -self.shifts
        return Roll.apply(gy, shifts=neg, dims=self.dims)


# -- reordering --------------------------------------------------------------------------

def _unique_dims(dims, nd: int) -> tuple:
    out = tuple(wrap_dim(d, nd) for d in dims)
    seen = set()
    for d in out:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return out


def _flip(input: Tensor, dims) -> Tensor:
    dims = _unique_dims(_int_list(dims, "flip", "dims", 2), input._data.ndim)
    return Flip.apply(input, dims=dims if input._data.ndim else ())


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, like torch)."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(
            f"flip(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    return _flip(input, dims)


def _flip_method(self: Tensor, *dims) -> Tensor:
    """``Tensor.flip(*dims)`` or ``Tensor.flip(dims)``."""
    return _flip(self, list(_varargs(dims)))


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (left/right)."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (up/down)."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (over the flattened tensor when no dims)."""
    shifts = _int_list(shifts, "roll", "shifts", 1)
    dims = [] if dims is None else _int_list(dims, "roll", "dims", 2)
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input, shifts=shifts[0], dims=None)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    nd = input._data.ndim
    dims = tuple(_dim_of_0d(d, nd) for d in dims)
    return Roll.apply(input, shifts=tuple(shifts), dims=dims)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from dims[0] towards dims[1])."""
    dims = _int_list(dims, "rot90", "dims", 3)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k = _int_arg(k, "rot90", "k", 2) % 4
    if k == 1:
        return transpose(Flip.apply(input, dims=(d1,)), d0, d1)
    if k == 2:
        return Flip.apply(input, dims=(d0, d1))
    if k == 3:
        return transpose(Flip.apply(input, dims=(d0,)), d0, d1)
    return clone(input)
