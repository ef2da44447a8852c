"""fill_, zero_, copy_ and the in-place samplers."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check_error

import disttorch


def test_fill_zero_copy(device):
    x = disttorch.zeros(2, 3, device=device)
    v = x._version
    assert x.fill_(2.5).tolist() == [[2.5] * 3] * 2
    assert x.zero_().tolist() == [[0.0] * 3] * 2
    x.copy_(disttorch.tensor([1, 2, 3]))  # broadcast, int -> float, cpu -> device
    assert x.tolist() == [[1.0, 2.0, 3.0]] * 2 and x.dtype is disttorch.float32
    assert x._version == v + 3
    x.fill_(disttorch.tensor(4.0, device=device))
    assert x.tolist() == [[4.0] * 3] * 2


def test_copy_and_fill_autograd(device):
    a = disttorch.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    buf = disttorch.zeros(2, 3, device=device)
    buf.copy_(a * 2)
    (buf * disttorch.tensor([[1.0], [2.0]], device=device)).sum().backward()
    assert a.grad.tolist() == [6.0, 6.0, 6.0]
    s = disttorch.tensor(3.0, requires_grad=True)
    y = disttorch.zeros(4)
    y.fill_(s)
    y.sum().backward()
    assert s.grad.item() == 4.0


def test_samplers_are_seeded(device):
    disttorch.manual_seed(5)
    a = disttorch.empty(1000, device=device).uniform_(-2, 3)
    disttorch.manual_seed(5)
    b = disttorch.empty(1000, device=device).uniform_(-2, 3)
    assert a.tolist() == b.tolist()
    assert -2 <= min(a.tolist()) and max(a.tolist()) < 3
    n = disttorch.empty(20000).normal_(1.0, 2.0).numpy()
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    r = disttorch.empty(1000, dtype=disttorch.int64).random_(3, 7).numpy()
    assert set(np.unique(r)) == {3, 4, 5, 6}
    bern = disttorch.empty(10000).bernoulli_(0.3).numpy()
    assert set(np.unique(bern)) == {0.0, 1.0} and abs(bern.mean() - 0.3) < 0.03
    assert disttorch.empty(100).exponential_(2.0).numpy().min() >= 0


def test_errors():
    check_error(lambda t: t.zeros(3, requires_grad=True).fill_(1.0), RuntimeError)
    check_error(lambda t: t.zeros(2, 3).copy_(t.ones(4)), RuntimeError)
    check_error(lambda t: t.zeros(3).fill_(t.ones(2)), RuntimeError)
    check_error(lambda t: t.zeros(3, requires_grad=True).uniform_(), RuntimeError)
    with pytest.raises(TypeError):
        disttorch.zeros(2).copy_([1, 2])
