"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``,
``clip_grads_with_norm_`` (torch's formulas and results).

These run once per training step over every parameter, so they work on the raw arrays
(one reduction per gradient, one in-place scale per gradient) instead of building ops.
"""
from __future__ import annotations

import types
import warnings
from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from ...backend import dtypes as _dtypes

_tensor_or_tensors = Tensor | Iterable[Tensor]
_INF = float("inf")


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _group(tensors: list) -> dict:
    """Arrays grouped by (device, dtype), in first-seen order."""
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t._device, t._data.dtype), []).append(t)
    return groups


def _array_norm(xp, a, p: float):
    """The vector ``p``-norm of array ``a`` as a 0-d array of ``a``'s (float) dtype."""
    work = a.astype(np.float32) if a.dtype.itemsize < 4 else a
    flat = work.reshape(-1)
    if flat.size == 0:
        if p == _INF:
            raise RuntimeError(
                "_foreach_norm cannot compute the infinity norm on an empty tensor because "
                "the operation does not have an identity")
        if p < 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor "
                "because the operation does not have an identity")
        return xp.zeros((), dtype=a.dtype)
    if p == 2.0:
        r = xp.sqrt(xp.dot(flat, flat))
    elif p == 1.0:
        r = xp.abs(flat).sum()
    elif p == _INF:
        r = xp.abs(flat).max()
    elif p == -_INF:
        r = xp.abs(flat).min()
    elif p == 0.0:
        r = (flat != 0).sum()
    else:
        with np.errstate(divide="ignore", over="ignore"):  # 0 ** negative p is inf, as in torch
            r = (xp.abs(flat) ** p).sum() ** (1.0 / p)
    return xp.asarray(r, dtype=a.dtype)


def get_total_norm(tensors: _tensor_or_tensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type`` norm of the per-tensor norms (as if all tensors were one vector)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        from ...creation import tensor as _tensor

        return _tensor(0.0)
    first = tensors[0]._device
    norms = []
    for (dev, _), group in _group(tensors).items():
        xp = dev.xp
        for t in group:
            n = _array_norm(xp, t._data, norm_type)
            norms.append(n if dev == first else _dev.to_device(n, first))
    xp = first.xp
    dtype = norms[0].dtype
    for n in norms[1:]:
        if n.dtype != dtype:
            dtype = _dtypes.promote_types(_dtypes.from_numpy(dtype), _dtypes.from_numpy(n.dtype)).np
    stacked = xp.stack([n.astype(dtype, copy=False) for n in norms])
    total = _wrap(_array_norm(xp, stacked, norm_type), first)
    if error_if_nonfinite and not bool(xp.isfinite(total._data)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped. To disable "
            "this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`"
        )
    return total


def _scale_(g: Tensor, coef) -> None:
    """``g.mul_(coef)`` under no_grad on the array (bumping the version like torch)."""
    a = g._data
    a *= coef.astype(a.dtype, copy=False)
    g._vc[0] += 1


def clip_grads_with_norm_(parameters: _tensor_or_tensors, max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Scale every ``.grad`` by ``min(max_norm / (total_norm + 1e-6), 1)`` in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    if len(grads) == 0:
        return
    tn = total_norm._data
    xp = total_norm._device.xp
    coef = xp.minimum(max_norm / (tn + 1e-6), 1.0).astype(tn.dtype, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):  # 0 * inf is nan, silently like torch
        for (dev, _), group in _group(grads).items():
            c = coef if dev == total_norm._device else _dev.to_device(coef, dev)
            for g in group:
                _scale_(g, c)


def clip_grad_norm_(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients so their total ``norm_type`` norm is at most ``max_norm``; return it."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn(
                "`parameters` is an empty generator, no gradient clipping will occur.",
                stacklevel=2,
            )
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _tensor_or_tensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every ``.grad`` to ``[-clip_value, clip_value]`` in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    for p in parameters:
        g = p.grad
        if g is None:
            continue
        a = g._data
        xp = g._device.xp
        # min(max(x, -v), v), like clamp_ (NaN stays NaN)
        xp.minimum(xp.maximum(a, -clip_value, out=a), clip_value, out=a)
        g._vc[0] += 1


_get_total_norm = get_total_norm
_clip_grads_with_norm_ = clip_grads_with_norm_

__all__ = [
    "clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
    "get_total_norm",
]
