"""Tensor basics: creation, dtypes and promotion tables, devices, conversions, repr."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch") if False else None
try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is the oracle for parity tests")


def _same(ours, theirs):
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.cpu().to(disttorch.float64).numpy(), theirs.double().numpy(), rtol=1e-6)


CREATE = [
    lambda t: t.tensor([1, 2, 3]),
    lambda t: t.tensor([1.0, 2.0]),
    lambda t: t.tensor([[True, False]]),
    lambda t: t.tensor(3.5),
    lambda t: t.tensor([1, 2.5]),
    lambda t: t.tensor(np.array([1.0, 2.0])),
    lambda t: t.tensor(np.array([1, 2], dtype=np.int32)),
    lambda t: t.tensor([1, 2], dtype=t.float16),
    lambda t: t.tensor([]),
    lambda t: t.zeros(2, 3),
    lambda t: t.ones((2, 3), dtype=t.int32),
    lambda t: t.full((2,), 7),
    lambda t: t.full((2,), 7.0),
    lambda t: t.full((2,), True),
    lambda t: t.arange(5),
    lambda t: t.arange(1, 4, 0.5),
    lambda t: t.arange(0.0, 1.0, 0.1),
    lambda t: t.arange(10, 0, -3),
    lambda t: t.linspace(0, 1, 7),
    lambda t: t.linspace(-3, 5, 1),
    lambda t: t.logspace(0, 2, 5),
    lambda t: t.eye(3),
    lambda t: t.eye(2, 4, dtype=t.int64),
    lambda t: t.zeros_like(t.ones(2, 2, dtype=t.float64)),
    lambda t: t.ones_like(t.tensor([1, 2])),
    lambda t: t.full_like(t.ones(3), 2.5),
    lambda t: t.empty(2, 3).fill_(0) if hasattr(t.Tensor, "fill_") else t.zeros(2, 3),
    lambda t: t.ones(3).new_zeros(2),
    lambda t: t.tensor([1, 2]).new_tensor([3.0]),
    lambda t: t.tensor([1.0]).new_full((2,), 3),
]


@needs_torch
@pytest.mark.parametrize("fn", CREATE)
def test_creation_matches_torch(fn):
    _same(fn(disttorch), fn(torch))


def test_default_dtype():
    assert disttorch.get_default_dtype() is disttorch.float32
    disttorch.set_default_dtype(disttorch.float64)
    try:
        assert disttorch.tensor([1.0]).dtype is disttorch.float64
        assert disttorch.tensor([1]).dtype is disttorch.int64
        assert (disttorch.tensor([1, 2]) / 2).dtype is disttorch.float64
    finally:
        disttorch.set_default_dtype(disttorch.float32)
    with pytest.raises(TypeError):
        disttorch.set_default_dtype(disttorch.int32)


@needs_torch
def test_promote_types_table():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
    for a in names:
        for b in names:
            ours = disttorch.promote_types(getattr(disttorch, a if a != "bool" else "bool"), getattr(disttorch, b))
            theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert ours.name == str(theirs).split(".")[1], (a, b)


def test_dtype_objects():
    assert repr(disttorch.float32) == "disttorch.float32"
    assert disttorch.float is disttorch.float32 and disttorch.long is disttorch.int64
    assert disttorch.float16.is_floating_point and not disttorch.int8.is_floating_point
    assert disttorch.float64.itemsize == 8
    assert pickle.loads(pickle.dumps(disttorch.bfloat16)) is disttorch.bfloat16


def test_device_objects():
    d = disttorch.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1"
    assert repr(d) == "device(type='cuda', index=1)"
    assert disttorch.device("cpu") == "cpu" and disttorch.device("cuda", 0) == disttorch.device("cuda:0")
    with pytest.raises(RuntimeError):
        disttorch.device("tpu")
    with pytest.raises(RuntimeError):
        disttorch.device("cuda:x")


def test_cuda_unavailable_is_clear(monkeypatch):
    if disttorch.cuda.is_available():
        pytest.skip("a CUDA device is available")
    assert disttorch.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        disttorch.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        disttorch.ones(2).cuda()


def test_device_moves_and_mixing(device):
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device)
    assert y.device.type == device
    assert (y.to("cpu") is y) == (device == "cpu")
    (y * 3).sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [3.0, 3.0]
    if device != "cpu":
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            y + disttorch.ones(2)
        with pytest.raises(TypeError, match="can't convert cuda"):
            y.detach().numpy()
        assert y.is_cuda and not y.is_cpu
        assert y.cpu().tolist() == [1.0, 2.0]


def test_to_variants():
    x = disttorch.tensor([1.5, 2.5])
    assert x.to(disttorch.float64).dtype is disttorch.float64
    assert x.to("cpu", disttorch.int32).tolist() == [1, 2]
    assert x.to(dtype=disttorch.float16).dtype is disttorch.float16
    assert x.to(disttorch.ones(1, dtype=disttorch.float64)).dtype is disttorch.float64
    assert x.to(disttorch.float32) is x
    assert x.to(disttorch.float32, copy=True) is not x
    assert x.double().dtype is disttorch.float64 and x.long().dtype is disttorch.int64
    assert x.half().dtype is disttorch.float16 and x.bool().dtype is disttorch.bool
    assert x.bfloat16().dtype is disttorch.bfloat16
    assert x.type() == "disttorch.FloatTensor"


def test_conversions():
    x = disttorch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.sum().item() == 10.0 and float(x[0, 0] if hasattr(disttorch.Tensor, "__getitem__") else x.sum()) > 0
    assert int(disttorch.tensor(3)) == 3 and [0, 1, 2][disttorch.tensor(1)] == 1
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError):
        len(disttorch.tensor(1.0))
    a = np.arange(3.0)
    t = disttorch.from_numpy(a)
    a[0] = 9
    assert t.tolist() == [9.0, 1.0, 2.0]
    assert np.shares_memory(t.numpy(), a)
    assert np.asarray(t).tolist() == [9.0, 1.0, 2.0]
    assert disttorch.as_tensor(a) .numpy() is a
    assert f"{disttorch.tensor(2.5):.2f}" == "2.50"
    assert disttorch.tensor([1.5], dtype=disttorch.bfloat16).tolist() == [1.5]


def test_shape_and_size():
    x = disttorch.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == disttorch.Size([2, 3, 4])
    assert repr(x.shape) == "disttorch.Size([2, 3, 4])"
    assert x.size(-1) == 4 and x.dim() == 3 and x.numel() == 24 and x.ndim == 3
    assert x.shape[1:] == disttorch.Size([3, 4])
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)
    assert x.stride() == (12, 4, 1) and x.is_contiguous()
    assert not x.transpose(0, 1).is_contiguous()


def test_pickle_and_deepcopy():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == [1.0, 2.0] and y.requires_grad
    z = copy.deepcopy(x)
    z.data.mul_(2) if hasattr(disttorch.Tensor, "mul_") else None
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_data_property():
    p = disttorch.ones(2, requires_grad=True)
    p.data.mul_(3)
    assert p.tolist() == [3.0, 3.0] and p.requires_grad
    p.data = disttorch.zeros(2)
    assert p.tolist() == [0.0, 0.0]


def test_repr_with_grad():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(disttorch.tensor([1.0], dtype=disttorch.float64)) == "tensor([1.], dtype=disttorch.float64)"


def test_random_reproducible_and_state():
    disttorch.manual_seed(123)
    a = disttorch.rand(5)
    state = disttorch.get_rng_state()
    b = disttorch.randn(3)
    disttorch.set_rng_state(state)
    assert disttorch.randn(3).tolist() == b.tolist()
    disttorch.manual_seed(123)
    assert disttorch.rand(5).tolist() == a.tolist()
    g = disttorch.Generator().manual_seed(7)
    assert disttorch.rand(3, generator=g).tolist() == disttorch.rand(3, generator=disttorch.Generator().manual_seed(7)).tolist()
    r = disttorch.randint(0, 10, (1000,))
    assert r.dtype is disttorch.int64 and 0 <= r.min().item() if hasattr(disttorch.Tensor, "min") else True
    p = disttorch.randperm(10)
    assert sorted(p.tolist()) == list(range(10))
    u = disttorch.rand(10000)
    assert 0.45 < u.mean().item() < 0.55
    n = disttorch.randn(10000)
    assert abs(n.mean().item()) < 0.05
    with pytest.raises(TypeError):
        disttorch.set_rng_state(disttorch.zeros(3))
    assert disttorch.randint(3, 5, (2,)).shape == (2,)
    assert disttorch.rand_like(disttorch.ones(2, dtype=disttorch.float64)).dtype is disttorch.float64


def test_creation_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        disttorch.ones(2, dtype=disttorch.int64, requires_grad=True)
    with pytest.raises(ValueError):
        disttorch.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        disttorch.tensor(["a"])
    with pytest.raises(TypeError):
        disttorch.zeros(2, "3")
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        disttorch.arange(0, 3, 0)
