"""Optimizers against torch.optim: trajectories, state dicts, param groups, hooks, errors."""
from __future__ import annotations

import collections
import copy
import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

# (class name, options): every optimizer with the option combinations that change its math
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, eps=1e-6)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw in CASES]

_rng = np.random.default_rng(0)
W1, B1 = _rng.standard_normal((5, 3)), _rng.standard_normal(5)
W2, B2 = _rng.standard_normal((2, 5)), _rng.standard_normal(2)
X, Y = _rng.standard_normal((7, 3)), _rng.standard_normal((7, 2))
INIT = [W1, B1, W2, B2]


def dev_of(device):
    return "cpu" if device == "cpu" else "cuda"


def make_params(lib, dtype="float64", device="cpu"):
    if lib is torch:
        return [torch.tensor(a.astype(dtype), requires_grad=True) for a in INIT]
    return [disttorch.tensor(a.astype(dtype), device=dev_of(device), requires_grad=True)
            for a in INIT]


def mlp_loss(lib, params, dtype="float64", device="cpu"):
    """A small two-layer MLP's squared error, computed in the library itself."""
    w1, b1, w2, b2 = params
    kw = {} if lib is torch else {"device": dev_of(device)}
    x, y = lib.tensor(X.astype(dtype), **kw), lib.tensor(Y.astype(dtype), **kw)
    h = (x @ w1.T + b1).tanh()
    out = h @ w2.T + b2
    return ((out - y) ** 2).mean()


def host(t):
    if isinstance(t, disttorch.Tensor):
        return t.detach().cpu().numpy()
    return t.detach().numpy()


def run(lib, name, kw, steps=20, dtype="float64", device="cpu", params=None, opt=None):
    """``steps`` optimizer steps on the MLP loss; returns (params per step, params, optimizer)."""
    params = params if params is not None else make_params(lib, dtype, device)
    opt = opt if opt is not None else getattr(lib.optim, name)(params, **kw)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss = mlp_loss(lib, params, dtype, device)
        loss.backward()
        opt.step()
        traj.append([host(p).copy() for p in params])
    return traj, params, opt


def assert_traj_close(ours, theirs, rtol, atol, scale_atol=False):
    """Per-step closeness; ``scale_atol`` scales ``atol`` by the step's largest parameter
    entry (float32 runs whose parameters grow: rounding differences grow with them and
    spread through the coupled layers)."""
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        big = max((float(np.abs(y).max(initial=0.0)) for y in b), default=0.0)
        tol = atol * max(1.0, big) if scale_atol else atol
        for j, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=tol,
                                       err_msg=f"step {i + 1}, param {j}")


def dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def assert_state_dicts_equal(ours, theirs, rtol=1e-10, atol=1e-12, scale_atol=False):
    """Same layout (keys, order, param indices), same group options, same state values.

    ``scale_atol`` scales ``atol`` for a state key by that key's largest entry over all
    parameters (see ``assert_traj_close``)."""
    assert list(ours) == ["state", "param_groups"] == list(theirs)
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for go, gt in zip(ours["param_groups"], theirs["param_groups"]):
        assert list(go) == list(gt)
        for k in gt:
            assert go[k] == gt[k], k
    assert list(ours["state"]) == list(theirs["state"])
    big = collections.defaultdict(float)
    for st in theirs["state"].values():
        for k, v in st.items():
            big[k] = max(big[k], float(v.abs().max()) if v.numel() else 0.0)
    for idx, st in theirs["state"].items():
        so = ours["state"][idx]
        assert list(so) == list(st), idx
        for k, v in st.items():
            mine = so[k]
            assert isinstance(mine, disttorch.Tensor), k
            assert dtype_name(mine) == dtype_name(v), (k, mine.dtype, v.dtype)
            assert tuple(mine.shape) == tuple(v.shape), k
            tol = atol * max(1.0, big[k]) if scale_atol else atol
            np.testing.assert_allclose(host(mine), v.numpy(), rtol=rtol, atol=tol, err_msg=k)


# -- trajectories --------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_trajectory_float64(name, kw, device):
    theirs, _, t_opt = run(torch, name, kw)
    ours, params, d_opt = run(disttorch, name, kw, device=device)
    assert_traj_close(ours, theirs, rtol=1e-10, atol=1e-13)
    sd = d_opt.state_dict()
    assert_state_dicts_equal(sd, t_opt.state_dict())
    # the state lives where torch keeps it: step on the cpu, the rest with the parameter
    for p in params:
        for k, v in d_opt.state[p].items():
            if k in ("step", "mu_product"):
                assert v.device == disttorch.device("cpu")
            else:
                assert v.device == p.device, k


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_trajectory_float32(name, kw, device):
    theirs, _, t_opt = run(torch, name, kw, dtype="float32")
    ours, _, d_opt = run(disttorch, name, kw, dtype="float32", device=device)
    # 20 steps: the maximize cases climb the loss, the parameters grow about 60-fold and
    # float32 rounding differences grow with them, hence the scaled atol
    assert_traj_close(ours, theirs, rtol=2e-5, atol=2e-6, scale_atol=True)
    assert_state_dicts_equal(d_opt.state_dict(), t_opt.state_dict(), rtol=1e-4, atol=1e-5,
                             scale_atol=True)


def test_step_state_scalars():
    (p,) = [disttorch.tensor([1.0, 2.0], requires_grad=True)]
    opt = disttorch.optim.Adam([p])
    p.grad = disttorch.tensor([0.5, -0.5])
    opt.step()
    step = opt.state[p]["step"]
    assert step.dim() == 0 and step.dtype == disttorch.float32 and step.item() == 1.0
    opt.step()
    assert step.item() == 2.0
    # a float64 default dtype makes the step a float64, as in torch
    prev = disttorch.get_default_dtype()
    disttorch.set_default_dtype(disttorch.float64)
    try:
        q = disttorch.tensor([1.0], requires_grad=True)
        o = disttorch.optim.NAdam([q])
        q.grad = disttorch.tensor([1.0])
        o.step()
        assert o.state[q]["step"].dtype == disttorch.float64
        assert o.state[q]["mu_product"].dtype == disttorch.float64
    finally:
        disttorch.set_default_dtype(prev)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_runs_like_single_tensor(name, device):
    """``fused=True`` is accepted; the step state moves to the parameter's device like torch's."""
    kw = dict(lr=0.05)
    if name == "SGD":
        kw["momentum"] = 0.9
    plain, _, _ = run(disttorch, name, kw, steps=4, device=device)
    fused, params, opt = run(disttorch, name, dict(kw, fused=True), steps=4, device=device)
    assert_traj_close(fused, plain, rtol=0, atol=0)
    if name != "SGD":
        step = opt.state[params[0]]["step"]
        assert step.device == params[0].device and step.dtype == disttorch.float32


def test_params_without_grad_are_skipped(device):
    a = disttorch.tensor([1.0, 2.0], device=dev_of(device), requires_grad=True)
    b = disttorch.tensor([3.0], device=dev_of(device), requires_grad=True)
    opt = disttorch.optim.Adam([a, b], lr=0.1)
    a.grad = disttorch.tensor([1.0, 1.0], device=dev_of(device))
    opt.step()
    assert len(opt.state[b]) == 0
    np.testing.assert_array_equal(host(b), [3.0])
    assert not np.allclose(host(a), [1.0, 2.0])


# -- state dicts ---------------------------------------------------------------------------
def _numpy_state_dict(sd):
    """A deep copy of a state dict with every tensor as a numpy array (device-independent)."""
    def conv(v):
        if isinstance(v, disttorch.Tensor):
            return ("T", host(v).copy(), v.dtype)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return copy.deepcopy(v)
    return conv(sd)


def _from_numpy_state_dict(sd, device="cpu"):
    def conv(v, key=None):
        if isinstance(v, tuple) and len(v) == 3 and v[0] == "T":
            dev = "cpu" if key in ("step", "mu_product") else dev_of(device)
            return disttorch.tensor(v[1], dtype=v[2], device=dev)
        if isinstance(v, dict):
            return {k: conv(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(sd)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_state_dict_resume(name, kw, device):
    """state_dict -> load_state_dict into a fresh optimizer, then continue == uninterrupted."""
    full, _, _ = run(disttorch, name, kw, steps=20, device=device)
    first, params, opt = run(disttorch, name, kw, steps=10, device=device)
    saved = _numpy_state_dict(opt.state_dict())
    fresh = make_params(disttorch, device=device)
    with disttorch.no_grad():
        for f, p in zip(fresh, params):
            f.copy_(p)
    opt2 = getattr(disttorch.optim, name)(fresh, **kw)
    opt2.load_state_dict(_from_numpy_state_dict(saved, device))
    rest, _, _ = run(disttorch, name, kw, steps=10, device=device, params=fresh, opt=opt2)
    # NAdam's mu_product is cast to the parameters' dtype on load (as torch does), so it
    # continues in float64 instead of float32 and the runs part at the float32 rounding level
    rtol = 1e-6 if name == "NAdam" else 1e-12
    assert_traj_close(first + rest, full, rtol=rtol, atol=1e-14)

    # the same resume in torch gives the same numbers
    t_first, t_params, t_opt = run(torch, name, kw, steps=10)
    t_fresh = make_params(torch)
    with torch.no_grad():
        for f, p in zip(t_fresh, t_params):
            f.copy_(p)
    t_opt2 = getattr(torch.optim, name)(t_fresh, **kw)
    t_opt2.load_state_dict(copy.deepcopy(t_opt.state_dict()))
    t_rest, _, _ = run(torch, name, kw, steps=10, params=t_fresh, opt=t_opt2)
    assert_traj_close(rest, t_rest, rtol=1e-10, atol=1e-13)
    assert_state_dicts_equal(opt2.state_dict(), t_opt2.state_dict())


def _torch_sd_to_ours(sd, device="cpu"):
    def conv(v, key=None):
        if isinstance(v, torch.Tensor):
            dev = "cpu" if key in ("step", "mu_product") else dev_of(device)
            return disttorch.tensor(v.numpy(), device=dev)
        if isinstance(v, dict):
            return {k: conv(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(copy.deepcopy(sd))


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_load_torch_state_dict(name, kw, device):
    """A torch optimizer state dict (tensors converted) loads into ours and continues alike."""
    _, t_params, t_opt = run(torch, name, kw, steps=4)
    sd = t_opt.state_dict()
    params = [disttorch.tensor(host(p), device=dev_of(device), requires_grad=True)
              for p in t_params]
    opt = getattr(disttorch.optim, name)(params, **kw)
    opt.load_state_dict(_torch_sd_to_ours(sd, device))
    # torch loading its own state dict into a fresh optimizer applies the same casts
    t_params2 = [p.detach().clone().requires_grad_() for p in t_params]
    t_opt2 = getattr(torch.optim, name)(t_params2, **kw)
    t_opt2.load_state_dict(copy.deepcopy(sd))
    assert_state_dicts_equal(opt.state_dict(), t_opt2.state_dict(), rtol=0, atol=0)
    ours, _, _ = run(disttorch, name, kw, steps=4, device=device, params=params, opt=opt)
    theirs, _, _ = run(torch, name, kw, steps=4, params=t_params2, opt=t_opt2)
    assert_traj_close(ours, theirs, rtol=1e-10, atol=1e-13)


def test_load_state_dict_casts_to_param_dtype_and_keeps_step(device):
    p = disttorch.tensor([1.0, 2.0], dtype=disttorch.float32, requires_grad=True)
    opt = disttorch.optim.Adam([p])
    p.grad = disttorch.tensor([1.0, -1.0], dtype=disttorch.float32)
    opt.step()
    q = disttorch.tensor([1.0, 2.0], dtype=disttorch.float64, device=dev_of(device),
                         requires_grad=True)
    opt2 = disttorch.optim.Adam([q])
    opt2.load_state_dict(opt.state_dict())
    st = opt2.state[q]
    assert st["exp_avg"].dtype == disttorch.float64 and st["exp_avg"].device == q.device
    assert st["step"].dtype == disttorch.float32 and st["step"].device == disttorch.device("cpu")
    # torch: same casts
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    to = torch.optim.Adam([tp])
    tp.grad = torch.tensor([1.0, -1.0])
    to.step()
    tq = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    to2 = torch.optim.Adam([tq])
    to2.load_state_dict(to.state_dict())
    assert to2.state[tq]["exp_avg"].dtype == torch.float64
    assert to2.state[tq]["step"].dtype == torch.float32


def test_load_state_dict_old_numeric_step():
    """A numeric ``step`` (old checkpoints) becomes a 0-d tensor, as in torch."""
    p = disttorch.tensor([1.0, 2.0], requires_grad=True)
    opt = disttorch.optim.Adam([p])
    p.grad = disttorch.tensor([1.0, -1.0])
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = 1
    q = disttorch.tensor([1.0, 2.0], requires_grad=True)
    opt2 = disttorch.optim.Adam([q])
    opt2.load_state_dict(sd)
    step = opt2.state[q]["step"]
    assert isinstance(step, disttorch.Tensor) and step.item() == 1.0
    assert step.dtype == disttorch.float32


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax",
                                  "NAdam", "RAdam"])
def test_load_state_dict_fills_missing_group_options(name):
    """Group options missing from an older state dict get torch's defaults on load."""
    res = []
    for lib in (torch, disttorch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.01)
        sd = opt.state_dict()
        for k in ("maximize", "foreach", "differentiable", "capturable", "fused"):
            sd["param_groups"][0].pop(k, None)
        opt2 = getattr(lib.optim, name)([lib.tensor([1.0, 2.0], requires_grad=True)], lr=0.01)
        opt2.load_state_dict(sd)
        res.append({k: v for k, v in opt2.param_groups[0].items() if k != "params"})
    assert res[1] == res[0]


def test_state_dict_layout_named_and_groups():
    ps = [disttorch.tensor([float(i)], requires_grad=True) for i in range(3)]
    tps = [torch.tensor([float(i)], requires_grad=True) for i in range(3)]
    ours = disttorch.optim.SGD([{"params": [("a", ps[0])]},
                                {"params": [("b", ps[1]), ("c", ps[2])], "lr": 0.5}],
                               lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [("a", tps[0])]},
                              {"params": [("b", tps[1]), ("c", tps[2])], "lr": 0.5}],
                             lr=0.1, momentum=0.9)
    assert ours.state_dict() == {"state": {}, "param_groups": ours.state_dict()["param_groups"]}
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
    assert ours.param_groups[1]["param_names"] == ["b", "c"]
    assert ours.state_dict()["param_groups"][1]["params"] == [1, 2]


def test_param_groups_different_lrs(device):
    d = dev_of(device)
    ps = make_params(disttorch, device=device)
    tps = make_params(torch)
    groups = lambda p: [{"params": p[:2], "lr": 0.1},  # noqa: E731
                        {"params": p[2:], "lr": 0.01, "momentum": 0.5}]
    ours = disttorch.optim.SGD(groups(ps), lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD(groups(tps), lr=0.05, momentum=0.9)
    assert [g["lr"] for g in ours.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in ours.param_groups] == [0.9, 0.5]
    a, _, _ = run(disttorch, "SGD", {}, steps=6, device=device, params=ps, opt=ours)
    b, _, _ = run(torch, "SGD", {}, steps=6, params=tps, opt=theirs)
    assert_traj_close(a, b, rtol=1e-10, atol=1e-13)
    assert_state_dicts_equal(ours.state_dict(), theirs.state_dict())
    # add_param_group fills in the defaults
    extra = disttorch.tensor([1.0], device=d, requires_grad=True)
    ours.add_param_group({"params": extra})
    g = ours.param_groups[-1]
    assert g["params"] == [extra] and g["lr"] == 0.05 and g["momentum"] == 0.9
    assert g["nesterov"] is False


def test_repr_matches_torch():
    for name, kw in CASES:
        ours = getattr(disttorch.optim, name)(make_params(disttorch), **kw)
        theirs = getattr(torch.optim, name)(make_params(torch), **kw)
        assert repr(ours) == repr(theirs)


def test_defaults_match_torch():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam"):
        ours = getattr(disttorch.optim, name)(make_params(disttorch))
        theirs = getattr(torch.optim, name)(make_params(torch))
        assert ours.defaults == theirs.defaults, name
        assert list(ours.defaults) == list(theirs.defaults), name


def test_adagrad_state_is_eager():
    ours = disttorch.optim.Adagrad(make_params(disttorch), initial_accumulator_value=0.3)
    theirs = torch.optim.Adagrad(make_params(torch), initial_accumulator_value=0.3)
    assert_state_dicts_equal(ours.state_dict(), theirs.state_dict())


# -- step, closure, zero_grad --------------------------------------------------------------
def test_closure_and_grad_mode(device):
    params = make_params(disttorch, device=device)
    opt = disttorch.optim.SGD(params, lr=0.1)
    seen = []

    def closure():
        seen.append(disttorch.is_grad_enabled())
        opt.zero_grad()
        loss = mlp_loss(disttorch, params, device=device)
        loss.backward()
        return loss

    with disttorch.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert isinstance(loss, disttorch.Tensor)
    assert opt.step() is None
    for p in params:
        assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_step_bumps_version_like_torch():
    """A tensor saved for backward and then stepped on makes backward fail, in both."""
    for lib in (torch, disttorch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (p * p).sum()
        opt = lib.optim.SGD([p], lr=0.1)
        p.grad = lib.tensor([1.0, 1.0])
        v = p._version
        opt.step()
        assert p._version > v
        with pytest.raises(RuntimeError):
            y.backward()


def test_zero_grad(device):
    params = make_params(disttorch, device=device)
    opt = disttorch.optim.Adam(params)
    mlp_loss(disttorch, params, device=device).backward()
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert p.grad is not None and not host(p.grad).any()
        assert p.grad.device == p.device
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_detaches_graph_grad():
    p = disttorch.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward(create_graph=True)
    assert p.grad.requires_grad
    disttorch.optim.SGD([p]).zero_grad(set_to_none=False)
    assert not p.grad.requires_grad and p.grad.grad_fn is None
    np.testing.assert_array_equal(host(p.grad), [0.0, 0.0])


def test_state_is_keyed_by_tensor():
    params = make_params(disttorch)
    opt = disttorch.optim.SGD(params, momentum=0.9)
    mlp_loss(disttorch, params).backward()
    opt.step()
    assert set(map(id, opt.state)) == set(map(id, params))
    assert isinstance(opt.state, collections.defaultdict)
    fresh = disttorch.zeros(1)
    assert opt.state[fresh] == {} and fresh in opt.state


# -- hooks ---------------------------------------------------------------------------------
def test_step_hooks():
    params = make_params(disttorch)
    opt = disttorch.optim.SGD(params, lr=0.1)
    calls = []

    def pre(o, args, kwargs):
        calls.append(("pre", o is opt, len(args)))

    def post(o, args, kwargs):
        calls.append(("post", o is opt, len(args)))

    h1 = opt.register_step_pre_hook(pre)
    h2 = opt.register_step_post_hook(post)
    opt.step()
    assert calls == [("pre", True, 1), ("post", True, 1)]
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2


def test_step_pre_hook_replaces_arguments():
    p = disttorch.tensor([1.0], requires_grad=True)
    opt = disttorch.optim.SGD([p], lr=0.1)
    p.grad = disttorch.tensor([1.0])
    opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": lambda: 42}))
    assert opt.step() == 42
    opt2 = disttorch.optim.SGD([p], lr=0.1)
    opt2.register_step_pre_hook(lambda o, args, kwargs: 5)
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt2.step()


def test_global_step_hooks():
    from disttorch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )
    calls = []
    h1 = register_optimizer_step_pre_hook(lambda o, a, k: calls.append("gpre"))
    h2 = register_optimizer_step_post_hook(lambda o, a, k: calls.append("gpost"))
    try:
        p = disttorch.tensor([1.0], requires_grad=True)
        opt = disttorch.optim.Adam([p])
        opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
        opt.step()
        assert calls == ["gpre", "pre", "post", "gpost"]
    finally:
        h1.remove()
        h2.remove()


def test_state_dict_hooks():
    p = disttorch.tensor([1.0], requires_grad=True)
    opt = disttorch.optim.SGD([p], lr=0.1)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre0"), prepend=True)

    def post(o, sd):
        sd["extra"] = 1
        return sd

    h = opt.register_state_dict_post_hook(post)
    sd = opt.state_dict()
    assert calls == ["pre0", "pre"] and sd["extra"] == 1
    h.remove()
    assert "extra" not in opt.state_dict()

    def load_pre(o, sd):
        sd = dict(sd)
        sd["param_groups"] = [dict(sd["param_groups"][0], lr=0.5)]
        return sd

    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
    opt.load_state_dict(opt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.5 and calls[-1] == "loaded"
    assert opt.param_groups[0]["params"] == [p]


def test_custom_optimizer_subclass():
    """A user subclass written for torch (step under ``@no_grad``) works and gets the hooks."""

    class Sign(disttorch.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @disttorch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad.sign(), alpha=-group["lr"])
                        self.state[p]["n"] = self.state[p].get("n", 0) + 1

    p = disttorch.tensor([1.0, -1.0], requires_grad=True)
    opt = Sign([p])
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(1))
    p.grad = disttorch.tensor([2.0, -3.0])
    opt.step()
    np.testing.assert_allclose(host(p), [0.9, -0.9])
    assert calls == [1] and opt.state_dict()["state"] == {0: {"n": 1}}
    with pytest.raises(NotImplementedError):
        disttorch.optim.Optimizer([p], {}).step()


# -- errors --------------------------------------------------------------------------------
def _both_raise(fn, exc, match=None):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(disttorch)


def test_constructor_errors():
    def leaf(lib):
        return lib.tensor([1.0, 2.0], requires_grad=True)

    _both_raise(lambda m: m.optim.SGD(leaf(m)), TypeError,
                "should be an iterable of Tensors or dicts, but got disttorch.FloatTensor")
    _both_raise(lambda m: m.optim.SGD([]), ValueError, "optimizer got an empty parameter list")
    _both_raise(lambda m: m.optim.SGD([{"params": {leaf(m)}}]), TypeError,
                "organized in ordered collections")
    _both_raise(lambda m: m.optim.SGD([leaf(m) * 2]), ValueError,
                "can't optimize a non-leaf Tensor")
    _both_raise(lambda m: m.optim.SGD([1.0]), TypeError,
                "optimizer can only optimize Tensors, but one of the params is float")

    def dup(m):
        p = leaf(m)
        return m.optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.1}])

    _both_raise(dup, ValueError, "some parameters appear in more than one parameter group")

    def names_mixed(m):
        return m.optim.SGD([("a", leaf(m)), leaf(m)])

    _both_raise(names_mixed, ValueError, "Some param names are missing")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], lr=0.1, nesterov=True), ValueError,
                "Nesterov momentum requires a momentum and zero dampening")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], lr=0.1, momentum=0.9, dampening=0.1,
                                      nesterov=True), ValueError, "Nesterov")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], lr=-1), ValueError, "Invalid learning rate: -1")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], momentum=-1), ValueError,
                "Invalid momentum value: -1")
    _both_raise(lambda m: m.optim.Adam([leaf(m)], betas=(1.0, 0.9)), ValueError,
                "Invalid beta parameter at index 0: 1.0")
    _both_raise(lambda m: m.optim.Adam([leaf(m)], betas=(0.9, -0.1)), ValueError,
                "Invalid beta parameter at index 1: -0.1")
    _both_raise(lambda m: m.optim.Adam([leaf(m)], eps=-1.0), ValueError,
                "Invalid epsilon value: -1.0")
    _both_raise(lambda m: m.optim.AdamW([leaf(m)], weight_decay=-1.0), ValueError,
                "Invalid weight_decay value: -1.0")
    _both_raise(lambda m: m.optim.RMSprop([leaf(m)], alpha=-1.0), ValueError,
                "Invalid alpha value: -1.0")
    _both_raise(lambda m: m.optim.Adagrad([leaf(m)], lr_decay=-1.0), ValueError,
                "Invalid lr_decay value: -1.0")
    _both_raise(lambda m: m.optim.Adagrad([leaf(m)], initial_accumulator_value=-1.0),
                ValueError, "Invalid initial_accumulator_value value: -1.0")
    _both_raise(lambda m: m.optim.NAdam([leaf(m)], momentum_decay=-1.0), ValueError,
                "Invalid momentum_decay value: -1.0")
    _both_raise(lambda m: m.optim.Adam([leaf(m)], fused=True, differentiable=True),
                RuntimeError, "`fused` does not support `differentiable`")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], fused=True, foreach=True), RuntimeError,
                "`fused` and `foreach` cannot be `True` together.")
    # fused is not an option of these optimizers
    for name in ("RMSprop", "Adamax", "NAdam", "RAdam"):
        _both_raise(lambda m, n=name: getattr(m.optim, n)([leaf(m)], fused=True), TypeError)
    _both_raise(lambda m: m.optim.Adam([leaf(m)], betas=(0.9, m.tensor(0.99))), ValueError,
                "betas must be either both floats or both Tensors")
    _both_raise(lambda m: m.optim.SGD([leaf(m)], lr=m.tensor([0.1, 0.2])), ValueError,
                "Tensor lr must be 1-element")
    _both_raise(lambda m: m.optim.SGD([leaf(m)]).add_param_group([leaf(m)]), TypeError,
                "param_group must be a dict")


def test_duplicate_params_warn():
    p = disttorch.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        disttorch.optim.SGD([p, p])


def test_load_state_dict_errors():
    def build(lib, n_groups, sizes):
        groups = [{"params": [lib.tensor([1.0], requires_grad=True) for _ in range(s)]}
                  for s in sizes[:n_groups]]
        return lib.optim.SGD(groups, lr=0.1)

    for lib in (torch, disttorch):
        a = build(lib, 2, [1, 2])
        with pytest.raises(ValueError, match="different number of parameter groups"):
            a.load_state_dict(build(lib, 1, [1]).state_dict())
        with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
            a.load_state_dict(build(lib, 2, [1, 1]).state_dict())


def test_fused_requires_float_params():
    p = disttorch.tensor([1, 2])
    opt = disttorch.optim.Adam([p], fused=True)
    p.grad = disttorch.tensor([1, 1])
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating"):
        opt.step()


def test_tensor_lr(device):
    d = dev_of(device)
    p = disttorch.tensor([1.0, 2.0], device=d, requires_grad=True)
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    ours = disttorch.optim.Adam([p], lr=disttorch.tensor(0.1))
    theirs = torch.optim.Adam([tp], lr=torch.tensor(0.1))
    for _ in range(3):
        p.grad = disttorch.tensor([0.5, -1.0], device=d)
        tp.grad = torch.tensor([0.5, -1.0])
        ours.step()
        theirs.step()
    np.testing.assert_allclose(host(p), tp.detach().numpy(), rtol=1e-6)


def test_pickle_round_trip():
    import pickle

    params = make_params(disttorch)
    opt = disttorch.optim.Adam(params, lr=0.01)
    mlp_loss(disttorch, params).backward()
    opt.step()
    opt2 = pickle.loads(pickle.dumps(opt))
    assert opt2.param_groups[0]["lr"] == 0.01 and len(opt2.state) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.register_step_pre_hook(lambda o, a, k: None)
        p2 = opt2.param_groups[0]["params"][0]
        p2.grad = disttorch.zeros_like(p2)
        opt2.step()
