"""Filling tensors in place: ``fill_``, ``zero_``, ``copy_`` and the random ``*_`` samplers."""
from __future__ import annotations

import numpy as np

from .. import random as _random
from .._tensor import Tensor
from ..backend import device as _dev
from ._inplace import check_writable, inplace
from ._op import Op
from ._util import is_scalar, tensor_arg_error


class Copy(Op):
    """The new value of ``self`` after ``self.copy_(src)``: ``src`` broadcast and cast."""

    def forward(self, old, src):
        out = self.xp.empty_like(old)
        out[...] = src
        return out

    def backward(self, gy):
        return None, gy  # the engine sums and casts the grad back to src's shape and dtype


class Fill(Op):
    def forward(self, old, value):
        return self.xp.full(old.shape, value, dtype=old.dtype)

    def backward(self, gy):
        return None, gy.sum()


def _check_broadcast(dst_shape, src_shape) -> None:
    try:
        if np.broadcast_shapes(dst_shape, src_shape) == tuple(dst_shape):
            return
    except ValueError:
        pass
    raise RuntimeError(
        f"output with shape {list(dst_shape)} doesn't match the broadcast shape "
        f"{list(np.broadcast_shapes(dst_shape, src_shape)) if _broadcastable(dst_shape, src_shape) else list(src_shape)}"
    )


def _broadcastable(a, b) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved across devices) into ``self``."""
    if not isinstance(src, Tensor):
        raise tensor_arg_error("copy_", "src", None, src)
    _check_broadcast(self._data.shape, src._data.shape)
    check_writable(self)
    if src._device is not self._device:
        src = src.to(self._device)
    if src._requires_grad or self._requires_grad:
        return inplace(self, Copy.apply, src)
    self._data[...] = src._data
    self._vc[0] += 1
    return self


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        if value._requires_grad or self._requires_grad:
            return inplace(self, Fill.apply, value.to(self._device))
        value = value.item()
    elif not is_scalar(value):
        raise TypeError(f"fill_(): argument 'value' must be Number, not {type(value).__name__}")
    check_writable(self)
    if self._requires_grad and self.grad_fn is None and _grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if self._requires_grad and _grad_enabled():
        from .._tensor import _wrap

        return inplace(self, Fill.apply, _wrap(_scalar_array(self, value), self._device))
    self._data.fill(value)
    self._vc[0] += 1
    return self


def _grad_enabled() -> bool:
    from ..autograd import grad_mode

    return grad_mode.state.grad_enabled


def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


def _sample_(self: Tensor, generator, draw) -> Tensor:
    """Write host samples ``draw(rng, shape)`` into ``self`` (no grad, like torch's samplers)."""
    if self._requires_grad and self.grad_fn is None and _grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    check_writable(self)
    g = _random.generator_for(self._device, generator)
    host = np.asarray(draw(g._rng, self._data.shape)).astype(self._data.dtype)
    self._data[...] = host if self._device.type == "cpu" else _dev.to_device(host, self._device)
    self._vc[0] += 1
    return self


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: r.uniform(a, b, s))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: r.normal(mean, std, s))


def random_(self: Tensor, *bounds: int, generator=None) -> Tensor:
    """``random_()``, ``random_(to)`` or ``random_(from, to)``: integers uniform on [from, to)."""
    if len(bounds) == 2:
        lo, hi = bounds
    elif len(bounds) == 1:
        lo, hi = 0, bounds[0]
    else:  # the whole range the dtype holds exactly
        d = self._data.dtype
        lo = 0
        hi = 2 ** np.finfo(d).nmant + 1 if d.kind == "f" else int(np.iinfo(d).max)
    return _sample_(self, generator, lambda r, s: r.integers(lo, hi, s))


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    if isinstance(p, Tensor):
        prob = _dev.to_device(p.detach()._data, _dev.CPU)
        return _sample_(self, generator, lambda r, s: r.random(s) < prob)
    return _sample_(self, generator, lambda r, s: r.random(s) < p)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: r.exponential(1.0 / lambd, s))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: r.lognormal(mean, std, s))


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: r.geometric(p, s))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    return _sample_(self, generator, lambda r, s: median + sigma * r.standard_cauchy(s))


def _scalar_array(self: Tensor, value):
    xp = np if self._device is _dev.CPU else _dev.cupy_module()
    return xp.asarray(value, dtype=self._data.dtype)


def _install() -> None:
    T = Tensor
    T.copy_, T.fill_, T.zero_ = copy_, fill_, zero_
    T.uniform_, T.normal_, T.random_, T.bernoulli_ = uniform_, normal_, random_, bernoulli_
    T.exponential_, T.log_normal_, T.geometric_, T.cauchy_ = exponential_, log_normal_, geometric_, cauchy_


_install()

__all__: list[str] = []
