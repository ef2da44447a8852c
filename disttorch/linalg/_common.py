"""Helpers the linalg submodules share: dtype names, the return types, tensor and shape checks."""
# ruff: noqa: N803 - torch.linalg names its matrix arguments A and B
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd import grad_mode
from ..backend import device as _dev
from ..backend import dtypes
from ..ops.reduction import _return_type

_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_F32 = np.dtype(np.float32)
_INF = float("inf")

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "float32": "Float", "float64": "Double",
                "bfloat16": "BFloat16"}
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
            "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "float32": "float", "float64": "double"}


def _named(name: str, fields: tuple):
    cls = _return_type(name, fields)
    cls.__module__ = __package__  # pickled by reference to the package's ``_rt_<name>`` (re-exported)
    return cls


_rt_linalg_slogdet = _named("linalg_slogdet", ("sign", "logabsdet"))
_rt_linalg_eigh = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
_rt_linalg_qr = _named("linalg_qr", ("Q", "R"))
_rt_linalg_svd = _named("linalg_svd", ("U", "S", "Vh"))
_rt_linalg_lstsq = _named("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_rt_linalg_inv_ex = _named("linalg_inv_ex", ("inverse", "info"))
_rt_linalg_cholesky_ex = _named("linalg_cholesky_ex", ("L", "info"))
_rt_linalg_solve_ex = _named("linalg_solve_ex", ("result", "info"))
_rt_slogdet = _named("slogdet", ("sign", "logabsdet"))
_rt_qr = _named("qr", ("Q", "R"))
_rt_svd = _named("svd", ("U", "S", "V"))


# ------------------------------------------------------------------------------------------
# helpers


def _xp(t: Tensor):
    return np if t._device is _dev.CPU else _dev.cupy_module()


def _host(a) -> np.ndarray:
    return a if isinstance(a, np.ndarray) else a.get()


def _tname(a) -> str:
    name = dtypes.from_numpy(a.dtype).name
    return _TORCH_NAMES.get(name, name)


def _cname(a) -> str:
    name = dtypes.from_numpy(a.dtype).name
    return _C_NAMES.get(name, name)


def _const(arr, like: Tensor) -> Tensor:
    return _wrap(arr, like._device)


def _eye(n: int, like: Tensor) -> Tensor:
    return _const(_xp(like).eye(n, dtype=like._data.dtype), like)


def _lowp(a) -> bool:
    return a.dtype.kind == "V" or a.dtype == np.float16


def _check_float(A: Tensor, fn: str, kernel: str | None = None) -> None:
    """torch's dtype checks: floating point only; no half precision kernels on the CPU."""
    a = A._data
    if a.dtype.kind != "f" and a.dtype.kind != "V":
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got {_tname(a)}")
    if kernel is not None and _lowp(a):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(a)}'")


def _check_matrix(A: Tensor, fn: str, name: str = "A") -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def _check_square(A: Tensor, fn: str) -> None:
    _check_matrix(A, fn)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are {m} by {n} matrices")


def _broadcast_batch(*shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        a, b = shapes[0], shapes[1]
        nd = max(len(a), len(b))
        pa, pb = (1,) * (nd - len(a)) + tuple(a), (1,) * (nd - len(b)) + tuple(b)
        for i in range(nd - 1, -1, -1):
            if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                    f"non-singleton dimension {i}") from None
        raise


def _grad_enabled_for(*tensors) -> bool:
    return grad_mode.state.grad_enabled and any(t._requires_grad for t in tensors)


def _zeros_like(t: Tensor) -> Tensor:
    return _const(_xp(t).zeros(t._data.shape, dtype=t._data.dtype), t)
