"""Helpers the matrix-product submodules share: low-precision BLAS, dtype names, argument and shape checks."""
from __future__ import annotations

import numpy as np

from ...backend import dtypes
from .._util import wrap_dim

_F32 = np.dtype(np.float32)
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


def _no_bool(a, kernel: str) -> None:
    if a.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _mm_shape_error(sa, sb) -> RuntimeError:
    return RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")


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


def _check_bmm_operands(a, b, index_error: bool) -> None:
    for name, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            if index_error and x.ndim < 3:
                wrap_dim(2, x.ndim)  # torch reads size(2) first: IndexError
            raise RuntimeError(f"{name} must be a 3D tensor")
