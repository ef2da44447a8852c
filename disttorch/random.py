"""Random number generators: ``Generator``, ``manual_seed``, RNG state get/set.

Each generator wraps numpy's PCG64. A CUDA generator draws on the host and copies the
result to its device, so a seed gives the same numbers on every device and the state
is a plain byte tensor that checkpoints can store and restore exactly.
"""
from __future__ import annotations

import json
import time

import numpy as np

from .backend import device as _dev

_DEFAULT_SEED = 67280421310721  # torch's default CPU seed


class Generator:
    """A random number generator for one device (``Generator(device='cpu')``)."""

    def __init__(self, device="cpu") -> None:
        self.device = _dev.device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} out of range")
        self._initial_seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self._rng = np.random.Generator(np.random.PCG64(self._initial_seed))
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed used."""
        s = int.from_bytes(np.random.SeedSequence().entropy.to_bytes(16, "little")[:8], "little")
        s ^= time.time_ns() & 0xFFFF
        self.manual_seed(s)
        return self._initial_seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self):
        """The state as a uint8 tensor (restorable with ``set_state``)."""
        from .creation import tensor

        blob = json.dumps(self._rng.bit_generator.state).encode()
        return tensor(np.frombuffer(blob, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        from ._tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state.dtype.name != "uint8":
            raise TypeError("set_state expects a disttorch.ByteTensor (uint8 tensor) from get_state()")
        try:
            state = json.loads(bytes(new_state.cpu().numpy()).decode())
            bg = np.random.PCG64()
            bg.state = state
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Invalid generator state: {e}") from None
        self._rng = np.random.Generator(bg)
        return self

    def __repr__(self) -> str:
        return f"<disttorch.Generator object at {hex(id(self))}>"


default_generator = Generator("cpu")
_cuda_generators: dict[int, Generator] = {}


def cuda_generator(index: int) -> Generator:
    g = _cuda_generators.get(index)
    if g is None:
        g = _cuda_generators[index] = Generator(_dev.device("cuda", index))
        g.manual_seed(default_generator.initial_seed())
    return g


def generator_for(device: _dev.device, generator: Generator | None) -> Generator:
    if generator is not None:
        if generator.device.type != device.type:
            raise RuntimeError(
                f"Expected a '{device.type}' device type for generator but found "
                f"'{generator.device.type}'"
            )
        return generator
    if device.type == "cpu":
        return default_generator
    return cuda_generator(device.index or 0)


def manual_seed(seed: int) -> Generator:
    """Seed the CPU generator and every CUDA generator."""
    default_generator.manual_seed(seed)
    for g in _cuda_generators.values():
        g.manual_seed(seed)
    return default_generator


def seed() -> int:
    s = default_generator.seed()
    for g in _cuda_generators.values():
        g.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)
