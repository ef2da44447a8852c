"""Vector norms: norm of any order p ('fro', 2, 1, inf, -inf, 0 or any number)."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from .._op import Op
from .._util import cast
from ._common import (
    _INF,
    _const,
    _dims,
    _even_weights,
    _is_float,
    _low_precision,
    _scalar_type_name,
    _unreduce,
)


# -- norm ------------------------------------------------------------------------------------
class Norm(Op):
    def forward(self, x):
        xp, dims, keep, p = self.xp, self.dim, self.keepdim, self.p
        self.retain_inputs(0)
        self.retain_outputs(0)
        xf = x.astype(np.float32) if _low_precision(x) else x
        if p == 2:
            r = xp.sqrt((xf * xf).sum(axis=dims, keepdims=keep))
        elif p == 1:
            r = xp.abs(xf).sum(axis=dims, keepdims=keep)
        elif p == _INF:
            r = xp.amax(xp.abs(xf), axis=dims, keepdims=keep)
        elif p == -_INF:
            r = xp.amin(xp.abs(xf), axis=dims, keepdims=keep)
        elif p == 0:
            r = (xf != 0).sum(axis=dims, keepdims=keep).astype(xf.dtype)
        else:
            with np.errstate(divide="ignore"):
                r = (xp.abs(xf) ** p).sum(axis=dims, keepdims=keep) ** (1.0 / p)
        return xp.asarray(r).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, y = self.saved_tensors
        src, dims, keep, p = x._data.shape, self.dim, self.keepdim, self.p
        gy = _unreduce(gy, src, dims, keep)
        if p == 0:
            return (gy * 0).expand(src)
        if p == 1:
            return gy * x.sign()
        yk = _unreduce(y, src, dims, keep)
        if p == _INF or p == -_INF:
            xp, xd = self.xp, x._data
            w = _even_weights(xp, xp.abs(xd), y._data, dims, keep, False)
            with np.errstate(invalid="ignore"):
                w = xp.where(w != 0, xp.sign(xd) * w, 0).astype(xd.dtype, copy=False)
            return gy * _const(w, x)
        nz = _const((yk._data == 0).astype(yk._data.dtype), yk)
        safe = yk + nz  # a zero norm gives a zero grad
        if p == 2:
            return gy * x / safe
        ax = x.abs()
        if p < 1:
            zero = _const((x._data == 0).astype(x._data.dtype), x)
            scaled = x.sign() * (ax + zero) ** (p - 1)
            return scaled * gy * yk ** (1 - p)
        if p < 2:
            scaled = x.sign() * ax ** (p - 1)
        else:
            scaled = x * ax ** (p - 2)
        return scaled * (gy / safe ** (p - 1))


def _norm_p(p) -> float | str:
    if p is None:
        return 2.0
    if isinstance(p, str):
        return p
    if isinstance(p, Tensor):
        p = p.item()
    return float(p)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """Vector norm of order ``p`` ('fro', 2, 1, inf, -inf, 0 or any number) over ``dim``."""
    p = _norm_p(p)
    nd = input._data.ndim
    if isinstance(p, str):
        if p == "fro":
            if isinstance(dim, (tuple, list)) and len(dim) > 2:
                raise RuntimeError(
                    "linalg.matrix_norm: dim must be a 2-tuple. Got " + " ".join(str(d) for d in dim))
            p = 2.0
        elif p == "nuc":
            raise RuntimeError("norm: the nuclear norm (p='nuc') is not supported")
        else:
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    if not _is_float(input):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_scalar_type_name(input.dtype)}"
        )
    if dtype is not None:
        d = dtypes.canonical(dtype)
        if not d.is_floating_point:
            raise RuntimeError(
                "linalg.vector_norm: dtype should be floating point or complex, but got "
                f"{_scalar_type_name(d)}")
        if dtypes.promote_types(input.dtype, d) is not d:
            raise RuntimeError(
                f"linalg.vector_norm: the dtype of the input ({_scalar_type_name(input.dtype)}) "
                "should be convertible without narrowing to the specified dtype "
                f"({_scalar_type_name(d)})")
        x = cast(input, d.np)
    else:
        x = input
    dims = _dims(dim, nd)
    if (p < 0 or p == _INF) and x._data.size == 0:
        ps = f"{p:g}"
        if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {ps} norm on an empty tensor because "
                "the operation does not have an identity")
        for d in dims:
            if x._data.shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {ps} norm on the dimension {d}"
                    "because this dimension is empty and the operation does not have an identity")
    return Norm.apply(x, dim=dims, keepdim=keepdim, p=p)
