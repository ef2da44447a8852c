"""``disttorch.cuda``: CUDA device queries and RNG, backed by cupy (imported on first use)."""
from __future__ import annotations

from . import random as _random
from .backend import device as _dev


def is_available() -> bool:
    return _dev.cuda_available()


def device_count() -> int:
    return _dev.cuda_device_count()


def _lazy_init() -> None:
    _dev.cupy_module()


def current_device() -> int:
    return _dev.cuda_current_index()


def set_device(device) -> None:
    """Make ``device`` (an int, 'cuda:N' or a device) current for this thread."""
    d = _dev.resolve(device if not isinstance(device, int) else f"cuda:{device}")
    _dev.cupy_module().cuda.Device(d.index).use()


class device:  # noqa: N801 - torch's name
    """Context manager that makes a CUDA device current."""

    def __init__(self, device) -> None:
        self.index = device if isinstance(device, int) else _dev.resolve(device).index

    def __enter__(self) -> None:
        self.prev = current_device()
        set_device(self.index)

    def __exit__(self, *exc) -> None:
        set_device(self.prev)


def synchronize(device=None) -> None:
    _dev.synchronize(device if device is not None else "cuda")


def get_device_name(device=None) -> str:
    xp = _dev.cupy_module()
    index = current_device() if device is None else _dev.resolve(
        device if not isinstance(device, int) else f"cuda:{device}").index
    if getattr(xp, "IS_STAND_IN", False):
        return "CPU stand-in for CUDA"
    props = xp.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed: int) -> None:
    """Seed the generator of the current CUDA device."""
    _random.cuda_generator(current_device() if is_available() else 0).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    for i in range(max(device_count(), 1)):
        _random.cuda_generator(i).manual_seed(seed)


def get_rng_state(device="cuda"):
    return _random.cuda_generator(_dev.resolve(device).index).get_state()


def set_rng_state(new_state, device="cuda") -> None:
    _random.cuda_generator(_dev.resolve(device).index).set_state(new_state)


def get_rng_state_all() -> list:
    return [_random.cuda_generator(i).get_state() for i in range(device_count())]


def set_rng_state_all(states) -> None:
    for i, s in enumerate(states):
        _random.cuda_generator(i).set_state(s)
