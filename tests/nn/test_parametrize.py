"""nn.utils.parametrize, parametrizations.weight_norm / spectral_norm and the legacy
weight_norm hook, against torch (same weights, same state)."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from parity import need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn.utils import parametrizations as PS
from disttorch.nn.utils import parametrize as P


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), rtol=rtol, atol=atol)


def _pair(kind):
    """A float64 torch module and a disttorch one with the same weights."""
    if kind == "linear":
        t, d = torch.nn.Linear(3, 4).double(), nn.Linear(3, 4).double()
        x = np.random.default_rng(0).standard_normal((5, 3))
    else:
        t, d = torch.nn.Conv2d(2, 3, 3).double(), nn.Conv2d(2, 3, 3).double()
        x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    d.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, d, x


def _copy_state(t, d):
    d.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})


def _fwd_bwd(t, d, x):
    tx, dx = torch.tensor(x), disttorch.tensor(x)
    to, do = t(tx), d(dx)
    _close(do, to)
    up = np.random.default_rng(1).uniform(0.5, 1.5, tuple(to.shape))
    to.backward(torch.tensor(up))
    do.backward(disttorch.tensor(up))
    for (tn, tp), (dn, dp) in zip(t.named_parameters(), d.named_parameters()):
        assert tn == dn
        _close(dp.grad, tp.grad)


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_parity(kind, dim):
    need_torch()
    t, d, x = _pair(kind)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    PS.weight_norm(d, dim=dim)
    assert list(d.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert tuple(d.state_dict()[k].shape) == tuple(v.shape), k
        _close(d.state_dict()[k], v)
    _close(d.weight, t.weight)
    _fwd_bwd(t, d, x)
    assert repr(d) == repr(t)


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm_parity(kind, n_iter):
    need_torch()
    t, d, x = _pair(kind)
    torch.nn.utils.parametrizations.spectral_norm(t, n_power_iterations=n_iter)
    PS.spectral_norm(d, n_power_iterations=n_iter)
    assert list(d.state_dict()) == list(t.state_dict())
    assert repr(d) == repr(t)
    _copy_state(t, d)  # the same starting singular vectors
    for _ in range(3):  # training: every access takes power steps
        _fwd_bwd(t, d, x)
        for name in ("_u", "_v"):
            _close(getattr(d.parametrizations.weight[0], name), getattr(t.parametrizations.weight[0], name))
        t.zero_grad()
        d.zero_grad()
    t.eval()
    d.eval()
    u_before = to_numpy(d.parametrizations.weight[0]._u).copy()
    _fwd_bwd(t, d, x)
    np.testing.assert_array_equal(to_numpy(d.parametrizations.weight[0]._u), u_before)  # eval: no step
    sig_t = torch.linalg.matrix_norm(t.weight.reshape(t.weight.shape[0], -1), 2)
    sig_d = disttorch.linalg.matrix_norm(d.weight.reshape(d.weight.shape[0], -1), 2)
    _close(sig_d, sig_t, rtol=1e-8)


def test_spectral_norm_sigma_close_to_one_and_dims():
    m = PS.spectral_norm(nn.Linear(6, 5).double())
    m.eval()
    sig = disttorch.linalg.matrix_norm(m.weight, 2).item()
    assert abs(sig - 1) < 1e-3
    ct = PS.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert ct.parametrizations.weight[0].dim == 1
    with pytest.raises(IndexError, match="Dimension out of range"):
        PS.spectral_norm(nn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations"):
        PS.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'foo'"):
        PS.spectral_norm(nn.Linear(2, 2), name="foo")
    b = PS.spectral_norm(nn.Linear(2, 3), name="bias")  # 1-d: plain normalisation
    np.testing.assert_allclose(np.linalg.norm(to_numpy(b.bias)), 1.0, rtol=1e-6)


class _Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


class _Scale(nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, a):
        return a / 2


def _torch_versions():
    class TSym(torch.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)

        def right_inverse(self, a):
            return a.triu()

    class TScale(torch.nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, a):
            return a / 2

    return TSym, TScale


def _sq_pair():
    t, d = torch.nn.Linear(4, 4).double(), nn.Linear(4, 4).double()
    _copy_state(t, d)
    return t, d


def test_user_parametrization_right_inverse_and_chain():
    need_torch()
    TSym, TScale = _torch_versions()
    t, d = _sq_pair()
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSym())
    P.register_parametrization(d, "weight", _Symmetric())
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TScale())
    P.register_parametrization(d, "weight", _Scale())
    assert repr(d).replace("_Symmetric", "TSym").replace("_Scale", "TScale") == repr(t)
    assert list(d.state_dict()) == list(t.state_dict()) == ["bias", "parametrizations.weight.original"]
    _close(d.weight, t.weight)
    x = np.random.default_rng(2).standard_normal((3, 4))
    _fwd_bwd(t, d, x)
    # assignment goes through right_inverse of the whole chain
    A = np.random.default_rng(3).standard_normal((4, 4))
    A = A + A.T
    t.weight = torch.tensor(A)
    d.weight = disttorch.tensor(A)
    _close(d.parametrizations.weight.original, t.parametrizations.weight.original)
    np.testing.assert_allclose(to_numpy(d.weight), A, rtol=1e-12)
    orig = d.parametrizations.weight.original
    assert isinstance(orig, nn.Parameter) and orig.requires_grad


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    need_torch()
    TSym, _ = _torch_versions()
    t, d = _sq_pair()
    torch.nn.utils.parametrize.register_parametrization(t, "weight", TSym())
    P.register_parametrization(d, "weight", _Symmetric())
    orig_obj = d.parametrizations.weight.original
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight", leave_parametrized=leave)
    P.remove_parametrizations(d, "weight", leave_parametrized=leave)
    assert type(d) is nn.Linear and not P.is_parametrized(d)
    assert not hasattr(d, "parametrizations")
    assert d.weight is orig_obj  # the same Parameter object (optimizers keep working)
    assert isinstance(d.weight, nn.Parameter)
    _close(d.weight, t.weight)
    assert list(d.state_dict()) == list(t.state_dict())
    assert repr(d) == repr(t)


def test_remove_weight_norm_parametrization_keeps_value():
    need_torch()
    t, d, x = _pair("linear")
    torch.nn.utils.parametrizations.weight_norm(t)
    PS.weight_norm(d)
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    P.remove_parametrizations(d, "weight")
    _close(d.weight, t.weight)
    assert isinstance(d.weight, nn.Parameter) and d.weight.requires_grad
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(PS.weight_norm(nn.Linear(2, 2)), "weight", leave_parametrized=False)


def test_state_dict_round_trip_and_load_from_torch():
    need_torch()
    t, d, x = _pair("conv")
    torch.nn.utils.parametrizations.weight_norm(t)
    PS.weight_norm(d)
    with torch.no_grad():
        t.parametrizations.weight.original0.mul_(3)
    _copy_state(t, d)  # load_state_dict through the parametrized keys
    _close(d.weight, t.weight)
    d2 = PS.weight_norm(nn.Conv2d(2, 3, 3).double())
    r = d2.load_state_dict(d.state_dict())
    assert not r.missing_keys and not r.unexpected_keys
    np.testing.assert_array_equal(to_numpy(d2.weight), to_numpy(d.weight))
    with pytest.raises(RuntimeError, match="Missing key"):
        nn.Conv2d(2, 3, 3).double().load_state_dict(d.state_dict())


def test_buffer_parametrization_and_helpers():
    m = nn.BatchNorm1d(3)
    P.register_parametrization(m, "running_var", _Scale())
    assert "parametrizations.running_var.original" in m.state_dict()
    assert not isinstance(m.parametrizations.running_var.original, nn.Parameter)
    np.testing.assert_allclose(to_numpy(m.running_var), np.ones(3))  # right_inverse then forward
    np.testing.assert_allclose(to_numpy(m.parametrizations.running_var.original), 0.5 * np.ones(3))
    assert P.is_parametrized(m) and P.is_parametrized(m, "running_var")
    assert not P.is_parametrized(m, "weight")
    assert P.type_before_parametrizations(m) is nn.BatchNorm1d
    assert P.type_before_parametrizations(nn.Linear(1, 1)) is nn.Linear
    assert type(m).__name__ == "ParametrizedBatchNorm1d"


def test_cached():
    calls = []

    class Count(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 1

    m = P.register_parametrization(nn.Linear(2, 2), "weight", Count())
    calls.clear()
    m.weight
    m.weight
    assert len(calls) == 2
    with P.cached():
        a = m.weight
        b = m.weight
        with P.cached():
            assert m.weight is a
    assert a is b and len(calls) == 3
    m.weight
    assert len(calls) == 4  # the cache is gone after the outermost context


def test_transfer_parametrizations_and_params():
    a = PS.weight_norm(nn.Linear(3, 4))
    b = nn.Linear(3, 4)
    P.transfer_parametrizations_and_params(a, b)
    assert P.is_parametrized(b, "weight")
    assert b.parametrizations.weight.original0 is a.parametrizations.weight.original0
    assert b.parametrizations.weight.original1 is a.parametrizations.weight.original1
    np.testing.assert_array_equal(to_numpy(b.weight), to_numpy(a.weight))


def test_deepcopy_and_pickle():
    m = PS.weight_norm(nn.Linear(3, 4))
    c = copy.deepcopy(m)
    assert type(c).__name__ == "ParametrizedLinear"
    np.testing.assert_array_equal(to_numpy(c.weight), to_numpy(m.weight))
    assert c.parametrizations.weight.original0 is not m.parametrizations.weight.original0
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        pickle.dumps(m)


def test_gradcheck_through_parametrized_linear():
    m = nn.Linear(3, 2).double()
    PS.weight_norm(m, "weight", dim=0)
    P.register_parametrization(m, "weight", _Scale())  # chained after weight_norm

    def fn(x, g, v, b):
        out = disttorch.func.functional_call(
            m, {"parametrizations.weight.original0": g, "parametrizations.weight.original1": v,
                "bias": b}, (x,))
        return out

    rng = np.random.default_rng(0)
    ins = [disttorch.tensor(rng.standard_normal(s), requires_grad=True)
           for s in [(4, 3), (2, 1), (2, 3), (2,)]]
    assert disttorch.autograd.gradcheck(fn, ins, atol=1e-6, rtol=1e-4)


def test_errors_match_torch():
    need_torch()

    class Shrink(nn.Module):
        def forward(self, x):
            return x[:2]

    class BadInv(nn.Module):
        def forward(self, x):
            return x

        def right_inverse(self, x):
            return x[:2]

    cases = [
        (lambda: P.register_parametrization(nn.Linear(3, 4), "foo", _Scale()),
         lambda: torch.nn.utils.parametrize.register_parametrization(torch.nn.Linear(3, 4), "foo", torch.nn.Identity())),
        (lambda: P.remove_parametrizations(nn.Linear(3, 4), "weight"),
         lambda: torch.nn.utils.parametrize.remove_parametrizations(torch.nn.Linear(3, 4), "weight")),
    ]
    for ours, theirs in cases:
        with pytest.raises(ValueError) as e_t:
            theirs()
        with pytest.raises(ValueError) as e_d:
            ours()
        assert str(e_d.value) == str(e_t.value)
    for bad in (Shrink(), BadInv()):
        with pytest.raises(ValueError, match="may not change the shape") as e:
            P.register_parametrization(nn.Linear(3, 4), "weight", bad)
        assert "unparametrized shape: disttorch.Size([4, 3])" in str(e.value)
    m = P.register_parametrization(nn.Linear(3, 4), "weight", Shrink(), unsafe=True)
    assert tuple(m.weight.shape) == (2, 3)
    # chaining: the new one is checked on the current value
    m = P.register_parametrization(nn.Linear(3, 4), "weight", _Scale())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", Shrink())
    assert len(m.parametrizations.weight) == 1

    class NoInv(nn.Module):
        def forward(self, x):
            return x

    m = P.register_parametrization(nn.Linear(2, 2), "weight", NoInv())
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = disttorch.zeros(2, 2)


def test_legacy_weight_norm_parity():
    need_torch()
    t, d, x = _pair("conv")
    with warnings.catch_warnings(record=True) as wt:
        warnings.simplefilter("always")
        torch.nn.utils.weight_norm(t)
    with warnings.catch_warnings(record=True) as wd:
        warnings.simplefilter("always")
        nn.utils.weight_norm(d)
    assert [w.category for w in wd] == [w.category for w in wt] == [FutureWarning]
    assert str(wd[0].message) == str(wt[0].message)
    assert wd[0].filename == __file__  # points at the caller
    assert list(d.state_dict()) == list(t.state_dict())
    assert [n for n, _ in d.named_parameters()] == [n for n, _ in t.named_parameters()]
    _fwd_bwd(t, d, x)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"), \
            pytest.warns(FutureWarning):
        nn.utils.weight_norm(d)
    torch.nn.utils.remove_weight_norm(t)
    nn.utils.remove_weight_norm(d)
    assert list(d.state_dict()) == list(t.state_dict())
    _close(d.weight, t.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        nn.utils.remove_weight_norm(d)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_legacy_spectral_norm_parity(kind):
    need_torch()
    t, d, x = _pair(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch 2.13 does not warn for this one
        torch.nn.utils.spectral_norm(t)
        nn.utils.spectral_norm(d)
    assert list(d.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in d.named_parameters()] == [n for n, _ in t.named_parameters()]
    _copy_state(t, d)
    for _ in range(2):
        _fwd_bwd(t, d, x)
        _close(d.weight_u, t.weight_u)
        _close(d.weight_v, t.weight_v)
        t.zero_grad()
        d.zero_grad()
    t.eval()
    d.eval()
    u = to_numpy(d.weight_u).copy()
    _fwd_bwd(t, d, x)
    np.testing.assert_array_equal(to_numpy(d.weight_u), u)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(d)
    torch.nn.utils.remove_spectral_norm(t)
    nn.utils.remove_spectral_norm(d)
    assert list(d.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    _close(d.weight, t.weight)
    assert isinstance(d.weight, nn.Parameter)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in"):
        nn.utils.remove_spectral_norm(d)


def test_legacy_spectral_norm_loads_v0_checkpoint():
    # an old checkpoint holds weight (= orig / sigma) instead of weight_v
    m = nn.utils.spectral_norm(nn.Linear(4, 3).double())
    m.eval()
    m(disttorch.zeros(1, 4, dtype=disttorch.float64))
    sd = m.state_dict()
    old = {k: v.clone() for k, v in sd.items() if k != "weight_v"}
    old["weight"] = m.weight.detach().clone()
    m2 = nn.utils.spectral_norm(nn.Linear(4, 3).double())
    m2.load_state_dict(old)
    assert "weight" in old  # the caller's dict is not rewritten
    m2.eval()
    m2(disttorch.zeros(1, 4, dtype=disttorch.float64))
    np.testing.assert_allclose(to_numpy(m2.weight), to_numpy(m.weight), rtol=1e-8)


def test_weight_norm_loads_legacy_checkpoint():
    need_torch()
    t = torch.nn.Linear(3, 4).double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(t)
    legacy = {k: disttorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()}
    assert set(legacy) == {"bias", "weight_g", "weight_v"}
    d = PS.weight_norm(nn.Linear(3, 4).double())
    r = d.load_state_dict(legacy)
    assert not r.missing_keys and not r.unexpected_keys
    _close(d.weight, t.weight)
    assert set(legacy) == {"bias", "weight_g", "weight_v"}


def test_load_state_dict_pre_hook():
    seen = []
    m = nn.Linear(2, 2)
    h = m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: seen.append((mod, prefix)))
    m.load_state_dict(m.state_dict())
    assert seen == [(m, "")]
    h.remove()
    m.load_state_dict(m.state_dict())
    assert len(seen) == 1
