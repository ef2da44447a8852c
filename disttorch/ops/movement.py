"""Ops that move, combine and pick elements: cat/stack/split, flip/roll, repeat, pad, diagonals.

Multi-output ops (``split``, ``chunk``, ``unbind``) are single graph nodes returning a tuple
of views; their adjoints are ``cat``/``stack``, and the other way round, so every backward
is itself differentiable. Gathers with host-side indices (non-constant ``pad``,
``repeat_interleave`` with a tensor of repeats) go through ``Take``, whose adjoint is an
index-add.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._tensor import Size, Tensor, _wrap
from ..backend import device as _dev
from ..backend import dtypes
from ._inplace import inplace_method
from ._op import Op
from ._util import cast, shape_arg, wrap_dim
from .shape import clone, expand, transpose

_INT = (int, np.integer)
_promote = dtypes.promote_types
_from_np = dtypes.from_numpy


# -- argument helpers -------------------------------------------------------------------

def _int_arg(x, fn: str, name: str, pos: int) -> int:
    if isinstance(x, _INT) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, Tensor) and x._data.dtype.kind in "iu" and x._data.size == 1:
        return int(x.item())
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be int, not {type(x).__name__}")


def _int_list(x, fn: str, name: str, pos: int) -> list:
    """An int or a sequence of ints as a list (torch's ``int[]`` arguments)."""
    if isinstance(x, _INT) and not isinstance(x, bool):
        return [int(x)]
    if isinstance(x, Tensor):
        return [int(v) for v in x.reshape(-1).tolist()]
    if isinstance(x, (tuple, list)):
        out = []
        for i, v in enumerate(x):
            if isinstance(v, Tensor) and v._data.size == 1 and v._data.dtype.kind in "iu":
                v = int(v.item())
            if not isinstance(v, _INT) or isinstance(v, bool):
                raise TypeError(
                    f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, but found "
                    f"element of type {type(v).__name__} at pos {i}"
                )
            out.append(int(v))
        return out
    raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, not {type(x).__name__}")


def _varargs(args) -> tuple:
    """``f(1, 2)``, ``f((1, 2))`` or ``f([1, 2])`` as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def _tensor_seq(tensors, fn: str) -> list:
    if isinstance(tensors, (tuple, list)):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        return list(tensors)
    raise TypeError(
        f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type(tensors).__name__}")


def _dim_of_0d(dim: int, nd: int) -> int:
    if nd == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, nd)


def _common_dtype(tensors) -> np.dtype:
    first = tensors[0]._data.dtype
    for t in tensors:
        if t._data.dtype != first:
            break
    else:
        return first
    d = _from_np(first)
    for t in tensors:
        d = _promote(d, _from_np(t._data.dtype))
    return d.np


def _zeros_for(grads, shapes):
    """The grads with each ``None`` replaced by zeros of its shape (at least one is set)."""
    ref = next(g for g in grads if g is not None)
    return [ref.new_zeros(s) if g is None else g for g, s in zip(grads, shapes)]


def _add_at(xp, a, idx, v) -> None:
    """``a[idx] += v`` along axis 0, repeated indices accumulating (``numpy.add.at``)."""
    if xp is np:
        np.add.at(a, idx, v)
        return
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(a, idx, v)
    else:  # older cupy
        import cupyx

        cupyx.scatter_add(a, idx, v)


# -- graph ops ---------------------------------------------------------------------------

class Cat(Op):
    """Concatenate along ``dim``; inputs flagged in ``skip`` (1-d empties) are left out."""

    def forward(self, *xs):
        self.sizes = [x.shape[self.dim] if x.ndim > self.dim else 0 for x in xs]
        kept = [x for x, s in zip(xs, self.skip) if not s] if self.any_skip else xs
        if not kept:
            return self.xp.concatenate(xs, axis=0)
        if len(kept) == 1:
            return kept[0].copy()
        return self.xp.concatenate(kept, axis=self.dim)

    def backward(self, gy):
        need = self.needs_input_grad
        skip = self.skip
        if self.any_skip and all(skip):
            return tuple(gy if n else None for n in need)
        kept = [s for s, sk in zip(self.sizes, skip) if not sk]
        if len(kept) == 1:
            parts = (gy,)
        else:
            bounds, a = [], 0
            for s in kept:
                bounds.append((a, a + s))
                a += s
            parts = Split.apply(gy, dim=self.dim, bounds=tuple(bounds))
        out, it = [], iter(parts)
        for sk, n in zip(skip, need):
            if sk:
                out.append(gy.new_zeros((0,)) if n else None)
            else:
                g = next(it)
                out.append(g if n else None)
        return tuple(out)


class Split(Op):
    """Slices ``[a, b)`` along ``dim`` for each pair in ``bounds``: a tuple of views."""

    view = True

    def forward(self, x):
        self.n = x.shape[self.dim]
        self.src = x.shape
        pre = (slice(None),) * self.dim
        return tuple(x[pre + (slice(a, b),)] for a, b in self.bounds)

    def backward(self, *grads):
        d, bounds, src = self.dim, self.bounds, self.src
        shapes = [src[:d] + (b - a,) + src[d + 1:] for a, b in bounds]
        grads = _zeros_for(grads, shapes)
        tiles = bounds[0][0] == 0 and bounds[-1][1] == self.n and all(
            bounds[i][1] == bounds[i + 1][0] for i in range(len(bounds) - 1))
        if tiles:
            if len(grads) == 1:
                return grads[0]
            return Cat.apply(*grads, dim=d, skip=(False,) * len(grads), any_skip=False)
        total = None
        for g, (a, b) in zip(grads, bounds):
            if b <= a:
                continue
            p = _pad_dim(g, d, a, self.n - b)
            total = p if total is None else total + p
        if total is None:
            return grads[0].new_zeros(src)
        return total


class Stack(Op):
    def forward(self, *xs):
        return self.xp.stack(xs, axis=self.dim)

    def backward(self, gy):
        parts = Unbind.apply(gy, dim=self.dim)
        return tuple(p if n else None for p, n in zip(parts, self.needs_input_grad))


class Unbind(Op):
    view = True

    def forward(self, x):
        self.src = x.shape
        pre = (slice(None),) * self.dim
        return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[self.dim]))

    def backward(self, *grads):
        d, src = self.dim, self.src
        shape = src[:d] + src[d + 1:]
        grads = _zeros_for(grads, [shape] * len(grads))
        return Stack.apply(*grads, dim=d)


class Narrow(Op):
    view = True

    def forward(self, x):
        self.n = x.shape[self.dim]
        return x[(slice(None),) * self.dim + (slice(self.start, self.start + self.length),)]

    def backward(self, gy):
        return _pad_dim(gy, self.dim, self.start, self.n - self.start - self.length)


class Select(Op):
    view = True

    def forward(self, x):
        self.n = x.shape[self.dim]
        return x[(slice(None),) * self.dim + (self.index, Ellipsis)]

    def backward(self, gy):
        i = self.index
        return _pad_dim(gy.unsqueeze(self.dim), self.dim, i, self.n - i - 1)


class ConstantPad(Op):
    """Pad (or crop, for negative amounts) every dim by ``pads[d] = (before, after)``."""

    def forward(self, x):
        src, dst, shape = [], [], []
        for s, (a, b) in zip(x.shape, self.pads):
            lo, hi = max(-a, 0), max(-b, 0)
            n = s - lo - hi
            src.append(slice(lo, lo + n))
            dst.append(slice(max(a, 0), max(a, 0) + n))
            shape.append(s + a + b)
        if self.value == 0:
            out = self.xp.zeros(tuple(shape), dtype=x.dtype)
        else:
            out = self.xp.full(tuple(shape), self.value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    def backward(self, gy):
        return ConstantPad.apply(gy, pads=tuple((-a, -b) for a, b in self.pads), value=0)


def _pad_dim(g: Tensor, dim: int, before: int, after: int) -> Tensor:
    """Zero-pad ``g`` along one dim (the adjoint of slicing)."""
    pads = [(0, 0)] * g._data.ndim
    pads[dim] = (before, after)
    return ConstantPad.apply(g, pads=tuple(pads), value=0)


class Take(Op):
    """``x.take(idx, axis)`` for a host index array ``idx`` into a dim of size ``n``."""

    def forward(self, x):
        didx = self.__dict__.get("didx")
        if didx is None:
            didx = self.didx = self.idx if self.xp is np else self.xp.asarray(self.idx)
        return x.take(didx, axis=self.axis)

    def backward(self, gy):
        return TakeBackward.apply(gy, idx=self.idx, didx=self.didx, axis=self.axis, n=self.n)


class TakeBackward(Op):
    """The adjoint of ``Take``: index-add the slices back into a dim of size ``n``."""

    def forward(self, g):
        xp = self.xp
        shape = list(g.shape)
        shape[self.axis] = self.n
        out = xp.zeros(tuple(shape), dtype=g.dtype)
        _add_at(xp, xp.moveaxis(out, self.axis, 0), self.didx, xp.moveaxis(g, self.axis, 0))
        return out

    def backward(self, gg):
        return Take.apply(gg, idx=self.idx, didx=self.didx, axis=self.axis, n=self.n)


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


class Tril(Op):
    def forward(self, x):
        return self.xp.triu(x, self.k) if self.upper else self.xp.tril(x, self.k)

    def backward(self, gy):
        return Tril.apply(gy, k=self.k, upper=self.upper)


def _writable_diagonal(a, offset, d1, d2):
    d = a.diagonal(offset, d1, d2)
    flags = d.flags
    if not getattr(flags, "writeable", True) and a.flags.writeable:
        flags.writeable = True  # numpy hands out read-only diagonals of writable arrays
    return d


class Diagonal(Op):
    view = True

    def forward(self, x):
        self.src = x.shape
        return _writable_diagonal(x, self.offset, self.dim1, self.dim2)

    def backward(self, gy):
        return DiagScatter.apply(gy, shape=self.src, offset=self.offset, dim1=self.dim1,
                                 dim2=self.dim2)


class DiagScatter(Op):
    """Zeros of ``shape`` with the input written on a diagonal (``diag_embed``)."""

    def forward(self, x):
        out = self.xp.zeros(self.shape, dtype=x.dtype)
        _writable_diagonal(out, self.offset, self.dim1, self.dim2)[...] = x
        return out

    def backward(self, gy):
        return Diagonal.apply(gy, offset=self.offset, dim1=self.dim1, dim2=self.dim2)


# -- joining -----------------------------------------------------------------------------

def cat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Concatenate tensors along an existing dim (1-d empty tensors are skipped)."""
    tensors = _tensor_seq(tensors, "cat")
    if axis is not None:
        dim = axis
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    skip = []
    ref = None
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if not shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        sk = shape == (0,)
        skip.append(sk)
        if not sk and ref is None:
            ref = i
    dt = _common_dtype(tensors)
    if ref is None:
        d = 0
    else:
        rshape = tensors[ref]._data.shape
        nd = len(rshape)
        d = wrap_dim(dim, nd)
        for i, t in enumerate(tensors):
            if skip[i]:
                continue
            shape = t._data.shape
            if len(shape) != nd:
                raise RuntimeError(
                    f"Tensors must have same number of dimensions: got {nd} and {len(shape)}")
            if shape != rshape:
                for k in range(nd):
                    if k != d and shape[k] != rshape[k]:
                        raise RuntimeError(
                            f"Sizes of tensors must match except in dimension {d}. Expected size "
                            f"{rshape[k]} but got size {shape[k]} for tensor number {i} in the list.")
    any_skip = any(skip)
    if any_skip:
        keep = [i for i, t in enumerate(tensors) if not skip[i] or t._requires_grad]
        tensors = [tensors[i] for i in keep]
        skip = [skip[i] for i in keep]
    ins = [t if t._data.dtype == dt else cast(t, dt) for t in tensors]
    return Cat.apply(*ins, dim=d, skip=tuple(skip), any_skip=any_skip)


def concat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Alias of :func:`cat`."""
    return cat(tensors, dim, axis=axis)


def concatenate(tensors, axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Alias of :func:`cat` (numpy's ``axis`` spelling)."""
    return cat(tensors, axis if dim is None else dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    tensors = _tensor_seq(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}")
    dt = _common_dtype(tensors)
    ins = [t if t._data.dtype == dt else cast(t, dt) for t in tensors]
    return Stack.apply(*ins, dim=d)


def _nonempty(tensors, fn: str) -> list:
    tensors = _tensor_seq(tensors, fn)
    if not tensors:
        raise RuntimeError(f"{fn} expects a non-empty TensorList")
    return tensors


def hstack(tensors) -> Tensor:
    """Concatenate column-wise (along dim 0 for 1-d inputs, else dim 1)."""
    tensors = atleast_1d(_nonempty(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise after :func:`atleast_2d`."""
    return cat(atleast_2d(_nonempty(tensors, "vstack")), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (dim 2) after :func:`atleast_3d`."""
    return cat(atleast_3d(_nonempty(tensors, "dstack")), 2)


def column_stack(tensors) -> Tensor:
    """Stack 0-d/1-d tensors as columns, concatenating 2-d ones along dim 1."""
    tensors = _nonempty(tensors, "column_stack")
    cols = [t.reshape(t._data.size, 1) if t._data.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


# -- splitting ---------------------------------------------------------------------------

def _split_bounds(sizes) -> tuple:
    bounds, a = [], 0
    for s in sizes:
        bounds.append((a, a + s))
        a += s
    return tuple(bounds)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Views of consecutive slices with the given sizes along ``dim``."""
    sizes = _int_list(split_sizes, "split_with_sizes", "split_sizes", 2)
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes have only non-negative entries, but got "
            f"split_sizes={sizes}")
    if sum(sizes) != n:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {d}), but got split_sizes={sizes}")
    return Split.apply(input, dim=d, bounds=_split_bounds(sizes))


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into chunks of ``split_size`` (the last may be smaller) or of listed sizes."""
    if not (isinstance(split_size_or_sections, _INT) and not isinstance(split_size_or_sections, bool)):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    s = int(split_size_or_sections)
    nd = tensor._data.ndim
    if nd == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, nd)
    n = tensor._data.shape[d]
    if s < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
    if s == 0:
        if n != 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        return Split.apply(tensor, dim=d, bounds=((0, 0),))
    k = max((n + s - 1) // s, 1)
    return Split.apply(tensor, dim=d, bounds=tuple((i * s, min((i + 1) * s, n)) for i in range(k)))


def _split_method(self: Tensor, split_size, dim: int = 0) -> tuple:
    """``Tensor.split(split_size, dim=0)``."""
    return split(self, split_size, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into at most ``chunks`` views of (nearly) equal size."""
    chunks = _int_arg(chunks, "chunk", "chunks", 1)
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if n == 0:
        return Split.apply(input, dim=d, bounds=((0, 0),) * chunks)
    return split(input, (n + chunks - 1) // chunks, d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """numpy.array_split: ``sections`` near-equal views, or views split at ``indices``."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.dtype.kind not in "iu":
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                f"{ios.dtype.name.capitalize()}")
        if ios._data.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {ios._data.ndim} dims")
        ios = int(ios.item()) if ios._data.ndim == 0 else [int(v) for v in ios.tolist()]
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if isinstance(ios, _INT) and not isinstance(ios, bool):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return Split.apply(input, dim=d, bounds=_split_bounds(sizes))
    idx = _int_list(ios, "tensor_split", "indices", 2)
    bounds, prev = [], 0
    for i in idx + [n]:
        a = slice(prev, i).indices(n)
        bounds.append((a[0], max(a[0], a[1])))
        prev = i
    return Split.apply(input, dim=d, bounds=tuple(bounds))


def _hvd_split(input: Tensor, ios, dim: int, fn: str, min_dims: int) -> tuple:
    nd = input._data.ndim
    if nd < min_dims:
        raise RuntimeError(
            f"torch.{fn} requires a tensor with at least {min_dims} dimension, but got a tensor "
            f"with {nd} dimensions!")
    if isinstance(ios, _INT) and not isinstance(ios, bool):
        n = input._data.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError(
                f"torch.{fn} attempted to split along dimension {dim}, but the size of the "
                f"dimension {n} is not divisible by the split_size {ios}!")
    return tensor_split(input, ios, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dim 1 (dim 0 for 1-d), sections dividing evenly."""
    return _hvd_split(input, indices_or_sections, 0 if input._data.ndim == 1 else 1, "hsplit", 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dim 0, sections dividing evenly."""
    return _hvd_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dim 2, sections dividing evenly."""
    return _hvd_split(input, indices_or_sections, 2, "dsplit", 3)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """All slices along ``dim`` as a tuple of views."""
    d = _dim_of_0d(dim, input._data.ndim)
    return Unbind.apply(input, dim=d)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim``."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if isinstance(start, bool) or not isinstance(start, (_INT, Tensor)):
        raise TypeError(
            f"narrow(): argument 'start' (position 2) must be int or Tensor, not {type(start).__name__}")
    start = _int_arg(start, "narrow", "start", 2)
    length = _int_arg(length, "narrow", "length", 3)
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return Narrow.apply(input, dim=d, start=start, length=length)


def narrow_copy(input: Tensor, dim: int, start, length: int) -> Tensor:
    """Like :func:`narrow` but returns a new tensor."""
    return clone(narrow(input, dim, start, length))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view ``input[..., index, ...]`` along ``dim`` (that dim removed)."""
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    index = _int_arg(index, "select", "index", 2)
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input._data.shape)} at "
            f"dimension {d}")
    return Select.apply(input, dim=d, index=index + n if index < 0 else index)


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


# -- padding -----------------------------------------------------------------------------

_CTYPE = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
          "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
          "float64": "double"}
_FMAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}


def _fill_value(value, np_dtype):
    kind = np_dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        v = int(value)
        info = np.iinfo(np_dtype)
        if not info.min <= v <= info.max:
            raise RuntimeError(
                f"value cannot be converted to type {_CTYPE[_from_np(np_dtype).name]} without overflow")
        return v
    v = float(value)
    fmax = _FMAX.get(_from_np(np_dtype).name)
    if fmax is not None and math.isfinite(v) and abs(v) > fmax:
        raise RuntimeError(
            f"value cannot be converted to type {_CTYPE[_from_np(np_dtype).name]} without overflow")
    return v


_NONCONST_HELP = (
    "\nSupported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def _pad_index(mode: str, n: int, lo: int, hi: int, dim: int, shape) -> np.ndarray:
    """Host indices into a dim of size ``n`` for padding it by ``(lo, hi)``."""
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError(
                "Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {dim} of input {list(shape)}")
        i = np.arange(-lo, n + hi, dtype=np.int64)
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(np.arange(-lo, n + hi, dtype=np.int64), 0, n - 1)
    # circular: crop the negative sides first, then wrap around what is left (at most once)
    if lo > n or hi > n:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    c0, c1 = max(-lo, 0), max(-hi, 0)
    m = n - c0 - c1
    a, b = max(lo, 0), max(hi, 0)
    if a > m or b > m:
        raise RuntimeError(
            "unsupported operation: padding wraps around a dimension cropped to size "
            f"{m} by negative padding")
    return c0 + (np.arange(-a, m + b, dtype=np.int64) % max(m, 1))


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims (``pad`` lists (before, after) from the last dim).

    ``mode`` is 'constant' (with ``value``), 'reflect', 'replicate' or 'circular';
    negative amounts crop.
    """
    p = _int_list(list(pad) if isinstance(pad, (tuple, list)) else pad, "pad", "pad", 2)
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(p) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    shape = input._data.shape
    nd = len(shape)
    k = len(p) // 2
    if k > nd:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(p)} and input of dimension {nd}")
    pads = [(0, 0)] * nd
    for i in range(k):
        pads[nd - 1 - i] = (p[2 * i], p[2 * i + 1])
    if mode == "constant":
        for s, (a, b) in zip(shape, pads):
            if s + a + b < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        v = 0 if value is None else _fill_value(value, input._data.dtype)
        return ConstantPad.apply(input, pads=tuple(pads), value=v)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(p)} is not supported for {nd}D input tensor.{_NONCONST_HELP}")
    if mode != "circular":
        if any(s == 0 for s in shape[nd - k - 1 if nd == k + 1 else 1:]):
            raise RuntimeError(
                f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                f"other non-zero dimensions for input, but got: {list(shape)}")
        if input._data.dtype.kind == "b":
            name = "reflection" if mode == "reflect" else "replication"
            raise NotImplementedError(f"\"{name}_pad{k}d\" not implemented for 'Bool'")
    out = input
    for d in range(nd - 1, nd - 1 - k, -1):
        lo, hi = pads[d]
        if lo == 0 and hi == 0:
            continue
        n = shape[d]
        if n + lo + hi < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
        idx = _pad_index(mode, n, lo, hi, d, shape)
        out = Take.apply(out, idx=idx, axis=d, n=n)
    return clone(out) if out is input else out


# -- triangles and diagonals -------------------------------------------------------------

def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements above ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tril.apply(input, k=_int_arg(diagonal, "tril", "diagonal", 2), upper=False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements below ``diagonal`` zeroed)."""
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tril.apply(input, k=_int_arg(diagonal, "triu", "diagonal", 2), upper=True)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal over ``dim1``/``dim2``, appended as the last dim."""
    nd = input._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=_int_arg(offset, "diagonal", "offset", 2), dim1=d1, dim2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Put the last dim of ``input`` on a diagonal of new dims ``dim1``/``dim2``."""
    shape = input._data.shape
    nd = len(shape) + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = _int_arg(offset, "diag_embed", "offset", 2)
    m = (shape[-1] if shape else 1) + abs(offset)
    out = list(shape[:-1])
    lo, hi = sorted((d1, d2))
    out.insert(lo, m)
    out.insert(hi, m)
    x = input if shape else input.reshape(1)
    return DiagScatter.apply(x, shape=tuple(out), offset=offset, dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d: a matrix with ``input`` on a diagonal; 2-d: a copy of the diagonal."""
    nd = input._data.ndim
    k = _int_arg(diagonal, "diag", "diagonal", 2)
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return DiagScatter.apply(input, shape=(m, m), offset=k, dim1=0, dim2=1)
    if nd == 2:
        return clone(Diagonal.apply(input, offset=k, dim1=0, dim2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers sum to int64)."""
    nd = input._data.ndim
    if nd != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {nd}")
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Diagonal.apply(input, offset=0, dim1=0, dim2=1).sum()


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


def _atleast(tensors, nd: int, fn):
    args = tensors
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(fn(t) for t in _tensor_seq(args[0], f"atleast_{nd}d"))
    if len(args) == 1:
        return fn(args[0])
    return tuple(fn(t) for t in _tensor_seq(list(args), f"atleast_{nd}d"))


def _a1(t: Tensor) -> Tensor:
    return t.reshape(1) if t._data.ndim == 0 else t


def _a2(t: Tensor) -> Tensor:
    nd = t._data.ndim
    if nd >= 2:
        return t
    return t.reshape(1, t._data.size)


def _a3(t: Tensor) -> Tensor:
    s = t._data.shape
    if len(s) >= 3:
        return t
    if len(s) == 0:
        return t.reshape(1, 1, 1)
    if len(s) == 1:
        return t.reshape(1, s[0], 1)
    return t.reshape(s[0], s[1], 1)


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dim (a tuple for several inputs)."""
    return _atleast(tensors, 1, _a1)


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dims (a tuple for several inputs)."""
    return _atleast(tensors, 2, _a2)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dims (a tuple for several inputs)."""
    return _atleast(tensors, 3, _a3)


def _install() -> None:
    T = Tensor
    T.split, T.split_with_sizes, T.chunk, T.tensor_split = (
        _split_method, split_with_sizes, chunk, tensor_split)
    T.hsplit, T.vsplit, T.dsplit, T.unbind = hsplit, vsplit, dsplit, unbind
    T.narrow, T.narrow_copy, T.select = narrow, narrow_copy, select
    T.flip, T.fliplr, T.flipud, T.roll, T.rot90 = _flip_method, fliplr, flipud, roll, rot90
    T.repeat, T.tile, T.repeat_interleave = repeat, _tile_method, _repeat_interleave_method
    T.tril, T.triu, T.diagonal, T.diag_embed, T.diag, T.trace = (
        tril, triu, diagonal, diag_embed, diag, trace)
    T.tril_, T.triu_ = inplace_method(tril), inplace_method(triu)


_install()

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "cartesian_prod", "cat", "chunk", "column_stack", "concat", "concatenate", "diag",
    "diag_embed", "diagonal", "dsplit", "dstack", "flip", "fliplr", "flipud", "hsplit", "hstack",
    "meshgrid", "narrow", "narrow_copy", "repeat_interleave", "roll", "rot90", "row_stack",
    "select", "split", "split_with_sizes", "stack", "tensor_split", "tile", "trace", "tril",
    "triu", "unbind", "vsplit", "vstack",
]
