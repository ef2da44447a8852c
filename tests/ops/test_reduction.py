"""Reductions: parity with torch (values, dtypes, grads), gradchecks, ties, zeros, errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch

INF = float("inf")
ALL = [(), (5,), (3, 4), (2, 3, 4), (0, 3)]  # dim=-1 reductions: every shape works
NONEMPTY = [(), (5,), (3, 4), (2, 3, 4)]  # full reductions without an identity
ND = [(5,), (3, 4), (2, 3, 4)]  # dim 0 of a non-empty tensor
MULTI = [(3, 4), (2, 3, 4), (0, 3)]  # two reduced dims

CASES = {
    # sum / mean / nansum / nanmean
    "sum": (lambda x: x.sum(), ALL),
    "sum_dim": (lambda x: x.sum(-1), ALL),
    "sum_dims_keep": (lambda x: x.sum((0, -1), keepdim=True), MULTI),
    "sum_fn_dtype": (lambda x: _lib(x).sum(x, 0, dtype=_lib(x).float32), ND),
    "mean": (lambda x: x.mean(), NONEMPTY),
    "mean_dim": (lambda x: x.mean(-1, keepdim=True), ALL),
    "mean_fn": (lambda x: _lib(x).mean(x, (0, -1)), MULTI),
    "nansum": (lambda x: x.nansum(), ALL),
    "nansum_dim": (lambda x: _lib(x).nansum(x, -1, keepdim=True), ALL),
    "nanmean": (lambda x: x.nanmean(), NONEMPTY),
    "nanmean_dim": (lambda x: _lib(x).nanmean(x, dim=-1), ALL),
    # prod / cumsum / cumprod
    "prod": (lambda x: x.prod(), ALL),
    "prod_dim": (lambda x: x.prod(-1), ALL),
    "prod_keep": (lambda x: _lib(x).prod(x, 0, keepdim=True), ND),
    "cumsum": (lambda x: x.cumsum(-1), ALL),
    "cumsum_0": (lambda x: _lib(x).cumsum(x, dim=0), ALL),
    "cumprod": (lambda x: x.cumprod(-1), ALL),
    "cumprod_0": (lambda x: _lib(x).cumprod(x, 0), ALL),
    # max / min / amax / amin / aminmax / argmax / argmin / median
    "max": (lambda x: x.max(), NONEMPTY),
    "max_dim": (lambda x: x.max(-1), ALL),
    "max_dim_keep": (lambda x: _lib(x).max(x, 0, keepdim=True), ND),
    "max_dim_kw": (lambda x: _lib(x).max(x, dim=-1), ALL),
    "min": (lambda x: _lib(x).min(x), NONEMPTY),
    "min_dim": (lambda x: x.min(-1, True), ALL),
    "amax": (lambda x: x.amax(), NONEMPTY),
    "amax_dim": (lambda x: x.amax(-1), ALL),
    "amax_dims": (lambda x: _lib(x).amax(x, (0, -1), keepdim=True), [(3, 4), (2, 3, 4)]),
    "amin": (lambda x: _lib(x).amin(x), NONEMPTY),
    "amin_dim": (lambda x: x.amin(-1, keepdim=True), ALL),
    "aminmax": (lambda x: _lib(x).aminmax(x), NONEMPTY),
    "aminmax_dim": (lambda x: x.aminmax(dim=-1, keepdim=True), ALL),
    "argmax": (lambda x: x.argmax(), NONEMPTY),
    "argmax_dim": (lambda x: _lib(x).argmax(x, -1), ALL),
    "argmax_keep": (lambda x: x.argmax(0, keepdim=True), ND),
    "argmax_none_keep": (lambda x: x.argmax(keepdim=True), NONEMPTY),
    "argmin": (lambda x: _lib(x).argmin(x), NONEMPTY),
    "argmin_dim": (lambda x: x.argmin(dim=-1, keepdim=True), ALL),
    "median": (lambda x: x.median(), ALL),
    "median_dim": (lambda x: x.median(-1), ALL),
    "median_keep": (lambda x: _lib(x).median(x, 0, keepdim=True), ND),
    # var / std
    "var": (lambda x: x.var(), [(5,), (3, 4), (2, 3, 4)]),
    "var_dim": (lambda x: x.var(-1), [(5,), (3, 4), (2, 3, 4), (0, 3)]),
    "var_corr0": (lambda x: _lib(x).var(x, 0, correction=0, keepdim=True), ND),
    "var_unbiased": (lambda x: x.var(-1, False, True), [(5,), (3, 4), (2, 3, 4)]),
    "var_dims": (lambda x: x.var((0, -1), correction=2), [(3, 4), (2, 3, 4)]),
    "std": (lambda x: x.std(), [(5,), (3, 4), (2, 3, 4)]),
    "std_dim": (lambda x: _lib(x).std(x, -1, keepdim=True), [(5,), (3, 4), (2, 3, 4), (0, 3)]),
    "std_unbiased": (lambda x: x.std(unbiased=False), [(5,), (3, 4), (2, 3, 4)]),
    "var_mean": (lambda x: _lib(x).var_mean(x, -1), [(5,), (3, 4), (2, 3, 4)]),
    "std_mean": (lambda x: _lib(x).std_mean(x, 0, keepdim=True, correction=0), ND),
    # norm
    "norm": (lambda x: x.norm(), ALL),
    "norm_fro_dims": (lambda x: x.norm("fro", dim=(0, 1)), MULTI),
    "norm_2_dim": (lambda x: _lib(x).norm(x, 2, -1, keepdim=True), ALL),
    "norm_1": (lambda x: x.norm(1), ALL),
    "norm_1_dim": (lambda x: x.norm(p=1, dim=-1), ALL),
    "norm_inf": (lambda x: x.norm(INF), NONEMPTY),
    "norm_inf_dim": (lambda x: x.norm(INF, dim=-1), ALL),
    "norm_ninf": (lambda x: x.norm(-INF, -1), ALL),
    "norm_0": (lambda x: x.norm(0), ALL),
    "norm_3": (lambda x: x.norm(3, dim=-1), ALL),
    "norm_half": (lambda x: x.norm(0.5), NONEMPTY),
    "norm_neg": (lambda x: x.norm(-1.5, -1), NONEMPTY),
    "norm_dtype": (lambda x: x.float().norm(dtype=_lib(x).float64), ALL),
    # logsumexp
    "logsumexp": (lambda x: x.logsumexp(-1), ALL),
    "logsumexp_keep": (lambda x: _lib(x).logsumexp(x, 0, keepdim=True), ND),
    "logsumexp_dims": (lambda x: _lib(x).logsumexp(x, (0, -1)), MULTI),
}


def _lib(x):
    """The library ``x`` belongs to (so one lambda calls torch.f or disttorch.f)."""
    return disttorch if isinstance(x, disttorch.Tensor) else __import__("torch")


PARAMS = [(name, shape) for name, (_, shapes) in CASES.items() for shape in shapes]


@pytest.mark.parametrize("name,shape", PARAMS, ids=[f"{n}-{s}" for n, s in PARAMS])
def test_parity(name, shape, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check([shape], CASES[name][0], device=device)


NONCONTIG = {
    "sum": lambda x: x.transpose(0, 1).sum(-1),
    "prod": lambda x: x.transpose(0, 1).prod(0),
    "cumsum": lambda x: x.transpose(0, 1).cumsum(-1),
    "cumprod": lambda x: x.transpose(0, 1).cumprod(-1),
    "max": lambda x: x.transpose(0, 1).max(-1),
    "amax": lambda x: x.permute(2, 0, 1).amax((0, 2)),
    "argmax": lambda x: x.transpose(0, 2).argmax(),
    "median": lambda x: x.transpose(0, 1).median(-1),
    "var": lambda x: x.transpose(1, 2).var(-1),
    "std": lambda x: x.transpose(0, 1).std(),
    "norm": lambda x: x.transpose(0, 2).norm(3, dim=(0, 1)),
    "logsumexp": lambda x: x.transpose(0, 2).logsumexp(0),
    "nanmean": lambda x: x.transpose(0, 1).nanmean(-1),
    "any": lambda x: x.transpose(0, 1).any(-1),
}


@pytest.mark.parametrize("name", NONCONTIG)
def test_noncontiguous(name, device):
    check([(2, 3, 4)], NONCONTIG[name], device=device)


# -- gradchecks (float64 finite differences, first and second order) ------------------------
GRAD = {
    "sum": lambda x: x.sum((0, 2)),
    "mean": lambda x: x.mean(-1, keepdim=True),
    "nansum": lambda x: x.nansum(1),
    "nanmean": lambda x: x.nanmean(),
    "prod": lambda x: x.prod(),
    "prod_dim": lambda x: x.prod(1, keepdim=True),
    "cumsum": lambda x: x.cumsum(1),
    "cumprod": lambda x: x.cumprod(-1),
    "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(1)[0],
    "min_dim": lambda x: x.min(0, keepdim=True).values,
    "amax": lambda x: x.amax((0, 2)),
    "amin": lambda x: x.amin(-1),
    "aminmax": lambda x: disttorch.aminmax(x, dim=1),
    "median": lambda x: x.median(),
    "median_dim": lambda x: x.median(1).values,
    "var": lambda x: x.var(1),
    "var_all": lambda x: x.var(correction=0),
    "std": lambda x: x.std(-1, keepdim=True),
    "std_all": lambda x: x.std(),
    "var_mean": lambda x: disttorch.var_mean(x, 1),
    "std_mean": lambda x: disttorch.std_mean(x, (0, 2)),
    "norm": lambda x: x.norm(),
    "norm_dim": lambda x: x.norm(dim=1),
    "norm_1": lambda x: x.norm(1, dim=-1),
    "norm_inf": lambda x: x.norm(INF, dim=0),
    "norm_ninf": lambda x: x.norm(-INF),
    "norm_3": lambda x: x.norm(3, dim=(0, 1)),
    "norm_1_5": lambda x: x.norm(1.5, dim=-1),
    "norm_half": lambda x: x.norm(0.5),
    "norm_neg": lambda x: x.norm(-2, dim=1),
    "logsumexp": lambda x: x.logsumexp(1),
    "logsumexp_dims": lambda x: x.logsumexp((0, 2), keepdim=True),
}


@pytest.mark.parametrize("name", GRAD)
def test_gradcheck(name, device):
    gradcheck([(2, 3, 4)], GRAD[name], device=device, second_order=True)


def test_gradcheck_positive_inputs():
    # products and fractional norms away from zero
    for fn in (lambda x: x.prod(0), lambda x: x.cumprod(0), lambda x: x.norm(0.5, dim=1)):
        gradcheck([(3, 4)], fn, low=0.5, high=2.0, second_order=True)


# -- zeros in products: first and second order, against torch and finite differences --------
ZERO_VALS = [
    [0.0, 0.0, 0.0],
    [2.0, 0.0, 3.0],
    [2.0, 0.0, 0.0, 3.0],
    [0.0, 1.5, -2.0, 0.5],
    [1.5, -2.0, 0.5, 0.0],
    [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]],
    [[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]],
]
ZERO_FNS = {
    "prod": lambda x: x.prod(),
    "prod_dim": lambda x: x.prod(-1),
    "prod_dim0": lambda x: x.prod(0, keepdim=True),
    "cumprod": lambda x: x.cumprod(-1),
    "cumprod_0": lambda x: x.cumprod(0),
}


@pytest.mark.parametrize("name", ZERO_FNS)
@pytest.mark.parametrize("vals", ZERO_VALS, ids=str)
def test_products_with_zeros(name, vals, device):
    a = np.array(vals, dtype=np.float64)
    check([a.shape], ZERO_FNS[name], vals=[a], device=device)
    gradcheck([a.shape], ZERO_FNS[name], vals=[a], device=device, second_order=True)


@pytest.mark.parametrize("name", ZERO_FNS)
@pytest.mark.parametrize("vals", ZERO_VALS, ids=str)
def test_products_with_zeros_double_backward_parity(name, vals):
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, disttorch):
        x = lib.tensor(np.array(vals, dtype=np.float64), requires_grad=True)
        y = ZERO_FNS[name](x)
        w = lib.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))
        (g,) = lib.autograd.grad((y * w).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        out.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], atol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], atol=1e-12)


# -- ties and NaN: values, indices and how the grad is shared ---------------------------------
TIES = {
    "max": lambda x: x.max(),
    "min": lambda x: x.min(),
    "max_dim": lambda x: x.max(-1),
    "min_dim": lambda x: x.min(0),
    "amax": lambda x: x.amax(-1),
    "amin": lambda x: x.amin(),
    "aminmax": lambda x: x.aminmax(),
    "argmax": lambda x: x.argmax(),
    "argmin_dim": lambda x: x.argmin(-1),
    "median": lambda x: x.median(),
    "median_dim": lambda x: x.median(-1),
    "norm_inf": lambda x: x.norm(INF, -1),
    "norm_ninf": lambda x: x.norm(-INF),
}
TIE_VALS = [
    [[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, -1.0, 2.0]],
    [[0.0, 0.0, 0.0, 0.0], [-1.0, 1.0, -1.0, 1.0]],
    [[5.0, 5.0, 1.0, 5.0], [1.0, 1.0, 1.0, 1.0]],
]


@pytest.mark.parametrize("name", TIES)
@pytest.mark.parametrize("vals", TIE_VALS, ids=str)
def test_ties(name, vals, device):
    a = np.array(vals)
    check([a.shape], TIES[name], vals=[a], device=device)


NAN_VALS = [[1.0, float("nan"), 3.0, float("nan")], [2.0, 0.5, -1.0, 4.0]]
NANS = {
    "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(-1),
    "argmax": lambda x: x.argmax(-1),
    "argmin": lambda x: x.argmin(),
    "amax": lambda x: x.amax(-1),
    "median": lambda x: x.median(),
    "median_dim": lambda x: x.median(-1),
    "nansum": lambda x: x.nansum(-1),
    "nanmean": lambda x: x.nanmean(-1),
    "nanmean_all": lambda x: x.nanmean(),
    "nansum_all": lambda x: x.nansum(),
}


@pytest.mark.parametrize("name", NANS)
def test_nan(name, device):
    a = np.array(NAN_VALS)
    check([a.shape], NANS[name], vals=[a], device=device)


def test_median_ties_match_torch_indices():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for _ in range(200):
        a = rng.integers(0, 3, size=(int(rng.integers(1, 4)), int(rng.integers(1, 40)))).astype(float)
        if rng.random() < 0.3:
            a[rng.random(a.shape) < 0.2] = np.nan
        tv, ti = torch.tensor(a).median(1)
        dv, di = disttorch.tensor(a).median(1)
        np.testing.assert_array_equal(di.numpy(), ti.numpy())
        np.testing.assert_array_equal(dv.numpy(), tv.numpy())


def test_first_occurrence_indices(device):
    x = disttorch.tensor([[1.0, 4.0, 4.0, 0.0], [0.0, 0.0, 2.0, 2.0]], device=device)
    assert x.argmax().item() == 1
    assert x.argmax(1).tolist() == [1, 2]
    assert x.argmin(1).tolist() == [3, 0]
    assert x.max(1).indices.tolist() == [1, 2]
    assert x.min(0).indices.tolist() == [1, 1, 1, 0]


# -- integer and bool inputs: result dtypes ----------------------------------------------------
DTYPE_CASES = [
    lambda t: t.tensor([1, 2, 3]).sum(),
    lambda t: t.tensor([1, 2, 3], dtype=t.int32).prod(),
    lambda t: t.tensor([True, False, True]).sum(0),
    lambda t: t.tensor([True, False]).prod(),
    lambda t: t.tensor([1, 2, 3], dtype=t.int8).cumsum(0),
    lambda t: t.tensor([1, 2, 3], dtype=t.int32).cumprod(0),
    lambda t: t.tensor([True, True]).cumsum(0),
    lambda t: t.tensor([1, 2, 3]).cumsum(0, dtype=t.float32),
    lambda t: t.tensor([1.5, 2.5]).cumsum(0, dtype=t.int32),
    lambda t: t.tensor([1, 2, 3], dtype=t.int16).nansum(),
    lambda t: t.tensor([1, 2]).nansum(dtype=t.float32),
    lambda t: t.tensor([1.0, 2.0]).nanmean(dtype=t.float64),
    lambda t: t.tensor([3, 1, 2]).max(),
    lambda t: t.tensor([3, 1, 2], dtype=t.uint8).min(0),
    lambda t: t.tensor([True, False]).max(),
    lambda t: t.tensor([True, False]).amax(),
    lambda t: t.tensor([True, False]).max(0),
    lambda t: t.tensor([3, 1, 2], dtype=t.int32).argmax(),
    lambda t: t.tensor([3, 1, 2, 5]).median(),
    lambda t: t.tensor([[3, 1], [2, 5]], dtype=t.int16).median(0),
    lambda t: t.tensor([3, 1, 2], dtype=t.int32).aminmax(),
    lambda t: t.tensor([1, 2, 3]).logsumexp(0),
    lambda t: t.tensor([1, 2], dtype=t.int8).logsumexp(0),
    lambda t: t.tensor([True, False]).logsumexp(0),
    lambda t: t.tensor([1.0, 2.0], dtype=t.float16).logsumexp(0),
    lambda t: t.tensor([0, 2, 3], dtype=t.uint8).any(),
    lambda t: t.tensor([0, 2, 3], dtype=t.uint8).all(0),
    lambda t: t.tensor([0.0, 2.0]).any(),
    lambda t: t.tensor([[0.0, 2.0], [1.0, 1.0]]).all(1, keepdim=True),
    lambda t: t.tensor([[0.0, 2.0], [1.0, 1.0]]).any((0, 1)),
    lambda t: t.tensor([[0.0, 2.0], [1.0, 1.0]]).any(()),
    lambda t: t.tensor([[0, 2], [1, 1]]).count_nonzero(),
    lambda t: t.tensor([[0, 2], [1, 0]]).count_nonzero(0),
    lambda t: t.count_nonzero(t.tensor([[0.0, 2.0], [1.0, 0.0]]), dim=(0, 1)),
    lambda t: t.ones(2, 3).count_nonzero(()),
    lambda t: t.tensor([1.0, 2.0, 4.0], dtype=t.float16).var(),
    lambda t: t.tensor([1.0, 2.0, 4.0], dtype=t.float16).norm(),
    lambda t: t.tensor([1.0, 2.0, 4.0], dtype=t.float16).norm(dtype=t.float32),
    lambda t: t.tensor([1.0, 2.0, 4.0], dtype=t.float16).cumsum(0),
    lambda t: t.tensor([1.0, 2.0, 4.0], dtype=t.float32).prod(dtype=t.float64),
    lambda t: t.tensor([1.0, 2.0]).mean(dtype=t.float64),
    lambda t: t.tensor([1, 2]).mean(dtype=t.float32),
    lambda t: t.tensor(5.0).max(0),
    lambda t: t.tensor(5.0).max(0, keepdim=True),
    lambda t: t.tensor(5.0).argmax(0, keepdim=True),
    lambda t: t.tensor(5.0).argmax(keepdim=True),
    lambda t: t.tensor(5.0).prod(0, keepdim=True),
    lambda t: t.tensor(5.0).sum(-1, keepdim=True),
    lambda t: t.tensor(5.0).median(0, keepdim=True),
    lambda t: t.tensor(5.0).aminmax(dim=0),
    lambda t: t.tensor(5.0).cumprod(-1),
    lambda t: t.tensor(5.0).any(0),
    lambda t: t.tensor(5.0).count_nonzero(0),
    lambda t: t.tensor(5.0).norm(dim=0),
    lambda t: t.ones(0, 3).prod(0),
    lambda t: t.ones(0, 3).amax(1),
    lambda t: t.ones(0, 3).max(1),
    lambda t: t.ones(0, 3).argmax(1),
    lambda t: t.ones(0, 3).median(1),
    lambda t: t.ones(0, 3).aminmax(dim=1),
    lambda t: t.ones(0, 3).logsumexp(0),
    lambda t: t.ones(0, 3).norm(dim=0),
    lambda t: t.ones(0, 3).norm(0),
    lambda t: t.ones(0, 3).norm(INF, dim=1),
    lambda t: t.ones(0, 3).any(),
    lambda t: t.ones(0, 3).all(0),
    lambda t: t.ones(0).median(),
    lambda t: t.ones(0).sum(),
    lambda t: t.ones(0).nansum(),
    lambda t: t.ones(0).mean(),
    lambda t: t.ones(0).nanmean(),
    lambda t: t.ones(2, 3).amax(()),
    lambda t: t.ones(2, 3).sum([]),
    lambda t: t.ones(2, 3).mean(()),
    lambda t: t.ones(2, 3).var(()),
    lambda t: t.ones(2, 3).norm(dim=()),
    lambda t: t.ones(2, 3).norm(keepdim=True),
    lambda t: t.ones(2, 3).norm(p=3, keepdim=True),
    lambda t: t.norm(t.ones(3), p=None),
    lambda t: t.ones(2, 3).var(True),
    lambda t: t.ones(2, 3).var(False),
    lambda t: t.ones(2, 3).var(1, True, True),
    lambda t: t.var(t.ones(2, 3), 1, unbiased=False),
    lambda t: t.ones(2, 3).var(dim=1, correction=2.5),
    lambda t: t.ones(2, 3).max(t.zeros(3)),
    lambda t: t.max(t.ones(2, 3), t.full((3,), 2.0)),
    lambda t: t.min(t.ones(2, 3), other=t.zeros(2, 1)),
    lambda t: t.tensor([1000.0, 1000.0]).logsumexp(0),
    lambda t: t.tensor([-INF, -INF]).logsumexp(0),
    lambda t: t.tensor([INF, 1.0]).logsumexp(0),
    lambda t: t.tensor([[1.0, -2.0, 0.0], [3.0, 0.5, -4.0]]).norm(0),
    lambda t: t.tensor([[1.0, -2.0, 0.0], [3.0, 0.5, -4.0]]).norm(-1),
    lambda t: t.tensor([[1.0, -2.0, 0.0], [3.0, 0.5, -4.0]]).norm(-INF, 1),
]


@pytest.mark.parametrize("k", range(len(DTYPE_CASES)))
def test_dtypes_and_edge_values(k):
    torch = pytest.importorskip("torch")
    fn = DTYPE_CASES[k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, theirs = fn(disttorch), fn(torch)
    ours = list(ours) if isinstance(ours, tuple) else [ours]
    theirs = list(theirs) if isinstance(theirs, tuple) else [theirs]
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype.name == str(t.dtype).split(".")[1]
        assert tuple(o.shape) == tuple(t.shape)
        tv = t.float().numpy() if t.dtype == torch.float16 else t.numpy()
        ov = o.float().numpy() if o.dtype.name == "float16" else o.numpy()
        np.testing.assert_allclose(ov, tv, rtol=1e-3, equal_nan=True)


def test_return_types(device):
    x = disttorch.tensor([[1.0, 5.0], [3.0, 2.0]], device=device)
    r = x.max(1)
    assert isinstance(r, tuple) and r._fields == ("values", "indices")
    assert r.values.tolist() == [5.0, 3.0] and r.indices.tolist() == [1, 0]
    v, i = disttorch.min(x, 0)
    assert v.tolist() == [1.0, 2.0] and i.tolist() == [0, 1]
    assert disttorch.median(x, 0)._fields == ("values", "indices")
    mm = disttorch.aminmax(x)
    assert mm.min.item() == 1.0 and mm.max.item() == 5.0
    assert repr(r).startswith("disttorch.return_types.max(\nvalues=tensor([5., 3.]")
    assert r.indices.dtype is disttorch.int64 and not r.indices.requires_grad
    vm = disttorch.var_mean(x)
    assert type(vm) is tuple and len(vm) == 2


def test_max_other_and_grad():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 2.0]])
    b = np.array([2.0, 3.0, 1.0])
    check([a.shape, b.shape], lambda x, y: x.max(y), vals=[a, b])
    check([a.shape, b.shape], lambda x, y: _lib(x).min(x, y), vals=[a, b])
    assert torch is not None


def test_max_other_fallback_without_maximum(monkeypatch):
    # without an installed Tensor.maximum/minimum, max(x, other) uses its own op
    for name in ("maximum", "minimum"):
        monkeypatch.delattr(disttorch.Tensor, name, raising=False)
    a = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 2.0]])
    b = np.array([2.0, 3.0, 1.0])
    check([a.shape, b.shape], lambda x, y: x.max(y), vals=[a, b])
    check([a.shape, b.shape], lambda x, y: _lib(x).min(x, other=y), vals=[a, b])
    gradcheck([(2, 3), (3,)], lambda x, y: x.max(y) + x.min(y), second_order=True)
    r = disttorch.tensor([1, 5]).max(disttorch.tensor([2.5, 0.0]))
    assert r.dtype is disttorch.float32 and r.tolist() == [2.5, 5.0]


def test_return_types_pickle():
    import pickle

    r = pickle.loads(pickle.dumps(disttorch.tensor([[1.0, 2.0], [4.0, 3.0]]).max(1)))
    assert r._fields == ("values", "indices") and r.indices.tolist() == [1, 0]
    mm = pickle.loads(pickle.dumps(disttorch.aminmax(disttorch.tensor([1.0, 2.0]))))
    assert mm.max.item() == 2.0


def test_inplace_cumsum_cumprod(device):
    x = disttorch.tensor([1.0, 2.0, 3.0], device=device)
    v = x._version
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]
    x.cumprod_(0)
    assert x.tolist() == [1.0, 3.0, 18.0] and x._version == v + 2


def test_var_warns_on_no_degrees_of_freedom():
    x = disttorch.tensor([1.0])
    with pytest.warns(UserWarning, match="degrees of freedom"):
        r = x.var()
    assert math.isnan(r.item())
    with pytest.warns(UserWarning):
        r = disttorch.tensor([1.0, 2.0]).var(correction=3)
    assert r.item() == INF


def test_grad_edge_cases():
    torch = pytest.importorskip("torch")
    for fn, vals in [
        (lambda x: x.std(), [0.0, 0.0, 0.0]),
        (lambda x: x.norm(), [0.0, 0.0]),
        (lambda x: x.norm(3), [0.0, 0.0]),
        (lambda x: x.norm(1.5, -1), [[0.0, 0.0], [1.0, -2.0]]),
        (lambda x: x.norm(0.5), [2.0, 0.0, 3.0]),
        (lambda x: x.norm(-1), [2.0, 1.0, 3.0]),
        (lambda x: x.norm(0), [2.0, 0.0, 3.0]),
        (lambda x: x.norm(1), [2.0, 0.0, -3.0]),
        (lambda x: x.logsumexp(0), [-INF, 1.0, 2.0]),
        (lambda x: x.prod(), [0.0]),
        (lambda x: x.max(), [float("nan"), 1.0, float("nan")]),
    ]:
        a = np.array(vals)
        check([a.shape], fn, vals=[a])
    assert torch is not None


def test_sum_to_size():
    check([(2, 3, 4)], lambda x: x.sum_to_size(3, 1))
    check([(2, 3, 4)], lambda x: x.sum_to_size((1, 3, 4)))


def test_no_grad_for_indices_and_logical():
    x = disttorch.tensor([[1.0, 2.0], [3.0, 0.0]], requires_grad=True)
    for r in (x.argmax(), x.any(), x.all(1), x.count_nonzero(), x.max(1).indices):
        assert not r.requires_grad and r.grad_fn is None


def test_errors():
    check_error(lambda t: t.ones(0).max(), RuntimeError, match="numel\\(\\) == 0")
    check_error(lambda t: t.ones(0, 3).min(), RuntimeError)
    check_error(lambda t: t.ones(0, 3).amax(), RuntimeError)
    check_error(lambda t: t.ones(0, 3).max(0), IndexError, match="non-zero size")
    check_error(lambda t: t.ones(0, 3).max(-2), IndexError)
    check_error(lambda t: t.ones(0, 3).amax(0), IndexError)
    check_error(lambda t: t.ones(0, 3).argmax(0), IndexError)
    check_error(lambda t: t.ones(0, 3).argmax(), IndexError)
    check_error(lambda t: t.ones(2, 0).median(1), IndexError)
    check_error(lambda t: t.ones(0).aminmax(), RuntimeError)
    check_error(lambda t: t.ones(0, 3).aminmax(dim=0), IndexError)
    check_error(lambda t: t.ones(0).norm(INF), RuntimeError)
    check_error(lambda t: t.ones(0, 3).norm(-1, dim=0), RuntimeError)
    check_error(lambda t: t.tensor([True, False]).argmax(), RuntimeError)
    check_error(lambda t: t.tensor([True, False]).median(), NotImplementedError)
    check_error(lambda t: t.tensor([1, 2, 3]).var(), RuntimeError)
    check_error(lambda t: t.tensor([1, 2, 3]).std(0), RuntimeError)
    check_error(lambda t: t.tensor([1, 2, 3]).mean(), RuntimeError)
    check_error(lambda t: t.tensor([1.0, 2.0]).mean(dtype=t.int64), RuntimeError)
    check_error(lambda t: t.tensor([1, 2]).nanmean(), RuntimeError)
    check_error(lambda t: t.tensor([1, 2, 3]).norm(), RuntimeError)
    check_error(lambda t: t.ones(3).norm(dtype=t.float16), RuntimeError)
    check_error(lambda t: t.ones(3).norm(dtype=t.int64), RuntimeError)
    check_error(lambda t: t.ones(2, 3).norm("abc"), RuntimeError)
    check_error(lambda t: t.ones(2, 3).norm("fro", dim=(0, 1, 1)), RuntimeError)
    check_error(lambda t: t.ones(2, 3).logsumexp(), TypeError)
    check_error(lambda t: t.ones(2, 3).cumsum(None), TypeError)
    check_error(lambda t: t.ones(2, 3).cumprod(dim=None), TypeError)
    check_error(lambda t: t.ones(2, 3).cumsum(0, dtype=t.bool), NotImplementedError)
    check_error(lambda t: t.ones(2, 3).prod(dim=(0, 1)), TypeError)
    check_error(lambda t: t.ones(2, 3).argmax(dim=(0, 1)), TypeError)
    check_error(lambda t: t.ones(2, 3).max(dim=(0, 1)), TypeError)
    check_error(lambda t: t.ones(2, 3).max("a"), TypeError)
    check_error(lambda t: t.ones(2, 3).max(1, 5), TypeError)
    check_error(lambda t: t.ones(2, 3).max(keepdim=True), TypeError)
    check_error(lambda t: t.aminmax(t.ones(2, 3), dim=(0, 1)), TypeError)
    check_error(lambda t: t.ones(2, 3).var(unbiased=True, correction=1), TypeError)
    check_error(lambda t: t.ones(2, 3).amax((0, 0)), RuntimeError, match="multiple times")
    check_error(lambda t: t.ones(2, 3).sum((1, -1)), RuntimeError)
    check_error(lambda t: t.ones(2, 3).count_nonzero((0, 0)), RuntimeError)
    for f in (lambda t: t.ones(2, 3).sum(2), lambda t: t.ones(2, 3).max(-3),
              lambda t: t.ones(2, 3).amax(2), lambda t: t.ones(2, 3).argmin(5),
              lambda t: t.ones(2, 3).var(2), lambda t: t.ones(2, 3).norm(dim=2),
              lambda t: t.ones(2, 3).logsumexp(2), lambda t: t.ones(2, 3).cumsum(2),
              lambda t: t.ones(2, 3).any(2), lambda t: t.ones(2, 3).all(dim=-3),
              lambda t: t.ones(2, 3).median(2), lambda t: t.ones(2, 3).prod(2),
              lambda t: t.tensor(5.0).max(1), lambda t: t.tensor(5.0).cumsum(1),
              lambda t: t.ones(2, 3).count_nonzero(3), lambda t: t.ones(2, 3).nansum(4)):
        check_error(f, IndexError, match="Dimension out of range")
