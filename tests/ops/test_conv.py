"""Convolution and pooling ops: parity with torch (values and grads), gradchecks, errors."""
from __future__ import annotations

import re

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
from disttorch.ops import conv as C

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# torch warns that an even 'same' kernel pads a copy of the input (so do we, silently)
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

TOL = {"float64": {"atol": 1e-9, "rtol": 1e-7}, "float32": {"atol": 2e-5, "rtol": 2e-4}}
DTYPES = ["float64", "float32"]


def _pair(name, **kw):
    """(torch fn, disttorch fn) applying the functional ``name`` with ``kw``."""
    return (lambda *a: getattr(TF, name)(*a, **kw)), (lambda *a: getattr(C, name)(*a, **kw))


# ------------------------------------------------------------------------ convolution

CONV_CASES = [
    # name, input shape, weight shape, bias?, kwargs
    ("conv1d", (2, 3, 11), (4, 3, 3), True, {}),
    ("conv1d", (2, 4, 13), (6, 2, 4), True, dict(stride=2, padding=1, groups=2)),
    ("conv1d", (3, 6, 17), (6, 1, 3), False, dict(stride=3, padding=2, dilation=2, groups=6)),
    ("conv1d", (2, 4, 9), (8, 1, 5), True, dict(padding=2, groups=4)),
    ("conv1d", (2, 3, 10), (5, 3, 4), True, dict(padding="same")),
    ("conv1d", (2, 3, 10), (5, 3, 3), True, dict(padding="same", dilation=3)),
    ("conv1d", (2, 3, 10), (5, 3, 4), False, dict(padding="valid", stride=(2,))),
    ("conv1d", (3, 10), (5, 3, 3), True, dict(padding=1)),  # unbatched
    ("conv2d", (1, 3, 7, 9), (4, 3, 3, 3), True, dict(padding=1)),
    ("conv2d", (2, 4, 8, 11), (6, 2, 2, 3), True, dict(stride=(2, 1), padding=(0, 1), groups=2)),
    ("conv2d", (3, 6, 12, 10), (4, 3, 3, 2), False,
     dict(stride=(1, 3), padding=(2, 0), dilation=(2, 1), groups=2)),
    ("conv2d", (2, 5, 9, 9), (5, 1, 3, 3), True, dict(stride=2, padding=1, groups=5)),
    ("conv2d", (2, 4, 10, 7), (12, 1, 3, 5), True,
     dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=4)),
    ("conv2d", (2, 6, 13, 12), (4, 6, 5, 4), True, dict(stride=(3, 2), padding=(2, 1), dilation=(2, 3))),
    ("conv2d", (2, 4, 6, 6), (6, 2, 6, 6), True, dict(groups=2)),  # kernel covers the input
    ("conv2d", (2, 3, 7, 6), (4, 3, 4, 2), True, dict(padding="same")),  # asymmetric 'same'
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), True, dict(padding="same", dilation=(2, 1))),
    ("conv2d", (2, 3, 7, 6), (4, 3, 2, 3), True, dict(padding="valid")),
    ("conv2d", (2, 32, 6, 5), (16, 32, 3, 3), True, dict(padding=1)),  # flipped-kernel input grad
    ("conv2d", (3, 7, 9), (4, 3, 3, 3), True, dict(stride=2, padding=(1,))),  # unbatched
    ("conv2d", (0, 3, 5, 5), (4, 3, 3, 3), True, {}),  # empty batch
    ("conv2d", (2, 0, 5, 5), (4, 0, 3, 3), True, {}),  # no input channels
]


def _conv_id(case):
    name, xs, ws, b, kw = case
    return f"{name}-{xs}-{ws}-{'b' if b else 'nob'}-{kw}"


@pytest.mark.parametrize("case", CONV_CASES, ids=[_conv_id(c) for c in CONV_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_parity(case, dtype, device):
    name, xs, ws, has_bias, kw = case
    shapes = [xs, ws] + ([(ws[0],)] if has_bias else [])
    fn, dfn = _pair(name, **kw)
    check(shapes, fn, dfn, dtype=dtype, device=device, **TOL[dtype])


CONV_T_CASES = [
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), True, {}),
    ("conv_transpose1d", (2, 4, 6), (4, 3, 4), True, dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (2, 4, 6), (4, 1, 3), False, dict(stride=3, padding=2, groups=4)),
    # output_padding >= stride (allowed when below the dilation): trailing outputs
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), True, dict(dilation=2, output_padding=1)),
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), True,
     dict(stride=2, dilation=3, padding=2, output_padding=2)),
    ("conv_transpose1d", (3, 5), (3, 2, 3), True, dict(stride=2)),  # unbatched
    ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3), True, {}),
    ("conv_transpose2d", (2, 6, 4, 5), (6, 2, 3, 3), True,
     dict(stride=2, padding=1, output_padding=1, groups=3)),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 2, 3), False,
     dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), output_padding=(1, 1))),
    ("conv_transpose2d", (2, 5, 6, 6), (5, 1, 3, 3), True, dict(stride=2, groups=5)),
    ("conv_transpose2d", (1, 32, 5, 4), (32, 16, 3, 3), True, dict(padding=1)),
    ("conv_transpose2d", (3, 4, 5), (3, 2, 3, 3), True, dict(stride=2, output_padding=1)),
    ("conv_transpose2d", (0, 3, 4, 5), (3, 2, 3, 3), True, {}),  # empty batch
]


@pytest.mark.parametrize("case", CONV_T_CASES, ids=[_conv_id(c) for c in CONV_T_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_parity(case, dtype, device):
    name, xs, ws, has_bias, kw = case
    groups = kw.get("groups", 1)
    shapes = [xs, ws] + ([(ws[1] * groups,)] if has_bias else [])
    fn, dfn = _pair(name, **kw)
    check(shapes, fn, dfn, dtype=dtype, device=device, **TOL[dtype])


@pytest.mark.parametrize("name,xs,ws", [
    ("conv1d", (2, 3, 8), (4, 3, 3)),
    ("conv2d", (2, 3, 6, 7), (4, 3, 3, 2)),
    ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 3)),
])
def test_conv_non_contiguous(name, xs, ws, device):
    f, df = getattr(TF, name), getattr(C, name)
    # channels-last data viewed as (N, C, *spatial), and a weight with swapped first dims
    cl = (xs[0],) + xs[2:] + (xs[1],)
    wt = (ws[1], ws[0]) + ws[2:]
    check([cl, wt], lambda x, w: f(x.movedim(-1, 1), w.transpose(0, 1)),
          lambda x, w: df(x.movedim(-1, 1), w.transpose(0, 1)), device=device)
    # a transposed spatial plane
    if len(xs) == 4:
        xt = xs[:2] + (xs[3], xs[2])
        check([xt, ws], lambda x, w: f(x.transpose(-1, -2), w),
              lambda x, w: df(x.transpose(-1, -2), w), device=device)


@pytest.mark.parametrize("name,xs,ws,kw", [
    ("conv2d", (2, 4, 5, 5), (3, 4, 3, 3), dict(padding=1)),
    ("conv2d", (2, 4, 5, 5), (4, 1, 3, 3), dict(groups=4)),
    ("conv_transpose2d", (2, 4, 5, 5), (4, 3, 3, 3), dict(stride=2)),
    ("conv_transpose2d", (2, 32, 4, 4), (32, 16, 3, 3), dict(padding=1)),
])
def test_conv_sum_backward(name, xs, ws, kw, device):
    """``.sum().backward()`` sends a broadcast (zero-stride) gradient into the kernels."""
    def run(lib, mod):
        rng = np.random.default_rng(4)
        dev = {} if lib is torch else {"device": device}
        x = lib.tensor(rng.standard_normal(xs), requires_grad=True, **dev)
        w = lib.tensor(rng.standard_normal(ws), requires_grad=True, **dev)
        getattr(mod, name)(x, w, **kw).sum().backward()
        return x.grad.cpu().numpy(), w.grad.cpu().numpy()

    for ref, ours in zip(run(torch, TF), run(disttorch, C)):
        np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9)


def test_conv_int64(device):
    rng = np.random.default_rng(3)
    x = rng.integers(-5, 5, size=(2, 3, 6, 5))
    w = rng.integers(-3, 3, size=(4, 3, 3, 2))
    b = rng.integers(-3, 3, size=(4,))
    check(None, lambda x, w, b: TF.conv2d(x, w, b, padding=1),
          lambda x, w, b: C.conv2d(x, w, b, padding=1), vals=[x, w, b], device=device)
    check(None, lambda x, w: TF.conv_transpose1d(x, w, stride=2),
          lambda x, w: C.conv_transpose1d(x, w, stride=2), vals=[x[:, :, 0], w[:3, :, 0]],
          device=device)


def test_conv_float16(device):
    check([(2, 3, 6, 5), (4, 3, 3, 3), (4,)], TF.conv2d, C.conv2d, dtype="float16",
          device=device, atol=2e-2, rtol=1e-2, forward_only=True)


# -------------------------------------------------------------------- conv gradchecks

GRADCHECK_CONV = {
    "conv1d": (lambda x, w, b: C.conv1d(x, w, b, stride=2, padding=1, dilation=2),
               [(2, 2, 7), (3, 2, 2), (3,)]),
    "conv1d_same_even": (lambda x, w: C.conv1d(x, w, padding="same"), [(2, 2, 5), (2, 2, 4)]),
    "conv2d_groups": (lambda x, w, b: C.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2),
                      [(1, 4, 4, 3), (4, 2, 2, 2), (4,)]),
    "conv2d_depthwise": (lambda x, w: C.conv2d(x, w, padding=1, groups=2),
                         [(2, 2, 3, 3), (4, 1, 2, 2)]),
    "conv2d_same_even": (lambda x, w: C.conv2d(x, w, padding="same"), [(1, 2, 4, 3), (2, 2, 2, 3)]),
    "conv2d_unbatched": (lambda x, w: C.conv2d(x, w, stride=2), [(2, 5, 4), (2, 2, 2, 2)]),
    "conv_transpose1d": (lambda x, w, b: C.conv_transpose1d(x, w, b, stride=2, padding=1,
                                                            output_padding=1),
                         [(2, 2, 4), (2, 3, 3), (3,)]),
    "conv_transpose1d_op_ge_stride": (
        lambda x, w: C.conv_transpose1d(x, w, dilation=2, output_padding=1, padding=1),
        [(2, 2, 4), (2, 2, 3)]),
    "conv_transpose2d_groups": (
        lambda x, w: C.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2),
        [(1, 2, 3, 3), (2, 2, 2, 2)]),
}


@pytest.mark.parametrize("name", GRADCHECK_CONV)
def test_conv_gradcheck(name, device):
    fn, shapes = GRADCHECK_CONV[name]
    gradcheck(shapes, fn, device=device, second_order=True)


@pytest.mark.parametrize("name,xs,ws,kw", [
    ("conv2d", (2, 3, 5, 4), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ("conv2d", (2, 4, 5, 5), (4, 2, 2, 2), dict(groups=2, padding="same")),
    ("conv1d", (2, 3, 7), (4, 3, 3), dict(dilation=2, padding=1)),
    ("conv_transpose2d", (2, 3, 4, 4), (3, 2, 3, 3), dict(stride=2, output_padding=1)),
    ("conv_transpose1d", (2, 3, 5), (3, 2, 3), dict(dilation=2, output_padding=1)),
])
def test_conv_double_backward_parity(name, xs, ws, kw, device):
    """create_graph=True: grads of a function of the input/weight grads match torch's."""
    rng = np.random.default_rng(7)
    x0, w0 = rng.standard_normal(xs), rng.standard_normal(ws)
    cout = ws[0] if "transpose" not in name else ws[1] * kw.get("groups", 1)
    b0 = rng.standard_normal(cout)
    results = []
    for lib, mod in ((torch, TF), (disttorch, C)):
        dev = {} if lib is torch else {"device": device}
        x = lib.tensor(x0, requires_grad=True, **dev)
        w = lib.tensor(w0, requires_grad=True, **dev)
        b = lib.tensor(b0, requires_grad=True, **dev)
        y = getattr(mod, name)(x, w, b, **kw)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        ((gx * gx).sum() + (gw * gw * gw).sum()).backward()
        results.append([t.detach().cpu().numpy() for t in (gx, gw, x.grad, w.grad, b.grad)])
    for ref, ours in zip(*results):
        np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-8)


# ------------------------------------------------------------------------ max pooling

MAX_POOL_CASES = [
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3)),
    ("max_pool1d", (2, 3, 10), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (2, 3, 10), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ("max_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, dilation=2,
                                    ceil_mode=True, return_indices=True)),
    ("max_pool1d", (3, 8), dict(kernel_size=(2,), return_indices=True)),  # unbatched
    ("max_pool2d", (2, 3, 8, 7), dict(kernel_size=2)),
    ("max_pool2d", (2, 3, 8, 7), dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
    ("max_pool2d", (2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
                                      ceil_mode=True, return_indices=True)),
    ("max_pool2d", (2, 2, 10, 9), dict(kernel_size=3, stride=2, padding=1, dilation=(2, 1),
                                       ceil_mode=True)),
    ("max_pool2d", (2, 2, 7, 7), dict(kernel_size=3, stride=1, padding=1)),  # overlapping windows
    ("max_pool2d", (2, 2, 5, 5), dict(kernel_size=2, stride=())),
    ("max_pool2d", (3, 6, 5), dict(kernel_size=2, ceil_mode=True, return_indices=True)),
    ("max_pool2d", (0, 3, 6, 5), dict(kernel_size=2)),  # empty batch
]


def _kw_id(case):
    return f"{case[0]}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("case", MAX_POOL_CASES, ids=[_kw_id(c) for c in MAX_POOL_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_parity(case, dtype, device):
    name, xs, kw = case
    fn, dfn = _pair(name, **kw)
    check([xs], fn, dfn, dtype=dtype, device=device, **TOL[dtype])


def test_max_pool_ties_and_nan(device):
    """Ties pick torch's element (values and gradients); NaN propagates."""
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, -np.inf, -np.inf],
                    [3.0, 0.0, -np.inf, -np.inf]]]])
    for kw in (dict(kernel_size=2, return_indices=True),
               dict(kernel_size=3, stride=1, padding=1, return_indices=True),
               dict(kernel_size=2, stride=1, ceil_mode=True, return_indices=True)):
        fn, dfn = _pair("max_pool2d", **kw)
        check(None, fn, dfn, vals=[x], device=device)
    fn, dfn = _pair("adaptive_max_pool2d", output_size=(3, 2), return_indices=True)
    check(None, fn, dfn, vals=[x], device=device)
    xn = x.copy()
    xn[0, 0, 0, 1] = np.nan
    fn, dfn = _pair("max_pool2d", kernel_size=2, return_indices=True)
    check(None, fn, dfn, vals=[xn], device=device, forward_only=True)


def test_max_pool_int(device):
    rng = np.random.default_rng(5)
    x = rng.integers(-9, 9, size=(2, 3, 6, 5))
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         return_indices=True)):
        fn, dfn = _pair("max_pool2d", **kw)
        check(None, fn, dfn, vals=[x], device=device)
    fn, dfn = _pair("max_pool1d", kernel_size=2, return_indices=True)
    check(None, fn, dfn, vals=[x[0]], device=device)


def test_max_pool_float16(device):
    for name, xs in (("max_pool2d", (2, 3, 6, 5)), ("avg_pool2d", (2, 3, 6, 5))):
        fn, dfn = _pair(name, kernel_size=2)
        check([xs], fn, dfn, dtype="float16", device=device, atol=1e-3, rtol=1e-3,
              forward_only=True)


# ------------------------------------------------------------------------ avg pooling

AVG_POOL_CASES = [
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ("avg_pool1d", (2, 3, 10), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True,
                                    count_include_pad=False)),
    ("avg_pool1d", (3, 7), dict(kernel_size=2, stride=1)),  # unbatched
    ("avg_pool2d", (2, 3, 8, 7), dict(kernel_size=2)),
    ("avg_pool2d", (2, 3, 8, 7), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", (2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
                                      ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    ("avg_pool2d", (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                      count_include_pad=False, divisor_override=2)),
    ("avg_pool2d", (3, 6, 5), dict(kernel_size=2, ceil_mode=True)),  # unbatched
    ("avg_pool2d", (0, 3, 6, 5), dict(kernel_size=2)),  # empty batch
]


@pytest.mark.parametrize("case", AVG_POOL_CASES, ids=[_kw_id(c) for c in AVG_POOL_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_parity(case, dtype, device):
    name, xs, kw = case
    fn, dfn = _pair(name, **kw)
    check([xs], fn, dfn, dtype=dtype, device=device, **TOL[dtype])


def test_avg_pool_int64_truncates(device):
    rng = np.random.default_rng(2)
    x = rng.integers(-20, 20, size=(2, 3, 7, 6))
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False),
               dict(kernel_size=3, padding=1, divisor_override=4)):
        fn, dfn = _pair("avg_pool2d", **kw)
        check(None, fn, dfn, vals=[x], device=device)
    fn, dfn = _pair("avg_pool1d", kernel_size=2, ceil_mode=True)
    check(None, fn, dfn, vals=[x[0, 0]], device=device)


# ------------------------------------------------------------------- adaptive pooling

ADAPTIVE_CASES = [
    ("adaptive_avg_pool1d", (2, 3, 10), dict(output_size=3)),
    ("adaptive_avg_pool1d", (2, 3, 10), dict(output_size=5)),
    ("adaptive_avg_pool1d", (3, 7), dict(output_size=(4,))),
    ("adaptive_avg_pool1d", (0, 3, 7), dict(output_size=2)),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), dict(output_size=(3, 4))),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), dict(output_size=1)),
    ("adaptive_avg_pool2d", (2, 3, 8, 6), dict(output_size=(None, 4))),
    ("adaptive_avg_pool2d", (3, 7, 5), dict(output_size=(9, 2))),  # upsampling rows
    ("adaptive_avg_pool2d", (2, 3, 7, 5), dict(output_size=(0, 2))),
    ("adaptive_max_pool1d", (2, 3, 10), dict(output_size=3)),
    ("adaptive_max_pool1d", (2, 3, 10), dict(output_size=4, return_indices=True)),
    ("adaptive_max_pool1d", (3, 7), dict(output_size=3, return_indices=True)),
    ("adaptive_max_pool2d", (2, 3, 7, 9), dict(output_size=(3, 4), return_indices=True)),
    ("adaptive_max_pool2d", (2, 3, 7, 9), dict(output_size=1)),
    ("adaptive_max_pool2d", (2, 3, 8, 6), dict(output_size=(4, None), return_indices=True)),
    ("adaptive_max_pool2d", (3, 7, 5), dict(output_size=(9, 2))),
    ("adaptive_max_pool2d", (2, 3, 40, 3), dict(output_size=(1, 2), return_indices=True)),
    ("adaptive_max_pool2d", (0, 3, 7, 5), dict(output_size=2)),
]


@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=[_kw_id(c) for c in ADAPTIVE_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_adaptive_pool_parity(case, dtype, device):
    name, xs, kw = case
    fn, dfn = _pair(name, **kw)
    out = kw["output_size"]
    empty_out = out == 0 or (isinstance(out, tuple) and 0 in out)
    check([xs], fn, dfn, dtype=dtype, device=device, forward_only=empty_out, **TOL[dtype])


def test_with_indices_variants(device):
    for name, xs, args in (("max_pool1d_with_indices", (2, 3, 8), (2,)),
                           ("max_pool2d_with_indices", (2, 3, 6, 5), (2,)),
                           ("adaptive_max_pool1d_with_indices", (2, 3, 8), (3,)),
                           ("adaptive_max_pool2d_with_indices", (2, 3, 8, 5), (3,))):
        fn, dfn = _pair(name)
        check([xs], lambda x, fn=fn, a=args: fn(x, *a), lambda x, dfn=dfn, a=args: dfn(x, *a),
              device=device)
    # torch's top-level adaptive_max_pool1d returns (values, indices)
    check([(2, 3, 8)], lambda x: torch.adaptive_max_pool1d(x, 3),
          lambda x: C.adaptive_max_pool1d_with_indices(x, 3), device=device)


# ------------------------------------------------------------------------ 3-d variants

@pytest.mark.parametrize("name,shapes,kw", [
    ("conv3d", [(2, 2, 4, 5, 4), (3, 2, 2, 3, 2), (3,)], dict(stride=(1, 2, 1), padding=1)),
    ("conv3d", [(2, 2, 4, 5, 4), (3, 2, 2, 3, 2)], dict(padding="same")),
    ("conv_transpose3d", [(2, 2, 3, 3, 2), (2, 3, 2, 2, 2), (3,)], dict(stride=2, output_padding=1)),
    ("max_pool3d", [(2, 2, 5, 4, 5)], dict(kernel_size=2, stride=1, padding=1, return_indices=True)),
    ("avg_pool3d", [(2, 2, 5, 4, 5)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                           count_include_pad=False)),
    ("adaptive_avg_pool3d", [(2, 2, 5, 4, 5)], dict(output_size=(2, 3, None))),
    ("adaptive_max_pool3d", [(2, 2, 5, 4, 5)], dict(output_size=(2, 3, 3), return_indices=True)),
])
def test_3d_parity(name, shapes, kw, device):
    fn, dfn = _pair(name, **kw)
    check(shapes, fn, dfn, device=device)


# -------------------------------------------------------------------- pool gradchecks

GRADCHECK_POOL = {
    "max_pool1d": lambda x: C.max_pool1d(x, 3, 2, 1, dilation=2, ceil_mode=True),
    "max_pool2d": lambda x: C.max_pool2d(x, 2, 1, 1),
    "max_pool2d_unbatched": lambda x: C.max_pool2d(x[0], (3, 2), (2, 1), (1, 0), ceil_mode=True),
    "avg_pool1d": lambda x: C.avg_pool1d(x[0], 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg_pool2d": lambda x: C.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool2d_divisor": lambda x: C.avg_pool2d(x, 2, 1, divisor_override=3),
    "adaptive_avg_pool1d": lambda x: C.adaptive_avg_pool1d(x[0], 3),
    "adaptive_avg_pool2d": lambda x: C.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_max_pool1d": lambda x: C.adaptive_max_pool1d(x[0], 3),
    "adaptive_max_pool2d": lambda x: C.adaptive_max_pool2d(x, (2, 3)),
}


@pytest.mark.parametrize("name", GRADCHECK_POOL)
def test_pool_gradcheck(name, device):
    shape = (1, 2, 5, 4) if "1d" not in name else (1, 2, 7)
    gradcheck([shape], GRADCHECK_POOL[name], device=device, second_order=True)


def test_pool_double_backward_parity(device):
    """Second-order grads through pooling (linear backward ops) match torch's."""
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((2, 2, 6, 5))
    calls = [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
             ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
             ("adaptive_avg_pool2d", dict(output_size=(4, 2))),
             ("adaptive_max_pool2d", dict(output_size=(4, 2)))]
    for name, kw in calls:
        results = []
        for lib, mod in ((torch, TF), (disttorch, C)):
            dev = {} if lib is torch else {"device": device}
            x = lib.tensor(x0, requires_grad=True, **dev)
            y = getattr(mod, name)(x, **kw)
            (gx,) = lib.autograd.grad((y ** 3).sum(), (x,), create_graph=True)
            (gx * gx).sum().backward()
            results.append([gx.detach().cpu().numpy(), x.grad.cpu().numpy()])
        for ref, ours in zip(*results):
            np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9, err_msg=name)


# ---------------------------------------------------------------------- module surface


def test_top_level_names():
    assert sorted(C.__all__) == sorted([
        "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
        "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"])
    for name in C.__all__:
        assert hasattr(torch, name)
        if name == "adaptive_max_pool1d":  # torch's top level returns (values, indices)
            assert getattr(disttorch, name) is C.adaptive_max_pool1d_with_indices
        else:
            assert getattr(disttorch, name) is getattr(C, name)


def test_positional_signatures(device):
    """torch's positional order, including conv_transpose's (..., output_padding, groups, dilation)."""
    check([(2, 4, 5, 5), (4, 1, 3, 3), (2,)],
          lambda x, w, b: TF.conv_transpose2d(x, w, b, 2, 1, 1, 2, 1),
          lambda x, w, b: C.conv_transpose2d(x, w, b, 2, 1, 1, 2, 1), device=device)
    check([(2, 4, 7, 5), (6, 2, 3, 3), (6,)],
          lambda x, w, b: TF.conv2d(x, w, b, 2, 1, 1, 2),
          lambda x, w, b: C.conv2d(x, w, b, 2, 1, 1, 2), device=device)
    check([(2, 3, 7, 6)], lambda x: TF.max_pool2d(x, 3, 2, 1, 1, True, True),
          lambda x: C.max_pool2d(x, 3, 2, 1, 1, True, True), device=device)
    check([(2, 3, 7, 6)], lambda x: TF.avg_pool2d(x, 3, 2, 1, True, False, 2),
          lambda x: C.avg_pool2d(x, 3, 2, 1, True, False, 2), device=device)


# ------------------------------------------------------------------------------ errors


def _msg(text):
    return "^" + re.escape(text) + "$"


def _ops(t):
    return t.nn.functional if t is torch else C


ERRORS = [
    # conv: ranks, channels, groups, kernel size, parameters, dtypes
    (lambda t: _ops(t).conv2d(t.ones(2, 3), t.ones(8, 4, 3, 3)), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]"),
    (lambda t: _ops(t).conv1d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3)), RuntimeError,
     "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [2, 3, 5, 5]"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(3, 5), t.ones(3, 4, 3, 3)), RuntimeError,
     "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: "
     "[3, 5]"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 4, 3, 3)), RuntimeError,
     "Given groups=1, weight of size [8, 4, 3, 3], expected input[2, 3, 5, 5] to have 4 channels, "
     "but got 3 channels instead"),
    (lambda t: _ops(t).conv2d(t.ones(3, 5, 5), t.ones(8, 4, 3, 3)), RuntimeError,
     "Given groups=1, weight of size [8, 4, 3, 3], expected input[1, 3, 5, 5] to have 4 channels, "
     "but got 3 channels instead"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), groups=2), RuntimeError,
     "Given groups=2, weight of size [8, 3, 3, 3], expected input[2, 3, 5, 5] to have 6 channels, "
     "but got 3 channels instead"),
    (lambda t: _ops(t).conv2d(t.ones(2, 4, 5, 5), t.ones(6, 1, 3, 3), groups=4), RuntimeError,
     "Given groups=4, expected weight to be divisible by 4 at dimension 0, but got weight of size "
     "[[6, 1, 3, 3]] instead"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(0, 3, 3, 3)), RuntimeError,
     "Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size "
     "[0, 3, 3, 3] instead"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), groups=0), RuntimeError,
     "non-positive groups is not supported"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 7, 7)), RuntimeError,
     "Calculated padded input size per channel: (5 x 5). Kernel size: (7 x 7). Kernel size can't be "
     "greater than actual input size"),
    (lambda t: _ops(t).conv1d(t.ones(1, 3, 5), t.ones(3, 3, 3), dilation=3), RuntimeError,
     "Calculated padded input size per channel: (5). Kernel size: (7). Kernel size can't be greater "
     "than actual input size"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), stride=0), RuntimeError,
     "non-positive stride is not supported"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), padding=-1), RuntimeError,
     "negative padding is not supported"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), dilation=0), RuntimeError,
     "non-positive dilation is not supported"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), stride=(1, 2, 3)), RuntimeError,
     "expected stride to be a single integer value or a list of 2 values to match the convolution "
     "dimensions, but got stride=[1, 2, 3]"),
    (lambda t: _ops(t).conv2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3)), RuntimeError,
     "expected stride to be a single integer value or a list of 1 values to match the convolution "
     "dimensions, but got stride=[1, 1]"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), padding="same", stride=2),
     RuntimeError, "padding='same' is not supported for strided convolutions"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), padding="full"), RuntimeError,
     "Invalid padding string: 'full'"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), stride=1.5), TypeError, None),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), [1.0]), TypeError, None),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3, dtype=t.float64)), RuntimeError,
     "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same or "
     "input should be a MKLDNN tensor and weight is a dense tensor"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5, dtype=t.float64), t.ones(8, 3, 3, 3)),
     RuntimeError, None),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3),
                              t.ones(8, dtype=t.float64)), RuntimeError,
     "Input type (float) and bias type (double) should be the same"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5), t.ones(8, 3, 3, 3), t.ones(7)), RuntimeError,
     "Given weight of size [8, 3, 3, 3], expected bias to be 1-dimensional with 8 elements, but got "
     "bias of size [7] instead"),
    (lambda t: _ops(t).conv2d(t.ones(2, 3, 5, 5, dtype=t.bool), t.ones(8, 3, 3, 3, dtype=t.bool)),
     NotImplementedError, None),
    # conv_transpose
    (lambda t: _ops(t).conv_transpose1d(t.ones(2, 4, 5), t.ones(3, 2, 3)), RuntimeError,
     "Given transposed=1, weight of size [3, 2, 3], expected input[2, 4, 5] to have 3 channels, but "
     "got 4 channels instead"),
    (lambda t: _ops(t).conv_transpose1d(t.ones(2, 3), t.ones(3, 2, 3)), RuntimeError,
     "Given transposed=1, weight of size [3, 2, 3], expected input[1, 2, 3] to have 3 channels, but "
     "got 2 channels instead"),
    (lambda t: _ops(t).conv_transpose1d(t.ones(2, 3, 5), t.ones(3, 2, 3), groups=2), RuntimeError,
     "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size "
     "[[3, 2, 3]] instead"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3), output_padding=(0, 2),
                                        stride=(1, 2)), RuntimeError,
     "output padding must be smaller than either stride or dilation, but got output_padding_height: "
     "0 output_padding_width: 2 stride_height: 1 stride_width: 2 dilation_height: 1 "
     "dilation_width: 1"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3), padding=4),
     RuntimeError, "Given input size per channel: (5 x 5). Calculated output size per channel: "
     "(-1 x -1). Output size is too small"),
    (lambda t: _ops(t).conv_transpose1d(t.ones(1, 3, 5), t.ones(3, 3, 3), padding=5), RuntimeError,
     "Given input size per channel: (1 x 5). Calculated output size per channel: (1 x -3). Output "
     "size is too small"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3), output_padding=-1),
     RuntimeError, "negative output_padding is not supported"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3), dilation=0),
     RuntimeError, "dilation should be greater than zero, but got dilation_height: 0, "
     "dilation_width: 0"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3), bias=t.ones(4)),
     RuntimeError, "Given transposed=1, weight of size [3, 3, 3, 3], expected bias to be "
     "1-dimensional with 3 elements, but got bias of size [4] instead"),
    (lambda t: _ops(t).conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(3, 3, 3, 3, dtype=t.float64)),
     RuntimeError, None),
    (lambda t: _ops(t).conv_transpose1d(t.ones(2, 3, 5), t.ones(3, 2, 3), padding="same"),
     TypeError, None),
    # max pooling
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     "dilation=1"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 6, 6), 3, dilation=2, padding=2), RuntimeError,
     "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, "
     "kW = 3, kH = 3"),
    (lambda t: _ops(t).max_pool1d(t.ones(2, 3, 5), 3, padding=2), RuntimeError,
     "max_pool1d() padding should be at most half of kernel size, but got padding=2 and "
     "kernel_size=3"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 7), RuntimeError,
     "Given input size: (3x5x5). Calculated output size: (3x0x0). Output size is too small"),
    (lambda t: _ops(t).max_pool1d(t.ones(2, 3, 5), 7), RuntimeError,
     "max_pool1d() Invalid computed output size: 0"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5, 5), 2), RuntimeError,
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 5), 2), RuntimeError,
     "non-empty 3D or 4D (batch mode) tensor expected for input"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 0, 5), 2), RuntimeError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
     "got:[2, 3, 0, 5]"),
    (lambda t: _ops(t).max_pool1d(t.ones(5), 2), RuntimeError,
     "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, "
     "but got:[5]"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 0), RuntimeError, "stride should not be zero"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), -1), RuntimeError,
     "kernel size should be greater than zero, but got kH: -1 kW: -1"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 2, padding=-1), RuntimeError,
     "pad must be non-negative, but got pad: -1"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), (2, 2, 2)), RuntimeError,
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 2, stride=(2, 2, 2)), RuntimeError,
     "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5), 2.0), TypeError, None),
    (lambda t: _ops(t).max_pool1d(t.ones(2, 3, 4), 0), RuntimeError,
     "max_pool1d() kernel_size must be greater than zero, but got 0"),
    (lambda t: _ops(t).max_pool1d(t.ones(2, 3, 4), 2, stride=0), RuntimeError,
     "max_pool1d() stride must be greater than zero, but got 0"),
    (lambda t: _ops(t).max_pool1d(t.ones(2, 3, 4), (2, 2)), RuntimeError,
     "max_pool1d() kernel_size must be an int, list of ints or tuple of ints of size 1 but got "
     "size 2"),
    (lambda t: _ops(t).max_pool2d(t.ones(2, 3, 5, 5, dtype=t.bool), 2), NotImplementedError,
     "\"max_pool2d\" not implemented for 'Bool'"),
    # avg pooling
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     "dilation=1"),
    (lambda t: _ops(t).avg_pool1d(t.ones(2, 3, 5), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     "dilation=1"),
    (lambda t: _ops(t).avg_pool1d(t.ones(5), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while "
     "checking arguments for avg_pool1d)"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 5), 2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got -3)"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5, 5), 2), RuntimeError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
     "got:[2, 3, 5, 5, 5]"),
    (lambda t: _ops(t).avg_pool1d(t.ones(2, 3, 0), 2), RuntimeError,
     "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
     "got:[2, 3, 1, 0]"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5), 7), RuntimeError,
     "Given input size: (3x5x5). Calculated output size: (3x0x0). Output size is too small"),
    (lambda t: _ops(t).avg_pool1d(t.ones(2, 3, 5), 7), RuntimeError,
     "Given input size: (3x1x5). Calculated output size: (3x1x0). Output size is too small"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5), 2, divisor_override=0), RuntimeError,
     "divisor must be not zero"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5), 2, stride=0), RuntimeError,
     "stride should not be zero"),
    (lambda t: _ops(t).avg_pool1d(t.ones(2, 3, 5), (2, 2)), RuntimeError,
     "avg_pool1d() argument 'kernel_size' should contain one int (got 2)"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5), 2, padding=(1, 1, 1)), RuntimeError,
     "avg_pool2d: padding must either be a single int, or a tuple of two ints"),
    (lambda t: _ops(t).avg_pool2d(t.ones(2, 3, 5, 5, dtype=t.int32), 2), NotImplementedError,
     "\"avg_pool2d\" not implemented for 'Int'"),
    # adaptive pooling
    (lambda t: _ops(t).adaptive_avg_pool2d(t.ones(5, 5), 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [5, 5]"),
    (lambda t: _ops(t).adaptive_max_pool2d(t.ones(5, 5), 2), RuntimeError,
     "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [5, 5]"),
    (lambda t: _ops(t).adaptive_avg_pool1d(t.ones(5), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while "
     "checking arguments for adaptive_avg_pool1d)"),
    (lambda t: _ops(t).adaptive_max_pool1d(t.ones(2, 3, 5, 5), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 4-dimensional tensor for argument #1 'self' (while "
     "checking arguments for adaptive_max_pool1d)"),
    (lambda t: _ops(t).adaptive_avg_pool2d(t.ones(2, 3, 5, 5), (2, 3, 4)), RuntimeError,
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda t: _ops(t).adaptive_avg_pool2d(t.ones(2, 3, 5, 5), -1), RuntimeError,
     "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
     "received {-1, -1}"),
    (lambda t: _ops(t).adaptive_avg_pool1d(t.ones(3, 4), -1), RuntimeError,
     "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but "
     "received {1, -1}"),
    (lambda t: _ops(t).adaptive_avg_pool1d(t.ones(2, 3, 5), (2, 3)), RuntimeError,
     "adaptive_avg_pool1d() argument 'output_size' should contain one int (got 2)"),
    (lambda t: _ops(t).adaptive_avg_pool2d(t.ones(2, 3, 0, 5), 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
     "input has sizes [2, 3, 0, 5] with dimension 2 being empty"),
    (lambda t: _ops(t).adaptive_avg_pool1d(t.ones(2, 3, 0), 2), RuntimeError,
     "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
     "input has sizes [2, 3, 1, 0] with dimension 3 being empty"),
    (lambda t: _ops(t).adaptive_max_pool2d(t.ones(2, 3, 0, 5), 2), RuntimeError,
     "adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
     "input has sizes [2, 3, 0, 5] with dimension 2 being empty"),
    (lambda t: _ops(t).adaptive_avg_pool2d(t.ones(2, 3, 5, 5, dtype=t.int64), 2),
     NotImplementedError, "\"adaptive_avg_pool2d\" not implemented for 'Long'"),
    (lambda t: _ops(t).adaptive_max_pool2d(t.ones(2, 3, 5, 5, dtype=t.int64), 2),
     NotImplementedError, "\"adaptive_max_pool2d\" not implemented for 'Long'"),
    (lambda t: _ops(t).adaptive_max_pool1d(t.ones(2, 3, 5), (None,)), TypeError, None),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, exc, message = ERRORS[i]
    check_error(fn, exc, match=_msg(message) if message else None)
    if message:  # the message is torch's, word for word
        with pytest.raises(exc, match=_msg(message)):
            fn(torch)


def test_device_mismatch():
    if not disttorch.cuda.is_available():
        pytest.skip("no CUDA device (cupy sees no GPU; DISTTORCH_FAKE_CUDA=1 runs the CPU stand-in)")
    x = disttorch.ones(1, 2, 5, 5)
    w = disttorch.ones(3, 2, 3, 3, device="cuda")
    with pytest.raises(RuntimeError, match="same device"):
        C.conv2d(x, w)
