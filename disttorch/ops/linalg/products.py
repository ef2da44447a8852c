"""Matrix and vector products: matmul (and ``@``), mm, bmm, mv, dot, vdot and their ops."""
from __future__ import annotations

from ..._tensor import Tensor
from .._op import Op
from .._util import need_tensor
from ._common import (
    _F32,
    _LOWP,
    _bmm_batch_error,
    _broadcast_batch,
    _check_bmm_operands,
    _cname,
    _mat,
    _mm_shape_error,
    _no_bool,
    _prod,
    _sname,
)


def _mm_dtype_error(a, b) -> RuntimeError:
    return RuntimeError(
        f"expected m1 and m2 to have the same dtype, but got: {_cname(a)} != {_cname(b)}")


def _dot_checks(a, b) -> None:
    if a.shape[0] != b.shape[0]:
        n, m = a.shape[0], b.shape[0]
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same "
            f"number of elements, but got {n} and {m} elements respectively")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {_sname(a)} and {_sname(b)}")
    _no_bool(a, "dot")


def _mv_checks(a, v) -> None:
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), vec ({v.shape[0]})")
    if a.dtype != v.dtype:
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_sname(v)}, {_sname(a)}, and {_sname(v)}")
    _no_bool(a, "addmv_impl_cpu")


# ------------------------------------------------------------------------------------------
# ops


class Dot(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if a.dtype in _LOWP:
            return self.xp.dot(a.astype(_F32), b.astype(_F32)).astype(a.dtype)
        return self.xp.dot(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return (gy * b if na else None), (gy * a if nb else None)


class Mm(Op):
    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if a.dtype in _LOWP:
            return _mat(self.xp, a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        return (Mm.apply(gy, b.mT) if na else None), (Mm.apply(a.mT, gy) if nb else None)


class Mv(Op):
    def forward(self, a, v):
        self.retain_inputs(0, 1)
        return _mat(self.xp, a, v)

    def backward(self, gy):
        a, v = self.saved_tensors
        na, nv = self.needs_input_grad
        ga = gy.unsqueeze(-1) * v if na else None
        gv = Mv.apply(a.mT, gy) if nv else None
        return ga, gv


class Matmul(Op):
    """``xp.matmul`` for a 1-d operand against a matrix, or batched operands."""

    def forward(self, a, b):
        self.retain_inputs(0, 1)
        if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous:
            # (..., m, k) @ (k, n): one GEMM over the folded rows
            rows = _prod(a.shape[:-1])
            return _mat(self.xp, a.reshape(rows, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[1],))
        return _mat(self.xp, a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        na, nb = self.needs_input_grad
        if b.ndim == 2 and a.ndim > 2:
            k, n = b.shape
            ga = matmul(gy, b.mT) if na else None
            rows = _prod(a.shape[:-1])
            gb = Mm.apply(a.reshape(rows, k).mT, gy.reshape(rows, n)) if nb else None
            return ga, gb
        a1, b1 = a.ndim == 1, b.ndim == 1
        if a1:
            gy, a = gy.unsqueeze(-2), a.unsqueeze(0)
        if b1:
            gy, b = gy.unsqueeze(-1), b.unsqueeze(-1)
        ga = gb = None
        if na:
            ga = matmul(gy, b.mT)  # batch dims broadcast in forward are summed by the engine
            if a1:
                ga = ga.squeeze(-2)
        if nb:
            gb = matmul(a.mT, gy)
            if b1:
                gb = gb.squeeze(-1)
        return ga, gb


class Bmm(Matmul):
    pass


# ------------------------------------------------------------------------------------------
# matmul family


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules for 1-d operands and broadcast batch dims."""
    if not isinstance(input, Tensor):
        need_tensor(input, "matmul")
    if not isinstance(other, Tensor):
        need_tensor(other, "matmul", "other", 2)
    a, b = input._data, other._data
    da, db = a.ndim, b.ndim
    if da == 2 and db == 2:
        if a.shape[1] != b.shape[0]:
            raise _mm_shape_error(a.shape, b.shape)
        if a.dtype != b.dtype:
            raise _mm_dtype_error(a, b)
        if a.dtype.kind == "b":
            _no_bool(a, "addmm_impl_cpu_")
        return Mm.apply(input, other)
    if da == 0 or db == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        _dot_checks(a, b)
        return Dot.apply(input, other)
    if db == 1:  # (..., n, k) @ (k,): fold the batch into the rows
        k = a.shape[-1]
        rows = _prod(a.shape[:-1])
        if k != b.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k}), vec ({b.shape[0]})")
        if a.dtype != b.dtype:
            raise RuntimeError(
                "addmv input tensors must have the same dtype, but got "
                f"{_sname(b)}, {_sname(a)}, and {_sname(b)}")
        _no_bool(a, "addmv_impl_cpu")
        if da == 2:
            return Mv.apply(input, other)
        return Mv.apply(input.reshape(rows, k), other).reshape(a.shape[:-1])
    if db == 2 and da > 2:  # (..., m, k) @ (k, n): one GEMM over the folded rows
        k = a.shape[-1]
        rows = _prod(a.shape[:-1])
        if k != b.shape[0]:
            raise _mm_shape_error((rows, k), b.shape)
        if a.dtype != b.dtype:
            raise _mm_dtype_error(a, b)
        _no_bool(a, "addmm_impl_cpu_")
        return Matmul.apply(input, other)
    if da == 1 and db == 2:
        if a.shape[0] != b.shape[0]:
            raise _mm_shape_error((1, a.shape[0]), b.shape)
        if a.dtype != b.dtype:
            raise _mm_dtype_error(a, b)
        _no_bool(a, "addmm_impl_cpu_")
        return Matmul.apply(input, other)
    # batched: at least one operand has batch dims
    batch = _broadcast_batch(a.shape[:-2], b.shape[:-2])
    k = a.shape[-1]
    k2 = b.shape[-2]
    if k != k2:
        nb = _prod(batch)
        raise _bmm_batch_error(nb, k, nb, k2)
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_sname(a)} but found {_sname(b)}")
    _no_bool(a, "bmm")
    return Bmm.apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-d only)."""
    need_tensor(input, "mm")
    need_tensor(mat2, "mm", "mat2", 2)
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a.shape[1] != b.shape[0]:
        raise _mm_shape_error(a.shape, b.shape)
    if a.dtype != b.dtype:
        raise _mm_dtype_error(a, b)
    _no_bool(a, "addmm_impl_cpu_")
    return Mm.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-d tensors with the same batch size."""
    need_tensor(input, "bmm")
    need_tensor(mat2, "bmm", "mat2", 2)
    a, b = input._data, mat2._data
    _check_bmm_operands(a, b, False)
    if b.shape[0] != a.shape[0] or b.shape[1] != a.shape[2]:
        raise _bmm_batch_error(a.shape[0], a.shape[2], b.shape[0], b.shape[1])
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_sname(a)} but found {_sname(b)}")
    _no_bool(a, "bmm")
    return Bmm.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    need_tensor(input, "mv")
    need_tensor(vec, "mv", "vec", 2)
    a, v = input._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    _mv_checks(a, v)
    return Mv.apply(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors."""
    need_tensor(input, "dot")
    need_tensor(tensor, "dot", "tensor", 2)
    a, b = input._data, tensor._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    _dot_checks(a, b)
    return Dot.apply(input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product conjugating the first argument (the plain dot product for real tensors)."""
    return dot(input, other)
