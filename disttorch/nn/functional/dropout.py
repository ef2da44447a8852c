"""Dropout: elementwise, channel-wise (``dropout1d/2d/3d``) and alpha dropout.

Masks are drawn from disttorch's generator for the input's device (``manual_seed`` makes
them reproducible); kept elements are scaled by ``1 / (1 - p)`` as in torch. Each call is
one op that keeps its scaled mask for backward.
"""
from __future__ import annotations

import warnings

import numpy as np

from ... import random as _random
from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from ...ops._inplace import inplace as _inplace
from ...ops._op import Op
from ...ops._util import need_tensor

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)
_SELU_ALPHA_SCALE = 1.7580993408473766  # selu's alpha * scale: the value dropped units take


def _check_p(p) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x: Tensor, shape: tuple, p: float):
    """A bool array of ``shape`` on ``x``'s device: True with probability 1 - p.

    Drawn as raw 32-bit words of the device's generator (a uniform on 2**32 levels):
    faster than float samples, and as fine-grained as a float32 uniform.
    """
    g = _random.generator_for(x._device, None)
    n = 1
    for s in shape:
        n *= s
    words = g._rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n]
    keep = (words >= np.uint32(min(int(round(p * 4294967296.0)), 4294967295))).reshape(shape)
    return keep if x._device is _CPU else _dev.to_device(keep, x._device)


class MaskScale(Op):
    """``x * m`` for a constant array ``m`` (the scaled keep mask, broadcast to ``x``)."""

    def forward(self, x):
        return x * self.m

    def backward(self, gy):
        return gy * _wrap(self.m, gy._device)


class AlphaMask(Op):
    """``x * a + b`` for constant arrays ``a`` and ``b`` (alpha dropout)."""

    def forward(self, x):
        y = x * self.a
        y += self.b
        return y

    def backward(self, gy):
        return gy * _wrap(self.a, gy._device)


def _noise_shape(x: Tensor, feature: bool) -> tuple:
    s = x._data.shape
    if not feature:
        return s
    return s[:2] + (1,) * (len(s) - 2)


def _dropout(input: Tensor, p: float, feature: bool) -> Tensor:
    x = input._data
    k = x.dtype.kind
    if k != "f" and k != "V":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_legacy(input)}")
    if p == 1.0:
        return input * 0.0
    keep = _keep_mask(input, _noise_shape(input, feature), p)
    xp = np if input._device is _CPU else _dev.cupy_module()
    m = xp.multiply(keep, 1.0 / (1.0 - p), dtype=x.dtype if x.dtype.itemsize >= 4 else _F32)
    return MaskScale.apply(input, m=m.astype(x.dtype, copy=False))


def _alpha_dropout(input: Tensor, p: float, feature: bool) -> Tensor:
    x = input._data
    if x.dtype.kind not in "fV":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_legacy(input)}")
    if p == 1.0:
        return input * 0.0
    keep = _keep_mask(input, _noise_shape(input, feature), p)
    xp = np if input._device is _CPU else _dev.cupy_module()
    alpha = _SELU_ALPHA_SCALE
    a = 1.0 / np.sqrt((alpha * alpha * p + 1.0) * (1.0 - p))
    wd = x.dtype if x.dtype.itemsize >= 4 else _F32
    ka = xp.multiply(keep, a, dtype=wd)
    b = xp.multiply(keep, alpha * a, dtype=wd)
    b += alpha * a * (p - 1.0)
    return AlphaMask.apply(input, a=ka.astype(x.dtype, copy=False), b=b.astype(x.dtype, copy=False))


def _legacy(t: Tensor) -> str:
    from ...backend import dtypes

    return dtypes.from_numpy(t._data.dtype).legacy_name


def _run(input: Tensor, p, training, inplace, fn, feature: bool, fname: str) -> Tensor:
    need_tensor(input, fname)
    _check_p(p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    if inplace:
        return _inplace(input, fn, p, feature)
    return fn(input, p, feature)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    _check_p(p)
    if not training or p == 0.0:
        need_tensor(input, "dropout")
        return input
    return _run(input, p, training, inplace, _dropout, False, "dropout")


def _feature_checks(input: Tensor, name: str, spatial: int) -> bool:
    """Warn or raise like torch; True when the input has no batch dim."""
    nd = input._data.ndim
    if name == "dropout1d":
        if nd not in (2, 3):
            raise RuntimeError(
                f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that dropout1d "
                "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
        return nd == 2
    lo, hi = spatial + 1, spatial + 2
    if name == "dropout2d" and nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
            "dim. This behavior will change in a future release to interpret the input as one "
            "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
            "dropout behavior, please switch to using dropout1d instead.", UserWarning, stacklevel=3)
        return False
    if nd not in (lo, hi):
        warnings.warn(
            f"{name}: Received a {nd}-D input to {name}, which is deprecated and will result in an "
            f"error in a future release. To retain the behavior and silence this warning, please use "
            f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs "
            f"with {spatial} spatial dimensions, a channel dimension, and an optional batch dimension "
            f"(i.e. {lo}D or {hi}D inputs).", UserWarning, stacklevel=3)
    if nd < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return nd == lo


def _feature_dropout(input: Tensor, p, training, inplace, name: str, spatial: int) -> Tensor:
    need_tensor(input, name)
    _check_p(p)
    unbatched = _feature_checks(input, name, spatial)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    x = input.unsqueeze(0) if unbatched else input
    if inplace:
        if unbatched:
            _inplace(input, lambda t: _dropout(t.unsqueeze(0), p, True).squeeze(0))
            return input
        return _inplace(input, _dropout, p, True)
    y = _dropout(x, p, True)
    return y.squeeze(0) if unbatched else y


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, L) or (C, L) input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, "dropout1d", 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, H, W) or (C, H, W) input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, "dropout2d", 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of a (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, "dropout3d", 3)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps a SELU network's mean and variance (dropped units take selu's floor)."""
    return _run(input, p, training, inplace, _alpha_dropout, False, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1)."""
    need_tensor(input, "feature_alpha_dropout")
    _check_p(p)
    if not training or p == 0.0 or input._data.size == 0:
        return input
    if input._data.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _run(input, p, training, inplace, _alpha_dropout, True, "feature_alpha_dropout")


__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]
