"""Learning-rate schedulers against torch.optim.lr_scheduler: lr sequences, state dicts, errors."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

STEPS = 30


def make_opt(lib, name="SGD", device="cpu", **kw):
    """An optimizer with two param groups of different lrs."""
    dev = {} if lib is torch else {"device": "cpu" if device == "cpu" else "cuda"}
    a = lib.tensor(np.ones(3), requires_grad=True, **dev)
    b = lib.tensor(np.ones(2), requires_grad=True, **dev)
    opts = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.1)}[name]
    opts.update(kw)
    return getattr(lib.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], **opts)


class Scale:
    """A callable object: LambdaLR saves its attributes in the state dict."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base ** epoch


SCHEDULERS = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "CosineAnnealingLR-long": lambda m, o: m.CosineAnnealingLR(o, T_max=40),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e)),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda e: 0.95 ** e, Scale(0.9)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=8),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=6),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=12, power=2.0),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=10),
            m.ExponentialLR(o, gamma=0.9)], milestones=[5, 15]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.8, epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(
        o, max_lr=1.0, total_steps=STEPS, cycle_momentum=False, div_factor=10.0),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                        mode="triangular2"),
    "CyclicLR-exp": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1,
                                            step_size_up=4, step_size_down=3,
                                            mode="exp_range", gamma=0.9),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=4, T_mult=2, eta_min=0.001),
}
NESTED = ("SequentialLR", "ChainedScheduler")


def group_momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def lr_sequence(lib, key, opt_name="SGD", steps=STEPS):
    opt = make_opt(lib, opt_name)
    sched = SCHEDULERS[key](lib.optim.lr_scheduler, opt)
    seq = [(list(sched.get_last_lr()), group_momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append((list(sched.get_last_lr()), group_momenta(opt)))
        assert [g["lr"] for g in opt.param_groups] == seq[-1][0]
    return seq, sched, opt


def assert_seq_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for i, ((lo, mo), (lt, mt)) in enumerate(zip(ours, theirs)):
        assert lo == pytest.approx(lt, rel=1e-14, abs=1e-17), f"lr at step {i}"
        assert mo == pytest.approx(mt, rel=1e-14, abs=1e-17), f"momentum at step {i}"


def strip(sd):
    """A scheduler state dict without the entries that are not plain values."""
    sd = dict(sd)
    if "_schedulers" in sd:
        sd["_schedulers"] = [strip(s) for s in sd["_schedulers"]]
    return sd


@pytest.mark.parametrize("key", list(SCHEDULERS))
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_lr_sequence_matches_torch(key, opt_name):
    ours, sched, opt = lr_sequence(disttorch, key, opt_name)
    theirs, t_sched, t_opt = lr_sequence(torch, key, opt_name)
    assert_seq_equal(ours, theirs)
    sd, t_sd = strip(sched.state_dict()), strip(t_sched.state_dict())
    assert list(sd) == list(t_sd)
    assert sd == t_sd
    # the optimizer's param groups carry the same scheduler entries (initial_lr, max_lr...)
    for g, tg in zip(opt.param_groups, t_opt.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == {
            k: v for k, v in tg.items() if k != "params"}


@pytest.mark.parametrize("key", list(SCHEDULERS))
def test_state_dict_round_trip(key):
    """Save after 10 steps, load into a fresh optimizer + scheduler, continue == uninterrupted."""
    full, _, _ = lr_sequence(disttorch, key)
    opt = make_opt(disttorch)
    sched = SCHEDULERS[key](disttorch.optim.lr_scheduler, opt)
    for _ in range(10):
        opt.step()
        sched.step()
    s_sd = pickle.loads(pickle.dumps(sched.state_dict()))
    o_sd = opt.state_dict()
    assert "optimizer" not in s_sd
    opt2 = make_opt(disttorch)
    sched2 = SCHEDULERS[key](disttorch.optim.lr_scheduler, opt2)
    sched2.load_state_dict(s_sd)
    opt2.load_state_dict(o_sd)
    assert sched2.get_last_lr() == full[10][0]
    rest = []
    for _ in range(STEPS - 10):
        opt2.step()
        sched2.step()
        rest.append((list(sched2.get_last_lr()), group_momenta(opt2)))
    assert_seq_equal(rest, full[11:])


@pytest.mark.parametrize("key", ["StepLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR",
                                 "SequentialLR", "CyclicLR"])
def test_load_torch_scheduler_state_dict(key):
    """A torch scheduler's state dict loads into ours (same layout) and continues alike."""
    t_opt = make_opt(torch)
    t_sched = SCHEDULERS[key](torch.optim.lr_scheduler, t_opt)
    for _ in range(7):
        t_opt.step()
        t_sched.step()
    opt = make_opt(disttorch)
    sched = SCHEDULERS[key](disttorch.optim.lr_scheduler, opt)
    sched.load_state_dict(copy.deepcopy(t_sched.state_dict()))
    for g, tg in zip(opt.param_groups, t_opt.param_groups):
        for k, v in tg.items():
            if k != "params":
                g[k] = v
    ours, theirs = [], []
    for _ in range(10):
        opt.step()
        sched.step()
        t_opt.step()
        t_sched.step()
        ours.append((list(sched.get_last_lr()), group_momenta(opt)))
        theirs.append((list(t_sched.get_last_lr()), group_momenta(t_opt)))
    assert_seq_equal(ours, theirs)


def test_lambda_state_dict_saves_callable_objects_only():
    opt = make_opt(disttorch)
    m = disttorch.optim.lr_scheduler
    sched = m.LambdaLR(opt, [lambda e: 0.5 ** e, Scale(0.9)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"base": 0.9}]
    t_opt = make_opt(torch)
    t_sd = torch.optim.lr_scheduler.LambdaLR(t_opt, [lambda e: 0.5 ** e, Scale(0.9)]).state_dict()
    assert list(sd) == list(t_sd) and sd == t_sd
    # loading restores the callable object's attributes
    sd["lr_lambdas"][1] = {"base": 0.5}
    sched2 = m.LambdaLR(make_opt(disttorch), [lambda e: 1.0, Scale(0.9)])
    sched2.load_state_dict(sd)
    assert sched2.lr_lambdas[1].base == 0.5
    assert "lr_lambdas" in sd


@pytest.mark.parametrize("key", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                 "LinearLR", "ConstantLR", "PolynomialLR", "LambdaLR"])
def test_step_with_epoch_uses_closed_form(key):
    res = []
    for lib in (torch, disttorch):
        opt = make_opt(lib)
        sched = SCHEDULERS[key](lib.optim.lr_scheduler, opt)
        seq = []
        for epoch in [3, 5, 9, 2, 14]:
            opt.step()
            with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
                sched.step(epoch)
            seq.append((list(sched.get_last_lr()), group_momenta(opt)))
        res.append(seq)
    assert_seq_equal(res[1], res[0])


def test_cosine_warm_restarts_fractional_epochs():
    res = []
    for lib in (torch, disttorch):
        opt = make_opt(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        seq = []
        for epoch in [0.5, 1.25, 3.0, 7.5, 20.1, 2.0]:
            opt.step()
            sched.step(epoch)
            seq.append((list(sched.get_last_lr()), [sched.T_cur, sched.T_i]))
        res.append(seq)
    assert_seq_equal(res[1], res[0])


@pytest.mark.parametrize("kw", [
    dict(),
    dict(patience=2),
    dict(mode="max", threshold_mode="abs", patience=1, cooldown=2, factor=0.5,
         min_lr=[0.02, 0.01]),
    dict(mode="min", threshold=0.1, threshold_mode="rel", patience=0, eps=1e-3),
])
def test_reduce_lr_on_plateau(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 0.3] * 3
    res = []
    for lib in (torch, disttorch):
        opt = make_opt(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seq.append((list(sched.get_last_lr()), [sched.num_bad_epochs]))
        res.append((seq, sched.state_dict()))
    assert_seq_equal(res[1][0], res[0][0])
    assert list(res[1][1]) == list(res[0][1]) and res[1][1] == res[0][1]
    # round trip
    opt = make_opt(disttorch)
    sched = disttorch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    sched.load_state_dict(res[1][1])
    assert sched.state_dict() == res[1][1]


def test_reduce_lr_on_plateau_accepts_tensor_metric():
    opt = make_opt(disttorch)
    sched = disttorch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(disttorch.tensor(1.0))
    sched.step(disttorch.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])


def test_tensor_lr_is_filled_in_place():
    res = []
    for lib in (torch, disttorch):
        p = lib.tensor([1.0], requires_grad=True)
        lr = lib.tensor(0.1, dtype=lib.float64)
        opt = lib.optim.SGD([p], lr=lr)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        seq = []
        for _ in range(6):
            opt.step()
            sched.step()
            assert opt.param_groups[0]["lr"] is lr
            last = sched.get_last_lr()[0]
            assert isinstance(last, lib.Tensor) and last is not lr
            seq.append(last.item())
        res.append(seq)
    assert res[0] == pytest.approx(res[1], rel=1e-15)


def test_initial_lr_and_base_lrs(device):
    opt = make_opt(disttorch, device=device)
    sched = disttorch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0
    opt.step()
    sched.step()
    assert sched.last_epoch == 1 and sched.get_last_lr() == [0.05, 0.025]
    # a second scheduler keeps the first initial_lr
    sched2 = disttorch.optim.lr_scheduler.StepLR(opt, step_size=1)
    assert sched2.base_lrs == [0.1, 0.05]


def test_resume_with_last_epoch():
    res = []
    for lib in (torch, disttorch):
        opt = make_opt(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        seq = [list(sched.get_last_lr())]
        for _ in range(8):
            opt.step()
            sched.step()
            seq.append(list(sched.get_last_lr()))
        res.append(seq)
    np.testing.assert_allclose(res[1], res[0], rtol=1e-14, atol=0)


def test_warnings():
    opt = make_opt(disttorch)
    sched = disttorch.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    opt = make_opt(disttorch)
    sched = disttorch.optim.lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
        sched.get_last_lr()


def _both_raise(fn, exc, match=None):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(disttorch)


def test_errors():
    S = lambda lib: lib.optim.lr_scheduler  # noqa: E731
    _both_raise(lambda m: S(m).StepLR(object(), 2), TypeError, "object is not an Optimizer")
    _both_raise(lambda m: S(m).ConstantLR(make_opt(m), factor=1.5), ValueError,
                "Constant multiplicative factor expected to be between 0 and 1.")
    _both_raise(lambda m: S(m).LinearLR(make_opt(m), start_factor=0), ValueError,
                "Starting multiplicative factor expected to be greater than 0")
    _both_raise(lambda m: S(m).LinearLR(make_opt(m), end_factor=2), ValueError,
                "Ending multiplicative factor expected to be between 0 and 1.")
    _both_raise(lambda m: S(m).LambdaLR(make_opt(m), [lambda e: 1.0]), ValueError,
                "Expected 2 lr_lambdas, but got 1")
    _both_raise(lambda m: S(m).MultiplicativeLR(make_opt(m), 3), TypeError,
                "lr_lambda should be a function, but got int")
    _both_raise(lambda m: S(m).StepLR(make_opt(m), 2, last_epoch=3), KeyError,
                "param 'initial_lr' is not specified in param_groups\\[0\\]")

    def seq_bad_milestones(m):
        o = make_opt(m)
        return S(m).SequentialLR(o, [S(m).StepLR(o, 2), S(m).StepLR(o, 3)], milestones=[])

    _both_raise(seq_bad_milestones, ValueError, "expects number of schedulers provided")
    _both_raise(lambda m: S(m).SequentialLR(make_opt(m), [], milestones=[]), ValueError,
                "SequentialLR expects at least one scheduler")

    def seq_plateau(m):
        o = make_opt(m)
        return S(m).SequentialLR(o, [S(m).StepLR(o, 2), S(m).ReduceLROnPlateau(o)], [3])

    _both_raise(seq_plateau, ValueError, "does not support `ReduceLROnPlateau`")

    def seq_other_optimizer(m):
        o = make_opt(m)
        return S(m).SequentialLR(o, [S(m).StepLR(make_opt(m), 2)], milestones=[])

    _both_raise(seq_other_optimizer, ValueError, "expects all schedulers to belong to the same")
    _both_raise(lambda m: S(m).ChainedScheduler([]), ValueError,
                "ChainedScheduler expects at least one scheduler")
    _both_raise(lambda m: S(m).OneCycleLR(make_opt(m), 1.0), ValueError,
                "You must define either total_steps OR")
    _both_raise(lambda m: S(m).OneCycleLR(make_opt(m), 1.0, total_steps=0), ValueError,
                "Expected positive integer total_steps, but got 0")
    _both_raise(lambda m: S(m).OneCycleLR(make_opt(m), 1.0, total_steps=5, pct_start=1.5),
                ValueError, "Expected float between 0 and 1 pct_start, but got 1.5")
    _both_raise(lambda m: S(m).OneCycleLR(make_opt(m), 1.0, total_steps=5,
                                          anneal_strategy="exp"),
                ValueError, "anneal_strategy must be one of 'cos' or 'linear'")
    _both_raise(lambda m: S(m).OneCycleLR(make_opt(m), [1.0], total_steps=5), ValueError,
                "max_lr must have the same length as optimizer.param_groups")

    def adagrad_cycle(m):
        p = m.tensor([1.0], requires_grad=True)
        return S(m).OneCycleLR(m.optim.Adagrad([p]), 1.0, total_steps=5)

    _both_raise(adagrad_cycle, ValueError, "optimizer must support momentum or beta1")

    def past_total(m):
        o = make_opt(m)
        s = S(m).OneCycleLR(o, 1.0, total_steps=3)
        for _ in range(4):
            o.step()
            s.step()

    _both_raise(past_total, ValueError, "Tried to step 4 times. The specified number of total")
    _both_raise(lambda m: S(m).ReduceLROnPlateau(make_opt(m), factor=1.0), ValueError,
                "Factor should be < 1.0.")
    _both_raise(lambda m: S(m).ReduceLROnPlateau(make_opt(m), mode="mid"), ValueError,
                "mode mid is unknown!")
    _both_raise(lambda m: S(m).ReduceLROnPlateau(make_opt(m), threshold_mode="x"), ValueError,
                "threshold mode x is unknown!")
    _both_raise(lambda m: S(m).ReduceLROnPlateau(make_opt(m), min_lr=[0.1]), ValueError,
                "expected 2 min_lrs, got 1")
    _both_raise(lambda m: S(m).CosineAnnealingWarmRestarts(make_opt(m), T_0=0), ValueError,
                "Expected positive integer T_0, but got 0")
    _both_raise(lambda m: S(m).CyclicLR(make_opt(m), 0.01, 0.1, mode="x"), ValueError,
                "mode is invalid and scale_fn is None")


def test_exports():
    m = disttorch.optim.lr_scheduler
    assert sorted(m.__all__) == sorted(torch.optim.lr_scheduler.__all__)
    for name in m.__all__:
        assert issubclass(getattr(m, name), m.LRScheduler)
    with pytest.raises(NotImplementedError):
        m.LRScheduler(make_opt(disttorch))
