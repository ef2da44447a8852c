"""Arithmetic ops: parity with torch, broadcasting, promotion, gradchecks, errors."""
from __future__ import annotations

import pytest
from parity import check, check_error, gradcheck

import disttorch

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b,
    "add_alpha": lambda a, b: a.add(b, alpha=2.5),
    "sub_alpha": lambda a, b: a.sub(b, alpha=0.5),
    "remainder": lambda a, b: a % (b.abs() + 0.5),
}
SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3)), ((4,), ())]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_parity(name, shapes, device):
    check(shapes, BINARY[name], device=device, low=0.5, high=2.0)


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradcheck(name, device):
    gradcheck([(2, 3), (3,)], BINARY[name], device=device, low=0.5, high=2.0, second_order=True)


UNARY = {
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "sign": lambda x: x.sign(),
    "reciprocal": lambda x: x.reciprocal(),
    "square": lambda x: x ** 2,
    "cube_root": lambda x: x.abs() ** (1 / 3),
    "rpow": lambda x: 2.0 ** x,
    "scalar_ops": lambda x: (3 - x) * 2 / (x + 5) - 1.5,
    "rdiv": lambda x: 1 / (x + 3),
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4), (0, 3)], ids=str)
def test_unary_parity(name, shape, device):
    check([shape], UNARY[name], device=device)


@pytest.mark.parametrize("name", [n for n in UNARY if n != "sign"])
def test_unary_gradcheck(name):
    gradcheck([(3, 2)], UNARY[name], low=0.5, high=2.0, second_order=True)


@pytest.mark.parametrize("fn", [
    lambda t: t.tensor([1, 2, 3]) + 2,
    lambda t: t.tensor([1, 2, 3]) / 2,
    lambda t: t.tensor([1, 2, 3]) * 2.5,
    lambda t: t.tensor([1, 2, 3], dtype=t.int32) + t.tensor(2, dtype=t.int64),
    lambda t: t.tensor([1, 2, 3], dtype=t.int32) + t.tensor([2], dtype=t.int64),
    lambda t: t.tensor([1.0, 2.0], dtype=t.float32) + t.tensor(2.0, dtype=t.float64),
    lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor(2.0, dtype=t.float64),
    lambda t: t.tensor([True, False]) + 1,
    lambda t: t.tensor([True, False]) * 1.5,
    lambda t: t.tensor([1, 2], dtype=t.uint8) + t.tensor([1, 2], dtype=t.int8),
    lambda t: t.tensor([1.0, 2.0], dtype=t.float16) + t.tensor([1.0], dtype=t.bfloat16),
    lambda t: t.tensor([7, -7]) // 2,
    lambda t: t.tensor([7, -7]) % 3,
    lambda t: t.tensor([7.5, -7.5]) // 2,
    lambda t: t.div(t.tensor([7, -7]), 2, rounding_mode="trunc"),
    lambda t: t.div(t.tensor([7.0, -7.0]), 2, rounding_mode="floor"),
    lambda t: t.tensor([2, 3]) ** 2,
    lambda t: 2 ** t.tensor([2, 3]),
])
def test_promotion_matches_torch(fn):
    torch = pytest.importorskip("torch")
    ours, theirs = fn(disttorch), fn(torch)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert ours.tolist() == theirs.tolist()


def test_seed_example_repr():
    assert repr(disttorch.tensor([1, 2, 3, 4]) + 2) == "tensor([3, 4, 5, 6])"


def test_inplace_ops(device):
    x = disttorch.tensor([1.0, 2.0, 3.0], device=device)
    v = x._version
    x.add_(1).mul_(2).sub_(1, alpha=2).div_(2)
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert x._version == v + 4
    x += 1
    x *= disttorch.tensor([1.0, 2.0, 0.5], device=device)
    assert x.tolist() == [2.0, 6.0, 2.0]


def test_inplace_grad_flows_through_rebase():
    torch = pytest.importorskip("torch")
    for lib in (torch, disttorch):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = w * 2
        y.mul_(w)
        y.add_(1)
        y.sum().backward()
        if lib is torch:
            expected = w.grad.tolist()
        else:
            assert w.grad.tolist() == expected


def test_errors():
    check_error(lambda t: t.ones(2, 3) + t.ones(4), RuntimeError)
    check_error(lambda t: t.tensor([True]) - t.tensor([False]), RuntimeError)
    check_error(lambda t: -t.tensor([True]), RuntimeError)
    check_error(lambda t: t.ones(3, dtype=t.int64).add_(1.5), RuntimeError)
    check_error(lambda t: t.ones(3).add_(t.ones(2, 3)), RuntimeError)
    check_error(lambda t: t.ones(3, requires_grad=True).add_(1), RuntimeError)
    check_error(lambda t: t.tensor([2, 3]) ** -1, RuntimeError)
    check_error(lambda t: t.div(t.ones(2), 2, rounding_mode="bad"), RuntimeError)
    check_error(lambda t: t.ones(2) + "a", TypeError)
