"""Normalization: functional batch/instance/layer/group/rms norm and local response norm,
and the layers. Parity with torch for outputs, running statistics over several training
steps, eval outputs and every grad; second-order grads; repr, state_dict, init, errors."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check, check_error, gradcheck, need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn import functional as F


def _tf():
    return torch.nn.functional


def _close(ours, theirs, name, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), atol=atol, rtol=rtol, err_msg=name)


def _copy_state(ours, theirs, device):
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device)


def _randomize_affine(theirs, rng):
    """Non-trivial weights/biases (the defaults 1/0 would hide mistakes)."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, size=tuple(p.shape))))


def module_parity(make, x_shape, device, dtype="float64", steps=3, modes=("train", "eval"),
                  seed=0, atol=None, rtol=None, call=None):
    """Run the layer built by ``make(lib)`` in both libraries over ``steps`` inputs per mode
    (same data, same upstream grads) and compare outputs, input grads, parameter grads and
    all buffers (running statistics, ``num_batches_tracked``) after every step."""
    need_torch()
    if atol is None:
        atol, rtol = (1e-10, 1e-8) if dtype == "float64" else (3e-5, 3e-4)
    rng = np.random.default_rng(seed)
    theirs = make(torch).to(getattr(torch, dtype))
    _randomize_affine(theirs, rng)
    ours = _copy_state(make(disttorch).to(getattr(disttorch, dtype)), theirs, device)
    call = call or (lambda m, x: m(x))
    for mode in modes:
        theirs.train(mode == "train")
        ours.train(mode == "train")
        for step in range(steps):
            name = f"{mode} step {step}"
            x = (rng.normal(size=x_shape) * (1 + step) + step).astype(dtype)
            tx = torch.tensor(x, requires_grad=True)
            dx = disttorch.tensor(x, device=device, requires_grad=True)
            ty, dy = call(theirs, tx), call(ours, dx)
            _close(dy, ty, name + " output", atol, rtol)
            up = rng.uniform(0.5, 1.5, size=tuple(ty.shape)).astype(dtype)
            ty.backward(torch.tensor(up))
            dy.backward(disttorch.tensor(up, device=device))
            _close(dx.grad, tx.grad, name + " input grad", atol * 10, rtol * 10)
            tp, dp = dict(theirs.named_parameters()), dict(ours.named_parameters())
            assert tp.keys() == dp.keys()
            for k in tp:
                _close(dp[k].grad, tp[k].grad, f"{name} grad of {k}", atol * 10, rtol * 10)
            tb, db = dict(theirs.named_buffers()), dict(ours.named_buffers())
            assert tb.keys() == db.keys()
            for k in tb:
                _close(db[k], tb[k], f"{name} buffer {k}", atol, rtol)
            theirs.zero_grad()
            ours.zero_grad()
    return ours, theirs


# -- batch norm layers ------------------------------------------------------------------------
BN_CASES = [
    ("BatchNorm1d(5)", (8, 5)),
    ("BatchNorm1d(5)", (4, 5, 7)),
    ("BatchNorm1d(5, momentum=0.3, eps=1e-3)", (6, 5, 3)),
    ("BatchNorm1d(5, affine=False)", (8, 5)),
    ("BatchNorm1d(5, bias=False)", (4, 5, 2)),
    ("BatchNorm2d(3)", (4, 3, 5, 6)),
    ("BatchNorm2d(3, momentum=None)", (2, 3, 4, 4)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 4, 5)),
    ("BatchNorm2d(3, affine=False, track_running_stats=False)", (2, 3, 3, 3)),
    ("BatchNorm3d(2)", (2, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("spec,shape", BN_CASES, ids=str)
def test_batchnorm_parity(spec, shape, device):
    module_parity(lambda lib: eval("lib.nn." + spec), shape, device)


@pytest.mark.parametrize("spec,shape", [BN_CASES[1], BN_CASES[5], BN_CASES[6]], ids=str)
def test_batchnorm_parity_float32(spec, shape, device):
    module_parity(lambda lib: eval("lib.nn." + spec), shape, device, dtype="float32")


def test_batchnorm_momentum_none_is_cumulative_average(device):
    m = nn.BatchNorm1d(3, momentum=None).to(device)
    rng = np.random.default_rng(0)
    means, vars_ = [], []
    for _ in range(5):
        x = rng.normal(size=(6, 3)) * rng.uniform(0.5, 3) + rng.normal()
        means.append(x.mean(0))
        vars_.append(x.var(0, ddof=1))
        m(disttorch.tensor(x, dtype=disttorch.float32, device=device))
    assert int(m.num_batches_tracked) == 5 and m.num_batches_tracked.dtype == disttorch.int64
    np.testing.assert_allclose(to_numpy(m.running_mean), np.mean(means, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(m.running_var), np.mean(vars_, 0), rtol=1e-5, atol=1e-6)


def test_batchnorm_eval_uses_running_stats(device):
    m = nn.BatchNorm2d(2).to(device)
    m.running_mean.copy_(disttorch.tensor([1.0, -2.0]))
    m.running_var.copy_(disttorch.tensor([4.0, 0.25]))
    m.eval()
    x = disttorch.ones(1, 2, 2, 2, device=device)  # batch size 1 is fine in eval
    y = m(x)
    expected = np.array([0.0, 3.0 / np.sqrt(0.25 + 1e-5)])
    np.testing.assert_allclose(to_numpy(y)[0, :, 0, 0], expected, rtol=1e-6)
    assert int(m.num_batches_tracked) == 0  # eval does not count batches


def test_batchnorm_repr_state_dict_and_init():
    need_torch()
    for spec in ["BatchNorm1d(8)", "BatchNorm2d(8, eps=1e-3, momentum=None)",
                 "BatchNorm2d(8, affine=False)", "BatchNorm3d(4, track_running_stats=False)",
                 "BatchNorm1d(8, bias=False)"]:
        t, d = eval("torch.nn." + spec), eval("disttorch.nn." + spec)
        assert repr(d) == repr(t)
        assert list(d.state_dict()) == list(t.state_dict())
        for k, v in t.state_dict().items():
            dv = d.state_dict()[k]
            assert dv.dtype.name == str(v.dtype).split(".")[1], k
            np.testing.assert_array_equal(to_numpy(dv), v.numpy())
        assert [n for n, _ in d.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert repr(nn.BatchNorm2d(8)) == (
        "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)")


def test_batchnorm_load_state_dict_without_num_batches_tracked():
    m = nn.BatchNorm1d(3)
    sd = {"weight": disttorch.ones(3) * 2, "bias": disttorch.zeros(3),
          "running_mean": disttorch.ones(3), "running_var": disttorch.ones(3) * 3}
    result = m.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    assert m.running_var.tolist() == [3.0, 3.0, 3.0] and int(m.num_batches_tracked) == 0


def test_batchnorm_reset_and_factory_kwargs(device):
    m = nn.BatchNorm1d(3, device=device, dtype=disttorch.float64)
    assert m.weight.dtype == disttorch.float64 and m.running_mean.dtype == disttorch.float64
    assert m.num_batches_tracked.dtype == disttorch.int64
    assert m.running_var.device.type == device
    m(disttorch.randn(4, 3, device=device, dtype=disttorch.float64))
    assert int(m.num_batches_tracked) == 1
    m.reset_running_stats()
    assert m.running_mean.tolist() == [0.0] * 3 and m.running_var.tolist() == [1.0] * 3
    assert int(m.num_batches_tracked) == 0


def test_batchnorm_errors():
    check_error(lambda t: t.nn.BatchNorm1d(3)(t.zeros(2, 3, 4, 5)), ValueError,
                match=r"expected 2D or 3D input \(got 4D input\)")
    check_error(lambda t: t.nn.BatchNorm2d(3)(t.zeros(2, 3, 4)), ValueError,
                match=r"expected 4D input \(got 3D input\)")
    check_error(lambda t: t.nn.BatchNorm3d(3)(t.zeros(2, 3, 4, 4)), ValueError,
                match=r"expected 5D input \(got 4D input\)")
    check_error(lambda t: t.nn.BatchNorm1d(3)(t.zeros(1, 3)), ValueError,
                match=r"Expected more than 1 value per channel when training, got input size "
                      r"disttorch.Size\(\[1, 3\]\)")
    check_error(lambda t: t.nn.BatchNorm2d(3)(t.zeros(1, 3, 1, 1)), ValueError,
                match="Expected more than 1 value per channel when training")
    check_error(lambda t: t.nn.BatchNorm1d(3)(t.zeros(4, 5)), RuntimeError,
                match="running_mean should contain 5 elements not 3")


class _HookedBN(nn.BatchNorm2d):
    """Statistics through the override point a synchronized batch norm replaces."""

    calls = 0

    def _batch_stats(self, input):
        type(self).calls += 1
        return super()._batch_stats(input)


def test_batchnorm_batch_stats_hook(device):
    """A subclass replacing ``_batch_stats`` gets torch's numbers (outputs, grads, stats)."""
    need_torch()
    _HookedBN.calls = 0
    rng = np.random.default_rng(3)
    theirs = torch.nn.BatchNorm2d(3).double()
    _randomize_affine(theirs, rng)
    ours = _copy_state(_HookedBN(3).double(), theirs, device)
    for step in range(3):
        x = rng.normal(size=(2, 3, 4, 3)) * (step + 1)
        tx = torch.tensor(x, requires_grad=True)
        dx = disttorch.tensor(x, device=device, requires_grad=True)
        ty, dy = theirs(tx), ours(dx)
        _close(dy, ty, "output", 1e-10, 1e-8)
        up = rng.uniform(0.5, 1.5, size=x.shape)
        ty.backward(torch.tensor(up))
        dy.backward(disttorch.tensor(up, device=device))
        _close(dx.grad, tx.grad, "input grad", 1e-9, 1e-7)
        _close(ours.weight.grad, theirs.weight.grad, "weight grad", 1e-9, 1e-7)
        _close(ours.bias.grad, theirs.bias.grad, "bias grad", 1e-9, 1e-7)
        for k in ("running_mean", "running_var", "num_batches_tracked"):
            _close(getattr(ours, k), getattr(theirs, k), k, 1e-10, 1e-8)
        theirs.zero_grad()
        ours.zero_grad()
    assert _HookedBN.calls == 3
    ours.eval()  # eval does not need batch statistics
    ours(disttorch.zeros(1, 3, 2, 2, device=device, dtype=disttorch.float64))
    assert _HookedBN.calls == 3
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        ours.train()(disttorch.zeros(1, 3, 1, 1, dtype=disttorch.float64, device=device))


# -- layer / group / rms / instance norm layers -------------------------------------------------
@pytest.mark.parametrize("spec,shape", [
    ("LayerNorm(6)", (4, 6)),
    ("LayerNorm((3, 4))", (2, 5, 3, 4)),
    ("LayerNorm([5], eps=1e-3, bias=False)", (3, 2, 5)),
    ("LayerNorm(5, elementwise_affine=False)", (4, 5)),
    ("GroupNorm(3, 6)", (4, 6)),
    ("GroupNorm(2, 6)", (3, 6, 5)),
    ("GroupNorm(1, 4, eps=1e-3)", (2, 4, 3, 3)),
    ("GroupNorm(4, 4, affine=False)", (2, 4, 3, 2)),
    ("GroupNorm(2, 4, bias=False)", (2, 4, 5)),
    ("RMSNorm(6)", (4, 6)),
    ("RMSNorm((3, 4), eps=1e-3)", (2, 3, 4)),
    ("RMSNorm(5, elementwise_affine=False)", (3, 5)),
    ("InstanceNorm1d(3)", (2, 3, 6)),
    ("InstanceNorm1d(3, affine=True, track_running_stats=True)", (2, 3, 6)),
    ("InstanceNorm2d(3, affine=True)", (2, 3, 4, 5)),
    ("InstanceNorm2d(3, track_running_stats=True, momentum=0.3)", (2, 3, 4, 5)),
    ("InstanceNorm2d(3, affine=True, track_running_stats=True)", (3, 4, 5)),
    ("InstanceNorm3d(2, affine=True)", (2, 2, 3, 2, 3)),
    ("LocalResponseNorm(3)", (2, 6, 5)),
    ("LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0)", (2, 5, 3, 4)),
], ids=str)
def test_norm_layer_parity(spec, shape, device):
    module_parity(lambda lib: eval("lib.nn." + spec), shape, device)


@pytest.mark.parametrize("spec,shape", [
    ("LayerNorm(64)", (8, 64)), ("GroupNorm(4, 8)", (2, 8, 5, 5)), ("RMSNorm(32)", (4, 3, 32)),
    ("InstanceNorm2d(3, affine=True, track_running_stats=True)", (2, 3, 5, 5)),
], ids=str)
def test_norm_layer_parity_float32(spec, shape, device):
    module_parity(lambda lib: eval("lib.nn." + spec), shape, device, dtype="float32", steps=2)


def test_norm_layer_repr_and_state_dict():
    need_torch()
    for spec in ["LayerNorm(4)", "LayerNorm((4, 5), bias=False)", "LayerNorm(3, eps=1e-6, elementwise_affine=False)",
                 "GroupNorm(2, 4)", "GroupNorm(1, 6, eps=1e-3, affine=False)", "GroupNorm(2, 4, bias=False)",
                 "RMSNorm(4)", "RMSNorm([4, 3], eps=1e-3)", "RMSNorm(2, elementwise_affine=False)",
                 "InstanceNorm1d(3)", "InstanceNorm2d(3, affine=True, track_running_stats=True)",
                 "InstanceNorm3d(2, momentum=0.2)", "LocalResponseNorm(2)",
                 "LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2.0)"]:
        t, d = eval("torch.nn." + spec), eval("disttorch.nn." + spec)
        assert repr(d) == repr(t), spec
        assert list(d.state_dict()) == list(t.state_dict()), spec
        for k, v in t.state_dict().items():
            np.testing.assert_array_equal(to_numpy(d.state_dict()[k]), v.numpy())
    assert nn.LayerNorm([2, 3]).normalized_shape == (2, 3)
    assert nn.RMSNorm(5).normalized_shape == (5,)


def test_norm_layer_errors():
    check_error(lambda t: t.nn.GroupNorm(4, 6), ValueError,
                match=r"num_channels \(6\) must be divisible by num_groups \(4\)")
    check_error(lambda t: t.nn.LayerNorm(4)(t.zeros(2, 3)), RuntimeError,
                match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got "
                      r"input of size\[2, 3\]")
    check_error(lambda t: t.nn.RMSNorm(4)(t.zeros(2, 3)), RuntimeError,
                match=r"expected input with shape \[\*4\]")
    check_error(lambda t: t.nn.GroupNorm(2, 4)(t.zeros(2, 6)), RuntimeError,
                match="Expected weight to be a vector of size equal to the number of channels")
    check_error(lambda t: t.nn.InstanceNorm1d(3)(t.zeros(2, 3, 4, 5)), ValueError,
                match=r"expected 2D or 3D input \(got 4D input\)")
    check_error(lambda t: t.nn.InstanceNorm2d(3, affine=True)(t.zeros(2, 4, 5, 5)), ValueError,
                match=r"expected input's size at dim=1 to match num_features \(3\), but got: 4.")
    check_error(lambda t: t.nn.InstanceNorm1d(3)(t.zeros(2, 3, 1)), ValueError,
                match="Expected more than 1 spatial element when training")
    check_error(lambda t: t.nn.LocalResponseNorm(2)(t.zeros(2, 3)), ValueError,
                match="Expected 3D or higher dimensionality")


def test_instance_norm_mismatched_features_warns():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(disttorch.randn(2, 4, 5))


# -- functionals --------------------------------------------------------------------------------
def _bn_train(lib, x, w, b):
    return lib.nn.functional.batch_norm(x, None, None, w, b, training=True)


@pytest.mark.parametrize("shapes", [
    [(6, 3), (3,), (3,)], [(4, 3, 5), (3,), (3,)], [(2, 3, 4, 5), (3,), (3,)],
    [(2, 3, 4, 2, 2), (3,), (3,)], [(0, 3), (3,), (3,)],
    [(4, 3, 0), (3,), (3,)],
], ids=str)
def test_batch_norm_functional_train(shapes, device):
    check(shapes, lambda x, w, b: _bn_train(torch, x, w, b),
          dt_fn=lambda x, w, b: _bn_train(disttorch, x, w, b), device=device)


def test_batch_norm_functional_variants(device):
    check([(5, 3, 4)], lambda x: _tf().batch_norm(x, None, None, training=True),
          dt_fn=lambda x: F.batch_norm(x, None, None, training=True), device=device)
    # non-contiguous input
    check([(4, 5, 3), (3,)], lambda x, w: _tf().batch_norm(x.transpose(1, 2), None, None, None, w, True),
          dt_fn=lambda x, w: F.batch_norm(x.transpose(1, 2), None, None, None, w, True),
          device=device)
    # eval with running statistics (which take no grad)
    rm, rv = np.array([0.5, -1.0, 0.2]), np.array([1.5, 0.5, 2.0])

    def ev(lib):
        return lambda x, w, b: lib.nn.functional.batch_norm(
            x, lib.tensor(rm, device=x.device), lib.tensor(rv, device=x.device), w, b, False, 0.1, 1e-3)

    check([(4, 3, 5), (3,), (3,)], ev(torch), dt_fn=ev(disttorch), device=device)
    check([(4, 3), (3,), (3,)], ev(torch), dt_fn=ev(disttorch), device=device)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)], ids=str)
def test_batch_norm_functional_running_update(shape, device):
    """Running stats: in-place update with the unbiased variance, as torch."""
    need_torch()
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 2 + 1
    rm0, rv0 = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    trm, trv = torch.tensor(rm0), torch.tensor(rv0)
    drm, drv = disttorch.tensor(rm0, device=device), disttorch.tensor(rv0, device=device)
    ty = _tf().batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.25)
    dy = F.batch_norm(disttorch.tensor(x, device=device), drm, drv, training=True, momentum=0.25)
    _close(dy, ty, "output", 1e-10, 1e-8)
    _close(drm, trm, "running_mean", 1e-12, 1e-10)
    _close(drv, trv, "running_var", 1e-12, 1e-10)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(to_numpy(drv), 0.75 * rv0 + 0.25 * x.var(axes, ddof=1))
    # eval leaves them alone; an empty batch does not touch them either
    before = to_numpy(drm).copy(), to_numpy(drv).copy()
    F.batch_norm(disttorch.tensor(x, device=device), drm, drv, training=False)
    F.batch_norm(disttorch.zeros((0,) + shape[1:], device=device, dtype=disttorch.float64),
                 drm, drv, training=True)
    np.testing.assert_array_equal(to_numpy(drm), before[0])
    np.testing.assert_array_equal(to_numpy(drv), before[1])


def test_batch_norm_functional_half(device):
    need_torch()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 5)).astype(np.float16)
    for params in (np.float16, np.float32):
        w, b = rng.uniform(0.5, 1.5, 3).astype(params), rng.normal(size=3).astype(params)
        rm, rv = np.zeros(3, params), np.ones(3, params)
        ty = _tf().batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), torch.tensor(w),
                              torch.tensor(b), True)
        dy = F.batch_norm(disttorch.tensor(x, device=device), disttorch.tensor(rm, device=device),
                          disttorch.tensor(rv, device=device), disttorch.tensor(w, device=device),
                          disttorch.tensor(b, device=device), True)
        _close(dy, ty, "half output", 2e-3, 2e-3)


LN_CASES = [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 3, 4), (4,)), ((5,), (5,)), ((0, 3), (3,)),
            ((2, 0), (0,))]


@pytest.mark.parametrize("shape,ns", LN_CASES, ids=str)
def test_layer_norm_functional(shape, ns, device):
    check([shape, ns, ns], lambda x, w, b: _tf().layer_norm(x, ns, w, b),
          dt_fn=lambda x, w, b: F.layer_norm(x, ns, w, b), device=device)
    check([shape], lambda x: _tf().layer_norm(x, ns, eps=1e-2),
          dt_fn=lambda x: F.layer_norm(x, ns, eps=1e-2), device=device)


def test_layer_norm_functional_variants(device):
    check([(5, 4, 3), (4,), (4,)], lambda x, w, b: _tf().layer_norm(x.transpose(1, 2), (4,), w, b),
          dt_fn=lambda x, w, b: F.layer_norm(x.transpose(1, 2), (4,), w, b), device=device)
    check([(3, 4), (4,)], lambda x, b: _tf().layer_norm(x, [4], None, b),
          dt_fn=lambda x, b: F.layer_norm(x, [4], None, b), device=device)
    check([(3, 4)], lambda x: _tf().layer_norm(x, x.shape[1:]),
          dt_fn=lambda x: F.layer_norm(x, x.shape[1:]), device=device)
    check([(3, 8), (8,), (8,)], lambda x, w, b: _tf().layer_norm(x, (8,), w, b),
          dt_fn=lambda x, w, b: F.layer_norm(x, (8,), w, b), dtype="float32", device=device,
          atol=1e-5, rtol=1e-4)
    check([(3, 8), (8,)], lambda x, w: _tf().layer_norm(x, (8,), w),
          dt_fn=lambda x, w: F.layer_norm(x, (8,), w), dtype="float16", device=device,
          atol=2e-3, rtol=2e-3, forward_only=True)


GN_CASES = [((4, 6), 3), ((3, 6, 5), 2), ((2, 4, 3, 3), 4), ((2, 4, 3, 3), 1), ((0, 4, 2), 2),
            ((2, 6, 3, 2, 2), 3)]


@pytest.mark.parametrize("shape,g", GN_CASES, ids=str)
def test_group_norm_functional(shape, g, device):
    c = shape[1]
    check([shape, (c,), (c,)], lambda x, w, b: _tf().group_norm(x, g, w, b),
          dt_fn=lambda x, w, b: F.group_norm(x, g, w, b), device=device)
    check([shape], lambda x: _tf().group_norm(x, g, eps=1e-3),
          dt_fn=lambda x: F.group_norm(x, g, eps=1e-3), device=device)


def test_group_norm_noncontiguous(device):
    check([(5, 4, 6), (4,), (4,)], lambda x, w, b: _tf().group_norm(x.transpose(1, 2)[:, :4], 2, w, b),
          dt_fn=lambda x, w, b: F.group_norm(x.transpose(1, 2)[:, :4], 2, w, b), device=device)


RMS_CASES = [((4, 5), (5,), None), ((2, 3, 4), (3, 4), 1e-3), ((2, 3, 4), (4,), 0.5), ((0, 3), (3,), None)]


@pytest.mark.parametrize("shape,ns,eps", RMS_CASES, ids=str)
def test_rms_norm_functional(shape, ns, eps, device):
    check([shape, ns], lambda x, w: _tf().rms_norm(x, ns, w, eps),
          dt_fn=lambda x, w: F.rms_norm(x, ns, w, eps), device=device)
    check([shape], lambda x: _tf().rms_norm(x.transpose(0, -1).transpose(0, -1), ns, eps=eps),
          dt_fn=lambda x: F.rms_norm(x.transpose(0, -1).transpose(0, -1), ns, eps=eps), device=device)


def test_rms_norm_default_eps_and_dtypes(device):
    need_torch()
    # tiny inputs: the default eps (machine epsilon of the computation dtype) dominates
    for dtype, scale in (("float64", 1e-8), ("float32", 1e-4), ("float16", 1e-3), ("bfloat16", 1e-3)):
        x = np.full((2, 4), scale, dtype=np.float64)
        tx = torch.tensor(x).to(getattr(torch, dtype))
        dx = disttorch.tensor(x, device=device).to(getattr(disttorch, dtype))
        ty, dy = _tf().rms_norm(tx, (4,)), F.rms_norm(dx, (4,))
        assert dy.dtype.name == dtype
        np.testing.assert_allclose(to_numpy(dy.float()), ty.float().numpy(), rtol=1e-2)
    # a weight of another dtype: the result keeps the input's dtype
    check([(3, 4), (4,)], lambda x, w: _tf().rms_norm(x.float(), (4,), w),
          dt_fn=lambda x, w: F.rms_norm(x.float(), (4,), w), device=device, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (1, 2, 3, 2, 2)], ids=str)
def test_instance_norm_functional(shape, device):
    check([shape, (3,) if shape[1] == 3 else (2,), (3,) if shape[1] == 3 else (2,)],
          lambda x, w, b: _tf().instance_norm(x, weight=w, bias=b),
          dt_fn=lambda x, w, b: F.instance_norm(x, weight=w, bias=b), device=device)


def test_instance_norm_running_stats(device):
    need_torch()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 5)) * 2 + 1
    trm, trv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    drm, drv = (disttorch.zeros(2, dtype=disttorch.float64, device=device),
                disttorch.ones(2, dtype=disttorch.float64, device=device))
    for uis in (True, False):
        ty = _tf().instance_norm(torch.tensor(x), trm, trv, use_input_stats=uis, momentum=0.4)
        dy = F.instance_norm(disttorch.tensor(x, device=device), drm, drv, use_input_stats=uis,
                             momentum=0.4)
        _close(dy, ty, f"output use_input_stats={uis}", 1e-10, 1e-8)
        _close(drm, trm, "running_mean", 1e-12, 1e-10)
        _close(drv, trv, "running_var", 1e-12, 1e-10)


@pytest.mark.parametrize("shape,size", [((2, 6, 5), 3), ((2, 5, 3, 4), 2), ((1, 4, 2, 2, 3), 5),
                                        ((0, 3, 4), 2)], ids=str)
def test_local_response_norm_functional(shape, size, device):
    check([shape], lambda x: _tf().local_response_norm(x, size, alpha=0.1),
          dt_fn=lambda x: F.local_response_norm(x, size, alpha=0.1), device=device)


# -- gradchecks (float64 finite differences), including second order ----------------------------
def _rm(lib=disttorch):
    return lib.tensor([0.3, -0.5, 1.0], dtype=lib.float64)


def _rv(lib=disttorch):
    return lib.tensor([1.5, 0.7, 2.0], dtype=lib.float64)


GRADCHECKS = {
    "batch_norm_train": ([(4, 3, 2), (3,), (3,)],
                         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
    "batch_norm_train_2d": ([(5, 3), (3,)],
                            lambda x, w: F.batch_norm(x, None, None, w, None, training=True)),
    "batch_norm_eval": ([(4, 3, 2), (3,), (3,)],
                        lambda x, w, b: F.batch_norm(x, _rm(), _rv(), w, b, training=False)),
    "layer_norm": ([(4, 2, 3), (2, 3), (2, 3)], lambda x, w, b: F.layer_norm(x, (2, 3), w, b)),
    "layer_norm_plain": ([(3, 5)], lambda x: F.layer_norm(x, (5,))),
    "group_norm": ([(2, 4, 3), (4,), (4,)], lambda x, w, b: F.group_norm(x, 2, w, b)),
    "rms_norm": ([(4, 3), (3,)], lambda x, w: F.rms_norm(x, (3,), w)),
    "rms_norm_plain": ([(2, 2, 3)], lambda x: F.rms_norm(x, (2, 3), eps=1e-3)),
    "instance_norm": ([(2, 3, 4), (3,), (3,)],
                      lambda x, w, b: F.instance_norm(x, weight=w, bias=b)),
    "local_response_norm": ([(2, 4, 3)], lambda x: F.local_response_norm(x, 3, alpha=0.5)),
}


@pytest.mark.parametrize("name", GRADCHECKS)
def test_norm_gradcheck(name):
    shapes, fn = GRADCHECKS[name]
    gradcheck(shapes, fn, second_order=True)


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm_train", "group_norm", "rms_norm"])
def test_double_backward_matches_torch(name, device):
    """The grad of a grad (create_graph=True) gives torch's numbers."""
    need_torch()
    fns = {
        "layer_norm": (lambda lib, x, w: lib.nn.functional.layer_norm(x, (4,), w, w * 0.5), (3, 4)),
        "batch_norm_train": (lambda lib, x, w: lib.nn.functional.batch_norm(
            x, None, None, w, w * 0.5, training=True), (5, 4)),
        "group_norm": (lambda lib, x, w: lib.nn.functional.group_norm(x, 2, w, w * 0.5), (3, 4)),
        "rms_norm": (lambda lib, x, w: lib.nn.functional.rms_norm(x, (4,), w), (3, 4)),
    }
    fn, shape = fns[name]
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=shape), rng.uniform(0.5, 1.5, size=4)
    up = rng.uniform(0.5, 1.5, size=shape)
    results = []
    for lib, dev in ((torch, "cpu"), (disttorch, device)):
        tx = lib.tensor(x, requires_grad=True, device=dev)
        tw = lib.tensor(w, requires_grad=True, device=dev)
        y = fn(lib, tx, tw)
        gx, gw = lib.autograd.grad(y, (tx, tw), lib.tensor(up, device=dev), create_graph=True)
        ggx, ggw = lib.autograd.grad((gx ** 2).sum() + (gw * gw.detach()).sum(), (tx, tw))
        results.append((gx, gw, ggx, ggw))
    for d, t, n in zip(results[1], results[0], ("gx", "gw", "ggx", "ggw")):
        _close(d, t, n, 1e-9, 1e-7)


# -- functional errors --------------------------------------------------------------------------
def test_functional_errors():
    bn = lambda t, x, *a, **k: t.nn.functional.batch_norm(x, *a, **k)  # noqa: E731
    check_error(lambda t: bn(t, t.zeros(1, 3), t.zeros(3), t.ones(3), training=True), ValueError,
                match="Expected more than 1 value per channel when training")
    check_error(lambda t: bn(t, t.zeros(1, 3, 1), None, None, training=True), ValueError)
    check_error(lambda t: bn(t, t.zeros(4, 3), None, None, training=False), RuntimeError,
                match="running_mean must be defined in evaluation mode")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(3), None, training=False), RuntimeError,
                match="running_var must be defined in evaluation mode")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(3), None, training=True), ValueError,
                match="running_mean and running_var must either both be None or neither be None")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(4), t.ones(4), training=True), RuntimeError,
                match="running_mean should contain 3 elements not 4")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(3), t.ones(3), t.ones(2), training=True),
                RuntimeError, match="weight should contain 3 elements not 2")
    check_error(lambda t: bn(t, t.zeros(4, 3), None, None, None, t.ones(5), training=True),
                RuntimeError, match="bias should contain 3 elements not 5")
    check_error(lambda t: bn(t, t.zeros(4), None, None, training=True), IndexError)
    check_error(lambda t: bn(t, t.zeros(4, 3, dtype=t.long), None, None, training=True),
                NotImplementedError, match="\"batch_norm\" not implemented for 'Long'")
    check_error(lambda t: bn(t, t.zeros(4, 3, dtype=t.float64), t.zeros(3), t.ones(3)),
                RuntimeError, match="mixed dtype")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(3), t.ones(3), momentum=None, training=True),
                TypeError)
    check_error(lambda t: bn(t, t.zeros(4, 3), None, None, training=True, eps=0.0), ValueError,
                match="batch_norm eps must be positive during training, but got 0.0")
    check_error(lambda t: bn(t, t.zeros(4, 3), t.zeros(3), t.ones(3), eps=-1.0), ValueError,
                match="batch_norm eps must be non-negative, but got -1.0")
    ln = lambda t, *a: t.nn.functional.layer_norm(*a)  # noqa: E731
    check_error(lambda t: ln(t, t.zeros(2, 3), (4,)), RuntimeError,
                match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]")
    check_error(lambda t: ln(t, t.zeros(2, 3), 3), TypeError,
                match="argument 'normalized_shape' \\(position 2\\) must be tuple of ints, not int")
    check_error(lambda t: ln(t, t.zeros(2, 3), (3,), t.ones(4)), RuntimeError,
                match=r"Expected weight to be of same shape as normalized_shape, but got weight of "
                      r"shape \[4\] and normalized_shape = \[3\]")
    check_error(lambda t: ln(t, t.zeros(2, 3), (3,), None, t.ones(2)), RuntimeError,
                match="Expected bias to be of same shape as normalized_shape")
    check_error(lambda t: ln(t, t.zeros(2, 3), ()), RuntimeError,
                match="Expected normalized_shape to be at least 1-dimensional")
    check_error(lambda t: ln(t, t.zeros(2, 3, dtype=t.long), (3,)), NotImplementedError)
    check_error(lambda t: ln(t, t.zeros(2, 3), (3,), t.ones(3, dtype=t.float64)), RuntimeError,
                match="mixed dtype")
    gn = lambda t, *a: t.nn.functional.group_norm(*a)  # noqa: E731
    check_error(lambda t: gn(t, t.zeros(2, 6, 4), 4), RuntimeError,
                match=r"Expected number of channels in input to be divisible by num_groups, but got "
                      r"input of shape \[2, 6, 4\] and num_groups=4")
    check_error(lambda t: gn(t, t.zeros(6), 3), RuntimeError,
                match="Expected at least 2 dimensions for input tensor but received 1")
    check_error(lambda t: gn(t, t.zeros(1, 2), 2), ValueError,
                match=r"Expected more than 1 value per channel when training, got input size \[1, 2\]")
    check_error(lambda t: gn(t, t.zeros(2, 6, 4), 3, t.ones(5)), RuntimeError,
                match=r"got weight of shape \[5\] and input of shape \[2, 6, 4\]")
    check_error(lambda t: gn(t, t.zeros(2, 4, dtype=t.long), 2), NotImplementedError)
    rms = lambda t, *a: t.nn.functional.rms_norm(*a)  # noqa: E731
    check_error(lambda t: rms(t, t.zeros(2, 3), (4,)), RuntimeError,
                match=r"Given normalized_shape=\[4\], expected input with shape \[\*4\], but got "
                      r"input of size\[2, 3\]")
    check_error(lambda t: rms(t, t.zeros(2, 3), (3,), t.ones(4)), RuntimeError,
                match="Expected weight to be of same shape as normalized_shape")
    check_error(lambda t: rms(t, t.zeros(2, 3), 3), TypeError)
    check_error(lambda t: rms(t, t.zeros(2, 3, dtype=t.long), (3,)), NotImplementedError)
    check_error(lambda t: t.nn.functional.instance_norm(t.zeros(2, 3)), ValueError,
                match="Expected more than 1 spatial element when training")
    check_error(lambda t: t.nn.functional.local_response_norm(t.zeros(2, 3), 2), ValueError)
    inorm = lambda t, **k: t.nn.functional.instance_norm(t.zeros(2, 3, 5), **k)  # noqa: E731
    check_error(lambda t: inorm(t, weight=t.ones(4)), RuntimeError,
                match="weight should contain 6 elements not 8")
    check_error(lambda t: inorm(t, running_mean=t.zeros(4), running_var=t.ones(4)), RuntimeError,
                match="running_mean should contain 6 elements not 8")
    check_error(lambda t: inorm(t, running_mean=t.zeros(3)), ValueError,
                match="running_mean and running_var must either both be None or neither be None")
    check_error(lambda t: inorm(t, use_input_stats=False), RuntimeError,
                match="Expected running_mean and running_var to be defined when use_input_stats is false")


def test_functional_names():
    need_torch()
    for name in ["batch_norm", "layer_norm", "group_norm", "rms_norm", "instance_norm",
                 "local_response_norm"]:
        assert callable(getattr(F, name)) and hasattr(_tf(), name)
