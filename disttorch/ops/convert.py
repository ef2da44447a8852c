"""Moving tensors between devices and dtypes: ``to``, ``cpu``, ``cuda``, ``float``..."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..backend import device as _dev
from ..backend import dtypes
from ._op import Op
from ._util import cast


class ToDevice(Op):
    moves_device = True

    def forward(self, x):
        self.src = _dev.device_of_array(x)
        return _dev.to_device(x, self.dst)

    def backward(self, gy):
        return gy.to(self.src)


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a._device, a.dtype
        elif isinstance(a, (dtypes.dtype, type, np.dtype)) or (
            isinstance(a, str) and a.removeprefix("torch.").removeprefix("disttorch.") in dtypes._BY_NAME
        ):
            dt = a
        elif isinstance(a, (str, _dev.device, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            pass  # positional non_blocking
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return dev, dt, copy


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``; self when unchanged."""
    dev, dt, copy = _parse_to(args, dict(kwargs))
    out = self
    if dt is not None:
        out = cast(out, dtypes.canonical(dt).np)
    if dev is not None:
        d = _dev.resolve(dev)
        if d is not out._device:
            out = ToDevice.apply(out, dst=d)
    if copy and out is self:
        out = self.clone()
    return out


def cpu(self: Tensor) -> Tensor:
    return to(self, _dev.CPU)


def cuda(self: Tensor, device=None, non_blocking: bool = False) -> Tensor:
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, device)


def type_(self: Tensor, dtype=None):
    if dtype is None:
        return f"disttorch.{self.dtype.tensor_type_name}"
    return to(self, dtype)


def _install() -> None:
    T = Tensor
    T.to, T.cpu, T.cuda, T.type = to, cpu, cuda, type_
    for name, d in (("float", dtypes.float32), ("double", dtypes.float64), ("half", dtypes.float16),
                    ("bfloat16", dtypes.bfloat16), ("int", dtypes.int32), ("long", dtypes.int64),
                    ("short", dtypes.int16), ("char", dtypes.int8), ("byte", dtypes.uint8),
                    ("bool", dtypes.bool_)):
        if d is not None:
            setattr(T, name, (lambda dd: lambda self, memory_format=None: to(self, dd))(d))
    T.type_as = lambda self, other: to(self, other.dtype)


_install()

__all__ = []
