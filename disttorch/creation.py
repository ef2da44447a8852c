"""Factory functions: ``tensor``, ``zeros``, ``arange``, ``rand`` and their ``_like`` forms."""
from __future__ import annotations

import contextlib
import math

import numpy as np

from . import random as _random
from ._tensor import Tensor, _wrap
from .backend import device as _dev
from .backend import dtypes
from .ops._util import shape_arg


def _device(device) -> _dev.device:
    return _dev.CPU if device is None else _dev.resolve(device)


def _on(dev: _dev.device):
    """(array module, context that makes ``dev`` current) for allocating on ``dev``."""
    if dev.type == "cpu":
        return np, contextlib.nullcontext()
    xp = _dev.cupy_module()
    return xp, xp.cuda.Device(dev.index)


def _finish(data, dev, requires_grad: bool) -> Tensor:
    t = _wrap(data, dev)
    if requires_grad:
        if data.dtype.kind != "f" and not dtypes.from_numpy(data.dtype).is_floating_point:
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


def _unwrap_tensors(data):
    """Nested lists with any tensors replaced by host arrays; Python numbers untouched."""
    if isinstance(data, Tensor):
        return _dev.to_device(data._data, _dev.CPU)
    if isinstance(data, (list, tuple)):
        return [_unwrap_tensors(d) for d in data]
    return data


def _all_numpy_scalars(data) -> bool:
    if not isinstance(data, list) or not data:
        return False
    stack = list(data)
    while stack:
        d = stack.pop()
        if isinstance(d, list):
            stack.extend(d)
        elif not isinstance(d, (np.generic, np.ndarray)):
            return False
    return True


def _host_array(data, dtype) -> np.ndarray:
    """Host array from Python data, inferring dtypes the way torch does."""
    if isinstance(data, Tensor):
        return _dev.to_device(data._data, _dev.CPU)
    if isinstance(data, (list, tuple)):
        data = _unwrap_tensors(data)
    # numpy scalars keep their dtype (torch.tensor([np.int16(1)]) is int16)
    python_data = not isinstance(data, (np.ndarray, np.generic)) and not _all_numpy_scalars(data)
    if isinstance(data, np.ndarray) and data.dtype == object:
        raise TypeError("can't convert np.ndarray of type numpy.object_")
    try:
        arr = np.asarray(data) if not hasattr(data, "__cuda_array_interface__") else data.get()
    except ValueError as e:
        raise ValueError(f"expected sequence of equal-length sequences: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}: mixed or non-numeric data")
    if dtype is not None:
        return arr.astype(dtypes.canonical(dtype).np, copy=False)
    if arr.dtype.kind == "f" and python_data:
        return arr.astype(dtypes.get_default_dtype().np, copy=False)
    if arr.dtype.kind in "iu" and python_data:
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "U" or arr.dtype.kind == "S":
        raise TypeError(f"new(): invalid data type '{arr.dtype}'")
    dtypes.from_numpy(arr.dtype)  # raises for types torch has no equivalent of
    return arr


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, number, numpy array or tensor)."""
    arr = np.array(_host_array(data, dtype), copy=True)
    dev = _device(device)
    if dev.type != "cpu":
        arr = _dev.to_device(arr, dev)
    return _finish(arr, dev, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a numpy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (device is None or _dev.device(device).type == "cpu"):
        dev = _dev.CPU
        if dtype is not None:
            data = data.astype(dtypes.canonical(dtype).np, copy=False)
        dtypes.from_numpy(data.dtype)
        return _wrap(data, dev)
    arr = _host_array(data, dtype)
    dev = _device(device)
    return _wrap(_dev.to_device(arr, dev) if dev.type != "cpu" else arr, dev)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy(ndarray.dtype)
    return _wrap(ndarray, _dev.CPU)


def _float_or(dtype) -> np.dtype:
    return (dtypes.get_default_dtype() if dtype is None else dtypes.canonical(dtype)).np


def _fill(size, value, dtype, device, requires_grad) -> Tensor:
    shape = shape_arg(size)
    dev = _device(device)
    xp, ctx = _on(dev)
    with ctx:
        data = xp.full(shape, value, dtype=dtype)
    return _finish(data, dev, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None) -> Tensor:
    return _fill(size, 0, _float_or(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None) -> Tensor:
    return _fill(size, 1, _float_or(dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, out=None, layout=None,
          pin_memory: bool = False, memory_format=None) -> Tensor:
    shape = shape_arg(size)
    dev = _device(device)
    xp, ctx = _on(dev)
    with ctx:
        data = xp.empty(shape, dtype=_float_or(dtype))
    return _finish(data, dev, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = dtypes.bool_
        elif isinstance(fill_value, int):
            dtype = dtypes.int64
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _fill((size,), fill_value, _float_or(dtype), device, requires_grad)


def _like(input: Tensor, dtype, device):
    return (input.dtype if dtype is None else dtypes.canonical(dtype),
            input._device if device is None else device)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return zeros(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return ones(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return empty(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return full(input._data.shape, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless any is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError(
            "upper bound and larger bound inconsistent with step sign"
        )
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in vals)
        dtype = dtypes.int64 if is_int else dtypes.get_default_dtype()
    d = dtypes.canonical(dtype)
    n = max(0, math.ceil((end - start) / step))
    # compute in float64/int64 then cast, as torch computes start + i*step
    host = start + np.arange(n, dtype=np.float64 if d.is_floating_point else np.int64) * step
    return _from_host(host.astype(d.np), device, requires_grad)


def _from_host(host: np.ndarray, device, requires_grad) -> Tensor:
    dev = _device(device)
    data = _dev.to_device(host, dev) if dev.type != "cpu" else host
    return _finish(data, dev, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _float_or(dtype)
    host = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    if steps > 1:  # torch fills the second half backwards from ``end`` (symmetric rounding)
        step = (float(end) - float(start)) / (steps - 1)
        half = steps // 2
        idx = np.arange(steps)
        host = np.where(idx < half, float(start) + step * idx, float(end) - step * (steps - 1 - idx))
    return _from_host(host.astype(d), device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    d = _float_or(dtype)
    host = np.power(base, np.linspace(float(start), float(end), int(steps)))
    return _from_host(host.astype(d), device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    return _from_host(np.eye(n, m, dtype=_float_or(dtype)), device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _from_host(np.asarray(s, dtype=_float_or(dtype)), device, requires_grad)


# -- random ------------------------------------------------------------------------------
def _draw(size, dtype, device, generator, requires_grad, draw) -> Tensor:
    shape = shape_arg(size)
    dev = _device(device)
    g = _random.generator_for(dev, generator)
    d = _float_or(dtype)
    if d.kind != "f" and not dtypes.from_numpy(d).is_floating_point:
        raise RuntimeError(f"'check_uniform_bounds' not implemented for '{dtypes.from_numpy(d).name}'")
    host = draw(g._rng, shape).astype(d)
    return _from_host(host, dev, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """Uniform on [0, 1)."""
    return _draw(size, dtype, device, generator, requires_grad, lambda r, s: r.random(s))


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """Standard normal."""
    return _draw(size, dtype, device, generator, requires_grad, lambda r, s: r.standard_normal(s))


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high); int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dev = _device(device)
    g = _random.generator_for(dev, generator)
    d = dtypes.int64.np if dtype is None else dtypes.canonical(dtype).np
    host = g._rng.integers(low, high, size=shape_arg((size,))).astype(d)
    return _from_host(host, dev, requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dev = _device(device)
    g = _random.generator_for(dev, generator)
    d = dtypes.int64.np if dtype is None else dtypes.canonical(dtype).np
    return _from_host(g._rng.permutation(int(n)).astype(d), dev, requires_grad)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return rand(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad=False, memory_format=None) -> Tensor:
    d, dev = _like(input, dtype, device)
    return randn(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False, memory_format=None) -> Tensor:
    if high is None:
        low, high = 0, low
    d, dev = _like(input, dtype, device)
    return randint(low, high, input._data.shape, dtype=d, device=dev)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Normal samples: tensor ``mean``/``std`` broadcast, or floats with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(
            getattr(mean, "shape", ()), getattr(std, "shape", ()))
        z = randn(shape, generator=generator, dtype=ref.dtype, device=ref._device)
        return z * std + mean
    z = randn(size, generator=generator, dtype=dtype, device=device)
    return z * std + mean


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """Draw 0/1 with probabilities ``input`` (or the scalar ``p``)."""
    prob = input if p is None else full_like(input, p)
    u = rand(prob._data.shape, generator=generator, dtype=prob.dtype, device=prob._device)
    return (u < prob.detach()).to(prob.dtype)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Sample category indices in proportion to the rows of ``input`` (1-d or 2-d)."""
    probs = _dev.to_device(input.detach()._data, _dev.CPU).astype(np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    g = _random.generator_for(input._device, generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, r in enumerate(rows):
        s = r.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        out[i] = g._rng.choice(r.size, size=num_samples, replace=replacement, p=r / s)
    out = out.reshape(probs.shape[:-1] + (num_samples,))
    return _from_host(out, input._device, False)


def _install() -> None:
    T = Tensor

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device or self._device,
                      requires_grad=requires_grad)

    def make_new(fn):
        def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
            return fn(*size, dtype=dtype or self.dtype, device=device or self._device,
                      requires_grad=requires_grad)

        return method

    T.new_tensor = new_tensor
    T.new_zeros, T.new_ones, T.new_empty = make_new(zeros), make_new(ones), make_new(empty)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self._device,
                    requires_grad=requires_grad)

    T.new_full = new_full


_install()

__all__ = ["arange", "as_tensor", "asarray", "bernoulli", "empty", "empty_like", "eye", "from_numpy", "full", "full_like", "linspace", "logspace", "multinomial", "normal", "ones", "ones_like", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "scalar_tensor", "tensor", "zeros", "zeros_like"]
