"""nn.utils: gradient clipping and parameter/vector conversion, against torch."""
from __future__ import annotations

import math

import numpy as np
import pytest
from parity import need_torch, torch

import disttorch
from disttorch import nn
from disttorch.nn import utils


def _np(t):
    t = t.detach().cpu()
    return t.float().numpy() if t.dtype in (disttorch.float16, disttorch.bfloat16) else t.numpy()


def _tnp(t):
    t = t.detach()
    return t.float().numpy() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy()


def _pairs(grads, device="cpu", with_none=False):
    """torch and disttorch parameters with the given gradient arrays (None: no grad)."""
    ours, theirs = [], []
    for g in grads:
        shape = g.shape if g is not None else (2,)
        dt = g.dtype if g is not None else np.float32
        p = nn.Parameter(disttorch.zeros(shape, dtype=disttorch.tensor(np.zeros(0, dt)).dtype, device=device))
        q = torch.nn.Parameter(torch.zeros(shape, dtype=torch.from_numpy(np.zeros(0, dt)).dtype))
        if g is not None:
            p.grad = disttorch.tensor(g, device=device)
            q.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def _grads(seed=0, scale=1.0, dtype=np.float64, shapes=((3, 4), (5,), (), (2, 3, 2))):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]


def _compare(t_ours, t_theirs, rtol):
    assert str(t_ours.dtype).split(".")[-1] == str(t_theirs.dtype).split(".")[-1]
    assert tuple(t_ours.shape) == tuple(t_theirs.shape)
    np.testing.assert_allclose(_np(t_ours), _tnp(t_theirs), rtol=rtol, atol=1e-30, equal_nan=True)


NORMS = [1, 2, 2.0, float("inf"), "inf", 0.5, 3, 0, -float("inf"), -1.5]


@pytest.mark.parametrize("norm_type", NORMS)
@pytest.mark.parametrize("max_norm", [0.3, 1e6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_parity(device, norm_type, max_norm, dtype):
    need_torch()
    p = float(norm_type)
    shapes = ((3, 4), (5,), (), (2, 3, 2))
    if p >= 0 and not math.isinf(p):  # an empty grad only has an identity for these
        shapes += ((0, 3),)
    gs = _grads(dtype=dtype, shapes=shapes)
    gs[1][2] = 0.0  # a zero entry (the 0-norm counts non-zeros; negative p sees it)
    ours, theirs = _pairs(gs, device)
    n_ours = utils.clip_grad_norm_(ours, max_norm, norm_type)
    n_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    _compare(n_ours, n_theirs, rtol)
    assert n_ours.device.type == device
    for p, q in zip(ours, theirs):
        _compare(p.grad, q.grad, rtol)


@pytest.mark.parametrize("norm_type", [1, 2, float("inf"), 0.5])
def test_clipping_formula(norm_type):
    gs = _grads(seed=3, scale=2.0, shapes=((3, 4), (5,), (), (2, 3, 2)))
    ours = []
    for g in gs:
        p = nn.Parameter(disttorch.zeros(g.shape, dtype=disttorch.float64))
        p.grad = disttorch.tensor(g)
        ours.append(p)
    flat = np.concatenate([g.ravel() for g in gs])
    p = float(norm_type)
    expect = np.abs(flat).max() if math.isinf(p) else (np.abs(flat) ** p).sum() ** (1 / p)
    total = utils.clip_grad_norm_(ours, 1.0, norm_type)
    assert total.dtype == disttorch.float64 and total.shape == ()
    np.testing.assert_allclose(total.item(), expect, rtol=1e-12)
    coef = min(1.0 / (expect + 1e-6), 1.0)
    for par, g in zip(ours, gs):
        np.testing.assert_allclose(_np(par.grad), g * coef, rtol=1e-12)
    # clipped: the new total norm is max_norm (up to the 1e-6)
    np.testing.assert_allclose(utils.get_total_norm([q.grad for q in ours], norm_type).item(),
                               1.0, rtol=1e-5)


def test_no_clipping_below_max_norm():
    gs = _grads(seed=1, scale=1e-3)
    ours = []
    for g in gs:
        p = nn.Parameter(disttorch.zeros(g.shape, dtype=disttorch.float64))
        p.grad = disttorch.tensor(g)
        ours.append(p)
    before = [_np(p.grad).copy() for p in ours]
    utils.clip_grad_norm_(ours, 10.0)
    for p, b in zip(ours, before):
        np.testing.assert_array_equal(_np(p.grad), b)


def test_mixed_dtypes_and_half(device):
    need_torch()
    gs = [np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, -4.0], np.float64),
          np.array([[0.5, -0.25]], np.float16)]
    ours, theirs = _pairs(gs, device)
    n1 = utils.clip_grad_norm_(ours, 2.0)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, 2.0)
    _compare(n1, n2, 1e-6)
    for p, q in zip(ours, theirs):
        assert p.grad.dtype == getattr(disttorch, str(q.grad.dtype).split(".")[-1])
        np.testing.assert_allclose(_np(p.grad), _tnp(q.grad), rtol=1e-3)
    half = [np.random.default_rng(0).standard_normal((64,)).astype(np.float16)]
    ours, theirs = _pairs(half, device)
    n1 = utils.get_total_norm([p.grad for p in ours])
    n2 = torch.nn.utils.get_total_norm([q.grad for q in theirs])
    assert n1.dtype == disttorch.float16
    np.testing.assert_allclose(_np(n1), _tnp(n2), rtol=1e-3)


def test_single_tensor_generator_and_none_grads(device):
    need_torch()
    gs = [np.array([3.0, 4.0]), None, np.array([[12.0]])]
    ours, theirs = _pairs(gs, device)
    # a single tensor
    n1 = utils.clip_grad_norm_(ours[0], 1.0)
    n2 = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0)
    _compare(n1, n2, 1e-12)
    _compare(ours[0].grad, theirs[0].grad, 1e-12)
    # a generator, with a parameter that has no grad
    n1 = utils.clip_grad_norm_((p for p in ours), 0.5, foreach=False)
    n2 = torch.nn.utils.clip_grad_norm_((q for q in theirs), 0.5, foreach=False)
    _compare(n1, n2, 1e-12)
    assert ours[1].grad is None
    for p, q in zip(ours, theirs):
        if q.grad is not None:
            _compare(p.grad, q.grad, 1e-12)
    # foreach=True gives the same numbers
    n3 = utils.clip_grad_norm_(ours, 0.1, foreach=True)
    n4 = torch.nn.utils.clip_grad_norm_(theirs, 0.1, foreach=True)
    _compare(n3, n4, 1e-12)


def test_empty_parameters():
    for ps in ([], [nn.Parameter(disttorch.ones(3))]):  # nothing, or no grads
        n = utils.clip_grad_norm_(ps, 1.0)
        assert n.dtype == disttorch.float32 and n.shape == () and n.item() == 0.0
        assert utils.get_total_norm([]).item() == 0.0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator"):
        utils.clip_grad_norm_((p for p in []), 1.0)
    utils.clip_grads_with_norm_([], 1.0, disttorch.tensor(3.0))  # a no-op


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("norm_type", [2.0, 1, "inf"])
def test_error_if_nonfinite(bad, norm_type):
    need_torch()
    gs = [np.array([1.0, bad, 2.0]), np.array([3.0])]
    ours, theirs = _pairs(gs)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type, error_if_nonfinite=True)
    msg = (f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
           "non-finite, so it cannot be clipped")
    with pytest.raises(RuntimeError, match=msg):
        utils.clip_grad_norm_(ours, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.get_total_norm([p.grad for p in ours], norm_type, error_if_nonfinite=True)
    np.testing.assert_array_equal(_np(ours[0].grad), gs[0])  # untouched after the error
    # without the flag both scale by the non-finite norm
    n1 = utils.clip_grad_norm_(ours, 1.0, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    _compare(n1, n2, 1e-12)
    for p, q in zip(ours, theirs):
        _compare(p.grad, q.grad, 1e-12)


def test_empty_grad_with_inf_norm_errors():
    need_torch()
    ours, theirs = _pairs([np.zeros((0, 3))])
    for norm_type in ("inf", -float("inf"), -1):
        with pytest.raises(RuntimeError):
            torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
        with pytest.raises(RuntimeError, match="on an empty tensor"):
            utils.clip_grad_norm_(ours, 1.0, norm_type)
    assert utils.clip_grad_norm_(ours, 1.0, 2).item() == 0.0


@pytest.mark.parametrize("norm_type", [1, 2, float("inf"), 0.5])
def test_get_total_norm_and_clip_grads_with_norm(device, norm_type):
    need_torch()
    gs = _grads(seed=5)
    ours, theirs = _pairs(gs, device)
    n1 = utils.get_total_norm([p.grad for p in ours], norm_type)
    n2 = torch.nn.utils.get_total_norm([q.grad for q in theirs], norm_type)
    _compare(n1, n2, 1e-12)
    assert all(np.array_equal(_np(p.grad), g) for p, g in zip(ours, gs))  # no clipping
    # an externally supplied total norm (e.g. all-reduced across ranks)
    utils.clip_grads_with_norm_(ours, 0.7, n1 * 3)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.7, n2 * 3)
    for p, q in zip(ours, theirs):
        _compare(p.grad, q.grad, 1e-12)
    # a single tensor
    one = disttorch.tensor(gs[0], device=device)
    _compare(utils.get_total_norm(one, norm_type),
             torch.nn.utils.get_total_norm(torch.tensor(gs[0]), norm_type), 1e-12)


def test_clip_bumps_grad_version():
    p = nn.Parameter(disttorch.zeros(3))
    p.grad = disttorch.tensor([3.0, 4.0, 0.0])
    v = p.grad._version
    utils.clip_grad_norm_([p], 1.0)
    assert p.grad._version == v + 1
    utils.clip_grad_value_([p], 0.1)
    assert p.grad._version == v + 2


@pytest.mark.parametrize("clip_value", [0.5, 2, -1.0, 0.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_clip_grad_value_parity(device, clip_value, dtype):
    need_torch()
    gs = _grads(seed=2, scale=2.0, dtype=dtype)
    gs[0][0, 0] = np.nan
    gs[0][0, 1] = np.inf
    ours, theirs = _pairs(gs + [None], device)
    assert utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == getattr(disttorch, str(q.grad.dtype).split(".")[-1])
        np.testing.assert_array_equal(_np(p.grad), _tnp(q.grad))
    one = nn.Parameter(disttorch.zeros(2, device=device))
    one.grad = disttorch.tensor([5.0, -5.0], device=device)
    utils.clip_grad_value_(one, 1)
    np.testing.assert_array_equal(_np(one.grad), [1.0, -1.0])


def test_deprecated_clip_grad_norm():
    p = nn.Parameter(disttorch.zeros(2))
    p.grad = disttorch.tensor([3.0, 4.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        n = utils.clip_grad_norm(p, 1.0)
    assert abs(n.item() - 5.0) < 1e-6
    np.testing.assert_allclose(_np(p.grad), [0.6, 0.8], rtol=1e-5)


def test_training_loop_clipping(device):
    need_torch()
    # the clip after a real backward, compared with torch end to end
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    w = nn.Parameter(disttorch.tensor(w0, device=device))
    tw = torch.nn.Parameter(torch.tensor(w0))
    ((disttorch.tensor(x0, device=device) @ w.t()) ** 2).sum().backward()
    ((torch.tensor(x0) @ tw.t()) ** 2).sum().backward()
    _compare(utils.clip_grad_norm_([w], 1.0), torch.nn.utils.clip_grad_norm_([tw], 1.0), 1e-12)
    _compare(w.grad, tw.grad, 1e-12)


# -- parameters_to_vector / vector_to_parameters ------------------------------------------------
def _module_params(device="cpu"):
    m = nn.Module()
    m.a = nn.Parameter(disttorch.arange(6.0, device=device).reshape(2, 3))
    m.b = nn.Parameter(disttorch.tensor([10.0, 11.0], device=device))
    m.c = nn.Parameter(disttorch.tensor(12.0, device=device))
    m.d = nn.Parameter(disttorch.zeros(0, 4, device=device))
    return m


def test_parameters_to_vector(device):
    m = _module_params(device)
    v = utils.parameters_to_vector(m.parameters())
    assert v.shape == (9,) and v.device.type == device and v.dtype == disttorch.float32
    np.testing.assert_array_equal(_np(v), np.arange(13.0, dtype=np.float32)[[0, 1, 2, 3, 4, 5, 10, 11, 12]])
    # differentiable like torch.cat of views
    assert v.requires_grad and v.grad_fn is not None
    (v * disttorch.arange(9.0, device=device)).sum().backward()
    np.testing.assert_array_equal(_np(m.a.grad), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(_np(m.b.grad), [6.0, 7.0])
    assert m.c.grad.item() == 8.0
    if torch is not None:
        t = torch.nn.utils.parameters_to_vector(
            [torch.nn.Parameter(torch.tensor(_np(p))) for p in m.parameters()])
        np.testing.assert_array_equal(_np(v), t.detach().numpy())


def test_vector_round_trip(device):
    m = _module_params(device)
    vec = utils.parameters_to_vector(m.parameters()).detach() * 2 + 1
    utils.vector_to_parameters(vec, m.parameters())
    np.testing.assert_array_equal(_np(m.a), np.arange(6.0).reshape(2, 3) * 2 + 1)
    np.testing.assert_array_equal(_np(m.b), [21.0, 23.0])
    assert m.c.item() == 25.0 and m.c.shape == () and m.d.shape == (0, 4)
    for p in m.parameters():
        assert isinstance(p, nn.Parameter) and p.is_leaf and p.requires_grad
    np.testing.assert_array_equal(_np(utils.parameters_to_vector(m.parameters())), _np(vec))
    # like torch, the parameters now alias the vector
    vec[0] = 100.0
    assert m.a[0, 0].item() == 100.0


def test_vector_to_parameters_aliasing_like_torch():
    need_torch()
    tp = [torch.nn.Parameter(torch.zeros(2, 2)), torch.nn.Parameter(torch.zeros(3))]
    dp = [nn.Parameter(disttorch.zeros(2, 2)), nn.Parameter(disttorch.zeros(3))]
    tv, dv = torch.arange(7.0), disttorch.arange(7.0)
    torch.nn.utils.vector_to_parameters(tv, tp)
    utils.vector_to_parameters(dv, dp)
    tv.mul_(3)
    dv.mul_(3)
    for p, q in zip(dp, tp):
        np.testing.assert_array_equal(_np(p), q.detach().numpy())


@pytest.mark.parametrize("bad,name", [([1.0, 2.0], "list"), (3, "int"), (np.ones(2), "numpy.ndarray")])
def test_vector_to_parameters_type_error(bad, name):
    p = [nn.Parameter(disttorch.zeros(2))]
    with pytest.raises(TypeError, match=f"expected torch.Tensor, but got: {name}$"):
        utils.vector_to_parameters(bad, p)
    if torch is not None:
        with pytest.raises(TypeError, match=f"expected torch.Tensor, but got: {name}$"):
            torch.nn.utils.vector_to_parameters(bad, [torch.nn.Parameter(torch.zeros(2))])


def test_parameters_to_vector_errors():
    with pytest.raises(ValueError):
        utils.parameters_to_vector([])
    if torch is not None:
        with pytest.raises(ValueError):
            torch.nn.utils.parameters_to_vector([])


def test_mixed_devices_type_error():
    if not disttorch.cuda.is_available():
        pytest.skip("no cuda device")
    ps = [nn.Parameter(disttorch.zeros(2)), nn.Parameter(disttorch.zeros(2, device="cuda"))]
    msg = "Found two parameters on different devices, this is currently not supported."
    with pytest.raises(TypeError, match=msg):
        utils.parameters_to_vector(ps)
    with pytest.raises(TypeError, match=msg):
        utils.vector_to_parameters(disttorch.zeros(4), ps)


def test_clip_across_devices():
    if not disttorch.cuda.is_available():
        pytest.skip("no cuda device")
    a = nn.Parameter(disttorch.zeros(2))
    b = nn.Parameter(disttorch.zeros(1, device="cuda"))
    a.grad = disttorch.tensor([3.0, 0.0])
    b.grad = disttorch.tensor([4.0], device="cuda")
    n = utils.clip_grad_norm_([a, b], 1.0)
    assert n.device.type == "cpu" and abs(n.item() - 5.0) < 1e-6
    np.testing.assert_allclose(_np(a.grad), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(_np(b.grad), [0.8], rtol=1e-5)
    assert b.grad.device.type == "cuda"


def test_namespace():
    for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                 "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"):
        assert callable(getattr(nn.utils, name)) and name in nn.utils.__all__
