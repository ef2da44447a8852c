"""Matrix products: matmul/mm/bmm/mv/dot, the add* family, outer, inner, tensordot, einsum, kron, cross.

Forward passes call BLAS through ``xp.matmul`` on the arrays as they are (transposed
views included); backward passes are written with these same ops (so ``create_graph``
gives higher-order gradients) and return batch-broadcast gradients in the broadcast
shape, which the engine sums back to each input's shape.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ._inplace import inplace_method
from ._op import Op
from ._util import cast, result_type, wrap_dim

_F32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)
# float16 and bfloat16 products are computed in float32 on the CPU (as torch does);
# numpy has no BLAS for them, and bfloat16 matmul would come back as float32
_LOWP = frozenset(d.np for d in (dtypes.float16, dtypes.bfloat16) if d is not None)

# torch's two spellings of dtypes in error messages: ScalarType names and C type names
_SCALAR_NAME = {
    "bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
    "int64": "Long", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
    "float64": "Double",
}
_C_NAME = {
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "float32": "float", "float64": "double",
}


def _sname(a) -> str:
    return _SCALAR_NAME[dtypes.from_numpy(a.dtype).name]


def _cname(a) -> str:
    return _C_NAME[dtypes.from_numpy(a.dtype).name]


def _mat(xp, a, b):
    """``a @ b`` (BLAS for float32/float64; half precision through float32 on the CPU)."""
    if a.dtype in _LOWP and (xp is np or a.dtype.kind == "V"):
        return xp.matmul(a.astype(_F32), b.astype(_F32)).astype(a.dtype)
    return xp.matmul(a, b)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _require_tensor(fn: str, name: str, pos: int, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _no_bool(a, kernel: str) -> None:
    if a.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _mm_shape_error(sa, sb) -> RuntimeError:
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")


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


def _bmm_batch_error(b, k, b2, k2) -> RuntimeError:
    return RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: [{b2}, {k2}].")


def _broadcast_batch(sa: tuple, sb: tuple) -> tuple:
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    out = [0] * n
    for i in range(n - 1, -1, -1):  # torch reports the last mismatching dim
        x, y = pa[i], pb[i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                f"dimension {i}")
        out[i] = y if x == 1 else x
    return tuple(out)


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


class _AddProduct(Op):
    """``beta * input + alpha * product(x, y)``; ``input`` broadcasts to the product's shape."""

    def forward(self, inp, x, y):
        self.retain_inputs(1, 2)
        p = self._product(self.xp, x, y)
        if self.alpha != 1:
            p *= self.alpha
        if self.beta != 0:  # beta == 0 ignores input (nan and inf included), as torch does
            p += inp if self.beta == 1 else inp * self.beta
        return p

    @staticmethod
    def _product(xp, x, y):
        return _mat(xp, x, y)

    def backward(self, g):
        x, y = self.saved_tensors
        ni, nx, ny = self.needs_input_grad
        gi = gx = gy = None
        if ni:
            gi = g if self.beta == 1 else g * self.beta
        if nx or ny:
            ga = g if self.alpha == 1 else g * self.alpha
            if nx:
                gx = self._grad_x(ga, y)
            if ny:
                gy = self._grad_y(x, ga)
        return gi, gx, gy


class Addmm(_AddProduct):
    @staticmethod
    def _grad_x(g, y):
        return Mm.apply(g, y.mT)

    @staticmethod
    def _grad_y(x, g):
        return Mm.apply(x.mT, g)


class Addmv(_AddProduct):
    @staticmethod
    def _grad_x(g, y):
        return g.unsqueeze(-1) * y

    @staticmethod
    def _grad_y(x, g):
        return Mv.apply(x.mT, g)


class Baddbmm(_AddProduct):
    @staticmethod
    def _grad_x(g, y):
        return Bmm.apply(g, y.mT)

    @staticmethod
    def _grad_y(x, g):
        return Bmm.apply(x.mT, g)


class Addbmm(_AddProduct):
    @staticmethod
    def _product(xp, x, y):
        # sum_b x[b] @ y[b] as one GEMM: (n, B*k) @ (B*k, p)
        nb, n, k = x.shape
        return _mat(xp, x.transpose((1, 0, 2)).reshape(n, nb * k), y.reshape(nb * k, y.shape[2]))

    @staticmethod
    def _grad_x(g, y):
        return matmul(g, y.mT)

    @staticmethod
    def _grad_y(x, g):
        return matmul(x.mT, g)


class Addr(_AddProduct):
    @staticmethod
    def _product(xp, x, y):
        return x[:, None] * y

    @staticmethod
    def _grad_x(g, y):
        return Mv.apply(g, y)

    @staticmethod
    def _grad_y(x, g):
        return Mv.apply(g.mT, x)


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


# ------------------------------------------------------------------------------------------
# matmul family


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules for 1-d operands and broadcast batch dims."""
    if not isinstance(input, Tensor):
        _require_tensor("matmul", "input", 1, input)
    if not isinstance(other, Tensor):
        _require_tensor("matmul", "other", 2, other)
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
    _require_tensor("mm", "input", 1, input)
    _require_tensor("mm", "mat2", 2, mat2)
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


def _check_bmm_operands(a, b, index_error: bool) -> None:
    for name, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            if index_error and x.ndim < 3:
                wrap_dim(2, x.ndim)  # torch reads size(2) first: IndexError
            raise RuntimeError(f"{name} must be a 3D tensor")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-d tensors with the same batch size."""
    _require_tensor("bmm", "input", 1, input)
    _require_tensor("bmm", "mat2", 2, mat2)
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
    _require_tensor("mv", "input", 1, input)
    _require_tensor("mv", "vec", 2, vec)
    a, v = input._data, vec._data
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    _mv_checks(a, v)
    return Mv.apply(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors."""
    _require_tensor("dot", "input", 1, input)
    _require_tensor("dot", "tensor", 2, tensor)
    a, b = input._data, tensor._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    _dot_checks(a, b)
    return Dot.apply(input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product conjugating the first argument (the plain dot product for real tensors)."""
    return dot(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors (with type promotion)."""
    _require_tensor("outer", "input", 1, input)
    _require_tensor("outer", "vec2", 2, vec2)
    for name, x in (("self", input), ("vec2", vec2)):
        if x._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x._data.ndim}-D")
    return input.reshape(-1, 1) * vec2


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Alias of :func:`outer`."""
    return outer(input, vec2)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum-product over the last dims of both tensors (a plain product with a 0-d operand)."""
    _require_tensor("inner", "input", 1, input)
    _require_tensor("inner", "other", 2, other)
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


# ------------------------------------------------------------------------------------------
# add* family


def _coef(c, np_dtype, name: str, strict: bool):
    """``alpha``/``beta`` as the result dtype's scalar kind (torch truncates for integers)."""
    k = np_dtype.kind
    if strict:  # addr's checks
        if isinstance(c, (bool, np.bool_)) and k != "b":
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if k in "biu" and isinstance(c, (float, np.floating)):
            raise RuntimeError(
                f"For integral input tensors, argument {name} must not be a floating point number.")
    if k in "iu":
        return int(c)
    if k == "b":
        return bool(c)
    return float(c)


def _check_broadcastable(t: Tensor, shape: tuple) -> None:
    s = t._data.shape
    if s == shape:
        return
    if len(s) <= len(shape) and all(x == 1 or x == y for x, y in zip(reversed(s), reversed(shape))):
        return
    t.expand(shape)  # raises torch's expand error
    raise RuntimeError(f"input of shape {list(s)} can't be broadcast to {list(shape)}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    for i, (n, x) in enumerate((("input", input), ("mat1", mat1), ("mat2", mat2))):
        _require_tensor("addmm", n, i + 1, x)
    a, b, c = mat1._data, mat2._data, input._data
    for name, x in (("mat1", a), ("mat2", b)):
        if x.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {x.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise _mm_shape_error(a.shape, b.shape)
    if c.dtype != b.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_sname(c)} and {_sname(b)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_sname(a)} and {_sname(b)}")
    _no_bool(a, "addmm_impl_cpu_")
    _check_broadcastable(input, (a.shape[0], b.shape[1]))
    return Addmm.apply(input, mat1, mat2, beta=_coef(beta, a.dtype, "beta", False),
                       alpha=_coef(alpha, a.dtype, "alpha", False))


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    for i, (n, x) in enumerate((("input", input), ("mat", mat), ("vec", vec))):
        _require_tensor("addmv", n, i + 1, x)
    a, v, c = mat._data, vec._data, input._data
    if a.ndim != 2 or v.ndim != 1 or c.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {c.ndim}, {a.ndim}, {v.ndim}")
    n, k = a.shape
    if (c.ndim == 1 and c.shape[0] not in (n, 1)) or k != v.shape[0]:
        shown = c.shape[0] if c.ndim == 1 and c.shape[0] != 1 else n
        raise RuntimeError(f"size mismatch, got input ({shown}), mat ({n}x{k}), vec ({v.shape[0]})")
    if not (a.dtype == v.dtype == c.dtype):
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{_sname(c)}, {_sname(a)}, and {_sname(v)}")
    _no_bool(a, "addmv_impl_cpu")
    return Addmv.apply(input, mat, vec, beta=_coef(beta, a.dtype, "beta", False),
                       alpha=_coef(alpha, a.dtype, "alpha", False))


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    for i, (n, x) in enumerate((("input", input), ("batch1", batch1), ("batch2", batch2))):
        _require_tensor("baddbmm", n, i + 1, x)
    a, b, c = batch1._data, batch2._data, input._data
    _check_bmm_operands(a, b, True)
    if b.shape[0] != a.shape[0] or b.shape[1] != a.shape[2]:
        raise _bmm_batch_error(a.shape[0], a.shape[2], b.shape[0], b.shape[1])
    if not (a.dtype == b.dtype == c.dtype):
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {_cname(c)}, batch1: {_cname(a)}, batch2: {_cname(b)}")
    _no_bool(a, "baddbmm_cpu")
    _check_broadcastable(input, (a.shape[0], a.shape[1], b.shape[2]))
    return Baddbmm.apply(input, batch1, batch2, beta=_coef(beta, a.dtype, "beta", False),
                         alpha=_coef(alpha, a.dtype, "alpha", False))


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    for i, (n, x) in enumerate((("input", input), ("batch1", batch1), ("batch2", batch2))):
        _require_tensor("addbmm", n, i + 1, x)
    a, b, c = batch1._data, batch2._data, input._data
    _check_bmm_operands(a, b, True)
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"batch1 and batch2 must have same number of batches, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and {b.shape[1]}x{b.shape[2]})")
    if c.dtype != b.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_sname(c)} and {_sname(b)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_sname(a)} and {_sname(b)}")
    _no_bool(a, "addmm_impl_cpu_")
    _check_broadcastable(input, (a.shape[1], b.shape[2]))
    return Addbmm.apply(input, batch1, batch2, beta=_coef(beta, a.dtype, "beta", False),
                        alpha=_coef(alpha, a.dtype, "alpha", False))


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (with type promotion)."""
    for i, (n, x) in enumerate((("input", input), ("vec1", vec1), ("vec2", vec2))):
        _require_tensor("addr", n, i + 1, x)
    for name, x in (("vec1", vec1), ("vec2", vec2)):
        if x._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {x._data.ndim}-D")
    nd = result_type(input, vec1, vec2).np
    b = _coef(beta, nd, "beta", True)
    a = _coef(alpha, nd, "alpha", True)
    _check_broadcastable(input, (vec1._data.shape[0], vec2._data.shape[0]))
    return Addr.apply(cast(input, nd), cast(vec1, nd), cast(vec2, nd), beta=b, alpha=a)


# ------------------------------------------------------------------------------------------
# tensordot, kron, cross


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
    _require_tensor("tensordot", "a", 1, a)
    _require_tensor("tensordot", "b", 2, b)
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
    _require_tensor("kron", "input", 1, input)
    _require_tensor("kron", "other", 2, other)
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
    _require_tensor("cross", "input", 1, input)
    _require_tensor("cross", "other", 2, other)
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


# ------------------------------------------------------------------------------------------
# einsum

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # torch's label order
_LETTER_SET = frozenset(_LETTERS)


class Einsum(Op):
    """``xp.einsum`` on an explicit equation whose labels have one size each (no broadcasting)."""

    def forward(self, *arrays):
        n = len(arrays)
        if n > 1:
            self.retain_inputs(*range(n))
        eq = ",".join(self.subs) + "->" + self.out
        xp = self.xp
        if arrays[0].dtype in _LOWP and (xp is np or arrays[0].dtype.kind == "V"):
            r = xp.einsum(eq, *[x.astype(_F32) for x in arrays], optimize=n > 1 and "greedy")
            return r.astype(arrays[0].dtype)
        if n == 1:
            r = xp.einsum(eq, arrays[0], dtype=self.dtype)
            # a pure transpose or diagonal comes back as a view of the input: own the result
            return r.copy() if len(set(self.out)) == len(set(self.subs[0])) else r
        # two operands: tensordot (BLAS); more: a greedy contraction order
        return xp.einsum(eq, *arrays, optimize="greedy")

    def backward(self, gy):
        ins = self.saved_tensors
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            grads.append(self._grad(i, gy, ins) if need else None)
        return tuple(grads)

    def _grad(self, i, gy, ins):
        sub = self.subs[i]
        uniq = "".join(dict.fromkeys(sub))
        others = [(self.subs[j], ins[j]) for j in range(len(self.subs)) if j != i]
        present = set(self.out).union(*(s for s, _ in others))
        avail = "".join(c for c in uniq if c in present)
        g = _einsum_explicit([self.out] + [s for s, _ in others], avail, [gy] + [t for _, t in others],
                             self.sizes)
        if len(avail) < len(uniq):  # labels summed inside this operand only: broadcast back
            g = g.reshape(tuple(self.sizes[c] if c in avail else 1 for c in uniq))
            g = g.expand(tuple(self.sizes[c] for c in uniq))
        if len(uniq) < len(sub):  # repeated labels: the grad lives on the diagonal
            g = DiagEmbed.apply(g, sub=sub, uniq=uniq, sizes=self.sizes)
        return g


class DiagEmbed(Op):
    """Place ``g`` (labels ``uniq``) on the diagonal of a zero tensor with labels ``sub``."""

    def forward(self, g):
        xp = self.xp
        shape = tuple(self.sizes[c] for c in self.sub)
        out = xp.zeros(shape, dtype=g.dtype)
        nu = len(self.uniq)
        idx = []
        for c in self.sub:
            p = self.uniq.index(c)
            idx.append(xp.arange(self.sizes[c]).reshape((1,) * p + (-1,) + (1,) * (nu - p - 1)))
        out[tuple(idx)] = g
        return out

    def backward(self, gy):
        return _einsum_explicit([self.sub], self.uniq, [gy], self.sizes)


def _einsum_explicit(subs, out, tensors, sizes) -> Tensor:
    if len(tensors) == 1 and subs[0] == out:
        return tensors[0]
    return Einsum.apply(*tensors, subs=tuple(subs), out=out, sizes=sizes, dtype=None)


def _parse_einsum(eq: str, nops: int):
    """Operand terms (lists of labels, ``...`` as None) and the output term (or None)."""
    arrow = eq.find("->")
    lhs_end = len(eq) if arrow < 0 else arrow
    terms: list[list] = [[]]
    ell = False
    dots = 0
    for i in range(lhs_end):
        c = eq[i]
        k = len(terms) - 1
        if c == ".":
            if ell:
                raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis was already found")
            dots += 1
            if dots == 3:
                terms[-1].append(None)
                ell, dots = True, 0
            continue
        if dots:
            raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis")
        if c == " ":
            continue
        if c == ",":
            if len(terms) >= nops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
            terms.append([])
            ell = False
            continue
        if c not in _LETTER_SET:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, subscripts "
                "must be in [a-zA-Z]")
        terms[-1].append(c)
    if dots:
        raise RuntimeError(f"einsum(): found '.' for operand {len(terms) - 1} that is not part of any ellipsis")
    if len(terms) < nops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if arrow < 0:
        return terms, None
    out: list = []
    ell = False
    dots = 0
    for i in range(arrow + 2, len(eq)):
        c = eq[i]
        if c == ".":
            if ell:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            dots += 1
            if dots == 3:
                out.append(None)
                ell, dots = True, 0
            continue
        if dots:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        if c == " ":
            continue
        if c not in _LETTER_SET:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, subscripts "
                "must be in [a-zA-Z]")
        if c in out:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
        out.append(c)
    if dots:
        raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
    return terms, out


def _sublist_equation(args) -> tuple[str, list]:
    """torch's sublist form ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` as an equation."""

    def term(sub) -> str:
        s = []
        for v in sub:
            if v is Ellipsis:
                s.append("...")
                continue
            if isinstance(v, Tensor):
                v = v.item()
            if not (0 <= v < 52):
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            s.append(_LETTERS[int(v)])
        return "".join(s)

    n = len(args) // 2
    ops = list(args[0:2 * n:2])
    eq = ",".join(term(s) for s in args[1:2 * n:2])
    if len(args) % 2:
        eq += "->" + term(args[-1])
    return eq, ops


def einsum(*args: str | Tensor | list) -> Tensor:
    """Einstein summation: ``(equation, *operands)``, ``(equation, [operands])`` or sublists."""
    if len(args) < 2:
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, or at least one "
            "operand and its subscripts list")
    if isinstance(args[0], Tensor):
        eq, ops = _sublist_equation(args)
    elif isinstance(args[0], str):
        eq, ops = args[0], args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = ops[0]
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not {type(args[0]).__name__}")
    ops = list(ops)
    for i, o in enumerate(ops):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(o).__name__}")
    terms, out = _parse_einsum(eq, len(ops))

    # ellipsis dims: right-aligned across operands, broadcast like batch dims
    ell_dims = []
    for k, (t, o) in enumerate(zip(terms, ops)):
        nd, nl = o._data.ndim, sum(c is not None for c in t)
        if None in t:
            if nl > nd:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({nl}) is more than the number of "
                    f"dimensions ({nd}) for operand {k}")
            ell_dims.append(nd - nl)
        else:
            if nl != nd:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({nl}) does not match the number of "
                    f"dimensions ({nd}) for operand {k} and no ellipsis was given")
            ell_dims.append(0)
    n_ell = max(ell_dims, default=0)
    used = {c for t in terms for c in t if c is not None}
    free = [c for c in _LETTERS if c not in used]
    if n_ell > len(free):
        raise RuntimeError("einsum(): too many subscripts in the equation")
    ell = free[:n_ell]
    ell_size: list = [None] * n_ell
    sizes: dict = {}
    subs = []
    for k, (t, o) in enumerate(zip(terms, ops)):
        shape = o._data.shape
        letters = []
        pos = 0
        for c in t:
            if c is None:
                e = ell_dims[k]
                for j in range(e):
                    s, slot = shape[pos + j], n_ell - e + j
                    prev = ell_size[slot]
                    if prev is not None and s != prev and s != 1 and prev != 1:
                        raise RuntimeError(
                            f"einsum(): dimension {j} covered by ellipsis in operand {k}has size {s} which "
                            f"does not broadcast with previously seen ellipsis with size {prev} for the "
                            "respective dimension")
                    if prev is None or prev == 1:
                        ell_size[slot] = s
                    letters.append(ell[slot])
                pos += e
                continue
            s = shape[pos]
            if c in letters:
                first = shape[letters.index(c)]
                if s != first:
                    raise RuntimeError(
                        f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, "
                        f"{s} != {first}")
            elif c in sizes:
                prev = sizes[c]
                if s != prev and s != 1 and prev != 1:
                    raise RuntimeError(
                        f"einsum(): subscript {c} has size {s} for operand {k} which does not broadcast with "
                        f"previously seen size {prev}")
            if c not in sizes or sizes[c] == 1:
                sizes[c] = s
            letters.append(c)
            pos += 1
        subs.append(letters)
    for c, s in zip(ell, ell_size):
        sizes[c] = 1 if s is None else s

    if out is None:  # implicit output: ellipsis dims, then the labels seen once, sorted
        counts: dict = {}
        for t in terms:
            for c in t:
                if c is not None:
                    counts[c] = counts.get(c, 0) + 1
        out_s = "".join(ell) + "".join(c for c in _LETTERS if counts.get(c) == 1)
    else:
        o = []
        for c in out:
            if c is None:
                o.extend(ell)
            elif c not in used:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any input operand")
            else:
                o.append(c)
        out_s = "".join(o)

    # size-1 dims that broadcast against a larger size: drop them from that operand
    for k, o in enumerate(ops):
        shape = o._data.shape
        letters = subs[k]
        if any(s == 1 and sizes[c] != 1 for c, s in zip(letters, shape)):
            keep = [j for j, (c, s) in enumerate(zip(letters, shape)) if not (s == 1 and sizes[c] != 1)]
            ops[k] = o.reshape(tuple(shape[j] for j in keep))
            letters = [letters[j] for j in keep]
        subs[k] = "".join(letters)

    d0 = ops[0]._data.dtype
    for o in ops[1:]:
        if o._data.dtype != d0:
            raise RuntimeError(f"expected scalar type {_sname(ops[0]._data)} but found {_sname(o._data)}")
    dtype = None
    if len(ops) > 1:
        _no_bool(ops[0]._data, "bmm")
    elif d0.kind in "biu" and any(c not in out_s for c in subs[0]):
        dtype = _INT64  # a one-operand einsum that sums integers is torch's sum: int64
    return Einsum.apply(*ops, subs=tuple(subs), out=out_s, sizes=sizes, dtype=dtype)


# ------------------------------------------------------------------------------------------


def _install() -> None:
    T = Tensor
    T.matmul, T.mm, T.bmm, T.mv, T.dot, T.vdot = matmul, mm, bmm, mv, dot, vdot
    T.inner, T.outer, T.ger, T.kron, T.cross = inner, outer, ger, kron, cross
    T.addmm, T.addmv, T.addbmm, T.baddbmm, T.addr = addmm, addmv, addbmm, baddbmm, addr
    for fn in (addmm, addmv, addbmm, baddbmm, addr):
        setattr(T, fn.__name__ + "_", inplace_method(fn))

    def __matmul__(self, other):  # noqa: N807
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(self, other)

    def __rmatmul__(self, other):  # noqa: N807
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(other, self)

    T.__matmul__, T.__rmatmul__ = __matmul__, __rmatmul__


_install()

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "cross", "dot", "einsum", "ger", "inner",
           "kron", "matmul", "mm", "mv", "outer", "tensordot", "vdot"]
