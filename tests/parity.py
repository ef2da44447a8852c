"""One-line op tests: the same lambda runs on torch and on disttorch.

``check(shapes, fn)`` draws inputs, runs ``fn`` on both libraries, and compares shape,
dtype and values of the outputs, then the gradients of every float input under a random
(non-uniform) upstream gradient. ``gradcheck(shapes, fn)`` runs disttorch's float64
finite-difference check and needs no torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

try:
    import torch
except ImportError:  # parity tests skip; gradchecks still run
    torch = None


def need_torch():
    """Skip the calling test when torch (the parity oracle) is not installed."""
    if torch is None:
        pytest.skip("torch is not installed: parity tests need it as the oracle")


def to_numpy(t):
    """A detached host numpy copy of a torch or disttorch tensor."""
    return t.detach().cpu().numpy()


def make_inputs(shapes, dtype="float64", low=-2.0, high=2.0, seed=0, vals=None):
    """numpy arrays: from ``vals`` lists, or uniform in [low, high) of ``shapes``."""
    rng = np.random.default_rng(seed)
    if vals is not None:
        return [np.asarray(v) if not isinstance(v, np.ndarray) else v for v in vals]
    out = []
    for s in shapes:
        if isinstance(s, np.ndarray):
            out.append(s)
        else:
            out.append(rng.uniform(low, high, size=s).astype(dtype))
    return out


def _dt_tensor(a, device, requires_grad):
    t = disttorch.tensor(a, device=device)
    return t.requires_grad_() if requires_grad else t


def _host(t):
    if isinstance(t, disttorch.Tensor):
        t = t.detach().cpu()
        return t.to(disttorch.float32).numpy() if t.dtype.name == "bfloat16" else t.numpy()
    return t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()


def _as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _compare(name, ours, theirs, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: shape {tuple(ours.shape)} != torch {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (
        f"{name}: dtype {ours.dtype} != torch {theirs.dtype}")
    a, b = _host(ours), _host(theirs)
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=name)
    else:
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=name, equal_nan=True)


def check(shapes, fn, dt_fn=None, *, dtype="float64", device="cpu", atol=1e-6, rtol=1e-5,
          grad_atol=None, grad_rtol=None, forward_only=False, vals=None, low=-2.0, high=2.0,
          requires_grad=None):
    """Run ``fn`` on torch and ``dt_fn or fn`` on disttorch with the same inputs; compare."""
    need_torch()
    dt_fn = dt_fn or fn
    arrays = make_inputs(shapes, dtype, low, high, vals=vals)
    floats = [a.dtype.kind == "f" for a in arrays]
    rg = [f and not forward_only for f in floats] if requires_grad is None else list(requires_grad)
    tt = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, rg)]
    dt = [_dt_tensor(a, device, r) for a, r in zip(arrays, rg)]
    t_out = _as_list(fn(*tt))
    d_out = _as_list(dt_fn(*dt))
    assert len(t_out) == len(d_out), f"{len(d_out)} outputs, torch gives {len(t_out)}"
    for i, (o, t) in enumerate(zip(d_out, t_out)):
        _compare(f"output {i}", o, t, atol, rtol)
        if isinstance(o, disttorch.Tensor):
            assert o.device == disttorch.device(device if device == "cpu" else "cuda:0")
    if not any(rg):
        return d_out
    rng = np.random.default_rng(1)
    t_diff = [(o, t) for o, t in zip(d_out, t_out) if t.requires_grad]
    if not t_diff:
        return d_out
    ups = [rng.uniform(0.5, 1.5, size=tuple(t.shape)).astype(_host(t).dtype) for _, t in t_diff]
    torch.autograd.backward([t for _, t in t_diff], [torch.tensor(u, dtype=t.dtype) for u, (_, t) in zip(ups, t_diff)])
    disttorch.autograd.backward(
        [o for o, _ in t_diff],
        [disttorch.tensor(u, device=device).to(o.dtype) for u, (o, _) in zip(ups, t_diff)])
    ga = grad_atol if grad_atol is not None else atol * 10
    gr = grad_rtol if grad_rtol is not None else rtol * 10
    for i, (d, t) in enumerate(zip(dt, tt)):
        if not t.requires_grad:
            continue
        if t.grad is None:
            assert d.grad is None or not _host(d.grad).any(), f"grad of input {i}: torch has none"
            continue
        assert d.grad is not None, f"grad of input {i} is None, torch has one"
        _compare(f"grad of input {i}", d.grad, t.grad, ga, gr)
    return d_out


def gradcheck(shapes, fn, *, device="cpu", vals=None, low=-2.0, high=2.0, atol=1e-5, rtol=1e-3,
              second_order=False):
    """float64 finite differences against disttorch's autograd (no torch needed)."""
    arrays = make_inputs(shapes, "float64", low, high, vals=vals)
    ins = [_dt_tensor(a, device, a.dtype.kind == "f") for a in arrays]
    assert disttorch.autograd.gradcheck(fn, ins, atol=atol, rtol=rtol)
    if second_order:
        assert disttorch.autograd.gradgradcheck(fn, ins, atol=atol, rtol=rtol)


def check_error(fn, exc_type, *inputs_torch_and_ours, match=None):
    """Both libraries raise ``exc_type`` (the same exception class torch uses)."""
    if torch is None:
        pytest.skip("torch is not installed")
    with pytest.raises(exc_type):
        fn(torch)
    with pytest.raises(exc_type, match=match):
        fn(disttorch)
