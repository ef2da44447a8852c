"""Helpers shared by the ``disttorch.utils.data`` tests: torch-vs-disttorch comparisons."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
import disttorch.utils.data  # noqa: F401 - makes disttorch.utils.data an attribute

try:
    import torch
    import torch.utils.data  # noqa: F401
except ImportError:  # comparisons with torch skip; the rest still runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def same_error(fn, exc_type=None, match_message=True):
    """``fn(torch)`` and ``fn(disttorch)`` raise the same exception type (and message)."""
    if torch is None:
        pytest.skip("torch is not installed")
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(disttorch)
    assert type(ours.value).__name__ == type(theirs.value).__name__, (ours.value, theirs.value)
    if exc_type is not None:
        assert isinstance(ours.value, exc_type)
    if match_message:
        assert str(ours.value).replace("disttorch", "torch") == str(theirs.value), (ours.value, theirs.value)
    return ours.value


def structure(x):
    """A comparable description of a (nested) batch from either library: types, dtypes, values."""
    if isinstance(x, disttorch.Tensor) or (torch is not None and isinstance(x, torch.Tensor)):
        return ("tensor", str(x.dtype).split(".")[-1], tuple(x.shape), np.asarray(x.tolist()).tolist())
    if isinstance(x, dict):
        return (type(x).__name__, {k: structure(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [structure(v) for v in x])
    if isinstance(x, np.ndarray):
        return ("ndarray", str(x.dtype), x.tolist())
    return (type(x).__name__, x)


def batches(loader):
    """Every batch of a loader, described with ``structure``."""
    return [structure(b) for b in loader]
