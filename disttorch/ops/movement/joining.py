"""Joining along a dim (cat, stack, h/v/d/column_stack, atleast_nd) and the Cat/Split, Stack/Unbind nodes."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import cast, wrap_dim
from ._common import _common_dtype, _tensor_seq, _zeros_for
from .padding import _pad_dim

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


# -- at least n dims ---------------------------------------------------------------------

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
