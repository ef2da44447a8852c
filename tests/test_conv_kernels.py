"""Parity of the array-level conv/pool kernels with torch (values and gradients)."""
from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from disttorch.ops import _conv_kernels as K

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def _close(ours, ref, dtype) -> None:
    ref = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    assert ours.dtype == np.dtype(dtype), (ours.dtype, dtype)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    tol = TOL[dtype]
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale)


def _rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _tup(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


# ------------------------------------------------------------------------ convolution

CONV_CASES = [
    # nd, N, Cin, Cout, spatial, k, stride, padding, dilation, groups
    (1, 1, 3, 4, (11,), (3,), 1, 0, 1, 1),
    (1, 2, 4, 6, (13,), (4,), 2, 1, 1, 2),
    (1, 3, 6, 6, (17,), (3,), 3, 2, 2, 6),  # depthwise
    (1, 2, 4, 8, (9,), (5,), 1, 2, 1, 4),  # depthwise, multiplier 2
    (1, 2, 3, 5, (10,), (1,), 2, 0, 1, 1),
    (2, 1, 3, 4, (7, 9), (3, 3), 1, 1, 1, 1),
    (2, 2, 4, 6, (8, 11), (2, 3), (2, 1), (0, 1), 1, 2),
    (2, 3, 6, 4, (12, 10), (3, 2), (1, 3), (2, 0), (2, 1), 2),
    (2, 2, 5, 5, (9, 9), (3, 3), 2, 1, 1, 5),  # depthwise
    (2, 2, 4, 12, (10, 7), (3, 5), (2, 1), (1, 2), (1, 2), 4),  # depthwise, mult 3
    (2, 4, 8, 16, (14, 14), (3, 3), 1, 1, 1, 1),
    (2, 2, 6, 4, (13, 12), (5, 4), (3, 2), (2, 1), (2, 3), 1),
    (2, 1, 2, 3, (5, 6), (1, 1), 1, 0, 1, 1),
    (2, 2, 4, 6, (6, 6), (6, 6), 1, 0, 1, 2),  # kernel covers input
    (2, 33, 3, 7, (9, 8), (3, 3), 1, 1, 1, 1),
    # unit stride, wide C_in: input grad through the flipped-kernel conv
    (2, 2, 32, 16, (9, 8), (3, 3), 1, 1, 1, 1),
    (2, 2, 32, 24, (7, 10), (3, 2), 1, (2, 1), (2, 1), 2),
    (2, 1, 16, 16, (8, 8), (3, 3), 1, 3, 1, 1),  # padding > k-1: no flip
    (1, 2, 20, 20, (15,), (5,), 1, 2, 2, 1),
    # unit-stride depthwise: the "wide" shifted-run path
    (2, 2, 5, 5, (9, 7), (3, 3), 1, 1, 1, 5),
    (2, 3, 4, 4, (10, 9), (3, 4), 1, (0, 2), (2, 1), 4),
    (2, 2, 3, 6, (6, 8), (2, 3), 1, (1, 1), 1, 3),  # multiplier 2
    (2, 1, 4, 4, (5, 5), (1, 1), 1, 0, 1, 4),
]


def _torch_conv(nd):
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]


def _torch_conv_t(nd):
    return {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_backward(case, dtype):
    nd, N, Cin, Cout, sp, k, s, p, d, g = case
    s, p, d = _tup(s, nd), _tup(p, nd), _tup(d, nd)
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, Cin, *sp), dtype)
    w = _rand(rng, (Cout, Cin // g, *k), dtype)
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    yt = _torch_conv(nd)(xt, wt, stride=s, padding=p, dilation=d, groups=g)
    y = K.conv_forward(np, x, w, s, p, d, g)
    _close(y, yt, dtype)

    gy = _rand(rng, yt.shape, dtype)
    gxt, gwt = torch.autograd.grad(yt, (xt, wt), torch.from_numpy(gy))
    gx = K.conv_backward_input(np, gy, w, x.shape, s, p, d, g)
    gw = K.conv_backward_weight(np, x, gy, w.shape, s, p, d, g)
    _close(gx, gxt, dtype)
    _close(gw, gwt, dtype)


@pytest.mark.parametrize(
    "cin,cout,g,s,p,d",
    [
        (6, 9, 1, (1, 2, 1), (1, 0, 1), (1, 1, 2)),
        (6, 9, 3, (2, 1, 1), (1, 1, 0), 1),
        (6, 6, 6, 1, (1, 0, 1), (1, 2, 1)),  # depthwise, wide path
        (16, 8, 1, 1, 1, 1),  # flipped-kernel input grad
    ],
)
def test_conv3d_forward_backward(cin, cout, g, s, p, d):
    rng = np.random.default_rng(3)
    s, p, d = _tup(s, 3), _tup(p, 3), _tup(d, 3)
    x = _rand(rng, (2, cin, 7, 8, 6), np.float64)
    w = _rand(rng, (cout, cin // g, 3, 2, 3), np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    yt = F.conv3d(xt, wt, stride=s, padding=p, dilation=d, groups=g)
    _close(K.conv_forward(np, x, w, s, p, d, g), yt, np.float64)
    gy = _rand(rng, yt.shape, np.float64)
    gxt, gwt = torch.autograd.grad(yt, (xt, wt), torch.from_numpy(gy))
    _close(K.conv_backward_input(np, gy, w, x.shape, s, p, d, g), gxt, np.float64)
    _close(K.conv_backward_weight(np, x, gy, w.shape, s, p, d, g), gwt, np.float64)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[7], CONV_CASES[14], CONV_CASES[16]])
def test_conv_batch_chunking(case, monkeypatch):
    """Force one sample per im2col chunk and check the results do not change."""
    monkeypatch.setattr(K, "_CPU_CHUNK_BYTES", 1)
    test_conv_forward_backward(case, np.float64)


CONV_T_CASES = [
    # nd, N, Cin, Cout, spatial, k, stride, padding, output_padding, dilation, groups
    (1, 1, 3, 4, (7,), (3,), 1, 0, 0, 1, 1),
    (1, 2, 4, 6, (6,), (4,), 2, 1, 1, 1, 2),
    (1, 2, 4, 4, (5,), (3,), 3, 1, 2, 2, 4),
    (2, 1, 3, 5, (5, 6), (3, 3), 2, 1, 1, 1, 1),
    (2, 2, 4, 6, (4, 7), (2, 3), (2, 3), (0, 1), (1, 2), 1, 2),
    (2, 2, 6, 6, (5, 5), (3, 3), 2, 1, 1, (2, 1), 6),
    (2, 3, 4, 8, (6, 5), (4, 3), (1, 2), (2, 1), (0, 1), (1, 2), 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_T_CASES)
def test_conv_transpose(case, dtype):
    nd, N, Cin, Cout, sp, k, s, p, op, d, g = case
    s, p, op, d = _tup(s, nd), _tup(p, nd), _tup(op, nd), _tup(d, nd)
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, Cin, *sp), dtype)
    w = _rand(rng, (Cin, Cout // g, *k), dtype)
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    yt = _torch_conv_t(nd)(xt, wt, stride=s, padding=p, output_padding=op, dilation=d, groups=g)
    y = K.conv_transpose_forward(np, x, w, s, p, op, d, g)
    _close(y, yt, dtype)

    gy = _rand(rng, yt.shape, dtype)
    gxt, gwt = torch.autograd.grad(yt, (xt, wt), torch.from_numpy(gy))
    _close(K.conv_transpose_backward_input(np, gy, w, s, p, d, g), gxt, dtype)
    _close(K.conv_transpose_backward_weight(np, x, gy, w.shape, s, p, d, g), gwt, dtype)


def test_conv_impossible_geometry():
    x = np.zeros((1, 2, 3, 3))
    w = np.zeros((4, 2, 5, 5))
    with pytest.raises(ValueError, match=r"\(1, 2, 3, 3\)"):
        K.conv_forward(np, x, w, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="not positive"):
        K.conv_backward_weight(np, x, np.zeros((1, 4, 1, 1)), w.shape, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="not positive"):
        K.max_pool_forward(np, x, (5, 5), (1, 1), (0, 0), (1, 1), False)
    with pytest.raises(ValueError, match="not positive"):
        K.avg_pool_forward(np, x, (4, 4), (1, 1), (0, 0), False, True, None)


def test_conv_keeps_dtype_and_contiguity():
    rng = np.random.default_rng(0)
    x = _rand(rng, (2, 4, 8, 8), np.float32)
    w = _rand(rng, (6, 2, 3, 3), np.float32)
    y = K.conv_forward(np, x, w, (1, 1), (1, 1), (1, 1), 2)
    gx = K.conv_backward_input(np, y, w, x.shape, (1, 1), (1, 1), (1, 1), 2)
    gw = K.conv_backward_weight(np, x, y, w.shape, (1, 1), (1, 1), (1, 1), 2)
    for a in (y, gx, gw):
        assert a.dtype == np.float32
        assert a.flags.c_contiguous


# -------------------------------------------------------------------------- pooling


def test_pool_output_size_matches_torch():
    for L, k, s, p, d, ceil in itertools.product(
        range(1, 12), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2), (False, True)
    ):
        if p > k // 2 or (L + 2 * p - d * (k - 1) - 1) < 0:
            continue
        ref = F.max_pool1d(torch.zeros(1, 1, L), k, s, p, d, ceil_mode=ceil).shape[-1]
        assert K.pool_output_size(L, k, s, p, d, ceil) == ref, (L, k, s, p, d, ceil)


MAX_CASES = [
    # nd, N, C, spatial, k, stride, padding, dilation, ceil_mode
    (1, 1, 2, (9,), (2,), 2, 0, 1, False),
    (1, 2, 3, (10,), (3,), 2, 1, 1, True),
    (1, 2, 2, (11,), (3,), 1, 1, 2, False),
    (1, 1, 3, (8,), (4,), 3, 2, 1, True),
    (2, 1, 2, (8, 8), (2, 2), 2, 0, 1, False),
    (2, 2, 3, (9, 7), (3, 3), 2, 1, 1, True),
    (2, 2, 2, (10, 11), (3, 2), (1, 2), (1, 1), (2, 1), False),
    (2, 3, 2, (7, 9), (2, 4), (3, 2), (1, 2), (1, 1), True),
    (2, 1, 1, (5, 5), (5, 5), 1, 2, 1, False),
    (2, 2, 2, (13, 6), (3, 3), (3, 1), 1, (2, 2), True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool(case, dtype):
    nd, N, C, sp, k, s, p, d, ceil = case
    s, p, d = _tup(s, nd), _tup(p, nd), _tup(d, nd)
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, C, *sp), dtype)
    if x.size > 6:
        x.reshape(-1)[:6] = x.reshape(-1)[6]  # ties: first maximum must win
    fn = {1: F.max_pool1d, 2: F.max_pool2d}[nd]
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = fn(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    y, idx = K.max_pool_forward(np, x, k, s, p, d, ceil)
    _close(y, yt, dtype)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, it.numpy())

    gy = _rand(rng, yt.shape, dtype)
    (gxt,) = torch.autograd.grad(yt, (xt,), torch.from_numpy(gy))
    _close(K.max_pool_backward(np, gy, idx, x.shape), gxt, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_nan_and_inf(dtype):
    # NaN wins (the last NaN is reported); a window of only -inf and padding
    # reports its first element inside the input.
    x = np.array([[[1.0, np.nan, 3.0, np.nan, -np.inf, -np.inf, 2.0, 0.5]]], dtype)
    for k, s, p, ceil in [(3, 2, 1, False), (2, 2, 1, True), (3, 1, 1, False), (4, 3, 2, True)]:
        yt, it = F.max_pool1d(torch.from_numpy(x), k, s, p, ceil_mode=ceil, return_indices=True)
        y, idx = K.max_pool_forward(np, x, (k,), (s,), (p,), (1,), ceil)
        np.testing.assert_array_equal(y, yt.numpy())
        np.testing.assert_array_equal(idx, it.numpy())
    x2 = np.full((1, 2, 5, 4), -np.inf, dtype)
    x2[0, 0, 2, 3] = np.nan
    x2[0, 1, 4, 0] = 1.0
    yt, it = F.max_pool2d(torch.from_numpy(x2), 3, 2, 1, ceil_mode=True, return_indices=True)
    y, idx = K.max_pool_forward(np, x2, (3, 3), (2, 2), (1, 1), (1, 1), True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(idx, it.numpy())


@pytest.mark.parametrize("out", [(2, 3), (1, 1), (1, 4)])  # offset-loop and argmax paths
def test_adaptive_max_pool_nan_and_ties(out):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (2, 3, 19, 9)).astype(np.float64)  # many ties
    x[0, 0, 1, 1] = x[0, 0, 3, 2] = x[0, 1, 17, 0] = x[0, 1, 2, 8] = np.nan
    x[1, 2] = -np.inf
    yt, it = F.adaptive_max_pool2d(torch.from_numpy(x), out, return_indices=True)
    y, idx = K.adaptive_max_pool_forward(np, x, out)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(idx, it.numpy())


AVG_CASES = [
    # nd, N, C, spatial, k, stride, padding, ceil_mode, count_include_pad, divisor
    (1, 1, 2, (9,), (2,), 2, 0, False, True, None),
    (1, 2, 3, (10,), (3,), 2, 1, True, True, None),
    (1, 2, 3, (10,), (3,), 2, 1, True, False, None),
    (1, 1, 2, (11,), (4,), 3, 2, True, False, None),
    (1, 2, 2, (7,), (3,), None, 1, False, False, None),
    (2, 1, 2, (8, 8), (2, 2), 2, 0, False, True, None),
    (2, 2, 3, (9, 7), (3, 3), 2, 1, True, True, None),
    (2, 2, 3, (9, 7), (3, 3), 2, 1, True, False, None),
    (2, 2, 2, (10, 11), (3, 2), (1, 2), (1, 1), False, False, None),
    (2, 3, 2, (7, 9), (2, 4), (3, 2), (1, 2), True, True, None),
    (2, 3, 2, (7, 9), (2, 4), (3, 2), (1, 2), True, False, None),
    (2, 2, 2, (8, 9), (3, 3), 2, 1, False, True, 5),
    (2, 2, 2, (8, 9), (3, 2), 2, 1, True, False, 7),
    (2, 1, 1, (5, 5), (5, 5), 1, 2, False, False, None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool(case, dtype):
    nd, N, C, sp, k, s, p, ceil, cip, div = case
    p = _tup(p, nd)
    s_ours = None if s is None else _tup(s, nd)
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, C, *sp), dtype)
    xt = torch.from_numpy(x).requires_grad_()
    if nd == 1:
        assert div is None  # avg_pool1d has no divisor_override
        yt = F.avg_pool1d(xt, k, s, p, ceil_mode=ceil, count_include_pad=cip)
    else:
        yt = F.avg_pool2d(xt, k, s, p, ceil_mode=ceil, count_include_pad=cip, divisor_override=div)
    y = K.avg_pool_forward(np, x, k, s_ours, p, ceil, cip, div)
    _close(y, yt, dtype)

    gy = _rand(rng, yt.shape, dtype)
    (gxt,) = torch.autograd.grad(yt, (xt,), torch.from_numpy(gy))
    gx = K.avg_pool_backward(np, gy, x.shape, k, s_ours, p, ceil, cip, div)
    _close(gx, gxt, dtype)


ADAPTIVE_CASES = [
    (1, 2, 3, (10,), (3,)),
    (1, 1, 2, (7,), (7,)),
    (1, 2, 2, (5,), (8,)),  # output larger than input: overlapping windows
    (1, 1, 2, (12,), (4,)),
    (2, 2, 3, (10, 9), (3, 4)),
    (2, 1, 2, (7, 7), (1, 1)),
    (2, 2, 2, (6, 8), (4, 3)),
    (2, 2, 2, (5, 6), (7, 4)),
    (2, 3, 2, (13, 11), (5, 11)),
    (2, 1, 2, (8, 12), (2, 5)),
    (1, 2, 2, (40,), (2,)),  # long windows: argmax reduction
    (2, 2, 2, (21, 9), (1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ADAPTIVE_CASES)
def test_adaptive_avg_pool(case, dtype):
    nd, N, C, sp, out = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, C, *sp), dtype)
    fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d}[nd]
    xt = torch.from_numpy(x).requires_grad_()
    yt = fn(xt, out)
    y = K.adaptive_avg_pool_forward(np, x, out)
    _close(y, yt, dtype)
    gy = _rand(rng, yt.shape, dtype)
    (gxt,) = torch.autograd.grad(yt, (xt,), torch.from_numpy(gy))
    _close(K.adaptive_avg_pool_backward(np, gy, x.shape, out), gxt, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ADAPTIVE_CASES)
def test_adaptive_max_pool(case, dtype):
    nd, N, C, sp, out = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = _rand(rng, (N, C, *sp), dtype)
    fn = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d}[nd]
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = fn(xt, out, return_indices=True)
    y, idx = K.adaptive_max_pool_forward(np, x, out)
    _close(y, yt, dtype)
    np.testing.assert_array_equal(idx, it.numpy())
    gy = _rand(rng, yt.shape, dtype)
    (gxt,) = torch.autograd.grad(yt, (xt,), torch.from_numpy(gy))
    _close(K.adaptive_max_pool_backward(np, gy, idx, x.shape), gxt, dtype)


def test_pool_3d():
    rng = np.random.default_rng(5)
    x = _rand(rng, (2, 2, 7, 6, 9), np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    k, s, p, d = (3, 2, 3), (2, 1, 2), (1, 1, 0), (1, 2, 1)
    yt, it = F.max_pool3d(xt, k, s, p, d, ceil_mode=True, return_indices=True)
    y, idx = K.max_pool_forward(np, x, k, s, p, d, True)
    _close(y, yt, np.float64)
    np.testing.assert_array_equal(idx, it.numpy())
    yt = F.avg_pool3d(xt, k, s, p, ceil_mode=True, count_include_pad=False)
    _close(K.avg_pool_forward(np, x, k, s, p, True, False, None), yt, np.float64)
    gy = _rand(rng, yt.shape, np.float64)
    (gxt,) = torch.autograd.grad(yt, (xt,), torch.from_numpy(gy))
    _close(K.avg_pool_backward(np, gy, x.shape, k, s, p, True, False, None), gxt, np.float64)
    yt = F.adaptive_avg_pool3d(xt, (3, 4, 5))
    _close(K.adaptive_avg_pool_forward(np, x, (3, 4, 5)), yt, np.float64)
    yt, it = F.adaptive_max_pool3d(xt, (3, 4, 5), return_indices=True)
    y, idx = K.adaptive_max_pool_forward(np, x, (3, 4, 5))
    _close(y, yt, np.float64)
    np.testing.assert_array_equal(idx, it.numpy())


# ---------------------------------------------------------------- device arrays


def test_kernels_stay_on_device():
    """Run every kernel on the cupy stand-in, which refuses silent numpy conversion,
    and compare with the numpy results: the kernels must only use ``xp``."""
    fc = pytest.importorskip("disttorch.backend.fake_cupy")
    rng = np.random.default_rng(11)
    x = _rand(rng, (2, 4, 9, 8), np.float32)

    def same(name, f):
        a, b = f(np), f(fc)
        a = a if isinstance(a, tuple) else (a,)
        b = b if isinstance(b, tuple) else (b,)
        for u, v in zip(a, b):
            assert isinstance(v, fc.ndarray), (name, type(v))
            assert v.dtype == u.dtype, (name, v.dtype, u.dtype)
            np.testing.assert_allclose(fc.asnumpy(v), u, rtol=1e-6, atol=1e-6, err_msg=name)

    def arr(xp, a):
        return a if xp is np else fc.asarray(a)

    conv_cases = [
        ((6, 2, 3, 3), (1, 1), 2),  # grouped GEMM path
        ((6, 2, 3, 3), (2, 1), 2),  # strided: col2im path
        ((4, 1, 3, 2), (1, 1), 4),  # depthwise, unit stride ("wide" runs)
        ((8, 1, 3, 3), (2, 2), 4),  # depthwise, strided, multiplier 2
    ]
    for ws, s, g in conv_cases:
        w = _rand(rng, ws, np.float32)
        args = (s, (1, 1), (1, 1), g)
        y = K.conv_forward(np, x, w, *args)
        same("conv_forward", lambda xp, w=w, args=args: K.conv_forward(xp, arr(xp, x), arr(xp, w), *args))
        same("conv_backward_input", lambda xp, w=w, y=y, args=args: K.conv_backward_input(
            xp, arr(xp, y), arr(xp, w), x.shape, *args))
        same("conv_backward_weight", lambda xp, w=w, y=y, args=args: K.conv_backward_weight(
            xp, arr(xp, x), arr(xp, y), w.shape, *args))
    x32 = _rand(rng, (2, 32, 6, 6), np.float32)
    w32 = _rand(rng, (16, 32, 3, 3), np.float32)
    y32 = K.conv_forward(np, x32, w32, (1, 1), (1, 1), (1, 1), 1)
    same("flipped-kernel input grad", lambda xp: K.conv_backward_input(
        xp, arr(xp, y32), arr(xp, w32), x32.shape, (1, 1), (1, 1), (1, 1), 1))
    wt = _rand(rng, (4, 3, 3, 3), np.float32)
    same("conv_transpose_forward", lambda xp: K.conv_transpose_forward(
        xp, arr(xp, x), arr(xp, wt), (2, 2), (1, 1), (1, 0), (1, 1), 1))

    yv, idx = K.max_pool_forward(np, x, (3, 3), (2, 2), (1, 1), (1, 1), True)
    same("max_pool_forward", lambda xp: K.max_pool_forward(xp, arr(xp, x), (3, 3), (2, 2), (1, 1), (1, 1), True))
    same("max_pool_backward", lambda xp: K.max_pool_backward(xp, arr(xp, yv), arr(xp, idx), x.shape))
    pool = ((3, 2), (2, 2), (1, 1), True, False)
    ya = K.avg_pool_forward(np, x, *pool, None)
    for div in (None, 3):
        same("avg_pool_forward", lambda xp, div=div: K.avg_pool_forward(xp, arr(xp, x), *pool, div))
        same("avg_pool_backward", lambda xp, div=div: K.avg_pool_backward(
            xp, arr(xp, ya), x.shape, *pool, div))
    for out in [(3, 4), (3, 2), (1, 1)]:
        ys = K.adaptive_avg_pool_forward(np, x, out)
        same("adaptive_avg_pool_forward", lambda xp, out=out: K.adaptive_avg_pool_forward(xp, arr(xp, x), out))
        same("adaptive_avg_pool_backward", lambda xp, out=out, ys=ys: K.adaptive_avg_pool_backward(
            xp, arr(xp, ys), x.shape, out))
        same("adaptive_max_pool_forward", lambda xp, out=out: K.adaptive_max_pool_forward(xp, arr(xp, x), out))
    xl = _rand(rng, (1, 2, 40), np.float32)
    same("adaptive_max_pool_forward (argmax)", lambda xp: K.adaptive_max_pool_forward(xp, arr(xp, xl), (2,)))
