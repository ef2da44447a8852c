"""disttorch.func.functional_call and nn.utils.stateless.functional_call, against torch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from parity import need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn.utils import parametrizations as PS


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), rtol=rtol, atol=atol)


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()


def _arrays(module):
    rng = np.random.default_rng(5)
    return {k: rng.standard_normal(tuple(v.shape)) for k, v in module.state_dict().items()}


def test_functional_call_outputs_and_grads():
    need_torch()
    t, d = _mlp(torch), _mlp(disttorch)
    before = {k: to_numpy(v).copy() for k, v in d.state_dict().items()}
    arrs = _arrays(t)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in arrs.items()}
    dp = {k: disttorch.tensor(v, requires_grad=True) for k, v in arrs.items()}
    x = np.random.default_rng(6).standard_normal((5, 3))
    to = torch.func.functional_call(t, tp, (torch.tensor(x),))
    do = disttorch.func.functional_call(d, dp, (disttorch.tensor(x),))
    _close(do, to)
    to.square().sum().backward()
    do.square().sum().backward()
    for k in arrs:
        _close(dp[k].grad, tp[k].grad)
    # the module's own tensors are back, untouched, with no grads
    for k, v in d.state_dict().items():
        np.testing.assert_array_equal(to_numpy(v), before[k])
    assert all(p.grad is None for p in d.parameters())
    assert all(isinstance(p, nn.Parameter) for p in d.parameters())


def test_partial_dict_kwargs_and_list_of_dicts():
    need_torch()

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2).double()

        def forward(self, x, *, scale=1.0):
            return self.lin(x) * scale

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2).double()

        def forward(self, x, *, scale=1.0):
            return self.lin(x) * scale

    t, d = T(), D()
    d.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    w = np.arange(4.0).reshape(2, 2)
    x = np.ones((1, 2))
    to = torch.func.functional_call(t, [{"lin.weight": torch.tensor(w)}, {}], torch.tensor(x), {"scale": 3.0})
    do = disttorch.func.functional_call(d, [{"lin.weight": disttorch.tensor(w)}, {}], disttorch.tensor(x),
                                        {"scale": 3.0})
    _close(do, to)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        disttorch.func.functional_call(d, [{"lin.bias": disttorch.zeros(2)}, {"lin.bias": disttorch.zeros(2)}],
                                       disttorch.tensor(x))
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict"):
        disttorch.func.functional_call(d, 3, disttorch.tensor(x))


def _tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(2, 2, bias=False)
            self.b = lib.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    return Tied()


def test_tied_weights():
    need_torch()
    t, d = _tied(torch), _tied(disttorch)
    with disttorch.no_grad():
        d.a.weight.copy_(disttorch.tensor(t.a.weight.detach().numpy()))
    x = np.ones((1, 2), dtype=np.float32)
    w = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    for tie in (True, False):
        to = torch.func.functional_call(t, {"a.weight": torch.tensor(w)}, torch.tensor(x), tie_weights=tie)
        do = disttorch.func.functional_call(d, {"a.weight": disttorch.tensor(w)}, disttorch.tensor(x),
                                            tie_weights=tie)
        np.testing.assert_allclose(to_numpy(do), to.detach().numpy(), rtol=1e-6)
    w2 = disttorch.zeros(2, 2)
    with pytest.raises(ValueError, match=r"functional_call got multiple values for keys \['a.weight', 'b.weight'\]"):
        disttorch.func.functional_call(d, {"a.weight": disttorch.tensor(w), "b.weight": w2}, disttorch.tensor(x))
    same = disttorch.tensor(w)  # one value given twice is fine
    disttorch.func.functional_call(d, {"a.weight": same, "b.weight": same}, disttorch.tensor(x))
    assert d.b.weight is d.a.weight


def test_strict_errors_match_torch():
    need_torch()
    t, d = _mlp(torch), _mlp(disttorch)
    x = np.ones((1, 3))
    for keys in ({"0.weight"}, {"0.weight", "0.bias", "2.weight", "2.bias", "extra"}):
        tp = {k: torch.zeros(2) for k in keys}
        dp = {k: disttorch.zeros(2) for k in keys}
        with pytest.raises(RuntimeError) as et:
            torch.func.functional_call(t, tp, torch.tensor(x), strict=True)
        with pytest.raises(RuntimeError) as ed:
            disttorch.func.functional_call(d, dp, disttorch.tensor(x), strict=True)
        assert str(ed.value) == str(et.value)
    # the module is untouched after a failed call
    assert all(isinstance(p, nn.Parameter) for p in d.parameters())


def test_batchnorm_buffers_like_torch():
    need_torch()
    t, d = torch.nn.BatchNorm1d(3).double(), nn.BatchNorm1d(3).double()
    x = np.random.default_rng(7).standard_normal((6, 3))
    names = ["running_mean", "running_var", "num_batches_tracked"]
    tb = {n: getattr(t, n).clone() for n in names}
    db = {n: getattr(d, n).clone() for n in names}
    tb_in, db_in = dict(tb), dict(db)
    to = torch.func.functional_call(t, tb_in, torch.tensor(x))
    do = disttorch.func.functional_call(d, db_in, disttorch.tensor(x))
    _close(do, to)
    for n in names:
        # the given dict holds the updated statistics; the module keeps its own
        _close(db_in[n], tb_in[n])
        _close(getattr(d, n), getattr(t, n))
    np.testing.assert_allclose(to_numpy(d.running_mean), np.zeros(3))
    assert int(d.num_batches_tracked) == 0


def test_module_rebinding_a_buffer_updates_the_dict():
    class Foo(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("foo", disttorch.zeros(()))

        def forward(self, x):
            self.foo = self.foo + 1
            return x + self.foo

    m = Foo()
    a = {"foo": disttorch.zeros(())}
    disttorch.func.functional_call(m, a, disttorch.ones(()))
    assert float(m.foo) == 0.0 and float(a["foo"]) == 1.0


def test_parametrized_original_key():
    need_torch()
    t, d = torch.nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    d.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    torch.nn.utils.parametrizations.weight_norm(t)
    PS.weight_norm(d)
    rng = np.random.default_rng(8)
    g, v = rng.standard_normal((2, 1)), rng.standard_normal((2, 3))
    keys = ("parametrizations.weight.original0", "parametrizations.weight.original1")
    x = rng.standard_normal((4, 3))
    to = torch.func.functional_call(t, dict(zip(keys, (torch.tensor(g), torch.tensor(v)))), torch.tensor(x))
    do = disttorch.func.functional_call(d, dict(zip(keys, (disttorch.tensor(g), disttorch.tensor(v)))),
                                        disttorch.tensor(x))
    _close(do, to)


def test_stateless_alias_warns_like_torch():
    need_torch()
    t, d = _mlp(torch), _mlp(disttorch)
    with warnings.catch_warnings(record=True) as wt:
        warnings.simplefilter("always")
        torch.nn.utils.stateless.functional_call(t, {}, torch.ones(1, 3, dtype=torch.float64))
    with warnings.catch_warnings(record=True) as wd:
        warnings.simplefilter("always")
        out = nn.utils.stateless.functional_call(d, {}, disttorch.ones(1, 3, dtype=disttorch.float64))
    assert [w.category for w in wd] == [w.category for w in wt] == [FutureWarning]
    assert str(wd[0].message) == str(wt[0].message)
    assert wd[0].filename == __file__
    np.testing.assert_allclose(to_numpy(out), to_numpy(d(disttorch.ones(1, 3, dtype=disttorch.float64))))
