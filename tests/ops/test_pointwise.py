"""Pointwise ops: parity with torch (values, dtypes, gradients), gradchecks, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
from disttorch.ops import pointwise as P

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # parity tests skip; gradchecks still run
    torch = TF = None


def lib(x):
    """The library a tensor belongs to: torch or disttorch."""
    return disttorch if isinstance(x, disttorch.Tensor) else torch


def F(x):
    """torch.nn.functional for torch tensors, the pointwise module for ours."""
    return P if isinstance(x, disttorch.Tensor) else TF


# name -> (fn, low, high)
UNARY = {
    "exp": (lambda x: x.exp(), -2, 2),
    "exp2": (lambda x: lib(x).exp2(x), -2, 2),
    "expm1": (lambda x: x.expm1(), -2, 2),
    "log": (lambda x: x.log(), 0.1, 3),
    "log2": (lambda x: lib(x).log2(x), 0.1, 3),
    "log10": (lambda x: x.log10(), 0.1, 3),
    "log1p": (lambda x: x.log1p(), -0.9, 3),
    "sqrt": (lambda x: x.sqrt(), 0.1, 3),
    "rsqrt": (lambda x: lib(x).rsqrt(x), 0.1, 3),
    "square": (lambda x: lib(x).square(x), -2, 2),
    "sin": (lambda x: x.sin(), -3, 3),
    "cos": (lambda x: lib(x).cos(x), -3, 3),
    "tan": (lambda x: x.tan(), -1.2, 1.2),
    "asin": (lambda x: x.asin(), -0.9, 0.9),
    "acos": (lambda x: lib(x).acos(x), -0.9, 0.9),
    "atan": (lambda x: x.atan(), -3, 3),
    "arcsin": (lambda x: lib(x).arcsin(x), -0.9, 0.9),
    "sinh": (lambda x: x.sinh(), -2, 2),
    "cosh": (lambda x: lib(x).cosh(x), -2, 2),
    "tanh": (lambda x: x.tanh(), -3, 3),
    "asinh": (lambda x: x.asinh(), -3, 3),
    "acosh": (lambda x: lib(x).acosh(x), 1.1, 4),
    "atanh": (lambda x: x.atanh(), -0.9, 0.9),
    "sigmoid": (lambda x: x.sigmoid(), -6, 6),
    "logsigmoid": (lambda x: F(x).logsigmoid(x), -6, 6),
    "relu": (lambda x: x.relu(), -2, 2),
    "relu6": (lambda x: F(x).relu6(x * 4), -2, 2),
    "leaky_relu": (lambda x: F(x).leaky_relu(x, 0.2), -2, 2),
    "elu": (lambda x: F(x).elu(x, alpha=1.5), -2, 2),
    "selu": (lambda x: lib(x).selu(x), -2, 2),
    "celu": (lambda x: lib(x).celu(x, alpha=0.7), -2, 2),
    "gelu": (lambda x: F(x).gelu(x), -3, 3),
    "gelu_tanh": (lambda x: F(x).gelu(x, approximate="tanh"), -3, 3),
    "silu": (lambda x: F(x).silu(x), -4, 4),
    "mish": (lambda x: F(x).mish(x), -4, 4),
    "softplus": (lambda x: F(x).softplus(x), -4, 4),
    "softplus_beta": (lambda x: F(x).softplus(x, beta=2.0, threshold=3.0), -4, 4),
    "hardtanh": (lambda x: F(x).hardtanh(x, -0.5, 1.5), -2, 2),
    "hardsigmoid": (lambda x: F(x).hardsigmoid(x), -5, 5),
    "hardswish": (lambda x: F(x).hardswish(x), -5, 5),
    "softsign": (lambda x: F(x).softsign(x), -3, 3),
    "tanhshrink": (lambda x: F(x).tanhshrink(x), -3, 3),
    "erf": (lambda x: x.erf(), -3, 3),
    "erfc": (lambda x: lib(x).erfc(x), -3, 3),
    "erfinv": (lambda x: x.erfinv(), -0.95, 0.95),
    "floor": (lambda x: x.floor(), -3, 3),
    "ceil": (lambda x: lib(x).ceil(x), -3, 3),
    "round": (lambda x: x.round(), -3, 3),
    "round_decimals": (lambda x: lib(x).round(x, decimals=1), -3, 3),
    "round_neg_decimals": (lambda x: lib(x).round(x * 100, decimals=-1), -3, 3),
    "trunc": (lambda x: x.trunc(), -3, 3),
    "fix": (lambda x: lib(x).fix(x), -3, 3),
    "frac": (lambda x: x.frac(), -3, 3),
    "sinc": (lambda x: lib(x).sinc(x), -3, 3),
    "deg2rad": (lambda x: x.deg2rad(), -300, 300),
    "rad2deg": (lambda x: lib(x).rad2deg(x), -3, 3),
    "nan_to_num": (lambda x: lib(x).nan_to_num(x), -3, 3),
    "logit": (lambda x: x.logit(), 0.05, 0.95),
    "logit_eps": (lambda x: lib(x).logit(x, eps=0.2), 0.05, 0.95),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), -2, 2),
    "clamp_min": (lambda x: x.clamp(min=0.3), -2, 2),
    "clamp_max": (lambda x: lib(x).clamp(x, max=-0.3), -2, 2),
    "clip": (lambda x: x.clip(-1, 1), -2, 2),
    "clamp_min_fn": (lambda x: lib(x).clamp_min(x, 0.1), -2, 2),
    "clamp_max_fn": (lambda x: x.clamp_max(0.1), -2, 2),
}
SHAPES = [(), (5,), (2, 3, 4), (0, 3)]
# rounding ops: no finite-difference check (their derivative is zero almost everywhere,
# but a probe straddling a jump sees a huge slope)
STEP = {"floor", "ceil", "round", "round_decimals", "round_neg_decimals", "trunc", "fix"}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unary_parity(name, shape, device):
    fn, low, high = UNARY[name]
    check([shape], fn, device=device, low=low, high=high)


@pytest.mark.parametrize("name", UNARY)
def test_unary_noncontiguous(name, device):
    fn, low, high = UNARY[name]
    check([(3, 4)], lambda x: fn(x.transpose(0, 1)), device=device, low=low, high=high)


@pytest.mark.parametrize("name", UNARY)
def test_unary_float32(name, device):
    fn, low, high = UNARY[name]
    check([(4, 5)], fn, dtype="float32", device=device, low=low, high=high, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("name", [n for n in UNARY if n not in STEP])
def test_unary_gradcheck(name):
    fn, low, high = UNARY[name]
    gradcheck([(2, 3)], fn, low=low, high=high, second_order=True)


@pytest.mark.parametrize("name", sorted(STEP))
def test_rounding_grad_is_zero(name):
    x = disttorch.tensor([0.3, -1.7, 2.5], dtype=disttorch.float64, requires_grad=True)
    UNARY[name][0](x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "erf", "gelu", "silu",
                                  "softplus", "hardswish", "elu", "sinc", "erfinv", "logsigmoid"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_unary_half_precision(name, dtype, device):
    fn, low, high = UNARY[name]

    def run(x):
        return fn(x.to(getattr(lib(x), dtype)))

    check([(3, 4)], run, device=device, low=low, high=high, atol=1e-2, rtol=1e-2, forward_only=True)


INT_OK = ["exp", "exp2", "log", "log2", "sqrt", "rsqrt", "square", "sin", "cos", "tanh", "sigmoid",
          "relu", "relu6", "hardtanh", "erf", "erfinv", "floor", "ceil", "round", "trunc", "sinc",
          "deg2rad", "rad2deg", "nan_to_num", "clamp", "clamp_min", "clamp_max", "softsign",
          "tanhshrink", "asinh", "atan"]


@pytest.mark.parametrize("name", INT_OK)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_inputs(name, dtype, device):
    fn, _, _ = UNARY[name]
    low = 0 if dtype == "uint8" else -5
    check([(7,)], fn, dtype=dtype, device=device, low=low, high=6)


@pytest.mark.parametrize("name", ["exp", "sigmoid", "square", "sqrt", "sin", "erf"])
def test_bool_inputs(name):
    fn, _, _ = UNARY[name]
    check([(4,)], lambda x: fn(x > 0), forward_only=True)


SPECIAL = [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, math.inf, -math.inf, math.nan, 1e-30, 40.0, -40.0,
           700.0, -700.0]


@pytest.mark.parametrize("name", [n for n in UNARY if n not in ("deg2rad", "round_neg_decimals")])
def test_unary_special_values(name):
    fn, _, _ = UNARY[name]
    check(None, fn, vals=[np.array(SPECIAL)], forward_only=True)


KINKS = [-3.0, -1.0, -0.5, 0.0, 0.7, 1.0, 1.5, 3.0, 6.0, -0.3, 0.3, 0.1]


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "hardtanh",
                                  "hardsigmoid", "hardswish", "clamp", "clamp_min", "clamp_max",
                                  "clip", "sinc", "frac", "softplus_beta", "logit_eps",
                                  "nan_to_num", "clamp_min_fn", "clamp_max_fn"])
def test_gradient_at_kinks(name):
    """torch's conventions at the corners (relu'(0) = 0, clamp passes at its bounds...)."""
    fn, _, _ = UNARY[name]
    check(None, fn, vals=[np.array(KINKS)])


def test_erf_family_accuracy():
    xs = np.linspace(-6, 6, 1201)
    out = disttorch.erf(disttorch.tensor(xs)).numpy()
    outc = disttorch.erfc(disttorch.tensor(xs)).numpy()
    np.testing.assert_allclose(out, [math.erf(v) for v in xs], rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(outc, [math.erfc(v) for v in xs], rtol=1e-12, atol=1e-300)
    ys = np.concatenate([np.linspace(-0.999999, 0.999999, 801), [1 - 1e-12, -1 + 1e-15, 1e-300]])
    inv = disttorch.erfinv(disttorch.tensor(ys)).numpy()
    np.testing.assert_allclose([math.erf(v) for v in inv], ys, rtol=1e-14, atol=1e-16)
    assert disttorch.erfinv(disttorch.tensor([1.0, -1.0, 1.5])).tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(disttorch.erfinv(disttorch.tensor([1.5])).item())


# -- binary -----------------------------------------------------------------------------------------

BINARY = {
    "atan2": (lambda a, b: lib(a).atan2(a, b), -2, 2),
    "arctan2": (lambda a, b: a.arctan2(b), -2, 2),
    "maximum": (lambda a, b: lib(a).maximum(a, b), -2, 2),
    "minimum": (lambda a, b: a.minimum(b), -2, 2),
    "fmax": (lambda a, b: lib(a).fmax(a, b), -2, 2),
    "fmin": (lambda a, b: a.fmin(b), -2, 2),
    "hypot": (lambda a, b: lib(a).hypot(a, b), -2, 2),
    "logaddexp": (lambda a, b: lib(a).logaddexp(a, b), -2, 2),
    "logaddexp2": (lambda a, b: a.logaddexp2(b), -2, 2),
    "xlogy": (lambda a, b: lib(a).xlogy(a, b.abs() + 0.1), -2, 2),
    "copysign": (lambda a, b: lib(a).copysign(a, b), -2, 2),
    "float_power": (lambda a, b: lib(a).float_power(a.abs() + 0.1, b), -2, 2),
    "lerp_scalar": (lambda a, b: lib(a).lerp(a, b, 0.3), -2, 2),
    "lerp_scalar_big": (lambda a, b: a.lerp(b, 0.8), -2, 2),
    "clamp_tensor_min": (lambda a, b: lib(a).clamp(a, min=b), -2, 2),
    "clamp_tensor_max": (lambda a, b: a.clamp(max=b), -2, 2),
    "where": (lambda a, b: lib(a).where(a > b, a, b * 2), -2, 2),
    "where_method": (lambda a, b: a.where(a < 0.5, b), -2, 2),
}
BIN_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3)), ((4,), ()),
              ((0, 3), (3,))]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BIN_SHAPES, ids=str)
def test_binary_parity(name, shapes, device):
    fn, low, high = BINARY[name]
    check(shapes, fn, device=device, low=low, high=high)


@pytest.mark.parametrize("name", BINARY)
def test_binary_noncontiguous(name, device):
    fn, low, high = BINARY[name]
    check([(4, 3), (3, 4)], lambda a, b: fn(a.transpose(0, 1), b), device=device, low=low, high=high)


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradcheck(name):
    fn, low, high = BINARY[name]
    gradcheck([(2, 3), (3,)], fn, low=low, high=high, second_order=True)


TERNARY = {
    "lerp": (lambda a, b, w: lib(a).lerp(a, b, w), -2, 2),
    "addcmul": (lambda a, b, c: lib(a).addcmul(a, b, c, value=0.5), -2, 2),
    "addcmul_default": (lambda a, b, c: a.addcmul(b, c), -2, 2),
    "addcdiv": (lambda a, b, c: lib(a).addcdiv(a, b, c.abs() + 0.5, value=-1.5), -2, 2),
    "clamp_tensor": (lambda a, b, c: lib(a).clamp(a, b, b + c.abs()), -2, 2),
    "clamp_tensor_crossed": (lambda a, b, c: a.clamp(b, b - c.abs() - 0.1), -2, 2),
    "where_tensor_cond": (lambda a, b, c: lib(a).where(c > 0, a, b), -2, 2),
}
TER_SHAPES = [((3, 4), (3, 4), (3, 4)), ((2, 3, 4), (4,), (3, 1)), ((), (2, 3), ()),
              ((0, 3), (3,), (1, 3))]


@pytest.mark.parametrize("name", TERNARY)
@pytest.mark.parametrize("shapes", TER_SHAPES, ids=str)
def test_ternary_parity(name, shapes, device):
    fn, low, high = TERNARY[name]
    check(shapes, fn, device=device, low=low, high=high)


@pytest.mark.parametrize("name", TERNARY)
def test_ternary_noncontiguous(name, device):
    fn, low, high = TERNARY[name]
    check([(4, 3), (3, 4), (4,)], lambda a, b, c: fn(a.permute(1, 0), b, c), device=device,
          low=low, high=high)


@pytest.mark.parametrize("name", TERNARY)
def test_ternary_gradcheck(name):
    fn, low, high = TERNARY[name]
    gradcheck([(2, 3), (3,), (2, 1)], fn, low=low, high=high, second_order=True)


TIES = [np.array([1.0, 2.0, -1.0, 0.0, 5.0, math.nan, 3.0]),
        np.array([1.0, 3.0, -1.0, 0.0, 4.0, 1.0, math.nan])]


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin", "clamp_tensor_min",
                                  "clamp_tensor_max", "copysign", "atan2", "xlogy", "hypot",
                                  "logaddexp"])
def test_binary_ties_and_nan(name):
    fn, _, _ = BINARY[name]
    check(None, fn, vals=TIES)


def test_xlogy_zero_conventions():
    vals = [np.array([0.0, 0.0, 0.0, 1.0, 2.0]), np.array([0.0, math.nan, -1.0, 0.0, 3.0])]
    check(None, lambda a, b: lib(a).xlogy(a, b), vals=vals)
    check(None, lambda a, b: lib(a).xlogy(a, 2.0) + lib(a).xlogy(3, b), vals=vals)


def test_atan2_hypot_at_origin():
    vals = [np.array([0.0, 1.0, -1.0, 0.0]), np.array([0.0, 0.0, 2.0, -3.0])]
    check(None, lambda a, b: lib(a).atan2(a, b), vals=vals)


def test_float_power_variants():
    check(None, lambda a, b: lib(a).float_power(a, b), vals=[np.array([0.0, 1.0, -1.0, 2.0]),
                                                             np.array([0.0, 0.0, 2.0, -1.0])])
    check([(3,)], lambda a: lib(a).float_power(a, 2), dtype="float32")
    check([(3,)], lambda a: lib(a).float_power(2, a), dtype="float32")
    check([(4,)], lambda a: lib(a).float_power(a, 3), dtype="int64", low=-3, high=3)
    check([(4,)], lambda a: lib(a).float_power(a.abs() + 1, a), low=-1, high=1)


def test_lerp_weight_tensor_0d_other_dtype():
    check([(3,), (3,), ()], lambda a, b, w: lib(a).lerp(a.float(), b.float(), w),
          atol=1e-6, grad_atol=1e-5)


# -- promotion and dtypes ---------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [
    lambda t: t.where(t.tensor([True, False]), 1, 0),
    lambda t: t.where(t.tensor([True, False]), 1.0, 0),
    lambda t: t.where(t.tensor([True, False]), t.tensor([1, 2]), 2.5),
    lambda t: t.where(t.tensor([True, False]), t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0], dtype=t.float64)),
    lambda t: t.where(t.tensor([True, False]), t.tensor(1.0, dtype=t.float64), t.tensor([1, 2])),
    lambda t: t.where(t.tensor([True, False]), 1.0, t.tensor([1.0, 2.0], dtype=t.float16)),
    lambda t: t.where(t.tensor([True, False]), t.tensor([3, 4], dtype=t.int8), t.tensor([1, 2], dtype=t.uint8)),
    lambda t: t.maximum(t.tensor([1, 5]), t.tensor([2.5, 0.5])),
    lambda t: t.maximum(t.tensor([True, False]), t.tensor([False, False])),
    lambda t: t.minimum(t.tensor([1, 2], dtype=t.uint8), t.tensor([3, -1], dtype=t.int8)),
    lambda t: t.fmax(t.tensor([1, 5]), t.tensor([2, 0])),
    lambda t: t.clamp(t.tensor([-2, 0, 3]), 0.5),
    lambda t: t.clamp(t.tensor([-2, 0, 3]), min=0, max=1),
    lambda t: t.clamp(t.tensor([-2, 0, 3]), min=t.tensor(0.5, dtype=t.float64)),
    lambda t: t.clamp(t.tensor([-2.0, 0.0, 3.0]), min=t.tensor([0.5], dtype=t.float64)),
    lambda t: t.clamp(t.tensor([True, False]), 0, 1),
    lambda t: t.clamp_min(t.tensor([-2, 0, 3]), 1.5),
    lambda t: t.relu(t.tensor([-2, 0, 3], dtype=t.int32)),
    lambda t: t.nn.functional.relu6(t.tensor([-2, 0, 8])) if t is torch else P.relu6(t.tensor([-2, 0, 8])),
    lambda t: t.nn.functional.hardtanh(t.tensor([-2, 0, 3]), -0.5, 0.5) if t is torch else P.hardtanh(t.tensor([-2, 0, 3]), -0.5, 0.5),
    lambda t: t.floor(t.tensor([-2, 0, 3])),
    lambda t: t.round(t.tensor([0.5, 1.5, 2.5, -0.5, -1.5])),
    lambda t: t.round(t.tensor([1234.5678, 15.0, 25.0, 0.125, 2.675], dtype=t.float64), decimals=2),
    lambda t: t.round(t.tensor([1234.5678, 15.0, 25.0, -25.0], dtype=t.float32), decimals=-1),
    lambda t: t.square(t.tensor([True, False])),
    lambda t: t.square(t.tensor([-3, 2], dtype=t.int8)),
    lambda t: t.exp(t.tensor([True, False])),
    lambda t: t.addcmul(t.tensor([1, 2]), t.tensor([1, 2]), t.tensor([3, 4]), value=2),
    lambda t: t.addcmul(t.tensor([1, 2]), t.tensor([1, 2]), t.tensor([3, 4]), value=0.5),
    lambda t: t.addcmul(t.tensor([1.0, 2.0]), t.tensor([1, 2]), t.tensor([3, 4])),
    lambda t: t.addcdiv(t.tensor([1, 2]), t.tensor([1.0, 2.0]), t.tensor([3.0, 4.0])),
    lambda t: t.xlogy(t.tensor([1, 2]), t.tensor([3, 4])),
    lambda t: t.xlogy(2, t.tensor([3.0, 4.0])),
    lambda t: t.xlogy(t.tensor([3.0, 4.0]), 2),
    lambda t: t.hypot(t.tensor([3.0]), t.tensor([4.0], dtype=t.float64)),
    lambda t: t.copysign(t.tensor([1, 2]), -1),
    lambda t: t.copysign(t.tensor([True, False]), t.tensor([True, False])),
    lambda t: t.atan2(t.tensor([1, -2]), t.tensor([3, 4])),
    lambda t: t.float_power(t.tensor([1.5, 2.0]), 2),
    lambda t: t.nan_to_num(t.tensor([math.nan, math.inf, -math.inf])),
    lambda t: t.nan_to_num(t.tensor([math.nan, math.inf, -math.inf], dtype=t.float16)),
    lambda t: t.nan_to_num(t.tensor([math.nan, math.inf, -math.inf], dtype=t.bfloat16)),
    lambda t: t.nan_to_num(t.tensor([math.nan, math.inf, -math.inf], dtype=t.float64), 1.0, 2.0, -3.0),
    lambda t: t.nan_to_num(t.tensor([1, 2])),
    lambda t: t.heaviside(t.tensor([-1.5, 0.0, 2.0, math.nan]), t.tensor(0.5)),
    lambda t: t.heaviside(t.tensor([-1, 0, 3]), t.tensor([7, 8, 9])),
    lambda t: t.sinc(t.tensor([0.0, 1e-20, 0.5])),
    lambda t: t.signbit(t.tensor([-0.0, 0.0, -1.0])),
    lambda t: t.logaddexp(t.tensor([math.inf, -math.inf, math.inf]), t.tensor([math.inf, -math.inf, -math.inf])),
    lambda t: t.sigmoid(t.tensor([-100.0, 100.0, -1000.0])),
    lambda t: t.logit(t.tensor([0.0, 0.5, 1.0])),
    lambda t: t.selu(t.tensor([-1.0, 2.0], dtype=t.float16)),
    lambda t: t.clamp(t.tensor([-1.0, 2.0]), min=math.nan),
])
def test_values_and_dtypes_match_torch(fn):
    if torch is None:
        pytest.skip("torch is not installed")
    ours, theirs = fn(disttorch), fn(torch)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    o = ours.float().numpy() if ours.dtype.name == "bfloat16" else ours.numpy()
    t = theirs.float().numpy() if theirs.dtype == torch.bfloat16 else theirs.numpy()
    np.testing.assert_allclose(o.astype(np.float64), t.astype(np.float64), rtol=1e-6, equal_nan=True)


def test_where_uint8_condition_warns(device):
    c = disttorch.tensor([1, 0], dtype=disttorch.uint8, device=device)
    with pytest.warns(UserWarning, match="uint8 condition"):
        r = disttorch.where(c, 1.0, 0.0)
    assert r.dtype == disttorch.float32 and r.tolist() == [1.0, 0.0]


def test_where_single_argument(device):
    for vals in ([[True, False], [True, True]], [False, True, True], True, False):
        c = disttorch.tensor(vals, device=device)
        ours = disttorch.where(c)
        theirs = torch.where(torch.tensor(vals)) if torch is not None else None
        assert isinstance(ours, tuple)
        if theirs is not None:
            assert len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                assert o.dtype == disttorch.int64
                assert o.tolist() == t.tolist()


def test_grad_fn_names():
    if torch is None:
        pytest.skip("torch is not installed")
    cases = [
        lambda t, x: t.relu(x), lambda t, x: t.sigmoid(x), lambda t, x: t.exp(x),
        lambda t, x: t.clamp(x, 0, 1), lambda t, x: t.clamp(x, min=0), lambda t, x: t.clamp_min(x, 0),
        lambda t, x: t.clamp(x, t.zeros(2, dtype=t.float64)), lambda t, x: t.where(x > 0, x, 0.0),
        lambda t, x: t.round(x), lambda t, x: t.round(x, decimals=1), lambda t, x: t.selu(x),
        lambda t, x: t.celu(x), lambda t, x: t.lerp(x, x, 0.5), lambda t, x: t.tanh(x),
        lambda t, x: t.maximum(x, x), lambda t, x: t.erfinv(x * 0.1), lambda t, x: t.atan2(x, x),
    ]
    for fn in cases:
        a = disttorch.tensor([-1.0, 2.0], dtype=disttorch.float64, requires_grad=True)
        b = torch.tensor([-1.0, 2.0], dtype=torch.float64, requires_grad=True)
        assert fn(disttorch, a).grad_fn.name() == fn(torch, b).grad_fn.name()


def test_inplace_variants(device):
    if torch is None:
        pytest.skip("torch is not installed")
    for name in ["exp_", "log_", "sqrt_", "sin_", "tanh_", "sigmoid_", "relu_", "floor_", "ceil_",
                 "round_", "trunc_", "frac_", "erf_", "erfinv_", "clamp_", "clip_", "clamp_min_",
                 "clamp_max_", "nan_to_num_", "sinc_", "deg2rad_", "rad2deg_", "arcsin_", "fix_",
                 "square_", "rsqrt_", "expm1_", "log1p_", "logit_"]:
        args = {"clamp_": (-0.2, 0.2), "clip_": (-0.2, 0.2), "clamp_min_": (0.1,), "clamp_max_": (0.1,)}.get(name, ())
        ours = disttorch.tensor([0.25, 0.5, 0.75], device=device)
        theirs = torch.tensor([0.25, 0.5, 0.75])
        v = ours._version
        r = getattr(ours, name)(*args)
        getattr(theirs, name)(*args)
        assert r is ours and ours._version == v + 1, name
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)
    for name, args in [("lerp_", (1.0,)), ("addcmul_", (2.0,)), ("addcdiv_", (2.0,)), ("xlogy_", ()),
                       ("hypot_", ()), ("atan2_", ()), ("copysign_", ()), ("heaviside_", ())]:
        ours = disttorch.tensor([0.25, -0.5, 0.0], device=device)
        theirs = torch.tensor([0.25, -0.5, 0.0])
        o2 = disttorch.tensor([1.0, 2.0, 3.0], device=device)
        t2 = torch.tensor([1.0, 2.0, 3.0])
        if name in ("addcmul_", "addcdiv_"):
            getattr(ours, name)(o2, o2, value=args[0])
            getattr(theirs, name)(t2, t2, value=args[0])
        else:
            getattr(ours, name)(o2, *args)
            getattr(theirs, name)(t2, *args)
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)
    for fn in ["relu_", "sigmoid_", "exp_", "clamp_", "selu_", "celu_"]:
        args = (0.0, 1.0) if fn == "clamp_" else ()
        ours = disttorch.tensor([-1.0, 2.0], device=device)
        theirs = torch.tensor([-1.0, 2.0])
        assert getattr(disttorch, fn)(ours, *args) is ours
        getattr(torch, fn)(theirs, *args)
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)
    x = disttorch.tensor([1.5, 2.0], dtype=disttorch.float64, device=device)
    x.float_power_(2)
    assert x.tolist() == [2.25, 4.0]


def test_functional_inplace_flag():
    for name, args in [("relu6", ()), ("leaky_relu", (0.2,)), ("elu", (1.0,)), ("hardtanh", (-0.5, 0.5)),
                       ("silu", ()), ("mish", ()), ("hardsigmoid", ()), ("hardswish", ())]:
        x = disttorch.tensor([-1.0, 0.25, 2.0])
        expected = getattr(P, name)(x, *args).tolist()
        assert getattr(P, name)(x, *args, inplace=True) is x
        assert x.tolist() == expected


def test_inplace_activation_grad_through_rebase():
    if torch is None:
        pytest.skip("torch is not installed")
    grads = []
    for t, mod in ((torch, TF), (disttorch, P)):
        w = t.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        y = w * 2
        mod.leaky_relu(y, 0.1, inplace=True)
        z = y * 3
        t.sigmoid_(z)
        z.sum().backward()
        grads.append(w.grad.tolist())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_inplace_errors():
    check_error(lambda t: t.tensor([1, 2]).exp_(), RuntimeError)
    check_error(lambda t: t.tensor([1.0, 2.0]).float_power_(2), RuntimeError)
    check_error(lambda t: t.tensor([1.0, 2.0], requires_grad=True).relu_(), RuntimeError)


def test_errors():
    check_error(lambda t: t.exp(2.0), TypeError)
    check_error(lambda t: t.sigmoid(None), TypeError)
    check_error(lambda t: t.relu(t.tensor([True, False])), RuntimeError)
    check_error(lambda t: t.clamp(t.ones(3)), RuntimeError)
    check_error(lambda t: t.clamp(t.ones(3), t.zeros(1), 1), TypeError)
    check_error(lambda t: t.clamp(t.tensor([True]), True, True), NotImplementedError)
    check_error(lambda t: t.clamp(t.tensor([True]), min=False), NotImplementedError)
    check_error(lambda t: t.clamp(t.ones(3), t.zeros(2), t.ones(3)), RuntimeError)
    check_error(lambda t: t.where(t.tensor([1, 0]), 1.0, 0.0), RuntimeError)
    check_error(lambda t: t.where(t.tensor([True, False]), t.ones(3), t.ones(2)), RuntimeError)
    check_error(lambda t: t.where(t.ones(3, 1) > 0, t.ones(2), t.ones(4)), RuntimeError)
    check_error(lambda t: t.maximum(t.ones(3), 2), TypeError)
    check_error(lambda t: t.maximum(t.ones(3), t.ones(2)), RuntimeError)
    check_error(lambda t: t.atan2(t.ones(3), 2), TypeError)
    check_error(lambda t: t.hypot(t.tensor([1, 2]), t.tensor([1, 2])), NotImplementedError)
    check_error(lambda t: t.logaddexp(t.tensor([1, 2]), t.tensor([1, 2])), NotImplementedError)
    check_error(lambda t: t.lerp(t.ones(3), t.ones(3, dtype=t.float64), 0.5), RuntimeError)
    check_error(lambda t: t.lerp(t.ones(3), t.ones(3), t.ones(3, dtype=t.float64)), RuntimeError)
    check_error(lambda t: t.lerp(t.tensor([1, 2]), t.tensor([1, 2]), 0.5), NotImplementedError)
    check_error(lambda t: t.lerp(t.ones(3), t.ones(3), t.ones(2)), RuntimeError)
    check_error(lambda t: t.addcdiv(t.ones(2), t.tensor([1, 2]), t.tensor([1, 2])), RuntimeError)
    check_error(lambda t: t.addcmul(t.ones(2), t.ones(3), t.ones(2)), RuntimeError)
    check_error(lambda t: t.heaviside(t.ones(2), t.tensor(0.5, dtype=t.float64)), RuntimeError)
    check_error(lambda t: t.heaviside(t.ones(2), 0.5), TypeError)
    check_error(lambda t: t.round(t.tensor([1, 2]), decimals=1), NotImplementedError)
    check_error(lambda t: t.floor(t.tensor([True])), NotImplementedError)
    check_error(lambda t: t.frac(t.tensor([1, 2])), NotImplementedError)
    check_error(lambda t: t.selu(t.tensor([1, 2])), NotImplementedError)
    check_error(lambda t: t.celu(t.ones(2), alpha=0.0), RuntimeError)


@pytest.mark.parametrize("call", [
    lambda fns, t: fns.gelu(t.ones(2), approximate="foo"),
])
def test_functional_errors_runtime(call):
    check_error(lambda t: call(TF if t is torch else P, t), RuntimeError)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu", "silu", "mish", "softplus",
                                  "hardsigmoid", "hardswish", "logsigmoid"])
def test_functional_integer_input_errors(name):
    check_error(lambda t: getattr(TF if t is torch else P, name)(t.tensor([1, 2])), NotImplementedError)


def test_functional_errors_value():
    check_error(lambda t: (TF if t is torch else P).hardtanh(t.ones(2), 1.0, -1.0), ValueError)
    check_error(lambda t: (TF if t is torch else P).relu6(t.tensor([True])), RuntimeError)


def test_dunder_all_matches_torch_top_level():
    if torch is None:
        pytest.skip("torch is not installed")
    for name in P.__all__:
        assert hasattr(torch, name), name
        assert callable(getattr(disttorch, name)), name
    for name in ["gelu", "silu", "mish", "softplus", "hardtanh", "relu6", "leaky_relu", "elu",
                 "hardsigmoid", "hardswish", "softsign", "tanhshrink", "logsigmoid"]:
        assert name not in P.__all__
        assert callable(getattr(P, name))
    assert P._logsigmoid is P.logsigmoid


def test_create_graph_higher_order():
    x = disttorch.tensor([0.3, -0.7], dtype=disttorch.float64, requires_grad=True)
    y = (x.tanh() * x.sigmoid()).sum()
    (g,) = disttorch.autograd.grad(y, x, create_graph=True)
    (h,) = disttorch.autograd.grad(g.sum(), x)
    if torch is not None:
        tx = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
        ty = (tx.tanh() * tx.sigmoid()).sum()
        (tg,) = torch.autograd.grad(ty, tx, create_graph=True)
        (th,) = torch.autograd.grad(tg.sum(), tx)
        np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10)


LARGE = ["relu", "leaky_relu", "elu", "selu", "celu", "gelu", "gelu_tanh", "silu", "softplus_beta",
         "hardswish", "sinc", "erf", "erfc", "erfinv", "nan_to_num", "clamp", "sigmoid", "logsigmoid"]


@pytest.mark.parametrize("name", LARGE)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_inputs(name, dtype, device):
    """Arrays big enough for the branch-free select used on the CPU."""
    fn, low, high = UNARY[name]
    tol = 1e-6 if dtype == "float64" else 2e-5
    check([(64, 130)], fn, dtype=dtype, device=device, low=low, high=high, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "bool"])
def test_large_where_with_special_values(dtype, device):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((70, 80))
    b = rng.standard_normal((70, 80))
    c = rng.random((70, 80)) > 0.5
    if dtype == "bool":
        a, b = a > 0, b > 0
    elif dtype == "int64":
        a, b = (a * 100).astype(np.int64), (b * 100).astype(np.int64)
    else:
        a.ravel()[::7] = np.nan
        a.ravel()[1::11] = -0.0
        b.ravel()[::5] = np.inf
        b.ravel()[2::13] = -np.inf
        a, b = a.astype(dtype), b.astype(dtype)
    tc = disttorch.tensor(c, device=device)
    ta, tb = disttorch.tensor(a, device=device), disttorch.tensor(b, device=device)
    ours = disttorch.where(tc, ta, tb).cpu().numpy()
    expected = np.where(c, a, b)
    assert ours.dtype == expected.dtype
    np.testing.assert_array_equal(ours.view(np.uint8), expected.view(np.uint8))  # bit-exact: -0.0, NaN
    if dtype.startswith("float"):
        for other in (0.0, -0.0, 2.5):
            ours = disttorch.where(tc, ta, other).cpu().numpy()
            expected = np.where(c, a, np.asarray(other, dtype=a.dtype))
            np.testing.assert_array_equal(ours.view(np.uint8), expected.view(np.uint8))
            ours = disttorch.where(tc, other, ta).cpu().numpy()
            expected = np.where(c, np.asarray(other, dtype=a.dtype), a)
            np.testing.assert_array_equal(ours.view(np.uint8), expected.view(np.uint8))


def test_integer_inputs_follow_default_dtype():
    disttorch.set_default_dtype(disttorch.float64)
    try:
        assert disttorch.exp(disttorch.tensor([1, 2])).dtype == disttorch.float64
        assert disttorch.sigmoid(disttorch.tensor([True])).dtype == disttorch.float64
        assert disttorch.where(disttorch.tensor([True]), 1.0, 0).dtype == disttorch.float64
        assert disttorch.atan2(disttorch.tensor([1]), disttorch.tensor([2])).dtype == disttorch.float64
    finally:
        disttorch.set_default_dtype(disttorch.float32)
