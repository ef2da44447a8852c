"""Shape ops that view the same data: reshape/view, expand, transpose/permute, squeeze."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..backend import dtypes
from ._op import Op
from ._util import normalize_dims, shape_arg, wrap_dim


def _infer_shape(shape: tuple, numel: int, src_shape) -> tuple:
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class View(Op):
    view = True

    def forward(self, x):
        self.src = x.shape
        try:
            return self.xp.reshape(x, self.shape, copy=False)
        except (ValueError, TypeError):
            pass
        if x.flags.c_contiguous:
            return x.reshape(self.shape)
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )

    def backward(self, gy):
        return gy.reshape(self.src)


class Reshape(Op):
    def forward(self, x):
        self.src = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.src)


def view(input: Tensor, *shape) -> Tensor:
    if not shape:
        raise TypeError('view() missing 1 required positional arguments: "size"')
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        return _view_dtype(input, dtypes.canonical(shape[0]))
    shape = _infer_shape(shape_arg(shape), input._data.size, input._data.shape)
    return View.apply(input, shape=shape)


def _view_dtype(input: Tensor, d) -> Tensor:
    """Reinterpret the bytes as another dtype of the same size (no grad, like torch)."""
    if d.itemsize != input._data.itemsize:
        raise RuntimeError("view(dtype) needs a dtype of the same element size")
    t = _wrap(input._data.view(d.np), input._device)
    t._vc = input._vc
    return t


def reshape(input: Tensor, *shape) -> Tensor:
    """A view when the data allows it, else a copy (like torch)."""
    if not shape:
        raise TypeError('reshape() missing 1 required positional arguments: "shape"')
    shape = _infer_shape(shape_arg(shape), input._data.size, input._data.shape)
    try:
        return View.apply(input, shape=shape)
    except RuntimeError:
        return Reshape.apply(input, shape=shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return reshape(input, 1)
    s = wrap_dim(start_dim, len(shape))
    e = wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    shape = input._data.shape
    if not shape:
        raise RuntimeError("unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, len(shape))
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        inner = _infer_shape(sizes, shape[d], (shape[d],))
    except RuntimeError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
            f"({shape[d]}) in the input tensor") from None
    return reshape(input, shape[:d] + inner + shape[d + 1:])


class Expand(Op):
    view = True

    def forward(self, x):
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy  # the engine sums a broadcast grad back to the input's shape


def expand(input: Tensor, *sizes) -> Tensor:
    sizes = shape_arg(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(disttorch.{input.dtype.name.capitalize()}Tensor{{{list(shape)}}}, size={list(sizes)}): "
            "the number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    out = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s < -1:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(sizes)}")
        if s == -1:
            if cur is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i}"
                )
            s = cur
        elif cur is not None and cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        out.append(s)
    out = tuple(out)
    if out == shape:
        return input
    return Expand.apply(input, shape=out)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, size)


class Permute(Op):
    view = True

    def forward(self, x):
        return x.transpose(self.perm)

    def backward(self, gy):
        return gy.permute(tuple(np.argsort(self.perm).tolist()))


def permute(input: Tensor, *dims) -> Tensor:
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = shape_arg(dims) if dims and not isinstance(dims[0], (tuple, list)) else tuple(dims[0])
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    perm = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(perm)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, perm=perm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return input
    a, b = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return Permute.apply(input, perm=tuple(perm))


def t(input: Tensor) -> Tensor:
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return transpose(input, 0, 1) if nd == 2 else input


def _matrix_transpose(input: Tensor, what: str) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return input
    if nd < 2:
        raise RuntimeError(
            f"tensor.{what} is only supported on matrices or batches of matrices. Got {nd}-D tensor.")
    return transpose(input, -2, -1)


def _conj_transpose(input: Tensor) -> Tensor:
    nd = input._data.ndim
    if nd == 0 or nd == 2:
        return transpose(input, 0, 1) if nd else input
    hint = ". For batches of matrices, consider using tensor.mH" if nd > 2 else "."
    raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {nd}-D tensor{hint}")


def adjoint(input: Tensor) -> Tensor:
    return _matrix_transpose(input, "adjoint()")


def movedim(input: Tensor, source, destination) -> Tensor:
    nd = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain the "
            f"same number of dims as destination ({dst} dims)")
    src = [wrap_dim(s, nd) for s in src]
    dst = [wrap_dim(d, nd) for d in dst]
    if nd == 0:
        return input
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({ds})")
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


class Squeeze(Op):
    view = True

    def forward(self, x):
        self.src = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.src)


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = tuple(d for d in normalize_dims(dim, len(shape)) if shape and shape[d] == 1)
    if not dims:
        return Squeeze.apply(input, shape=shape)
    new = tuple(s for i, s in enumerate(shape) if i not in dims)
    return Squeeze.apply(input, shape=new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    shape = input._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    return Squeeze.apply(input, shape=shape[:d] + (1,) + shape[d:])


class Contiguous(Op):
    def forward(self, x):
        return self.xp.ascontiguousarray(x)

    def backward(self, gy):
        return gy


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    return Contiguous.apply(input)


class Clone(Op):
    def forward(self, x):
        return x.copy(order="K")  # preserve_format: keep the strides' order

    def backward(self, gy):
        return gy


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return Clone.apply(input)


def _install() -> None:
    T = Tensor
    T.view, T.reshape, T.flatten, T.unflatten = view, reshape, flatten, unflatten
    T.expand, T.expand_as, T.broadcast_to = expand, expand_as, broadcast_to
    T.permute, T.transpose, T.t, T.adjoint = permute, transpose, t, adjoint
    T.swapaxes = T.swapdims = transpose
    T.movedim = T.moveaxis = movedim
    T.squeeze, T.unsqueeze, T.contiguous, T.clone = squeeze, unsqueeze, contiguous, clone
    T.view_as = lambda self, other: view(self, other._data.shape)
    T.reshape_as = lambda self, other: reshape(self, other._data.shape)
    T.T = property(lambda self: permute(self, tuple(range(self._data.ndim - 1, -1, -1))))
    T.mT = property(lambda self: _matrix_transpose(self, "mT"))
    T.mH = property(lambda self: _matrix_transpose(self, "mH"))
    T.H = property(_conj_transpose)

    T.squeeze_ = lambda self, dim=None: _inplace_view(self, squeeze, dim)
    T.unsqueeze_ = lambda self, dim: _inplace_view(self, unsqueeze, dim)
    T.t_ = lambda self: _inplace_view(self, t)
    T.transpose_ = lambda self, dim0, dim1: _inplace_view(self, transpose, dim0, dim1)


def _inplace_view(self: Tensor, fn, *args) -> Tensor:
    """``squeeze_``/``unsqueeze_``/``t_``/``transpose_``: ``self`` becomes ``fn(self)``, graph included."""
    from ..autograd import grad_mode

    if grad_mode.state.grad_enabled and self._requires_grad:
        if self.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        r = fn(self, *args)
        self.grad_fn, self._output_nr = r.grad_fn, r._output_nr
    else:
        r = fn(self.detach(), *args)
    self._data = r._data
    return self


_install()

__all__ = ["adjoint", "broadcast_to", "clone", "contiguous", "expand", "expand_as", "flatten", "moveaxis", "movedim", "permute", "reshape", "squeeze", "t", "transpose", "unflatten", "unsqueeze", "view"]
