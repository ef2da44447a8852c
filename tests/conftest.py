"""Shared fixtures: the devices under test and the random seed."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import disttorch  # noqa: E402

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="no CUDA device (cupy sees no GPU; DISTTORCH_FAKE_CUDA=1 runs the CPU stand-in)")
    if disttorch.cuda.is_available():
        return
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Each test that takes ``device`` runs on cpu, and on cuda when one is available."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    disttorch.manual_seed(0)
    yield
