"""Small shims where the numpy and cupy APIs differ.

Every function takes the array module ``xp`` first so op code stays written once.
"""
from __future__ import annotations

import numpy as np


def as_strided(xp, x, shape, strides):
    """A strided view of ``x`` (no copy), the basis of im2col and pooling windows."""
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def scatter_add(xp, target, indices, values) -> None:
    """``target[indices] += values`` with repeated indices accumulated (unbuffered)."""
    if xp is np or getattr(xp, "IS_STAND_IN", False):
        xp.add.at(target, indices, values)
        return
    import cupyx

    cupyx.scatter_add(target, indices, values)
