"""Devices and the array module behind each: numpy for ``cpu``, cupy for ``cuda``.

cupy is imported on first use. With ``DISTTORCH_FAKE_CUDA=1`` the ``cuda`` device is
backed by a CPU stand-in (``fake_cupy``) whose arrays refuse implicit conversion to
numpy, so device handling is exercised on machines without a GPU.
"""
from __future__ import annotations

import os

import numpy as np

_cupy = None
_cupy_error: str | None = None


def cupy_module():
    """The cupy module (or its stand-in); RuntimeError when neither is usable."""
    global _cupy, _cupy_error
    if _cupy is not None:
        return _cupy
    if _cupy_error is None:
        if os.environ.get("DISTTORCH_FAKE_CUDA") == "1":
            from . import fake_cupy

            _cupy = fake_cupy
            return _cupy
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("cupy sees no CUDA device")
            _cupy = cupy
            return _cupy
        except Exception as e:  # ImportError, CUDARuntimeError, no device
            _cupy_error = f"{type(e).__name__}: {e}"
    raise RuntimeError(
        "CUDA is not available: disttorch needs cupy and an NVIDIA GPU for 'cuda' "
        f"tensors ({_cupy_error}). Install the cuda12 or cuda13 extra."
    )


def cuda_available() -> bool:
    try:
        cupy_module()
        return True
    except RuntimeError:
        return False


def cuda_device_count() -> int:
    if not cuda_available():
        return 0
    return int(cupy_module().cuda.runtime.getDeviceCount())


class device:  # noqa: N801 - torch's name
    """``disttorch.device('cpu')``, ``device('cuda')``, ``device('cuda', 1)``, ``device('cuda:1')``."""

    __slots__ = ("type", "index")

    def __new__(cls, type_or_str, index: int | None = None):
        if isinstance(type_or_str, device):
            return type_or_str
        if isinstance(type_or_str, int) and index is None:  # torch accepts an ordinal
            type_or_str, index = "cuda", type_or_str
        s = str(type_or_str)
        if ":" in s:
            if index is not None:
                raise ValueError(f"type (string) must not include an index because index was passed explicitly: {s}")
            s, _, idx = s.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_str}'")
            index = int(idx)
        if s not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type_or_str}"
            )
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        key = (s, index)
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        self = object.__new__(cls)
        object.__setattr__(self, "type", s)
        object.__setattr__(self, "index", index)
        _CACHE[key] = self
        return self

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    @property
    def xp(self):
        """The array module of this device."""
        return np if self.type == "cpu" else cupy_module()


_CACHE: dict = {}
CPU = device("cpu")


def cuda_current_index() -> int:
    return int(cupy_module().cuda.Device().id)


def resolve(d) -> device:
    """A concrete device (``cuda`` becomes ``cuda:<current>``), validated."""
    d = device(d) if not isinstance(d, device) else d
    if d.type == "cpu":
        return CPU
    xp = cupy_module()
    index = cuda_current_index() if d.index is None else d.index
    count = int(xp.cuda.runtime.getDeviceCount())
    if index >= count:
        raise RuntimeError(
            f"CUDA error: invalid device ordinal (cuda:{index} requested, {count} device(s) visible)"
        )
    return device("cuda", index)


def device_of_array(a) -> device:
    """The device an array lives on."""
    if type(a) is np.ndarray or isinstance(a, (np.ndarray, np.generic)):
        return CPU
    return device("cuda", int(a.device.id))


def to_device(a, dst: device):
    """Copy an array to ``dst`` (a no-op when it is already there)."""
    src = device_of_array(a)
    if src == dst:
        return a
    if dst.type == "cpu":
        return a.get()
    xp = cupy_module()
    with xp.cuda.Device(dst.index):
        return xp.asarray(a)


def synchronize(d: device | None = None) -> None:
    """Wait for all work queued on a CUDA device (no-op for cpu)."""
    if d is not None and device(d).type == "cpu":
        return
    xp = cupy_module()
    index = None if d is None else resolve(d).index
    dev = xp.cuda.Device(index) if index is not None else xp.cuda.Device()
    dev.synchronize()
