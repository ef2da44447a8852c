"""softmax / log_softmax / softmin: parity with torch, stability, gradchecks, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
from disttorch.ops.activation import softmin

INF = float("inf")
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (0, 3), (2, 0, 3)]


def _lib(x):
    return disttorch if isinstance(x, disttorch.Tensor) else __import__("torch")


def _softmin(x, dim=None, dtype=None):
    if isinstance(x, disttorch.Tensor):
        return softmin(x, dim, dtype=dtype)
    return __import__("torch").nn.functional.softmin(x, dim, dtype=dtype)


CASES = {
    "softmax_last": lambda x: x.softmax(-1),
    "softmax_first": lambda x: _lib(x).softmax(x, 0),
    "softmax_kw": lambda x: _lib(x).softmax(x, dim=-1, dtype=_lib(x).float32),
    "log_softmax_last": lambda x: x.log_softmax(-1),
    "log_softmax_first": lambda x: _lib(x).log_softmax(x, dim=0),
    "log_softmax_dtype": lambda x: x.float().log_softmax(-1, dtype=_lib(x).float64),
    "softmin": lambda x: _softmin(x, -1),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_parity(name, shape, device):
    check([shape], CASES[name], device=device)


@pytest.mark.parametrize("name", CASES)
def test_middle_dim_and_noncontiguous(name, device):
    check([(2, 3, 4)], lambda x: CASES[name](x.transpose(0, 2)), device=device)
    check([(3, 4, 2)], lambda x: CASES[name](x.permute(1, 2, 0)), device=device)


@pytest.mark.parametrize("fn", [
    lambda x: x.softmax(1),
    lambda x: x.log_softmax(1),
    lambda x: x.softmax(-1) * x.log_softmax(-1),
    lambda x: _softmin(x, 0),
])
def test_wide_range_values(fn, device):
    # large magnitudes: the max shift keeps everything finite
    check([(3, 5)], fn, device=device, low=-800.0, high=800.0, atol=1e-8)


@pytest.mark.parametrize("fn", [
    lambda x: x.softmax(-1),
    lambda x: x.log_softmax(-1),
    lambda x: x.softmax(0),
    lambda x: x.log_softmax(1),
    lambda x: _softmin(x, 1),
    lambda x: x.softmax(1).log_softmax(0),
])
def test_gradcheck(fn, device):
    gradcheck([(2, 3, 4)], fn, device=device, second_order=True)


def test_gradcheck_0d():
    gradcheck([()], lambda x: x.softmax(0) + x.log_softmax(-1), second_order=True)


@pytest.mark.parametrize("vals", [
    [[-INF, 1.0, 2.0], [0.0, 0.0, 0.0]],
    [[-INF, -INF, 1.0], [1000.0, -1000.0, 0.0]],
])
def test_infinities(vals, device):
    a = np.array(vals)
    check([a.shape], lambda x: x.softmax(-1), vals=[a], device=device, forward_only=True)
    check([a.shape], lambda x: x.log_softmax(-1), vals=[a], device=device, forward_only=True)


def test_all_masked_row_gives_nan_like_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[-INF, -INF], [1.0, 2.0]])
    for f in (lambda t, x: t.softmax(x, 1), lambda t, x: t.log_softmax(x, 1)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy RuntimeWarning leaks out
            ours = f(disttorch, disttorch.tensor(a)).numpy()
        np.testing.assert_allclose(ours, f(torch, torch.tensor(a)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_low_precision(dtype, device):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).uniform(-3, 3, size=(4, 7))
    for name in ("softmax", "log_softmax"):
        t = getattr(torch.tensor(a, dtype=getattr(torch, dtype)), name)(-1)
        d = getattr(disttorch.tensor(a, device=device).to(getattr(disttorch, dtype)), name)(-1)
        assert d.dtype.name == dtype
        np.testing.assert_allclose(d.cpu().float().numpy(), t.float().numpy(), atol=1e-2, rtol=1e-2)


def test_integer_input_with_dtype():
    torch = pytest.importorskip("torch")
    for t in (torch, disttorch):
        x = t.tensor([1, 2, 3])
        r = t.softmax(x, 0, dtype=t.float64)
        assert str(r.dtype).endswith("float64")
    np.testing.assert_allclose(
        disttorch.tensor([1, 2, 3]).log_softmax(0, dtype=disttorch.float32).numpy(),
        torch.tensor([1, 2, 3]).log_softmax(0, dtype=torch.float32).numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape,expected", [((5,), 0), ((3, 4), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1), ((), 0)])
def test_implicit_dim(shape, expected):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).normal(size=shape)
    for fn, tfn in ((disttorch.softmax, torch.nn.functional.softmax),
                    (disttorch.log_softmax, torch.nn.functional.log_softmax),
                    (softmin, torch.nn.functional.softmin)):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            ours = fn(disttorch.tensor(a), None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = tfn(torch.tensor(a), None)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)
        if shape:
            np.testing.assert_allclose(ours.numpy(), fn(disttorch.tensor(a), expected).numpy())


def test_grad_fn_names_and_graph():
    x = disttorch.randn(3, 4, dtype=disttorch.float64, requires_grad=True)
    assert x.softmax(1).grad_fn.name() == "SoftmaxBackward0"
    assert x.log_softmax(1).grad_fn.name() == "LogSoftmaxBackward0"
    # the backward records one node for the op, not one per elementary op in the forward
    y = x.softmax(1)
    assert y.grad_fn.next_functions[0][0] is x._accumulator()


def test_double_backward_parity():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(2).normal(size=(3, 5))
    res = []
    for lib in (torch, disttorch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(np.linspace(-1, 1, 15).reshape(3, 5))
        for f in (lambda v: v.softmax(1), lambda v: v.log_softmax(0)):
            (g,) = lib.autograd.grad((f(x) * w).sum(), x, create_graph=True)
            (gg,) = lib.autograd.grad((g * g).sum(), x)
            res.append(gg.numpy())
    for ours, theirs in zip(res[2:], res[:2]):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_errors():
    check_error(lambda t: t.softmax(t.tensor([1, 2]), 0), NotImplementedError)
    check_error(lambda t: t.log_softmax(t.tensor([True, False]), 0), NotImplementedError)
    check_error(lambda t: t.softmax(t.ones(3), 0, dtype=t.int64), NotImplementedError)
    check_error(lambda t: t.softmax(t.ones(2, 3), 2), IndexError)
    check_error(lambda t: t.ones(2, 3).log_softmax(-3), IndexError)
    check_error(lambda t: t.softmax(t.tensor(1.0), 1), IndexError)
    check_error(lambda t: t.softmax(t.ones(2, 3)), TypeError)
    check_error(lambda t: t.ones(2, 3).log_softmax(), TypeError)
    check_error(lambda t: t.softmax(t.ones(2, 3), (0, 1)), TypeError)
