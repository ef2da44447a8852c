"""Comparison, closeness, classification, logical and bitwise ops: parity with torch, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from parity import check, check_error

import disttorch

try:
    import torch
except ImportError:  # parity tests skip
    torch = None


def lib(x):
    return disttorch if isinstance(x, disttorch.Tensor) else torch


COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq_fn": lambda a, b: lib(a).eq(a, b),
    "ne_method": lambda a, b: a.ne(b),
    "lt_fn": lambda a, b: lib(a).lt(a, b),
    "le_method": lambda a, b: a.le(b),
    "gt_fn": lambda a, b: lib(a).gt(a, b),
    "ge_method": lambda a, b: a.ge(b),
    "greater": lambda a, b: lib(a).greater(a, b),
    "greater_equal": lambda a, b: a.greater_equal(b),
    "less": lambda a, b: lib(a).less(a, b),
    "less_equal": lambda a, b: a.less_equal(b),
    "not_equal": lambda a, b: lib(a).not_equal(a, b),
    "eq_rounded": lambda a, b: a.round() == b.round(),
    "isclose": lambda a, b: lib(a).isclose(a, a + b * 1e-6),
    "isclose_tol": lambda a, b: a.isclose(b, rtol=0.5, atol=0.3),
    "logical_and": lambda a, b: lib(a).logical_and(a > 0, b),
    "logical_or": lambda a, b: a.logical_or(b > 0.5),
    "logical_xor": lambda a, b: lib(a).logical_xor(a > 0, b > 0),
    "bitwise_and": lambda a, b: (a > 0) & (b > 0),
    "bitwise_or": lambda a, b: lib(a).bitwise_or(a > 0, b > 0),
    "bitwise_xor": lambda a, b: (a > 0).bitwise_xor(b > 0),
    "int_and": lambda a, b: (a * 10).long() & (b * 10).long(),
    "int_or": lambda a, b: (a * 10).long() | (b * 10).int(),
    "int_xor": lambda a, b: lib(a).bitwise_xor((a * 10).to(lib(a).int16), (b * 10).long()),
}
SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3)), ((4,), ()),
          ((0, 3), (3,)), ((0,), ())]


@pytest.mark.parametrize("name", COMPARE)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_parity(name, shapes, device):
    check(shapes, COMPARE[name], device=device, forward_only=True)


@pytest.mark.parametrize("name", COMPARE)
def test_binary_noncontiguous(name, device):
    check([(4, 3), (3, 4)], lambda a, b: COMPARE[name](a.transpose(0, 1), b), device=device,
          forward_only=True)


@pytest.mark.parametrize("name", ["eq", "lt", "ge", "isclose"])
def test_no_gradient(name):
    """Comparisons give bool tensors that are cut from the graph."""
    a = disttorch.tensor([1.0, 2.0], requires_grad=True)
    b = disttorch.tensor([1.0, 3.0], requires_grad=True)
    r = COMPARE[name](a, b)
    assert r.dtype == disttorch.bool
    assert not r.requires_grad and r.grad_fn is None


SCALARS = [2, 2.5, True, -1, 0.0]


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
@pytest.mark.parametrize("scalar", SCALARS, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint8"])
def test_scalar_operands(op, scalar, dtype, device):
    fwd = COMPARE[op]
    low = 0 if dtype == "uint8" else -3
    check([(6,)], lambda a: fwd(a, scalar), device=device, dtype=dtype, low=low, high=4,
          forward_only=True)
    # the number on the left: Python calls the tensor's reflected operator
    check([(6,)], lambda a: fwd(scalar, a), device=device, dtype=dtype, low=low, high=4,
          forward_only=True)


@pytest.mark.parametrize("fn", [
    lambda t: t.tensor([1, 2, 3]) == t.tensor([1.0, 2.5, 3.0]),
    lambda t: t.tensor([1, 2, 3]) < 2.5,
    lambda t: t.tensor([True, False]) == 1,
    lambda t: t.tensor([True, False]) == t.tensor([1, 0]),
    lambda t: t.tensor([1, 2], dtype=t.uint8) > t.tensor([-1, 3], dtype=t.int8),
    lambda t: t.tensor([1.0, 2.0], dtype=t.float16) >= t.tensor([1.0, 3.0], dtype=t.bfloat16),
    lambda t: t.tensor([math.nan, 1.0]) == t.tensor([math.nan, 1.0]),
    lambda t: t.tensor([math.nan, 1.0]) != t.tensor([math.nan, 1.0]),
    lambda t: t.tensor([math.nan, 1.0], dtype=t.bfloat16) < 2,
    lambda t: t.tensor([math.inf, -math.inf]) > 1e308,
    lambda t: t.eq(t.tensor([1, 2]), 2.0),
    lambda t: 2 < t.tensor([1, 2, 3]),
    lambda t: 2.5 == t.tensor([2.5, 1.0]),
    lambda t: t.isclose(t.tensor([1e10]), t.tensor([1.00001e10])),
    lambda t: t.isclose(t.tensor([math.inf, -math.inf, math.nan]), t.tensor([math.inf, math.inf, math.nan])),
    lambda t: t.isclose(t.tensor([math.nan, 1.0]), t.tensor([math.nan, 1.0]), equal_nan=True),
    lambda t: t.isclose(t.tensor([1, 2], dtype=t.uint8), t.tensor([2, 1], dtype=t.uint8), atol=1, rtol=0),
    lambda t: t.isclose(t.tensor([100]), t.tensor([101]), rtol=0.01, atol=0),
    lambda t: t.isclose(t.tensor([True, False]), t.tensor([True, True])),
    lambda t: t.isclose(t.tensor([1.0, 2.0]), t.tensor([1.0, 2.1]), rtol=0, atol=0),
    lambda t: t.isnan(t.tensor([1.0, math.nan, math.inf])),
    lambda t: t.isnan(t.tensor([1, 2])),
    lambda t: t.isinf(t.tensor([1.0, math.nan, math.inf, -math.inf])),
    lambda t: t.isinf(t.tensor([True])),
    lambda t: t.isposinf(t.tensor([1.0, math.nan, math.inf, -math.inf])),
    lambda t: t.isneginf(t.tensor([1.0, math.nan, math.inf, -math.inf], dtype=t.float16)),
    lambda t: t.isneginf(t.tensor([-3, 2])),
    lambda t: t.isfinite(t.tensor([1.0, math.nan, math.inf, -math.inf], dtype=t.bfloat16)),
    lambda t: t.isfinite(t.tensor([1, 2], dtype=t.int8)),
    lambda t: t.tensor([1.0, math.nan]).isnan(),
    lambda t: t.signbit(t.tensor([-0.0, 0.0, -1.0, 2.0, -math.inf, math.nan])),
    lambda t: t.signbit(t.tensor([-3, 0, 4])),
    lambda t: t.signbit(t.tensor([3, 0], dtype=t.uint8)),
    lambda t: t.signbit(t.tensor([True, False])),
    lambda t: t.signbit(t.tensor([-1.5, 0.0], dtype=t.bfloat16)),
    lambda t: t.tensor([-0.0, 1.0]).signbit(),
    lambda t: t.logical_and(t.tensor([-2, 0, 3]), t.tensor([1.5, 0.0, 0.0])),
    lambda t: t.logical_or(t.tensor([0, 0]), t.tensor([False, True])),
    lambda t: t.logical_xor(t.tensor([-2, 0, 3]), t.tensor([True, False, True])),
    lambda t: t.logical_not(t.tensor([0.5, 0.0, math.nan])),
    lambda t: t.logical_not(t.tensor([0.5, 0.0], dtype=t.bfloat16)),
    lambda t: t.tensor([3, 0]).logical_not(),
    lambda t: t.bitwise_and(t.tensor([-2, 0, 3]), 3),
    lambda t: t.bitwise_and(3, t.tensor([-2, 0, 3])),
    lambda t: t.tensor([-2, 0, 3]) & 3,
    lambda t: 3 & t.tensor([-2, 0, 3]),
    lambda t: 5 | t.tensor([1, 2], dtype=t.int16),
    lambda t: 1 ^ t.tensor([1, 2], dtype=t.uint8),
    lambda t: t.tensor([True, False]) & True,
    lambda t: t.tensor([True, False]) | 1,
    lambda t: t.tensor([True, False]) ^ t.tensor([True, True]),
    lambda t: t.tensor([-2, 0, 3]) & t.tensor([True, False, True]),
    lambda t: t.tensor([1, 2], dtype=t.uint8) & -1,
    lambda t: ~t.tensor([True, False]),
    lambda t: ~t.tensor([-2, 0, 3]),
    lambda t: ~t.tensor([1, 2], dtype=t.uint8),
    lambda t: t.bitwise_not(t.tensor([5, 0], dtype=t.int8)),
    lambda t: t.tensor([5, 0]).bitwise_not(),
    lambda t: t.tensor(5) & t.tensor([1, 3], dtype=t.int8),
    lambda t: t.tensor(True) == t.tensor([0.0, 1.0]),
])
def test_values_and_dtypes_match_torch(fn):
    if torch is None:
        pytest.skip("torch is not installed")
    ours, theirs = fn(disttorch), fn(torch)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert ours.tolist() == theirs.tolist()


def test_equal_and_allclose():
    if torch is None:
        pytest.skip("torch is not installed")
    cases = [
        lambda t: t.equal(t.tensor([1, 2]), t.tensor([1, 2])),
        lambda t: t.equal(t.tensor([1, 2]), t.tensor([1, 3])),
        lambda t: t.equal(t.tensor([1, 2]), t.tensor([1.0, 2.0])),
        lambda t: t.equal(t.tensor([1, 2]), t.tensor([1, 2, 3])),
        lambda t: t.equal(t.ones(2, 1), t.ones(2)),
        lambda t: t.equal(t.tensor([math.nan]), t.tensor([math.nan])),
        lambda t: t.equal(t.zeros(0), t.zeros(0)),
        lambda t: t.tensor([1.0, 2.0]).equal(t.tensor([1.0, 2.0])),
        lambda t: t.allclose(t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0 + 1e-7])),
        lambda t: t.allclose(t.tensor([1.0, 2.0]), t.tensor([1.0, 2.1])),
        lambda t: t.allclose(t.tensor([1.0, 2.0]), t.tensor([1.0, 2.1]), rtol=0.1),
        lambda t: t.allclose(t.tensor([1.0, math.nan]), t.tensor([1.0, math.nan])),
        lambda t: t.allclose(t.tensor([1.0, math.nan]), t.tensor([1.0, math.nan]), equal_nan=True),
        lambda t: t.allclose(t.ones(2, 3), t.ones(3)),
        lambda t: t.allclose(t.tensor([1, 2]), t.tensor([1, 2])),
        lambda t: t.tensor([1.0]).allclose(t.tensor([1.0 + 1e-9])),
    ]
    for fn in cases:
        ours, theirs = fn(disttorch), fn(torch)
        assert type(ours) is bool
        assert ours == theirs


def test_isclose_parity_with_defaults(device):
    check([(3, 4), (3, 4)], lambda a, b: lib(a).isclose(a, a + b * 1e-5), device=device,
          forward_only=True)
    check([(3, 4), (4,)], lambda a, b: a.isclose(a.float().double() + b * 1e-9, atol=0),
          device=device, forward_only=True)


def test_operators_with_other_types():
    x = disttorch.tensor([1, 2])
    assert (x == None) is False  # noqa: E711 - torch's behaviour for ==/!= with non-tensors
    assert (x != None) is True  # noqa: E711
    assert (x == "a") is False
    assert (x == [1, 2]) is False
    with pytest.raises(TypeError):
        x < None  # noqa: B015
    with pytest.raises(TypeError):
        x & "a"  # noqa: B015


def test_tensors_stay_hashable():
    a, b = disttorch.tensor([1.0]), disttorch.tensor([1.0])
    assert hash(a) == object.__hash__(a)
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2
    assert len({a, b, a}) == 2
    assert disttorch.Tensor.__hash__ is object.__hash__


def test_inplace_forms(device):
    if torch is None:
        pytest.skip("torch is not installed")
    cases = [
        ("eq_", lambda t: t.tensor([1, 0, 2]), (lambda t: 0,)),
        ("lt_", lambda t: t.tensor([1.5, 0.0, 2.0]), (lambda t: 1,)),
        ("ge_", lambda t: t.tensor([1.5, 0.0, 2.0]), (lambda t: t.tensor([1.0, 1.0, 3.0]),)),
        ("ne_", lambda t: t.tensor([1.5, 0.0, 2.0]), (lambda t: 2.0,)),
        ("gt_", lambda t: t.tensor([1, 5, 2]), (lambda t: 2,)),
        ("le_", lambda t: t.tensor([1, 5, 2]), (lambda t: 2,)),
        ("greater_", lambda t: t.tensor([1, 5, 2]), (lambda t: 2,)),
        ("logical_and_", lambda t: t.tensor([-2, 0, 3]), (lambda t: t.tensor([1.5, 1.0, 0.0]),)),
        ("logical_or_", lambda t: t.tensor([True, False, False]), (lambda t: t.tensor([0, 0, 2]),)),
        ("logical_xor_", lambda t: t.tensor([1.0, 0.0, 2.0]), (lambda t: t.tensor([1, 1, 0]),)),
        ("logical_not_", lambda t: t.tensor([1.0, 0.0, 2.0]), ()),
        ("bitwise_and_", lambda t: t.tensor([6, 5, 3]), (lambda t: 3,)),
        ("bitwise_or_", lambda t: t.tensor([6, 5, 3]), (lambda t: t.tensor([1, 2, 4]),)),
        ("bitwise_xor_", lambda t: t.tensor([True, False]), (lambda t: True,)),
        ("bitwise_not_", lambda t: t.tensor([6, -5, 3], dtype=t.int16), ()),
        ("__iand__", lambda t: t.tensor([6, 5, 3]), (lambda t: 3,)),
        ("__ior__", lambda t: t.tensor([6, 5, 3]), (lambda t: t.tensor([1, 1, 1], dtype=t.int8),)),
        ("__ixor__", lambda t: t.tensor([True, False]), (lambda t: t.tensor([True, True]),)),
    ]
    for name, make, args in cases:
        ours = make(disttorch).to(device)
        theirs = make(torch)
        v = ours._version
        oargs = [a(disttorch) for a in args]
        oargs = [a.to(device) if isinstance(a, disttorch.Tensor) else a for a in oargs]
        r = getattr(ours, name)(*oargs)
        getattr(theirs, name)(*[a(torch) for a in args])
        assert r is ours, name
        assert ours._version == v + 1, name
        assert ours.dtype.name == str(theirs.dtype).split(".")[1], name
        assert ours.tolist() == theirs.tolist(), name
    x = disttorch.tensor([6, 5], device=device)
    y = x
    x &= 3
    x |= 8
    x ^= 1
    assert y is x and x.tolist() == [(6 & 3 | 8) ^ 1, (5 & 3 | 8) ^ 1]


def test_classification_on_device(device):
    x = disttorch.tensor([1.0, math.nan, math.inf, -math.inf, -0.0], device=device)
    assert x.isnan().tolist() == [False, True, False, False, False]
    assert x.isinf().tolist() == [False, False, True, True, False]
    assert x.isposinf().tolist() == [False, False, True, False, False]
    assert x.isneginf().tolist() == [False, False, False, True, False]
    assert x.isfinite().tolist() == [True, False, False, False, True]
    assert x.signbit().tolist() == [False, False, False, True, True]
    assert x.isnan().device == x.device


def test_errors():
    check_error(lambda t: t.ones(3) == t.ones(2), RuntimeError)
    check_error(lambda t: t.lt(t.ones(2, 3), t.ones(3, 2)), RuntimeError)
    check_error(lambda t: t.eq(2, t.ones(2)), TypeError)
    check_error(lambda t: t.eq(t.ones(2), [1, 2]), TypeError)
    check_error(lambda t: t.isclose(t.ones(2), t.ones(2, dtype=t.float64)), RuntimeError)
    check_error(lambda t: t.isclose(t.ones(2, dtype=t.int64), t.ones(2)), RuntimeError)
    check_error(lambda t: t.allclose(t.ones(2), t.ones(2, dtype=t.float64)), RuntimeError)
    check_error(lambda t: t.isclose(t.ones(2), t.ones(2), rtol=-1), RuntimeError)
    check_error(lambda t: t.isclose(t.ones(2), t.ones(2), atol=-1), RuntimeError)
    check_error(lambda t: t.allclose(t.ones(2), 1.0), TypeError)
    check_error(lambda t: t.logical_and(t.ones(2), 1), TypeError)
    check_error(lambda t: t.logical_and(t.ones(3), t.ones(2)), RuntimeError)
    check_error(lambda t: t.isnan(1.0), TypeError)
    check_error(lambda t: t.tensor([1.0]) & t.tensor([1]), NotImplementedError)
    check_error(lambda t: t.bitwise_and(t.tensor([True]), 1.5), NotImplementedError)
    check_error(lambda t: t.tensor([1]) | 1.5, NotImplementedError)
    check_error(lambda t: t.bitwise_not(t.tensor([1.0])), NotImplementedError)
    check_error(lambda t: ~t.tensor([1.0]), TypeError)
    check_error(lambda t: t.tensor([True]).__iand__(2), RuntimeError)
    check_error(lambda t: t.tensor([1, 2]).bitwise_or_(t.tensor([1.0, 2.0])), RuntimeError)
    check_error(lambda t: t.tensor([1.0, 2.0]).bitwise_or_(1), NotImplementedError)
    check_error(lambda t: t.tensor([1, 2]) < None, TypeError)


def test_dunder_all_matches_torch_top_level():
    from disttorch.ops import comparison as C

    if torch is None:
        pytest.skip("torch is not installed")
    for name in C.__all__:
        assert hasattr(torch, name), name
        assert getattr(disttorch, name) is getattr(C, name)


def test_bool_result_is_numpy_bool(device):
    r = disttorch.tensor([1.0, 2.0], device=device) > 1.5
    assert r.dtype is disttorch.bool
    assert r.device == disttorch.device(device if device == "cpu" else "cuda:0")
    assert isinstance(r.cpu().numpy(), np.ndarray) and r.cpu().numpy().dtype == np.bool_
