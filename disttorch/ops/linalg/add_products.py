"""The add* family: addmm, addmv, baddbmm, addbmm and addr (``beta * input + alpha * product``)."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from .._util import cast, need_tensor, result_type
from ._common import (
    _bmm_batch_error,
    _check_bmm_operands,
    _cname,
    _mat,
    _mm_shape_error,
    _no_bool,
    _sname,
)
from .products import Bmm, Mm, Mv, matmul

# ------------------------------------------------------------------------------------------
# ops


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


# ------------------------------------------------------------------------------------------
# functions


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
        need_tensor(x, "addmm", n, i + 1)
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
        need_tensor(x, "addmv", n, i + 1)
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
        need_tensor(x, "baddbmm", n, i + 1)
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
        need_tensor(x, "addbmm", n, i + 1)
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
        need_tensor(x, "addr", n, i + 1)
    for name, x in (("vec1", vec1), ("vec2", vec2)):
        if x._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {x._data.ndim}-D")
    nd = result_type(input, vec1, vec2).np
    b = _coef(beta, nd, "beta", True)
    a = _coef(alpha, nd, "alpha", True)
    _check_broadcastable(input, (vec1._data.shape[0], vec2._data.shape[0]))
    return Addr.apply(cast(input, nd), cast(vec1, nd), cast(vec2, nd), beta=b, alpha=a)
