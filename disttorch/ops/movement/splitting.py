"""Splitting along a dim into tuples of views (split, chunk, tensor_split, unbind...) and narrow/select."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import wrap_dim
from ..shape import clone
from ._common import _INT, _dim_of_0d, _int_arg, _int_list
from .joining import Split, Unbind
from .padding import _pad_dim

# -- graph ops ---------------------------------------------------------------------------

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
