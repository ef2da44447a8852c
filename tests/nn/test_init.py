"""nn.init: torch's gains, fans, bounds and std formulas, exact deterministic fills, errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from parity import need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn import init

tinit = torch.nn.init if torch is not None else None


def _norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _norm_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _trunc_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) truncated to [a, b]."""
    al, be = (a - mean) / std, (b - mean) / std
    z = _norm_cdf(be) - _norm_cdf(al)
    pa, pb = _norm_pdf(al), _norm_pdf(be)
    m = mean + std * (pa - pb) / z
    var = std**2 * (1 + (al * pa - be * pb) / z - ((pa - pb) / z) ** 2)
    return m, math.sqrt(var)


# -- calculate_gain and fans --------------------------------------------------------------------
GAIN_CASES = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
    ("selu", None), ("tanh", 3.0),
]


@pytest.mark.parametrize("name,param", GAIN_CASES)
def test_calculate_gain_table(name, param):
    need_torch()
    ours, theirs = init.calculate_gain(name, param), tinit.calculate_gain(name, param)
    assert ours == theirs
    assert type(ours) is type(theirs)


def test_calculate_gain_values():
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.5) == math.sqrt(2.0 / 1.25)


@pytest.mark.parametrize("name,param,match", [
    ("gelu", None, "Unsupported nonlinearity gelu"),
    ("Relu", None, "Unsupported nonlinearity Relu"),
    ("leaky_relu", True, "negative_slope True not a valid number"),
    ("leaky_relu", "0.1", "negative_slope 0.1 not a valid number"),
])
def test_calculate_gain_errors(name, param, match):
    with pytest.raises(ValueError, match=match):
        init.calculate_gain(name, param)
    if torch is not None:
        with pytest.raises(ValueError, match=match):
            tinit.calculate_gain(name, param)


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 4, 3, 3), (2, 3, 2, 2, 2), (4, 0, 3), (1, 1)])
def test_fan_in_and_fan_out(shape):
    need_torch()
    ours = init._calculate_fan_in_and_fan_out(disttorch.empty(shape))
    assert ours == tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert init._calculate_correct_fan(disttorch.empty(shape), mode) == \
            tinit._calculate_correct_fan(torch.empty(shape), mode)


@pytest.mark.parametrize("shape", [(), (5,), (0,)])
def test_fan_needs_two_dims(shape):
    msg = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
    with pytest.raises(ValueError, match=msg):
        init._calculate_fan_in_and_fan_out(disttorch.empty(shape))
    with pytest.raises(ValueError, match=msg):
        init.xavier_uniform_(disttorch.empty(shape))
    with pytest.raises(ValueError, match=msg):
        init.xavier_normal_(disttorch.empty(shape))
    if shape != (0,):  # torch's kaiming returns early (with a warning) for zero elements
        with pytest.raises(ValueError, match=msg):
            init.kaiming_uniform_(disttorch.empty(shape))
    if torch is not None:
        with pytest.raises(ValueError, match=msg):
            tinit._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_bad_fan_mode():
    msg = r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.raises(ValueError, match=msg):
            fn(disttorch.empty(3, 4), mode="fan_avg")
    if torch is not None:
        with pytest.raises(ValueError, match=msg):
            tinit.kaiming_uniform_(torch.empty(3, 4), mode="fan_avg")


# -- uniform / normal / constants ---------------------------------------------------------------
def test_uniform_and_normal_statistics(device):
    w = disttorch.empty(400, 500, device=device)
    out = init.uniform_(w, -3.0, 5.0)
    assert out is w and w.device.type == device
    a = to_numpy(w)
    assert a.min() >= -3.0 and a.max() < 5.0
    assert abs(a.mean() - 1.0) < 0.02 and abs(a.std() - 8 / math.sqrt(12)) < 0.02
    assert init.normal_(w, 2.0, 0.5) is w
    a = to_numpy(w)
    assert abs(a.mean() - 2.0) < 0.005 and abs(a.std() - 0.5) < 0.005
    init.uniform_(w)
    a = to_numpy(w)
    assert a.min() >= 0.0 and a.max() < 1.0 and abs(a.mean() - 0.5) < 0.01
    init.normal_(w)
    a = to_numpy(w)
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1.0) < 0.01


def test_init_on_parameters_is_untracked():
    p = nn.Parameter(disttorch.zeros(20, 30))
    v = p._version
    fns = [
        lambda t: init.uniform_(t), lambda t: init.normal_(t), lambda t: init.constant_(t, 0.3),
        lambda t: init.ones_(t), lambda t: init.zeros_(t), lambda t: init.eye_(t),
        lambda t: init.xavier_uniform_(t), lambda t: init.xavier_normal_(t),
        lambda t: init.kaiming_uniform_(t), lambda t: init.kaiming_normal_(t),
        lambda t: init.trunc_normal_(t), lambda t: init.orthogonal_(t),
        lambda t: init.sparse_(t, 0.5),
    ]
    for fn in fns:
        out = fn(p)
        assert out is p
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        assert isinstance(p, nn.Parameter)
    assert p._version > v
    # still trainable after init
    (p * 2).sum().backward()
    np.testing.assert_array_equal(to_numpy(p.grad), np.full((20, 30), 2.0, dtype=np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_constants(device, dtype):
    dt = getattr(disttorch, dtype)
    w = disttorch.empty(3, 4, dtype=dt, device=device)
    assert init.constant_(w, 7) is w
    np.testing.assert_array_equal(to_numpy(w), np.full((3, 4), 7, dtype=dtype))
    assert w.dtype == dt
    init.ones_(w)
    np.testing.assert_array_equal(to_numpy(w), np.ones((3, 4), dtype=dtype))
    init.zeros_(w)
    np.testing.assert_array_equal(to_numpy(w), np.zeros((3, 4), dtype=dtype))
    s = disttorch.empty((), dtype=dt, device=device)
    init.constant_(s, 2)
    assert s.item() == 2


# -- eye_ / dirac_ (deterministic: equal torch exactly) ------------------------------------------
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 6), (0, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_eye_matches_torch(device, shape, dtype):
    need_torch()
    w = disttorch.full(shape, 9, dtype=getattr(disttorch, dtype), device=device)
    t = torch.full(shape, 9, dtype=getattr(torch, dtype))
    assert init.eye_(w) is w
    tinit.eye_(t)
    assert str(w.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(to_numpy(w), t.numpy())


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_eye_needs_2d(shape):
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(disttorch.empty(shape))
    if torch is not None:
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            tinit.eye_(torch.empty(shape))


@pytest.mark.parametrize("shape,groups", [
    ((4, 4, 3), 1), ((3, 5, 4), 1), ((6, 2, 5), 1), ((4, 2, 3, 3), 2), ((6, 3, 2, 4), 3),
    ((5, 3, 3, 3), 1), ((2, 4, 3, 3, 3), 1), ((4, 1, 2, 3, 5), 2), ((6, 4, 3, 3), 2),
])
def test_dirac_matches_torch(device, shape, groups):
    need_torch()
    w = disttorch.full(shape, 5.0, device=device)
    t = torch.full(shape, 5.0)
    assert init.dirac_(w, groups) is w
    tinit.dirac_(t, groups)
    np.testing.assert_array_equal(to_numpy(w), t.numpy())


def test_dirac_is_identity_conv():
    need_torch()
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 7)).astype(np.float32)
    w = init.dirac_(disttorch.empty(4, 4, 3, 3))
    t = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(to_numpy(w)), padding=1)
    np.testing.assert_array_equal(t.numpy(), x)


@pytest.mark.parametrize("shape,groups,match", [
    ((3, 3), 1, "Only tensors with 3, 4, or 5 dimensions are supported"),
    ((2, 2, 2, 2, 2, 2), 1, "Only tensors with 3, 4, or 5 dimensions are supported"),
    ((5, 2, 3), 2, "dim 0 must be divisible by groups"),
])
def test_dirac_errors(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        init.dirac_(disttorch.empty(shape), groups)
    if torch is not None:
        with pytest.raises(ValueError, match=match):
            tinit.dirac_(torch.empty(shape), groups)


# -- fan-scaled initialisers: the bounds/stds of torch's formulas ---------------------------------
@pytest.mark.parametrize("shape", [(256, 512), (64, 32, 3, 3), (128, 16, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(device, shape, gain):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(disttorch.empty(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    w = disttorch.empty(*shape, device=device)
    assert init.xavier_uniform_(w, gain=gain) is w
    a = to_numpy(w)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
    assert abs(a.std() / std - 1) < 0.02
    assert init.xavier_normal_(w, gain) is w
    a = to_numpy(w)
    assert abs(a.std() / std - 1) < 0.02 and abs(a.mean()) < 0.05 * std
    if torch is not None:  # torch's own draws satisfy the same formulas
        t = tinit.xavier_uniform_(torch.empty(shape), gain=gain).numpy()
        assert np.abs(t).max() <= bound and abs(t.std() / std - 1) < 0.02


KAIMING = [
    ((256, 512), 0, "fan_in", "leaky_relu"),
    ((256, 512), math.sqrt(5), "fan_in", "leaky_relu"),  # nn.Linear's default init
    ((64, 32, 3, 3), 0, "fan_out", "relu"),
    ((64, 32, 3, 3), 0.2, "fan_in", "leaky_relu"),
    ((128, 16, 5), 0, "fan_in", "tanh"),
    ((300, 400), 0, "fan_out", "linear"),
    ((300, 400), 0, "fan_in", "selu"),
]


@pytest.mark.parametrize("shape,a,mode,nl", KAIMING)
def test_kaiming_uniform(device, shape, a, mode, nl):
    w = disttorch.empty(*shape, device=device)
    fan = init._calculate_correct_fan(w, mode)
    bound = init.calculate_gain(nl, a) * math.sqrt(3.0 / fan)
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nl) is w
    arr = to_numpy(w)
    assert np.abs(arr).max() <= bound and np.abs(arr).max() > 0.99 * bound
    assert abs(arr.std() / (bound / math.sqrt(3)) - 1) < 0.02
    if torch is not None:
        t = tinit.kaiming_uniform_(torch.empty(shape), a=a, mode=mode, nonlinearity=nl).numpy()
        assert np.abs(t).max() <= bound and np.abs(t).max() > 0.99 * bound


@pytest.mark.parametrize("shape,a,mode,nl", KAIMING)
def test_kaiming_normal(device, shape, a, mode, nl):
    w = disttorch.empty(*shape, device=device)
    fan = init._calculate_correct_fan(w, mode)
    std = init.calculate_gain(nl, a) / math.sqrt(fan)
    assert init.kaiming_normal_(w, a, mode, nl) is w
    arr = to_numpy(w)
    assert abs(arr.std() / std - 1) < 0.02 and abs(arr.mean()) < 0.05 * std
    if torch is not None:
        t = tinit.kaiming_normal_(torch.empty(shape), a, mode, nl).numpy()
        assert abs(t.std() / std - 1) < 0.02


def test_kaiming_zero_element_is_a_noop():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        w = disttorch.empty(0, 3)
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fn(w) is w
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            fn(disttorch.empty(0))  # returns before the fan (which needs 2 dims)


def test_float64_and_half_dtypes_kept(device):
    for dt in (disttorch.float64, disttorch.float16, disttorch.bfloat16):
        w = disttorch.empty(64, 128, dtype=dt, device=device)
        for fn in (init.kaiming_uniform_, init.xavier_normal_, init.orthogonal_, init.trunc_normal_):
            assert fn(w).dtype == dt
        assert np.isfinite(w.float().cpu().numpy()).all()


# -- trunc_normal_ -----------------------------------------------------------------------------
@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),        # the defaults
    (0.0, 0.02, -2.0, 2.0),       # a common misuse: practically untruncated
    (0.0, 0.02, -0.04, 0.04),     # +-2 std
    (1.0, 2.0, 0.5, 1.5),         # narrow window around the mean (uniform proposals)
    (0.0, 1.0, 2.0, 4.0),         # one tail
    (0.0, 1.0, -1.0, 0.0),        # half of the mass
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trunc_normal_range_and_moments(device, mean, std, a, b, dtype):
    w = disttorch.empty(500, 400, dtype=getattr(disttorch, dtype), device=device)
    assert init.trunc_normal_(w, mean, std, a, b) is w
    arr = to_numpy(w).astype(np.float64)
    assert arr.min() >= a and arr.max() <= b
    m, s = _trunc_moments(mean, std, a, b)
    assert abs(arr.mean() - m) < 0.01 * s + 1e-12
    assert abs(arr.std() / s - 1) < 0.01
    # the shape of the density too: the fraction below the midpoint
    mid = (a + b) / 2
    frac = (_norm_cdf((mid - mean) / std) - _norm_cdf((a - mean) / std)) / (
        _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std))
    assert abs((arr < mid).mean() - frac) < 0.005


def test_trunc_normal_far_tail_and_warning():
    w = disttorch.empty(100, 100)
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(w, mean=0.0, std=1.0, a=3.0, b=5.0)
    arr = to_numpy(w).astype(np.float64)
    assert arr.min() >= 3.0 and arr.max() <= 5.0
    m, s = _trunc_moments(0.0, 1.0, 3.0, 5.0)
    assert abs(arr.mean() - m) < 0.05 * s
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.trunc_normal_(disttorch.empty(10), std=1.0, a=-1, b=1)  # no warning
    assert init.trunc_normal_(disttorch.empty(0, 3)).shape == (0, 3)


# -- orthogonal_ -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 8), (5, 12), (12, 5), (6, 3, 2, 2), (30, 2, 3), (1, 7), (7, 1)])
@pytest.mark.parametrize("gain", [1.0, 1.7])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal(device, shape, gain, dtype):
    w = disttorch.empty(*shape, dtype=getattr(disttorch, dtype), device=device)
    assert init.orthogonal_(w, gain=gain) is w
    assert w.shape == shape and w.dtype == getattr(disttorch, dtype)
    m = to_numpy(w).astype(np.float64).reshape(shape[0], -1)
    rows, cols = m.shape
    tol = 1e-5 if dtype == "float32" else 1e-12
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=tol * gain**2)


def test_orthogonal_sign_correction_makes_q_haar():
    # For a single row the result is the Gaussian draw normalised: its signs are fair coins.
    # Without multiplying by sign(diag(R)), Householder QR makes the first entry always
    # negative.
    firsts = []
    for _ in range(400):
        firsts.append(to_numpy(init.orthogonal_(disttorch.empty(1, 6)))[0, 0])
    frac = np.mean(np.asarray(firsts) > 0)
    assert 0.4 < frac < 0.6
    # Square case: the diagonal of Q is symmetric around 0 (it is not for raw Householder Q).
    diags = np.stack([np.diag(to_numpy(init.orthogonal_(disttorch.empty(4, 4)))) for _ in range(400)])
    assert np.all(np.abs((diags > 0).mean(0) - 0.5) < 0.1)


def test_orthogonal_errors_and_empty():
    msg = "Only tensors with 2 or more dimensions are supported"
    with pytest.raises(ValueError, match=msg):
        init.orthogonal_(disttorch.empty(5))
    if torch is not None:
        with pytest.raises(ValueError, match=msg):
            tinit.orthogonal_(torch.empty(5))
    e = disttorch.empty(0, 4)
    assert init.orthogonal_(e) is e


# -- sparse_ -----------------------------------------------------------------------------------
@pytest.mark.parametrize("rows,cols,sparsity", [(10, 20, 0.3), (7, 50, 0.5), (100, 40, 0.1), (5, 3, 0.0), (4, 3, 1.0)])
def test_sparse(device, rows, cols, sparsity):
    w = disttorch.empty(rows, cols, device=device)
    assert init.sparse_(w, sparsity, std=0.5) is w
    arr = to_numpy(w)
    zeros = math.ceil(sparsity * rows)
    np.testing.assert_array_equal((arr == 0).sum(0), np.full(cols, zeros))
    if torch is not None:
        t = tinit.sparse_(torch.empty(rows, cols), sparsity, std=0.5).numpy()
        np.testing.assert_array_equal((t == 0).sum(0), (arr == 0).sum(0))


def test_sparse_values_and_errors():
    w = init.sparse_(disttorch.empty(400, 300), 0.25, std=0.1)
    arr = to_numpy(w)
    nz = arr[arr != 0]
    assert nz.size == 300 * 300
    assert abs(nz.std() / 0.1 - 1) < 0.02
    # each row is zeroed about equally often (random rows per column)
    per_row = (arr == 0).sum(1)
    assert per_row.min() > 30 and per_row.max() < 120
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(disttorch.empty(3, 4, 5), 0.1)
    if torch is not None:
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            tinit.sparse_(torch.empty(3, 4, 5), 0.1)


# -- reproducibility ---------------------------------------------------------------------------
RANDOM_INITS = [
    lambda t, g=None: init.uniform_(t, -1, 2, generator=g),
    lambda t, g=None: init.normal_(t, 1, 3, generator=g),
    lambda t, g=None: init.trunc_normal_(t, 0, 1, -0.5, 0.5, generator=g),
    lambda t, g=None: init.trunc_normal_(t, generator=g),
    lambda t, g=None: init.xavier_uniform_(t, generator=g),
    lambda t, g=None: init.xavier_normal_(t, generator=g),
    lambda t, g=None: init.kaiming_uniform_(t, generator=g),
    lambda t, g=None: init.kaiming_normal_(t, generator=g),
    lambda t, g=None: init.orthogonal_(t, generator=g),
    lambda t, g=None: init.sparse_(t, 0.3, generator=g),
]


@pytest.mark.parametrize("k", range(len(RANDOM_INITS)))
def test_reproducible_with_manual_seed_and_generator(device, k):
    fn = RANDOM_INITS[k]
    disttorch.manual_seed(123)
    a = to_numpy(fn(disttorch.empty(16, 24, device=device)))
    b = to_numpy(fn(disttorch.empty(16, 24, device=device)))
    disttorch.manual_seed(123)
    c = to_numpy(fn(disttorch.empty(16, 24, device=device)))
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)
    g1 = disttorch.Generator(device=device).manual_seed(7)
    g2 = disttorch.Generator(device=device).manual_seed(7)
    x = to_numpy(fn(disttorch.empty(16, 24, device=device), g1))
    disttorch.manual_seed(999)  # the global seed does not matter with a generator
    y = to_numpy(fn(disttorch.empty(16, 24, device=device), g2))
    np.testing.assert_array_equal(x, y)


def test_cpu_and_cuda_draw_the_same_numbers():
    if not disttorch.cuda.is_available():
        pytest.skip("no cuda device")
    g1, g2 = disttorch.Generator().manual_seed(3), disttorch.Generator("cuda").manual_seed(3)
    a = to_numpy(init.kaiming_uniform_(disttorch.empty(8, 9), generator=g1))
    b = to_numpy(init.kaiming_uniform_(disttorch.empty(8, 9, device="cuda"), generator=g2))
    np.testing.assert_array_equal(a, b)


# -- deprecated aliases ------------------------------------------------------------------------
@pytest.mark.parametrize("old,args", [
    ("uniform", ()), ("normal", ()), ("constant", (0.5,)), ("eye", ()), ("xavier_uniform", ()),
    ("xavier_normal", ()), ("kaiming_uniform", ()), ("kaiming_normal", ()), ("orthogonal", ()),
    ("sparse", (0.2,)),
])
def test_deprecated_aliases(old, args):
    w = disttorch.empty(4, 5)
    with pytest.warns(FutureWarning, match=f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"):
        assert getattr(init, old)(w, *args) is w
    with pytest.warns(FutureWarning):
        init.dirac(disttorch.empty(2, 2, 3))


def test_namespace():
    assert nn.init is init
    for name in ("calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
                 "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
                 "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"):
        assert name in init.__all__ and callable(getattr(init, name))


@pytest.mark.parametrize("k", range(len(RANDOM_INITS)))
def test_non_contiguous_targets_write_through(device, k):
    base = disttorch.zeros(24, 16, device=device)
    view = base.t()  # (16, 24), not contiguous
    assert not view.is_contiguous()
    out = RANDOM_INITS[k](view)
    assert out is view
    np.testing.assert_array_equal(to_numpy(base), to_numpy(view).T)
    assert (to_numpy(base) != 0).mean() > 0.5
    init.eye_(view)
    np.testing.assert_array_equal(to_numpy(base), np.eye(16, 24, dtype=np.float32).T)
