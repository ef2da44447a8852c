"""Losses: functional and module parity with torch (values, input grads, dtypes), every
reduction and option, the fused cross-entropy path against the composed one, float64
gradchecks (second order for cross_entropy, nll and mse) and torch's errors/warnings."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
from disttorch.nn.functional import loss as L

REDUCTIONS = ["mean", "sum", "none"]
TOL = {"float64": {}, "float32": {"atol": 1e-5, "rtol": 1e-4, "grad_atol": 1e-5, "grad_rtol": 1e-4}}


def F(lib):
    return lib.nn.functional


def _rng(seed=0):
    return np.random.default_rng(seed)


def _lib(t):
    """The library a tensor belongs to (so one lambda runs on both)."""
    if isinstance(t, disttorch.Tensor):
        return disttorch
    import torch

    return torch


@pytest.fixture(autouse=True)
def _no_size_warnings():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using a target size")
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        yield


# -- elementwise regression losses -----------------------------------------------------------------
REGRESSION = {
    "mse": lambda f, a, b, r: f.mse_loss(a, b, reduction=r),
    "l1": lambda f, a, b, r: f.l1_loss(a, b, reduction=r),
    "smooth_l1": lambda f, a, b, r: f.smooth_l1_loss(a, b, reduction=r),
    "smooth_l1_beta": lambda f, a, b, r: f.smooth_l1_loss(a, b, reduction=r, beta=0.6),
    "smooth_l1_beta0": lambda f, a, b, r: f.smooth_l1_loss(a, b, reduction=r, beta=0.0),
    "huber": lambda f, a, b, r: f.huber_loss(a, b, reduction=r),
    "huber_delta": lambda f, a, b, r: f.huber_loss(a, b, reduction=r, delta=0.4),
}
REG_SHAPES = [((4, 5), (4, 5)), ((), ()), ((0, 3), (0, 3)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)),
              ((6,), (6,))]


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", REG_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_regression_parity(name, reduction, shapes, dtype, device):
    fn = REGRESSION[name]
    check(shapes, lambda a, b: fn(F(_lib(a)), a, b, reduction), device=device, dtype=dtype, **TOL[dtype])


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_noncontiguous(name, reduction, device):
    fn = REGRESSION[name]
    check([(5, 3), (3, 5)], lambda a, b: fn(F(_lib(a)), a.transpose(0, 1), b, reduction), device=device)


@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weight(name, reduction, device):
    fns = {"mse": lambda f: f.mse_loss, "l1": lambda f: f.l1_loss, "huber": lambda f: f.huber_loss}

    def fn(a, b, w):
        return fns[name](F(_lib(a)))(a, b, reduction=reduction, weight=w)

    check([(3, 4), (3, 4), np.abs(_rng(3).normal(size=(3, 4))) + 0.1], fn, device=device,
          requires_grad=[True, True, False])


@pytest.mark.parametrize("name", ["mse", "smooth_l1_beta", "huber_delta", "l1"])
@pytest.mark.parametrize("red", REDUCTIONS)
def test_regression_gradcheck(red, name, device):
    fn = REGRESSION[name]
    gradcheck([(3, 4), (4,)], lambda a, b: fn(F(disttorch), a, b, red), device=device,
              second_order=name in ("mse", "smooth_l1_beta", "huber_delta"))


def test_mse_second_order_values():
    torch = pytest.importorskip("torch")
    x = _rng().normal(size=(3, 4))
    outs = []
    for lib in (torch, disttorch):
        a = lib.tensor(x, requires_grad=True)
        b = lib.tensor(x[::-1].copy())
        (g,) = lib.autograd.grad(lib.nn.functional.mse_loss(a, b), a, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), a)
        outs.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)


def test_regression_integer_inputs():
    torch = pytest.importorskip("torch")
    for lib in (torch, disttorch):
        assert F(lib).l1_loss(lib.tensor([1, 5]), lib.tensor([3, 2]), reduction="sum").item() == 5
    check_error(lambda t: F(t).mse_loss(t.tensor([1, 2]), t.tensor([1, 3])), NotImplementedError)
    check_error(lambda t: F(t).huber_loss(t.tensor([1, 2]), t.tensor([1, 3])), NotImplementedError)
    check_error(lambda t: F(t).smooth_l1_loss(t.tensor([1, 2]), t.tensor([1, 3])), NotImplementedError)


def test_regression_mixed_dtypes():
    torch = pytest.importorskip("torch")
    for lib in (torch, disttorch):
        out = F(lib).mse_loss(lib.ones(3, dtype=lib.float32), lib.zeros(3, dtype=lib.float64))
        assert str(out.dtype).endswith("float64")


# -- legacy size_average / reduce ------------------------------------------------------------------
LEGACY = [(None, False), (False, None), (True, True), (False, True), (True, False), (None, True)]


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_legacy_flags(size_average, reduce):
    torch = pytest.importorskip("torch")
    x = _rng().normal(size=(4, 3))
    t = np.array([0, 2, 1, 2])
    expected = torch.nn._reduction.legacy_get_string(size_average, reduce, emit_warning=False)
    assert L._legacy_get_string(size_average, reduce, emit_warning=False) == expected
    cases = [
        lambda f, lib: f.mse_loss(lib.tensor(x), lib.tensor(x * 0.5), size_average, reduce),
        lambda f, lib: f.l1_loss(lib.tensor(x), lib.tensor(x * 0.5), size_average, reduce),
        lambda f, lib: f.cross_entropy(lib.tensor(x), lib.tensor(t), None, size_average, -100, reduce),
        lambda f, lib: f.nll_loss(lib.tensor(x), lib.tensor(t), None, size_average, -100, reduce),
        lambda f, lib: f.kl_div(lib.tensor(x), lib.tensor(np.abs(x)), size_average, reduce),
        lambda f, lib: f.binary_cross_entropy_with_logits(lib.tensor(x), lib.tensor(np.abs(x) / 3),
                                                          None, size_average, reduce),
    ]
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = case(F(disttorch), disttorch)
            theirs = case(F(torch), torch)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match=f"please use reduction='{expected}' instead"):
        F(disttorch).mse_loss(disttorch.ones(2), disttorch.ones(2), size_average, reduce)
    with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
        m = disttorch.nn.MSELoss(size_average, reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m.reduction == torch.nn.MSELoss(size_average, reduce).reduction == expected


def test_elementwise_mean_and_size_warnings():
    with pytest.warns(UserWarning, match="elementwise_mean"):
        out = F(disttorch).mse_loss(disttorch.ones(2), disttorch.zeros(2), reduction="elementwise_mean")
    assert out.item() == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F(disttorch).mse_loss(disttorch.ones(2), disttorch.zeros(2))
    with pytest.warns(UserWarning, match=r"Using a target size \(disttorch.Size\(\[3\]\)\) that is different"):
        warnings.simplefilter("always")
        F(disttorch).mse_loss(disttorch.ones(2, 3), disttorch.zeros(3))


# -- cross entropy and nll: class indices ------------------------------------------------------------
def _targets(shape, c, seed=0, ignore=-100, n_ignored=2):
    t = _rng(seed).integers(0, c, size=shape)
    flat = t.reshape(-1)
    if n_ignored and flat.size:
        flat[: min(n_ignored, flat.size)] = ignore
    return t.astype(np.int64)


CE_SHAPES = {  # input shape -> target shape
    "2d": ((6, 4), (6,)),
    "unbatched": ((5,), ()),
    "3d": ((3, 4, 5), (3, 5)),
    "4d": ((2, 3, 4, 2), (2, 4, 2)),
    "5d": ((2, 3, 2, 2, 3), (2, 2, 2, 3)),
    "empty_batch": ((0, 3), (0,)),
}


def _ce_case(kind, dtype, with_weight, ignore_index, seed=0):
    ishape, tshape = CE_SHAPES[kind]
    c = ishape[0] if len(ishape) == 1 else ishape[1]
    n_ign = 0 if kind == "unbatched" else 2
    t = _targets(tshape, c, seed, ignore_index, n_ign)
    arrays = [ishape, t]
    if with_weight:
        arrays.append(_rng(seed + 1).uniform(0.2, 2.0, size=c).astype(dtype))
    return arrays


@pytest.mark.parametrize("kind", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_indices(kind, reduction, with_weight, label_smoothing, ignore_index, device):
    arrays = _ce_case(kind, "float64", with_weight, ignore_index)

    def fn(x, t, w=None):
        return F(_lib(x)).cross_entropy(x, t, w, ignore_index=ignore_index, reduction=reduction,
                                        label_smoothing=label_smoothing)

    check(arrays, fn, device=device, requires_grad=[True, False, False][: len(arrays)])


@pytest.mark.parametrize("kind", ["2d", "unbatched", "4d"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_indices_float32(kind, reduction, with_weight, label_smoothing, device):
    arrays = _ce_case(kind, "float32", with_weight, -100)

    def fn(x, t, w=None):
        return F(_lib(x)).cross_entropy(x, t, w, reduction=reduction, label_smoothing=label_smoothing)

    check(arrays, fn, device=device, dtype="float32", requires_grad=[True, False, False][: len(arrays)],
          **TOL["float32"])


def test_cross_entropy_noncontiguous_and_large_logits(device):
    t = np.array([0, 3, 1, 2, 2])
    check([(4, 5), t], lambda x, t: F(_lib(x)).cross_entropy(x.transpose(0, 1) * 40.0, t),
          device=device, requires_grad=[True, False])
    check([(4, 5), t], lambda x, t: F(_lib(x)).cross_entropy(x.transpose(0, 1) * 1e4, t, reduction="none"),
          device=device, requires_grad=[True, False])


def test_cross_entropy_all_ignored(device):
    t = np.array([-100, -100, -100])
    for ls in (0.0, 0.2):
        for w in (None, np.array([1.0, 2.0, 0.5])):
            arrays = [(3, 3), t] + ([w] if w is not None else [])
            out = check(arrays, lambda x, t, w=None, ls=ls: F(_lib(x)).cross_entropy(x, t, w, label_smoothing=ls),
                        device=device, requires_grad=[True, False, False][: len(arrays)])
            assert np.isnan(out[0].item())


def test_cross_entropy_byte_target(device):
    t = np.array([0, 3, 1, 2], dtype=np.uint8)
    check([(4, 4), t], lambda x, t: F(_lib(x)).cross_entropy(x, t), device=device,
          requires_grad=[True, False])
    check([(4, 4), t], lambda x, t: F(_lib(x)).nll_loss(x, t, reduction="none"), device=device,
          requires_grad=[True, False])


def test_cross_entropy_unbatched_one_element_target(device):
    # torch's own backward fails here ("size mismatch"), so values only
    check([(5,), np.array([3])], lambda x, t: F(_lib(x)).cross_entropy(x, t, reduction="none"),
          device=device, forward_only=True)
    check([(5,), np.array([3])], lambda x, t: F(_lib(x)).nll_loss(x, t), device=device,
          forward_only=True)
    x = disttorch.randn(5, device=device, requires_grad=True)
    F(disttorch).cross_entropy(x, disttorch.tensor([3], device=device), reduction="none").backward()
    ref = x.detach().softmax(0)
    ref[3] -= 1
    np.testing.assert_allclose(x.grad.cpu().numpy(), ref.cpu().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nll_loss(kind, reduction, with_weight, ignore_index, dtype, device):
    arrays = _ce_case(kind, dtype, with_weight, ignore_index, seed=4)

    def fn(x, t, w=None):
        return F(_lib(x)).nll_loss(x.log_softmax(0 if x.dim() == 1 else 1), t, w,
                                   ignore_index=ignore_index, reduction=reduction)

    check(arrays, fn, device=device, dtype=dtype, requires_grad=[True, False, False][: len(arrays)],
          **TOL[dtype])


def test_nll_loss_raw_values_and_noncontiguous(device):
    t = np.array([1, 0, 2, -100])
    check([(3, 4), t], lambda x, t: F(_lib(x)).nll_loss(x.transpose(0, 1), t, reduction="none"),
          device=device, requires_grad=[True, False])
    check([(3, 4), t], lambda x, t: F(_lib(x)).nll_loss(x.transpose(0, 1), t), device=device,
          requires_grad=[True, False])


# -- cross entropy: class probabilities -------------------------------------------------------------
PROB_SHAPES = {"2d": (5, 4), "unbatched": (4,), "3d": (2, 4, 3), "4d": (2, 3, 2, 2), "empty": (0, 3)}


@pytest.mark.parametrize("kind", PROB_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy_probabilities(kind, reduction, with_weight, label_smoothing, dtype, device):
    shape = PROB_SHAPES[kind]
    c = shape[0] if len(shape) == 1 else shape[1]
    arrays = [shape, shape]
    if with_weight:
        arrays.append(_rng(7).uniform(0.3, 2.0, size=c).astype(dtype))

    def fn(x, p, w=None):
        cd = 0 if x.dim() == 1 else 1
        return F(_lib(x)).cross_entropy(x, p.softmax(cd), w, reduction=reduction,
                                        label_smoothing=label_smoothing)

    check(arrays, fn, device=device, dtype=dtype, requires_grad=[True, True, False][: len(arrays)],
          **TOL[dtype])


# -- the fused cross-entropy op against the composed reference ---------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("with_weight", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(7, 5), (5,)], ids=str)
def test_fused_cross_entropy_matches_reference(reduction, with_weight, label_smoothing, shape, device):
    rng = _rng(11)
    c = shape[-1]
    x0 = rng.normal(size=shape) * 3
    t = np.array(2) if len(shape) == 1 else np.array([0, 4, -100, 2, 2, 1, 3])
    w = disttorch.tensor(rng.uniform(0.2, 2, size=c), device=device) if with_weight else None
    tt = disttorch.tensor(t, device=device)
    v = disttorch.tensor(rng.normal(size=shape), device=device)
    results = []
    for path in (L._cross_entropy_fused, L._cross_entropy_reference):
        x = disttorch.tensor(x0, device=device, requires_grad=True)
        out = path(x, tt, w, -100, reduction, label_smoothing)
        up = disttorch.tensor(rng.uniform(0.5, 1.5, size=tuple(out.shape)), device=device) if out.dim() else None
        (g,) = disttorch.autograd.grad(out, x, up, create_graph=True)
        (gg,) = disttorch.autograd.grad((g * v).sum(), x)
        results.append((out.detach().cpu().numpy(), g.detach().cpu().numpy(), gg.cpu().numpy()))
        rng = _rng(11)
        rng.normal(size=shape)
        rng.uniform(0.2, 2, size=c) if with_weight else None
        rng.normal(size=shape)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fused_path_is_one_op(device):
    x = disttorch.randn(4, 3, device=device, requires_grad=True)
    t = disttorch.tensor([0, 2, 1, 1], device=device)
    out = F(disttorch).cross_entropy(x, t)
    assert out.grad_fn.name() == "CrossEntropyBackward0"
    assert out.grad_fn.next_functions[0][0] is x.grad_fn or out.grad_fn.next_functions[0][0].name() == "AccumulateGrad"
    out4 = F(disttorch).cross_entropy(x.reshape(4, 3, 1), t.reshape(4, 1))
    np.testing.assert_allclose(out4.item(), out.item(), rtol=1e-6)


def test_cross_entropy_second_order_against_torch():
    torch = pytest.importorskip("torch")
    rng = _rng(5)
    x0, v = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    t = np.array([0, 2, -100, 1])
    w = np.array([0.5, 2.0, 1.0])
    for ls in (0.0, 0.1):
        outs = []
        for lib in (torch, disttorch):
            x = lib.tensor(x0, requires_grad=True)
            loss = lib.nn.functional.cross_entropy(x, lib.tensor(t), lib.tensor(w), label_smoothing=ls)
            (g,) = lib.autograd.grad(loss, x, create_graph=True)
            (gg,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
            outs.append(gg.numpy())
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)


# -- gradchecks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("with_weight", [False, True])
def test_cross_entropy_gradcheck(reduction, label_smoothing, with_weight, device):
    w = disttorch.tensor([0.5, 1.5, 1.0, 2.0], dtype=disttorch.float64, device=device) if with_weight else None
    f = F(disttorch)
    t2 = disttorch.tensor([1, 3, -100], device=device)
    t4 = disttorch.tensor([[[0, 3], [-100, 1]], [[2, 2], [1, 0]]], device=device)
    t1 = disttorch.tensor(3, device=device)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    gradcheck([(3, 4)], lambda x: f.cross_entropy(x, t2, w, **kw), device=device, second_order=True)
    gradcheck([(2, 4, 2, 2)], lambda x: f.cross_entropy(x, t4, w, **kw), device=device, second_order=True)
    gradcheck([(4,)], lambda x: f.cross_entropy(x, t1, w, **kw), device=device, second_order=True)
    gradcheck([(3, 4), (3, 4)], lambda x, p: f.cross_entropy(x, p.softmax(1), w, **kw), device=device,
              second_order=True)
    gradcheck([(3, 4)], lambda x: f.nll_loss(x, t2, w, reduction=reduction), device=device,
              second_order=True)
    gradcheck([(2, 4, 2, 2)], lambda x: f.nll_loss(x, t4, w, reduction=reduction), device=device)


# -- binary cross entropy -----------------------------------------------------------------------------
BCE_SHAPES = [(4, 3), (), (0, 2), (2, 3, 2)]


@pytest.mark.parametrize("shape", BCE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "broadcast"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_binary_cross_entropy(shape, reduction, weight, dtype, device):
    rng = _rng(2)
    p = np.asarray(rng.uniform(0.02, 0.98, size=shape), dtype=dtype)
    t = np.asarray(rng.uniform(0.0, 1.0, size=shape), dtype=dtype)
    arrays = [p, t]
    if weight == "full":
        arrays.append(np.asarray(rng.uniform(0.5, 2.0, size=shape), dtype=dtype))
    elif weight == "broadcast":
        arrays.append(np.asarray(rng.uniform(0.5, 2.0, size=shape[-1:]), dtype=dtype))

    def fn(x, y, w=None):
        return F(_lib(x)).binary_cross_entropy(x, y, w, reduction=reduction)

    check(arrays, fn, device=device, requires_grad=[True, True, False][: len(arrays)], **TOL[dtype])


@pytest.mark.parametrize("red", REDUCTIONS)
def test_binary_cross_entropy_clamps_logs(red, device):
    vals = [np.array([0.0, 1.0, 1e-30, 0.5, 1.0]), np.array([1.0, 0.0, 0.3, 0.5, 1.0])]
    check(None, lambda x, y: F(_lib(x)).binary_cross_entropy(x, y, reduction=red), vals=vals,
          device=device, forward_only=True)
    vals32 = [v.astype(np.float32) for v in vals]
    check(None, lambda x, y: F(_lib(x)).binary_cross_entropy(x, y, reduction="none"), vals=vals32,
          device=device, forward_only=True)


@pytest.mark.parametrize("shape", BCE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bce_with_logits(shape, reduction, weight, pos_weight, dtype, device):
    rng = _rng(3)
    x = np.asarray(rng.normal(size=shape) * 4, dtype=dtype)
    t = np.asarray(rng.uniform(0.0, 1.0, size=shape), dtype=dtype)
    c = shape[-1:] if shape else ()
    w = np.asarray(rng.uniform(0.5, 2.0, size=shape), dtype=dtype) if weight else None
    pw = np.asarray(rng.uniform(0.5, 3.0, size=c), dtype=dtype) if pos_weight else None
    arrays = [x, t] + [a for a in (w, pw) if a is not None]

    def fn(x, y, *rest):
        rest = list(rest)
        ww = rest.pop(0) if weight else None
        pp = rest.pop(0) if pos_weight else None
        return F(_lib(x)).binary_cross_entropy_with_logits(x, y, ww, reduction=reduction, pos_weight=pp)

    check(arrays, fn, device=device, requires_grad=[True, True] + [False] * (len(arrays) - 2),
          **TOL[dtype])


def test_bce_with_logits_extreme_logits(device):
    vals = [np.array([-200.0, -30.0, 0.0, 30.0, 200.0]), np.array([0.3, 1.0, 0.5, 0.0, 0.7]),
            np.array([2.0, 0.5, 1.0, 3.0, 1.5])]
    check(None, lambda x, y, pw: F(_lib(x)).binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                                               reduction="none"),
          vals=vals, device=device, requires_grad=[True, True, False])


@pytest.mark.parametrize("red", REDUCTIONS)
def test_bce_gradchecks(red, device):
    f = F(disttorch)
    w = disttorch.tensor([0.5, 2.0, 1.0], dtype=disttorch.float64, device=device)
    gradcheck([(2, 3), (2, 3)], lambda x, y: f.binary_cross_entropy(x, y, w, reduction=red),
              device=device, low=0.1, high=0.9, second_order=True)
    gradcheck([(2, 3), (2, 3)],
              lambda x, y: f.binary_cross_entropy_with_logits(x, y, w, reduction=red, pos_weight=w * 1.5),
              device=device, second_order=True)
    gradcheck([(2, 3), (2, 3)], lambda x, y: f.binary_cross_entropy_with_logits(x, y, reduction=red),
              device=device, second_order=True)


# -- kl_div and the likelihood losses -----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((), ()), ((3, 4), (4,)), ((0, 2), (0, 2))], ids=str)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kl_div(reduction, log_target, shapes, dtype, device):
    def fn(x, y):
        tgt = y if log_target else y.abs()
        return F(_lib(x)).kl_div(x, tgt, reduction=reduction, log_target=log_target)

    check(shapes, fn, device=device, dtype=dtype, low=0.05, high=2.0, **TOL[dtype])


def test_kl_div_mean_warning_and_batchmean():
    x, y = disttorch.randn(3, 4), disttorch.rand(3, 4)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F(disttorch).kl_div(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bm = F(disttorch).kl_div(x, y, reduction="batchmean")
    np.testing.assert_allclose(bm.item(), F(disttorch).kl_div(x, y, reduction="sum").item() / 3, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss(reduction, log_input, full, device):
    rng = _rng(8)
    x = rng.uniform(0.1, 2.0, size=(4, 3))
    t = rng.uniform(0.0, 4.0, size=(4, 3))
    check([x, t], lambda a, b: F(_lib(a)).poisson_nll_loss(a, b, log_input=log_input, full=full,
                                                           reduction=reduction),
          device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4, 1), (4,), "float"], ids=str)
def test_gaussian_nll_loss(reduction, full, var_shape, device):
    rng = _rng(9)
    arrays = [(4, 3), (4, 3)]
    if var_shape == "float":
        def fn(a, b):
            return F(_lib(a)).gaussian_nll_loss(a, b, 0.7, full=full, reduction=reduction)
    else:
        arrays.append(rng.uniform(0.0, 2.0, size=var_shape))
        arrays[-1].reshape(-1)[0] = 1e-9  # clamped at eps, gradient still flows

        def fn(a, b, v):
            return F(_lib(a)).gaussian_nll_loss(a, b, v, full=full, reduction=reduction)

    check(arrays, fn, device=device)


@pytest.mark.parametrize("red", REDUCTIONS)
def test_likelihood_gradchecks(red, device):
    f = F(disttorch)
    gradcheck([(3, 4), (3, 4)], lambda x, y: f.kl_div(x, y, reduction=red), device=device,
              low=0.2, high=2.0, second_order=True)
    gradcheck([(3, 4), (3, 4)], lambda x, y: f.kl_div(x, y, reduction=red, log_target=True),
              device=device, second_order=True)
    gradcheck([(3, 4), (3, 4)], lambda x, y: f.poisson_nll_loss(x, y, reduction=red), device=device)
    gradcheck([(3, 4), (3, 4)], lambda x, y: f.poisson_nll_loss(x, y, log_input=False, full=True,
                                                                 reduction=red),
              device=device, low=1.2, high=3.0)
    gradcheck([(3, 4), (3, 4), (3, 1)], lambda x, y, v: f.gaussian_nll_loss(x, y, v, reduction=red),
              device=device, low=0.3, high=2.0)


# -- margin and embedding losses ----------------------------------------------------------------------
def _signs(shape, seed=0):
    return np.where(_rng(seed).normal(size=shape) > 0, 1.0, -1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_loss(reduction, margin, batched, device):
    shape, tshape = ((5, 4), (5,)) if batched else ((4,), ())
    y = _signs(tshape)
    if batched:
        y[1] = 0.0  # neither 1 nor -1: contributes nothing
    check([shape, shape, y], lambda a, b, t: F(_lib(a)).cosine_embedding_loss(a, b, t, margin=margin,
                                                                              reduction=reduction),
          device=device, requires_grad=[True, True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss(reduction, margin, device):
    check([(6,), (6,), _signs((6,))],
          lambda a, b, t: F(_lib(a)).margin_ranking_loss(a, b, t, margin=margin, reduction=reduction),
          device=device, requires_grad=[True, True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.4])
def test_hinge_embedding_loss(reduction, margin, device):
    check([(3, 4), _signs((3, 4), 1)],
          lambda a, t: F(_lib(a)).hinge_embedding_loss(a, t, margin=margin, reduction=reduction),
          device=device, requires_grad=[True, False])
    check([(3, 4), _signs((4,), 2)],
          lambda a, t: F(_lib(a)).hinge_embedding_loss(a, t, margin=margin, reduction=reduction),
          device=device, requires_grad=[True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_losses(reduction, device):
    check([(3, 4), _signs((3, 4), 3)],
          lambda a, t: F(_lib(a)).soft_margin_loss(a, t, reduction=reduction),
          device=device, requires_grad=[True, False])
    tgt = (_rng(4).uniform(size=(3, 4)) > 0.5).astype(np.float64)
    for w in (None, _rng(5).uniform(0.5, 2, size=(4,))):
        arrays = [(3, 4), tgt] + ([w] if w is not None else [])
        check(arrays, lambda a, t, w=None: F(_lib(a)).multilabel_soft_margin_loss(a, t, w, reduction=reduction),
              device=device, requires_grad=[True, False, False][: len(arrays)])
    check([(4,), tgt[0]], lambda a, t: F(_lib(a)).multilabel_soft_margin_loss(a, t, reduction=reduction),
          device=device, requires_grad=[True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)], ids=str)
def test_triplet_margin_loss(reduction, p, swap, shape, device):
    check([shape, shape, shape],
          lambda a, b, c: F(_lib(a)).triplet_margin_loss(a, b, c, margin=0.8, p=p, swap=swap,
                                                         reduction=reduction),
          device=device)


@pytest.mark.parametrize("red", REDUCTIONS)
def test_margin_gradchecks(red, device):
    f = F(disttorch)
    y = disttorch.tensor([1.0, -1.0, 1.0], device=device)
    gradcheck([(3, 4), (3, 4)], lambda a, b: f.cosine_embedding_loss(a, b, y, margin=0.2, reduction=red),
              device=device)
    gradcheck([(3,), (3,)], lambda a, b: f.margin_ranking_loss(a, b, y, margin=0.1, reduction=red),
              device=device)
    gradcheck([(3, 4)], lambda a: f.soft_margin_loss(a, y.reshape(3, 1), reduction=red), device=device,
              second_order=True)
    gradcheck([(3, 4), (3, 4)], lambda a, t: f.multilabel_soft_margin_loss(a, t, reduction=red),
              device=device, second_order=True)
    gradcheck([(3, 4), (3, 4), (3, 4)], lambda a, b, c: f.triplet_margin_loss(a, b, c, swap=True, reduction=red),
              device=device)
    gradcheck([(3, 4)], lambda a: f.hinge_embedding_loss(a, y.reshape(3, 1), margin=5.0, reduction=red),
              device=device)


# -- errors -------------------------------------------------------------------------------------------
def _x(t, *shape, **kw):
    return t.zeros(*shape, **kw) + 0.25


ERRORS = [
    # class-index targets
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 5, 1])), IndexError, "Target 5 is out of bounds."),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, -1, 1])), IndexError, "Target -1 is out of bounds."),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 7, 1]), label_smoothing=0.1), IndexError, "Target 7"),
    (lambda t: F(t).cross_entropy(_x(t, 2, 3, 2), t.tensor([[0, 1], [3, 1]])), IndexError, "Target 3"),
    (lambda t: F(t).cross_entropy(_x(t, 5), t.tensor(5)), IndexError, "Target 5"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0, 5, 1])), IndexError, "Target 5 is out of bounds."),
    (lambda t: F(t).nll_loss(_x(t, 2, 3, 2, 2), t.full((2, 2, 2), -3)), IndexError, "Target -3"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 2, 1], dtype=t.int32)), RuntimeError,
     "expected target dtype to be Long or Byte, but got Int"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0.0, 2.0, 1.0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.zeros(3, 5, dtype=t.int64)), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), _x(t, 3, 5), ignore_index=1), RuntimeError,
     "ignore_index is not supported for floating point target"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 2, 1, 1])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(4\)."),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([[0, 2, 1]])), ValueError, "batch_size"),
    (lambda t: F(t).nll_loss(_x(t, 2, 3), t.zeros(2, 2, dtype=t.int64)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda t: F(t).nll_loss(_x(t, 5), t.tensor([2, 1])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    (lambda t: F(t).nll_loss(t.tensor(1.0), t.tensor(0)), ValueError, r"Expected 1 or more dimensions \(got 0\)"),
    (lambda t: F(t).nll_loss(_x(t, 2, 3, 4), t.zeros(2, 5, dtype=t.int64)), RuntimeError,
     r"Expected target size \[2, 4\], got \[2, 5\]"),
    (lambda t: F(t).cross_entropy(_x(t, 2, 3, 4, 5, 6), t.zeros(2, 4, 5, dtype=t.int64)), RuntimeError,
     r"Expected target size \[2, 4, 5, 6\], got \[2, 4, 5\]"),
    (lambda t: F(t).nll_loss(_x(t, 2, 3, 4, 5), t.zeros(2, 4, dtype=t.int64)), RuntimeError,
     "only batches of spatial targets supported"),
    (lambda t: F(t).cross_entropy(_x(t, 2, 3, 4, 5), t.zeros(2, 4, 6, dtype=t.int64)), RuntimeError,
     "size mismatch"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 2, 1]), weight=t.ones(4)), RuntimeError,
     "weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: \\[4\\]"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), _x(t, 3, 5), weight=t.ones(4)), RuntimeError,
     "cross_entropy: weight tensor should be defined"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0, 2, 1]), weight=t.ones(5, 1)), RuntimeError,
     "weight tensor should be defined"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0, 2, 1]), weight=t.ones(5, dtype=t.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0, 2, 1]), weight=t.ones(5, requires_grad=True)),
     RuntimeError, "not differentiable with respect to argument 'weight'"),
    (lambda t: F(t).nll_loss(t.ones(3, 5, dtype=t.int32), t.tensor([0, 2, 1])), NotImplementedError,
     "nll_loss_out_frame"),
    (lambda t: F(t).cross_entropy(t.ones(3, 5, dtype=t.int32), t.tensor([0, 2, 1])), NotImplementedError,
     "log_softmax"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 2, 1]), label_smoothing=1.5), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), _x(t, 3, 5), label_smoothing=1.5), RuntimeError,
     "label_smoothing must be between"),
    # reductions
    (lambda t: F(t).cross_entropy(_x(t, 3, 5), t.tensor([0, 2, 1]), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    (lambda t: F(t).nll_loss(_x(t, 3, 5), t.tensor([0, 2, 1]), reduction="batchmean"), ValueError,
     "batchmean is not a valid value for reduction"),
    (lambda t: F(t).mse_loss(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "foo is not a valid value"),
    (lambda t: F(t).l1_loss(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "foo is not a valid value"),
    (lambda t: F(t).smooth_l1_loss(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "not a valid value"),
    (lambda t: F(t).huber_loss(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "not a valid value"),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "not a valid value"),
    (lambda t: F(t).binary_cross_entropy_with_logits(_x(t, 3), _x(t, 3), reduction="foo"), ValueError,
     "not a valid value"),
    (lambda t: F(t).kl_div(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "foo is not a valid value"),
    (lambda t: F(t).poisson_nll_loss(_x(t, 3), _x(t, 3), reduction="foo"), ValueError, "not a valid value"),
    (lambda t: F(t).gaussian_nll_loss(_x(t, 3), _x(t, 3), _x(t, 3), reduction="foo"), ValueError,
     "foo is not valid"),
    (lambda t: F(t).multilabel_soft_margin_loss(_x(t, 2, 3), _x(t, 2, 3), reduction="foo"), ValueError,
     "foo is not valid"),
    (lambda t: F(t).margin_ranking_loss(_x(t, 3), _x(t, 3), _x(t, 3), reduction="foo"), ValueError,
     "not a valid value"),
    (lambda t: F(t).mse_loss(_x(t, 3), _x(t, 3), weight=_x(t, 3), reduction="foo"), ValueError,
     "Invalid reduction mode: foo"),
    # shapes and values
    (lambda t: F(t).mse_loss(_x(t, 3, 5), _x(t, 2, 5)), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 0"),
    (lambda t: F(t).l1_loss(_x(t, 3, 5), _x(t, 3, 4)), RuntimeError, "must match the size"),
    (lambda t: F(t).mse_loss(_x(t, 3, 5), _x(t, 3, 5), weight=_x(t, 5)), ValueError,
     "Weights and input must have the same size."),
    (lambda t: F(t).smooth_l1_loss(_x(t, 3), _x(t, 3), beta=-1.0), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
    (lambda t: F(t).huber_loss(_x(t, 3), _x(t, 3), delta=0.0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3, 5), _x(t, 5)), ValueError,
     r"Using a target size \(.*Size\(\[5\]\)\) that is different to the input size \(.*Size\(\[3, 5\]\)\) is deprecated"),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3) * 5, _x(t, 3)), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3), _x(t, 3) * 8), RuntimeError,
     "all elements of target should be between 0 and 1"),
    (lambda t: F(t).binary_cross_entropy(t.tensor([float("nan")]), t.tensor([0.5])), RuntimeError,
     "all elements of input"),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3), _x(t, 3, dtype=t.float64)), RuntimeError,
     "Found dtype Double but expected Float"),
    (lambda t: F(t).binary_cross_entropy(_x(t, 2, 3), _x(t, 2, 3), weight=_x(t, 4)), RuntimeError, None),
    (lambda t: F(t).binary_cross_entropy(_x(t, 3), _x(t, 3), weight=_x(t, 3, requires_grad=True)),
     RuntimeError, "not differentiable with respect to argument 'weight'"),
    (lambda t: F(t).binary_cross_entropy_with_logits(_x(t, 3, 5), _x(t, 5)), ValueError,
     r"Target size \(.*Size\(\[5\]\)\) must be the same as input size \(.*Size\(\[3, 5\]\)\)"),
    (lambda t: F(t).binary_cross_entropy_with_logits(_x(t, 2, 3), _x(t, 2, 3), pos_weight=_x(t, 2)),
     RuntimeError, "must match the size of tensor b"),
    (lambda t: F(t).binary_cross_entropy_with_logits(_x(t, 2, 3), _x(t, 2, 3), weight=_x(t, 3, requires_grad=True)),
     RuntimeError, "not differentiable with respect to argument 'weight'"),
    (lambda t: F(t).binary_cross_entropy_with_logits(t.ones(3, dtype=t.int32), t.ones(3, dtype=t.int32)),
     NotImplementedError, "log_sigmoid"),
    (lambda t: F(t).kl_div(t.ones(3, dtype=t.int32), _x(t, 3)), RuntimeError, "kl_div: Integral inputs not supported."),
    (lambda t: F(t).gaussian_nll_loss(_x(t, 3, 2), _x(t, 3, 2), -1.0), ValueError, "var has negative entry"),
    (lambda t: F(t).gaussian_nll_loss(_x(t, 3, 2), _x(t, 3, 2), -_x(t, 3, 2)), ValueError, "var has negative entry"),
    (lambda t: F(t).gaussian_nll_loss(_x(t, 3, 2), _x(t, 3, 2), _x(t, 2, 2)), ValueError, "var is of incorrect size"),
    (lambda t: F(t).cosine_embedding_loss(_x(t, 3, 4), _x(t, 3, 4), t.ones(1, 3)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda t: F(t).cosine_embedding_loss(_x(t, 3, 4), _x(t, 3, 4), t.tensor(1.0)), RuntimeError,
     r"0D target tensor expects 1D input tensors, but found inputs with sizes \[3, 4\] and \[3, 4\]."),
    (lambda t: F(t).cosine_embedding_loss(_x(t, 4), _x(t, 4), t.ones(1)), RuntimeError,
     r"1D target tensor expects 2D input tensors, but found inputs with sizes \[4\] and \[4\]."),
    (lambda t: F(t).margin_ranking_loss(_x(t, 3), _x(t, 3), _x(t, 1, 3)), RuntimeError,
     "margin_ranking_loss : All input tensors should have same dimension but got sizes"),
    (lambda t: F(t).triplet_margin_loss(_x(t, 3, 4), _x(t, 3, 4), _x(t, 4)), RuntimeError,
     "anchor 2D, positive 2D, and negative 1D inputs"),
    (lambda t: F(t).triplet_margin_loss(_x(t, 3, 4), _x(t, 3, 4), _x(t, 3, 4), margin=0.0), ValueError,
     "margin must be greater than 0, got 0.0"),
    (lambda t: t.nn.TripletMarginLoss(margin=-1.0), ValueError, "expected margin to be greater than 0"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    fn, exc, match = ERRORS[case]
    check_error(fn, exc, match=match)


def test_value_errors_on_device(device):
    """The data-dependent checks (target range, BCE input range) on every device."""
    f = F(disttorch)
    x = disttorch.zeros(3, 5, device=device)
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        f.cross_entropy(x, disttorch.tensor([0, 5, 1], device=device))
    with pytest.raises(IndexError, match="Target -2 is out of bounds."):
        f.nll_loss(disttorch.zeros(2, 3, 2, 2, device=device), disttorch.full((2, 2, 2), -2, device=device))
    assert f.cross_entropy(x, disttorch.tensor([0, 7, 1], device=device), ignore_index=7).device == x.device
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        f.binary_cross_entropy(disttorch.full((3,), 1.5, device=device), disttorch.zeros(3, device=device))
    if device != "cpu":
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            f.cross_entropy(x, disttorch.tensor([0, 1, 1], device=device), weight=disttorch.ones(5))


# -- modules ------------------------------------------------------------------------------------------
def _module_cases(lib):
    w = lib.tensor([0.5, 2.0, 1.0, 1.5], dtype=lib.float64)
    nn = lib.nn
    return {
        "L1Loss": (nn.L1Loss(reduction="sum"), "reg"),
        "MSELoss": (nn.MSELoss(), "reg"),
        "SmoothL1Loss": (nn.SmoothL1Loss(beta=0.5, reduction="none"), "reg"),
        "HuberLoss": (nn.HuberLoss(delta=0.3), "reg"),
        "CrossEntropyLoss": (nn.CrossEntropyLoss(weight=w, ignore_index=2, label_smoothing=0.1), "cls"),
        "CrossEntropyLoss_plain": (nn.CrossEntropyLoss(reduction="sum"), "cls"),
        "NLLLoss": (nn.NLLLoss(weight=w, reduction="none"), "cls"),
        "BCELoss": (nn.BCELoss(weight=w), "prob"),
        "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(weight=w, pos_weight=w * 2), "logit"),
        "BCEWithLogitsLoss_plain": (nn.BCEWithLogitsLoss(reduction="sum"), "logit"),
        "KLDivLoss": (nn.KLDivLoss(reduction="batchmean", log_target=True), "reg"),
        "PoissonNLLLoss": (nn.PoissonNLLLoss(full=True), "pos"),
        "SoftMarginLoss": (nn.SoftMarginLoss(), "sign"),
        "MultiLabelSoftMarginLoss": (nn.MultiLabelSoftMarginLoss(weight=w), "prob"),
        "HingeEmbeddingLoss": (nn.HingeEmbeddingLoss(margin=0.5), "sign"),
    }


@pytest.mark.parametrize("name", list(_module_cases(disttorch)))
def test_module_parity(name, device):
    torch = pytest.importorskip("torch")
    theirs, kind = _module_cases(torch)[name]
    ours, _ = _module_cases(disttorch)[name]
    assert repr(ours) == repr(theirs).replace("torch.", "disttorch.")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.parameters()) == []
    ours.load_state_dict({k: disttorch.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours = ours.to(device)
    rng = _rng(6)
    x = rng.normal(size=(5, 4))
    targets = {
        "reg": rng.normal(size=(5, 4)),
        "cls": np.array([0, 3, 2, 1, 2]),
        "prob": rng.uniform(size=(5, 4)),
        "logit": rng.uniform(size=(5, 4)),
        "pos": rng.uniform(0, 4, size=(5, 4)),
        "sign": np.where(rng.normal(size=(5, 4)) > 0, 1.0, -1.0),
    }
    if kind in ("prob",):
        x = rng.uniform(0.05, 0.95, size=(5, 4))
    t = targets[kind]
    target_grad = t.dtype.kind == "f" and kind not in ("sign",)
    check([x, t], lambda a, b: (theirs if isinstance(a, torch.Tensor) else ours)(a, b),
          device=device, requires_grad=[True, target_grad])


def test_module_attributes_and_buffers():
    nn = disttorch.nn
    w = disttorch.tensor([1.0, 2.0])
    m = nn.CrossEntropyLoss(weight=w, ignore_index=3, label_smoothing=0.2, reduction="sum")
    assert (m.ignore_index, m.label_smoothing, m.reduction) == (3, 0.2, "sum")
    assert m.weight is w and list(m.state_dict()) == ["weight"]
    assert m.double().weight.dtype == disttorch.float64
    assert nn.CrossEntropyLoss().weight is None and list(nn.CrossEntropyLoss().state_dict()) == []
    assert "weight" in nn.NLLLoss()._buffers
    b = nn.BCEWithLogitsLoss(pos_weight=w)
    assert list(b.state_dict()) == ["pos_weight"] and b.weight is None
    assert nn.SmoothL1Loss(beta=0.3).beta == 0.3 and nn.HuberLoss(delta=2.0).delta == 2.0
    assert nn.KLDivLoss(log_target=True).log_target is True
    g = nn.GaussianNLLLoss(full=True, eps=1e-3)
    assert (g.full, g.eps, g.reduction) == (True, 1e-3, "mean")
    p = nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-4)
    assert (p.log_input, p.full, p.eps) == (False, True, 1e-4)
    tm = nn.TripletMarginLoss(margin=0.5, p=1.0, eps=1e-5, swap=True)
    assert (tm.margin, tm.p, tm.eps, tm.swap) == (0.5, 1.0, 1e-5, True)
    assert nn.CosineEmbeddingLoss(margin=0.2).margin == 0.2
    assert nn.MarginRankingLoss(margin=0.1).margin == 0.1
    for cls in ("L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                "KLDivLoss", "HuberLoss", "SmoothL1Loss", "GaussianNLLLoss", "TripletMarginLoss"):
        assert repr(getattr(nn, cls)()) == f"{cls}()"


def test_multi_input_modules(device):
    torch = pytest.importorskip("torch")
    y = _signs((5,), 3)
    pairs = [
        (lambda lib: lib.nn.CosineEmbeddingLoss(margin=0.1), [(5, 4), (5, 4), y], [True, True, False]),
        (lambda lib: lib.nn.MarginRankingLoss(margin=0.2, reduction="sum"), [(5,), (5,), y], [True, True, False]),
        (lambda lib: lib.nn.TripletMarginLoss(margin=0.5, swap=True), [(5, 4), (5, 4), (5, 4)], None),
        (lambda lib: lib.nn.GaussianNLLLoss(full=True), [(5, 4), (5, 4), np.abs(_rng().normal(size=(5, 1)))], None),
    ]
    for make, arrays, rg in pairs:
        theirs, ours = make(torch), make(disttorch).to(device)
        assert repr(ours) == repr(theirs)
        check(arrays, lambda *a, m=(theirs, ours): m[0 if isinstance(a[0], torch.Tensor) else 1](*a), device=device,
              requires_grad=rg)
