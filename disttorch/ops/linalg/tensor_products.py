"""Products beyond matrices: outer/ger, inner, tensordot, kron and cross."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from .._util import need_tensor, wrap_dim
from ._common import _broadcast_batch, _no_bool, _prod, _sname
from .products import Dot, mm


class Cross(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        return self.xp.cross(a, b, axis=self.dim)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        # xp.cross broadcasts; the engine sums broadcast grads back to each input's shape
        ga = Cross.apply(b, gy, dim=self.dim) if na else None
        gb = Cross.apply(gy, a, dim=self.dim) if nb else None
        return ga, gb


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors (with type promotion)."""
    need_tensor(input, "outer")
    need_tensor(vec2, "outer", "vec2", 2)
    for name, x in (("self", input), ("vec2", vec2)):
        if x._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x._data.ndim}-D")
    return input.reshape(-1, 1) * vec2


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Alias of :func:`outer`."""
    return outer(input, vec2)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum-product over the last dims of both tensors (a plain product with a 0-d operand)."""
    need_tensor(input, "inner")
    need_tensor(other, "inner", "other", 2)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        return input * other
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(a.shape)} and {list(b.shape)}")
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if a.ndim == 1 and b.ndim == 1:
        _no_bool(a, "dot")
        return Dot.apply(input, other)
    return tensordot(input, other, ([-1], [-1]))


def _dims_list(dims) -> tuple[list, list]:
    if isinstance(dims, Tensor):
        dims = dims.item() if dims._data.ndim == 0 else dims.tolist()
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        return int(dims), None
    if isinstance(dims, (list, tuple)):
        da, db = dims  # ValueError for more or fewer than two lists, as in torch
        for d in (da, db):
            if isinstance(d, Tensor):
                raise TypeError(
                    "tensordot(): argument 'dims_self' (position 3) must be tuple of ints, not Tensor")
            if not isinstance(d, (list, tuple)):
                raise TypeError(
                    "tensordot(): argument 'dims_self' (position 3) must be tuple of ints, not "
                    f"{type(d).__name__}")
        return list(da), list(db)
    raise RuntimeError(
        "tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
        f"containing two lists, but got dims={dims}")


def tensordot(a: Tensor, b: Tensor, dims: int | tuple | list | Tensor = 2) -> Tensor:
    """Contract ``dims`` (an int: the last dims of ``a`` with the first of ``b``; or two lists)."""
    need_tensor(a, "tensordot", "a", 1)
    need_tensor(b, "tensordot", "b", 2)
    sa, sb = a._data.shape, b._data.shape
    da, db = _dims_list(dims)
    if db is None:
        n = da
        if n < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={n}")
        if n > len(sa) or n > len(sb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        da, db = list(range(-n, 0)), list(range(n))
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    wa = [wrap_dim(int(d), len(sa)) for d in da]
    wb = [wrap_dim(int(d), len(sb)) for d in db]
    for w in (wa, wb):
        seen = set()
        for d in w:
            if d in seen:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
            seen.add(d)
    for i, (x, y) in enumerate(zip(wa, wb)):
        if sa[x] != sb[y]:
            if sa[x] == 1:  # a size-1 dim broadcasts: contract the other side's sum
                b = b.sum(y, keepdim=True, dtype=b.dtype)
            elif sb[y] == 1:
                a = a.sum(x, keepdim=True, dtype=a.dtype)
            else:
                raise RuntimeError(
                    f"contracted dimensions need to match, but first has size {sa[x]} in dim {da[i]} "
                    f"and second has size {sb[y]} in dim {db[i]}")
    sa, sb = a._data.shape, b._data.shape
    free_a = [d for d in range(len(sa)) if d not in wa]
    free_b = [d for d in range(len(sb)) if d not in wb]
    pa, pb = free_a + wa, wb + free_b
    k = _prod(sa[d] for d in wa)
    m = _prod(sa[d] for d in free_a)
    n = _prod(sb[d] for d in free_b)
    if pa != list(range(len(sa))):
        a = a.permute(pa)
    if pb != list(range(len(sb))):
        b = b.permute(pb)
    r = mm(a.reshape(m, k), b.reshape(k, n))
    return r.reshape(tuple(sa[d] for d in free_a) + tuple(sb[d] for d in free_b))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (with type promotion)."""
    need_tensor(input, "kron")
    need_tensor(other, "kron", "other", 2)
    sa, sb = input._data.shape, other._data.shape
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    ra, rb = [], []
    for x, y in zip(sa, sb):
        ra += [x, 1]
        rb += [1, y]
    r = input.reshape(tuple(ra)) * other.reshape(tuple(rb))
    return r.reshape(tuple(x * y for x, y in zip(sa, sb)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    need_tensor(input, "cross")
    need_tensor(other, "cross", "other", 2)
    a, b = input._data, other._data
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_sname(a)} but found {_sname(b)}")
    shape = _broadcast_batch(a.shape, b.shape)
    if dim is None:
        for i, s in enumerate(shape):
            if s == 3:
                dim = i
                break
        else:
            raise RuntimeError("no dimension of size 3 in input")
    d = wrap_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and {b.shape[d]}")
    return Cross.apply(input, other, dim=d)
