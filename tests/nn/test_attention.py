"""Attention and transformers: scaled_dot_product_attention, multi_head_attention_forward,
MultiheadAttention, TransformerEncoder/Decoder layers and stacks, Transformer.

Parity with torch (weights copied through state_dict) for outputs, attention weights,
every parameter grad and the input grads; float64 finite-difference and second-order
checks; dropout reproducibility; repr, state_dict keys, init; torch's exception types."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
from parity import check, check_error, gradcheck, need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn import functional as F


def _close(ours, theirs, name, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), atol=atol, rtol=rtol, err_msg=name,
                               equal_nan=True)


def _copy_state(ours, theirs, device):
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device)


def _randomize(theirs, rng):
    """Non-trivial values everywhere (zero biases / unit norms would hide mistakes)."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.6, 0.6, size=tuple(p.shape))))


def _tols(dtype):
    return (1e-10, 1e-8) if dtype == "float64" else (2e-5, 2e-4)


def _arg(lib, v, device):
    if isinstance(v, np.ndarray):
        return torch.tensor(v) if lib is torch else disttorch.tensor(v, device=device)
    return v


def module_parity(make, inputs, device, dtype="float64", kwargs=None, mode="eval", seed=0,
                  outputs=None, same_input=()):
    """Build ``make(lib)`` in both libraries, copy torch's (randomized) weights into ours,
    call both with ``inputs`` (numpy arrays; float ones require grad) and ``kwargs`` (numpy
    arrays become tensors), and compare every output, input grad and parameter grad.
    ``same_input`` lists groups of input indices that are passed as one tensor object."""
    need_torch()
    atol, rtol = _tols(dtype)
    rng = np.random.default_rng(seed)
    theirs = make(torch).to(getattr(torch, dtype))
    _randomize(theirs, rng)
    ours = _copy_state(make(disttorch).to(getattr(disttorch, dtype)), theirs, device)
    assert repr(ours) == repr(theirs).replace("torch.", "disttorch.")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.train(mode == "train")
    ours.train(mode == "train")
    arrays = [a.astype(dtype) for a in inputs]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    dx = [disttorch.tensor(a, device=device, requires_grad=True) for a in arrays]
    for group in same_input:
        for i in group[1:]:
            tx[i], dx[i] = tx[group[0]], dx[group[0]]
    kwargs = kwargs or {}
    tk = {k: _arg(torch, v, device) for k, v in kwargs.items()}
    dk = {k: _arg(disttorch, v, device) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, dy = theirs(*tx, **tk), ours(*dx, **dk)
    ty = list(ty) if isinstance(ty, tuple) else [ty]
    dy = list(dy) if isinstance(dy, tuple) else [dy]
    assert len(ty) == len(dy)
    t_out, d_out = [], []
    for i, (a, b) in enumerate(zip(dy, ty)):
        if b is None:
            assert a is None, f"output {i}: torch returns None"
            continue
        _close(a, b, f"output {i}", atol, rtol)
        t_out.append(b)
        d_out.append(a)
    ups = [rng.uniform(0.5, 1.5, size=tuple(t.shape)).astype(dtype) for t in t_out]
    torch.autograd.backward(t_out, [torch.tensor(u) for u in ups])
    disttorch.autograd.backward(d_out, [disttorch.tensor(u, device=device) for u in ups])
    for i, (a, b) in enumerate(zip(dx, tx)):
        _close(a.grad, b.grad, f"grad of input {i}", atol * 10, rtol * 10)
    tp, dp = dict(theirs.named_parameters()), dict(ours.named_parameters())
    assert list(tp) == list(dp)
    for k in tp:
        if tp[k].grad is None:
            assert dp[k].grad is None or not to_numpy(dp[k].grad).any(), k
            continue
        _close(dp[k].grad, tp[k].grad, f"grad of {k}", atol * 10, rtol * 10)
    return ours, theirs


# ===================================================================================== SDPA
def _sdpa(**kw):
    return lambda q, k, v: (torch if isinstance(q, torch.Tensor) else disttorch).nn.functional \
        .scaled_dot_product_attention(q, k, v, **kw)


def _sdpa_mask(mask_np, **kw):
    def fn(q, k, v):
        lib = torch if isinstance(q, torch.Tensor) else disttorch
        m = torch.tensor(mask_np) if lib is torch else disttorch.tensor(mask_np, device=q.device)
        return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)
    return fn


_RNG = np.random.default_rng(7)
_BOOL_MASK = _RNG.random((4, 5)) > 0.4
_BOOL_MASK[1] = False  # a fully masked row: torch gives zeros, not NaN
_FLOAT_MASK = _RNG.normal(size=(4, 5))
_NEG_INF_MASK = np.where(_BOOL_MASK, 0.0, -np.inf)

SDPA_CASES = {
    "plain": ([(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], _sdpa()),
    "unbatched": ([(4, 8), (5, 8), (5, 6)], _sdpa()),
    "3d": ([(3, 4, 8), (3, 5, 8), (3, 5, 6)], _sdpa()),
    "broadcast_batch": ([(2, 3, 4, 8), (3, 5, 8), (1, 3, 5, 6)], _sdpa()),
    "causal": ([(2, 4, 8), (2, 5, 8), (2, 5, 6)], _sdpa(is_causal=True)),
    "causal_tall": ([(2, 6, 8), (2, 4, 8), (2, 4, 6)], _sdpa(is_causal=True)),
    "scale": ([(2, 4, 8), (2, 5, 8), (2, 5, 6)], _sdpa(scale=0.37)),
    "negative_scale": ([(2, 4, 8), (2, 5, 8), (2, 5, 6)], _sdpa(scale=-1.0)),
    "bool_mask": ([(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], _sdpa_mask(_BOOL_MASK)),
    "bool_mask_3d": ([(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)],
                     _sdpa_mask(_RNG.random((3, 4, 5)) > 0.3)),
    "float_mask": ([(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], _sdpa_mask(_FLOAT_MASK)),
    "neg_inf_mask": ([(2, 4, 8), (2, 5, 8), (2, 5, 6)], _sdpa_mask(_NEG_INF_MASK)),
    "gqa": ([(2, 4, 3, 8), (2, 2, 5, 8), (2, 1, 5, 6)], _sdpa(enable_gqa=True)),
    "empty_batch": ([(0, 2, 3, 4), (0, 2, 5, 4), (0, 2, 5, 3)], _sdpa()),
}


@pytest.mark.parametrize("case", SDPA_CASES)
def test_sdpa_parity(case, device):
    shapes, fn = SDPA_CASES[case]
    check(shapes, fn, device=device, atol=1e-10, rtol=1e-8)


def test_sdpa_float32_parity(device):
    check([(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], _sdpa_mask(_FLOAT_MASK.astype(np.float32)),
          dtype="float32", device=device, atol=1e-5, rtol=1e-4)


def test_sdpa_float_mask_gets_grad(device):
    need_torch()
    rng = np.random.default_rng(3)
    q, k, v, m = (rng.normal(size=s) for s in [(2, 4, 8), (2, 5, 8), (2, 5, 6), (4, 5)])
    check([q, k, v, m], lambda q, k, v, m: (torch if isinstance(q, torch.Tensor) else disttorch)
          .nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m), device=device,
          atol=1e-10, rtol=1e-8)


def test_sdpa_float32_mask_with_float64_query():
    check([(2, 4, 8), (2, 5, 8), (2, 5, 6)], _sdpa_mask(_FLOAT_MASK.astype(np.float32)),
          atol=1e-6, rtol=1e-5)


def test_sdpa_fully_masked_rows_are_zero_with_zero_grads():
    q = disttorch.randn(1, 3, 4, dtype=disttorch.float64, requires_grad=True)
    k = disttorch.randn(1, 5, 4, dtype=disttorch.float64, requires_grad=True)
    v = disttorch.randn(1, 5, 2, dtype=disttorch.float64, requires_grad=True)
    mask = disttorch.ones(3, 5, dtype=disttorch.bool)
    mask[0] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert (out[0, 0] == 0).all().item()
    out.sum().backward()
    assert (q.grad[0, 0] == 0).all().item()
    assert np.isfinite(to_numpy(k.grad)).all()


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.5}], ids=str)
def test_sdpa_gradcheck(kw, device):
    gradcheck([(2, 3, 4), (2, 5, 4), (2, 5, 3)],
              lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw), device=device,
              second_order=True)


def test_sdpa_gradcheck_masks(device):
    mask = disttorch.tensor(_BOOL_MASK[:3], device=device)
    gradcheck([(2, 3, 4), (2, 5, 4), (2, 5, 3)],
              lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), device=device,
              second_order=True)
    gradcheck([(2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)],
              lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), device=device,
              second_order=True)


def test_sdpa_gqa_gradcheck():
    gradcheck([(1, 4, 2, 3), (1, 2, 3, 3), (1, 1, 3, 2)],
              lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))


def test_sdpa_dropout_uses_the_generator(device):
    q, k, v = (disttorch.randn(2, 3, 6, 4, device=device) for _ in range(3))
    plain = F.scaled_dot_product_attention(q, k, v)
    disttorch.manual_seed(11)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    disttorch.manual_seed(11)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert not np.allclose(to_numpy(a), to_numpy(plain))
    zero = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    assert not to_numpy(zero).any()


def test_sdpa_dropout_grad_matches_its_mask():
    q = disttorch.randn(2, 4, 3, dtype=disttorch.float64, requires_grad=True)
    k = disttorch.randn(2, 5, 3, dtype=disttorch.float64)
    v = disttorch.randn(2, 5, 3, dtype=disttorch.float64)

    def f(q):
        disttorch.manual_seed(5)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    assert disttorch.autograd.gradcheck(f, [q])


@pytest.mark.parametrize("fn", [
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), attn_mask=t.ones(3, 5, dtype=t.bool),
        is_causal=True),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), attn_mask=t.ones(3, 5, dtype=t.int64)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), attn_mask=t.ones(3, 5, dtype=t.float64)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4, dtype=t.float64), t.ones(2, 5, 4)),
    lambda t: t.nn.functional.scaled_dot_product_attention(t.ones(4), t.ones(4), t.ones(4)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 3), t.ones(2, 5, 4)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 6, 4)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(1, 3, 2, 4), t.ones(1, 2, 5, 4), t.ones(1, 2, 5, 4), enable_gqa=True),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), dropout_p=1.5),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), attn_mask=t.ones(3, 4)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(2, 3, 4), t.ones(2, 5, 4), t.ones(2, 5, 4), attn_mask=t.ones(2, 1, 3, 5)),
    lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(3, 4), t.ones(5, 4), t.ones(5, 4), attn_mask=t.ones(2, 3, 5, dtype=t.bool)),
], ids=["both_masks", "int_mask", "double_mask_float_query", "dtype_mismatch", "1d", "head_dim",
        "value_len", "gqa_heads", "dropout_p", "mask_shape", "mask_grows_batch",
        "bool_mask_grows_batch"])
def test_sdpa_errors(fn):
    check_error(fn, RuntimeError)


def test_sdpa_error_messages():
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(disttorch.ones(3, 4), disttorch.ones(5, 4), disttorch.ones(5, 4),
                                       attn_mask=disttorch.ones(3, 5), is_causal=True)
    with pytest.raises(RuntimeError, match=r"output with shape \[2, 3, 5\] doesn't match the broadcast shape \[2, 2, 3, 5\]"):
        F.scaled_dot_product_attention(disttorch.ones(2, 3, 4), disttorch.ones(2, 5, 4), disttorch.ones(2, 5, 4),
                                       attn_mask=disttorch.ones(2, 1, 3, 5))
    with pytest.raises(RuntimeError, match=r"batch2 tensor to be: \[2, 4\] but got: \[2, 3\]"):
        F.scaled_dot_product_attention(disttorch.ones(2, 3, 4), disttorch.ones(2, 5, 3),
                                       disttorch.ones(2, 5, 4))


# ====================================================================== MultiheadAttention
def _mha(e=8, h=2, **kw):
    return lambda lib: lib.nn.MultiheadAttention(e, h, **kw)


def _qkv(tgt=4, src=5, batch=3, e=8, kdim=None, vdim=None, batch_first=False, batched=True, seed=1):
    rng = np.random.default_rng(seed)

    def shape(n, f):
        if not batched:
            return (n, f)
        return (batch, n, f) if batch_first else (n, batch, f)
    return [rng.normal(size=shape(tgt, e)), rng.normal(size=shape(src, kdim or e)),
            rng.normal(size=shape(src, vdim or e))]


_M = np.random.default_rng(2)
MHA_CASES = {
    "default": ({}, {}, {}),
    "bool_attn_mask": ({}, {}, {"attn_mask": _M.random((4, 5)) > 0.6}),
    "float_attn_mask": ({}, {}, {"attn_mask": _M.normal(size=(4, 5))}),
    "attn_mask_3d": ({}, {}, {"attn_mask": _M.normal(size=(6, 4, 5))}),
    "key_padding_mask": ({}, {}, {"key_padding_mask": np.array([[0, 0, 1, 0, 1], [0, 0, 0, 0, 0],
                                                                  [1, 0, 0, 1, 1]], dtype=bool)}),
    "float_key_padding_mask": ({}, {}, {"key_padding_mask": _M.normal(size=(3, 5))}),
    "both_masks": ({}, {}, {"attn_mask": _M.random((4, 5)) > 0.7,
                            "key_padding_mask": _M.random((3, 5)) > 0.7}),
    "batch_first": ({"batch_first": True}, {"batch_first": True}, {}),
    "batch_first_masks": ({"batch_first": True}, {"batch_first": True},
                          {"attn_mask": _M.normal(size=(4, 5)), "key_padding_mask": _M.random((3, 5)) > 0.7}),
    "unbatched": ({}, {"batched": False}, {}),
    "unbatched_masks": ({}, {"batched": False}, {"attn_mask": _M.normal(size=(2, 4, 5)),
                                                 "key_padding_mask": np.array([0, 1, 0, 0, 0], bool)}),
    "kdim_vdim": ({"kdim": 3, "vdim": 6}, {"kdim": 3, "vdim": 6}, {}),
    "kdim_vdim_masks": ({"kdim": 3, "vdim": 6, "batch_first": True},
                        {"kdim": 3, "vdim": 6, "batch_first": True},
                        {"attn_mask": _M.random((4, 5)) > 0.7}),
    "add_bias_kv": ({"add_bias_kv": True}, {}, {}),
    "add_zero_attn": ({"add_zero_attn": True}, {}, {}),
    "bias_kv_zero_attn_masks": ({"add_bias_kv": True, "add_zero_attn": True}, {},
                                {"attn_mask": _M.random((4, 5)) > 0.7,
                                 "key_padding_mask": _M.random((3, 5)) > 0.7}),
    "no_weights": ({}, {}, {"need_weights": False}),
    "no_weights_masks": ({}, {}, {"need_weights": False, "attn_mask": _M.normal(size=(4, 5)),
                                  "key_padding_mask": _M.random((3, 5)) > 0.7}),
    "per_head_weights": ({}, {}, {"average_attn_weights": False}),
    "no_bias": ({"bias": False}, {}, {}),
    "four_heads": ({"num_heads": 4}, {}, {"average_attn_weights": False}),
}


@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_parity(case, device):
    ctor, shape, kwargs = MHA_CASES[case]
    ctor = dict(ctor)
    H = ctor.pop("num_heads", 2)
    module_parity(_mha(8, H, **ctor), _qkv(**shape), device, kwargs=kwargs)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_parity(batch_first, need_weights, device):
    x = _qkv(tgt=5, batch_first=batch_first)[0]
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    module_parity(_mha(8, 2, batch_first=batch_first), [x, x, x], device, same_input=[(0, 1, 2)],
                  kwargs={"attn_mask": mask, "need_weights": need_weights})


def test_mha_key_is_value_parity(device):
    q, k, _ = _qkv()
    module_parity(_mha(), [q, k, k], device, same_input=[(1, 2)])


def test_mha_float32_parity(device):
    module_parity(_mha(), _qkv(), device, dtype="float32",
                  kwargs={"key_padding_mask": _M.random((3, 5)) > 0.7})


def test_mha_causal_hint_parity(device):
    need_torch()
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 2, 8))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5).double()
    tm = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64)
    dm = _copy_state(nn.MultiheadAttention(8, 2, dtype=disttorch.float64), tm, device)
    tx = torch.tensor(x, requires_grad=True)
    dx = disttorch.tensor(x, device=device, requires_grad=True)
    ty, _ = tm(tx, tx, tx, attn_mask=mask, is_causal=True, need_weights=False)
    dy, dw = dm(dx, dx, dx, attn_mask=disttorch.tensor(mask.numpy(), device=device), is_causal=True,
                need_weights=False)
    assert dw is None
    _close(dy, ty, "output", 1e-10, 1e-8)
    ty.sum().backward()
    dy.sum().backward()
    _close(dx.grad, tx.grad, "input grad", 1e-9, 1e-7)


def test_mha_train_mode_dropout(device):
    m = nn.MultiheadAttention(8, 2, dropout=0.5).to(device)
    x = disttorch.randn(4, 3, 8, device=device)
    m.eval()
    ref, _ = m(x, x, x)
    m.train()
    disttorch.manual_seed(3)
    a, wa = m(x, x, x)
    disttorch.manual_seed(3)
    b, wb = m(x, x, x)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    np.testing.assert_array_equal(to_numpy(wa), to_numpy(wb))
    assert not np.allclose(to_numpy(a), to_numpy(ref))


def test_mha_functional_separate_weights_and_static_kv():
    need_torch()
    rng = np.random.default_rng(5)
    E, H, L, S, B = 6, 3, 4, 5, 2
    arrays = {
        "q": rng.normal(size=(L, B, E)), "k": rng.normal(size=(S, B, E)), "v": rng.normal(size=(S, B, E)),
        "wq": rng.normal(size=(E, E)), "wk": rng.normal(size=(E, E)), "wv": rng.normal(size=(E, E)),
        "b": rng.normal(size=(3 * E,)), "wo": rng.normal(size=(E, E)), "bo": rng.normal(size=(E,)),
        "sk": rng.normal(size=(B * H, S, E // H)), "sv": rng.normal(size=(B * H, S, E // H)),
    }

    def run(lib, a, static):
        f = lib.nn.functional.multi_head_attention_forward
        return f(a["q"], a["k"], a["v"], E, H, None, a["b"], None, None, False, 0.0, a["wo"], a["bo"],
                 use_separate_proj_weight=True, q_proj_weight=a["wq"], k_proj_weight=a["wk"],
                 v_proj_weight=a["wv"], static_k=a["sk"] if static else None,
                 static_v=a["sv"] if static else None)
    for static in (False, True):
        ta = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
        da = {k: disttorch.tensor(v, requires_grad=True) for k, v in arrays.items()}
        to, tw = run(torch, ta, static)
        do, dw = run(disttorch, da, static)
        _close(do, to, "output", 1e-10, 1e-8)
        _close(dw, tw, "weights", 1e-10, 1e-8)
        (to.sum() + (tw * torch.arange(S, dtype=torch.float64)).sum()).backward()
        (do.sum() + (dw * disttorch.arange(S, dtype=disttorch.float64)).sum()).backward()
        for k in arrays:
            if ta[k].grad is not None:
                _close(da[k].grad, ta[k].grad, f"grad of {k}", 1e-9, 1e-7)


def test_mha_functional_gradcheck():
    E, H = 4, 2
    w = disttorch.randn(3 * E, E, dtype=disttorch.float64)
    b = disttorch.randn(3 * E, dtype=disttorch.float64)
    wo = disttorch.randn(E, E, dtype=disttorch.float64)
    mask = disttorch.tensor([[0.0, -1.0, 0.5], [0.2, 0.0, -0.3]], dtype=disttorch.float64)

    def f(q, k, v):
        out, weights = F.multi_head_attention_forward(q, k, v, E, H, w, b, None, None, False, 0.0, wo,
                                                      None, attn_mask=mask)
        return out, weights
    gradcheck([(2, 2, E), (3, 2, E), (3, 2, E)], f, second_order=True)


def test_mha_state_dict_repr_and_attributes():
    need_torch()
    for kw in [{}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True}, {"bias": False},
               {"add_bias_kv": True, "kdim": 2, "vdim": 2, "add_zero_attn": True}]:
        t, d = torch.nn.MultiheadAttention(8, 2, **kw), nn.MultiheadAttention(8, 2, **kw)
        assert list(d.state_dict()) == list(t.state_dict())
        assert [n for n, _ in d.named_parameters()] == [n for n, _ in t.named_parameters()]
        assert repr(d) == repr(t)
        for attr in ("embed_dim", "kdim", "vdim", "_qkv_same_embed_dim", "num_heads", "dropout",
                     "batch_first", "head_dim", "add_zero_attn"):
            assert getattr(d, attr) == getattr(t, attr), attr
        assert (d.bias_k is None) == (t.bias_k is None)
        assert d.in_proj_weight is None if "kdim" in kw else tuple(d.in_proj_weight.shape) == (24, 8)


def test_mha_init_distribution():
    E = 64
    m = nn.MultiheadAttention(E, 4, add_bias_kv=True)
    w = to_numpy(m.in_proj_weight)
    bound = math.sqrt(6.0 / (E + 3 * E))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert not to_numpy(m.in_proj_bias).any() and not to_numpy(m.out_proj.bias).any()
    wo = to_numpy(m.out_proj.weight)
    assert np.abs(wo).max() <= 1 / math.sqrt(E) and np.abs(wo).max() > 0.9 / math.sqrt(E)
    bk = np.concatenate([to_numpy(m.bias_k).ravel(), to_numpy(m.bias_v).ravel()])
    assert abs(bk.std() - 1 / math.sqrt(E)) < 0.3 / math.sqrt(E)
    sep = nn.MultiheadAttention(E, 4, kdim=32, vdim=16)
    kb = math.sqrt(6.0 / (E + 32))
    assert np.abs(to_numpy(sep.k_proj_weight)).max() <= kb
    assert np.abs(to_numpy(sep.k_proj_weight)).max() > 0.9 * kb


def test_mha_out_proj_is_a_linear():
    m = nn.MultiheadAttention(8, 2)
    assert isinstance(m.out_proj, nn.Linear)
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"


@pytest.mark.parametrize("fn, exc", [
    (lambda t: t.nn.MultiheadAttention(8, 3), AssertionError),
    (lambda t: t.nn.MultiheadAttention(0, 2), ValueError),
    (lambda t: t.nn.MultiheadAttention(8, 0), ValueError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 4)),
     AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 8), t.ones(5, 2, 8)),
     AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(1, 4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8)),
     AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 4), t.ones(5, 2, 4), t.ones(5, 2, 4)),
     AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             attn_mask=t.ones(4, 4)), RuntimeError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             attn_mask=t.ones(3, 4, 5)), RuntimeError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             attn_mask=t.ones(4, 5, dtype=t.int64)), AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             key_padding_mask=t.ones(2, 4, dtype=t.bool)), AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             key_padding_mask=t.ones(2, 5, 1, dtype=t.bool)), AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             is_causal=True), RuntimeError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 8), t.ones(5, 8), t.ones(5, 8),
                                             attn_mask=t.ones(3, 4, 5)), AssertionError),
    (lambda t: t.nn.MultiheadAttention(8, 2)(t.ones(4, 2, 8), t.ones(5, 2, 8), t.ones(5, 2, 8),
                                             attn_mask=t.ones(4, 5, dtype=t.float64)), RuntimeError),
], ids=["indivisible", "zero_embed", "zero_heads", "kv_shape", "key_dims", "query_dims", "embed_dim",
        "mask_2d_shape", "mask_3d_shape", "int_mask", "kpm_shape", "kpm_dims", "causal_no_mask",
        "unbatched_mask_3d", "mask_dtype"])
def test_mha_errors(fn, exc):
    check_error(fn, exc)


def test_mha_error_messages():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(8, 3)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is .*\[4, 4\].*, but should be \(4, 5\)\."):
        m(disttorch.ones(4, 2, 8), disttorch.ones(5, 2, 8), disttorch.ones(5, 2, 8),
          attn_mask=disttorch.ones(4, 4))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 4"):
        F.multi_head_attention_forward(disttorch.ones(4, 2, 4), disttorch.ones(5, 2, 4),
                                       disttorch.ones(5, 2, 4), 8, 2, m.in_proj_weight, m.in_proj_bias,
                                       None, None, False, 0.0, m.out_proj.weight, m.out_proj.bias)


def test_mha_mismatched_mask_types_warn():
    m = nn.MultiheadAttention(8, 2)
    x = disttorch.randn(4, 2, 8)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask"):
        m(x, x, x, attn_mask=disttorch.zeros(4, 4), key_padding_mask=disttorch.zeros(2, 4, dtype=disttorch.bool))


# =========================================================================== transformers
def _enc_layer(**kw):
    return lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, **kw)


def _src(n=5, batch=3, e=8, batch_first=False, batched=True, seed=6):
    rng = np.random.default_rng(seed)
    if not batched:
        return rng.normal(size=(n, e))
    return rng.normal(size=(batch, n, e) if batch_first else (n, batch, e))


_CAUSAL = np.triu(np.full((5, 5), -np.inf), 1)
ENC_CASES = {
    "post_norm": ({}, {}, {}),
    "norm_first": ({"norm_first": True}, {}, {}),
    "gelu": ({"activation": "gelu"}, {}, {}),
    "gelu_module": ({"activation": "gelu_module"}, {}, {}),
    "batch_first": ({"batch_first": True}, {"batch_first": True}, {}),
    "batch_first_norm_first_gelu": ({"batch_first": True, "norm_first": True, "activation": "gelu"},
                                    {"batch_first": True}, {}),
    "unbatched": ({}, {"batched": False}, {}),
    "no_bias": ({"bias": False}, {}, {}),
    "eps": ({"layer_norm_eps": 1e-3}, {}, {}),
    "causal_mask": ({}, {}, {"src_mask": _CAUSAL}),
    "causal_hint": ({}, {}, {"src_mask": _CAUSAL, "is_causal": True}),
    "bool_mask": ({}, {}, {"src_mask": np.triu(np.ones((5, 5), bool), 1)}),
    "padding": ({}, {}, {"src_key_padding_mask": np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0],
                                                           [0, 1, 0, 0, 1]], bool)}),
    "padding_and_mask": ({"norm_first": True}, {}, {
        "src_mask": _CAUSAL, "src_key_padding_mask": np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0],
                                                               [0, 1, 0, 0, 1]], bool)}),
}


def _with_activation(kw):
    kw = dict(kw)
    if kw.get("activation") == "gelu_module":
        return lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, **{**kw, "activation": lib.nn.GELU()})
    return _enc_layer(**kw)


@pytest.mark.parametrize("case", ENC_CASES)
def test_encoder_layer_parity(case, device):
    ctor, shape, kwargs = ENC_CASES[case]
    module_parity(_with_activation(ctor), [_src(**shape)], device, kwargs=kwargs)


def test_encoder_layer_float32_parity(device):
    module_parity(_enc_layer(norm_first=True), [_src()], device, dtype="float32",
                  kwargs={"src_mask": _CAUSAL.astype(np.float32)})


def test_encoder_layer_train_mode_dropout(device):
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3).to(device)
    x = disttorch.randn(5, 3, 8, device=device)
    layer.eval()
    ref = layer(x)
    layer.train()
    disttorch.manual_seed(21)
    a = layer(x)
    disttorch.manual_seed(21)
    b = layer(x)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert not np.allclose(to_numpy(a), to_numpy(ref))
    disttorch.manual_seed(22)
    c = layer(x)
    assert not np.allclose(to_numpy(a), to_numpy(c))


def test_encoder_layer_attributes():
    need_torch()
    for act in ("relu", "gelu"):
        t = torch.nn.TransformerEncoderLayer(8, 2, 16, activation=act)
        d = nn.TransformerEncoderLayer(8, 2, 16, activation=act)
        assert d.activation_relu_or_gelu == t.activation_relu_or_gelu
        assert d.norm_first == t.norm_first
    assert nn.TransformerEncoderLayer(8, 2, activation=nn.ReLU()).activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(8, 2, activation=disttorch.tanh).activation_relu_or_gelu == 0
    assert nn.TransformerEncoderLayer(8, 2).linear1.out_features == 2048


def test_encoder_layer_bad_activation():
    check_error(lambda t: t.nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_encoder_layer_gradcheck():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=disttorch.float64)
    gradcheck([(3, 2, 4)], lambda x: layer(x))
    pre = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, activation="gelu",
                                     dtype=disttorch.float64)
    gradcheck([(3, 4)], lambda x: pre(x))


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_parity(batch_first, device):
    kw = {"mask": _CAUSAL, "src_key_padding_mask": np.array([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0],
                                                             [0, 1, 0, 0, 0]], bool)}

    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=batch_first)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8), enable_nested_tensor=False)
    _encoder_parity(make, [_src(batch_first=batch_first)], device, kw)
    _encoder_parity(make, [_src(batch_first=batch_first)], device, {"mask": _CAUSAL, "is_causal": True})


def _encoder_parity(make, inputs, device, kwargs):
    """module_parity without the repr check (ModuleList reprs are compared per layer)."""
    need_torch()
    rng = np.random.default_rng(0)
    theirs = make(torch).double()
    _randomize(theirs, rng)
    ours = _copy_state(make(disttorch).double(), theirs, device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for a, b in zip(ours.layers, theirs.layers):
        assert repr(a) == repr(b)
    theirs.eval()
    ours.eval()
    tx = [torch.tensor(a, requires_grad=True) for a in inputs]
    dx = [disttorch.tensor(a, device=device, requires_grad=True) for a in inputs]
    tk = {k: _arg(torch, v, device) for k, v in kwargs.items()}
    dk = {k: _arg(disttorch, v, device) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float mask with a bool padding mask: both warn
        ty, dy = theirs(*tx, **tk), ours(*dx, **dk)
    _close(dy, ty, "output", 1e-10, 1e-8)
    up = rng.uniform(0.5, 1.5, size=tuple(ty.shape))
    ty.backward(torch.tensor(up))
    dy.backward(disttorch.tensor(up, device=device))
    for a, b in zip(dx, tx):
        _close(a.grad, b.grad, "input grad", 1e-9, 1e-7)
    tp = dict(theirs.named_parameters())
    for k, p in ours.named_parameters():
        _close(p.grad, tp[k].grad, f"grad of {k}", 1e-9, 1e-7)


def test_encoder_layers_are_deep_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.num_layers == 3
    ids = {id(p) for p in enc.parameters()}
    assert len(ids) == 3 * len(list(layer.parameters()))
    assert all(p is not q for p, q in zip(enc.layers[0].parameters(), layer.parameters()))
    np.testing.assert_array_equal(to_numpy(enc.layers[2].linear1.weight), to_numpy(layer.linear1.weight))


def test_encoder_nested_tensor_warning():
    need_torch()
    with pytest.warns(UserWarning, match="self.use_nested_tensor is False because encoder_layer.self_attn.batch_first"):
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 2)
    assert enc.use_nested_tensor is False and enc.enable_nested_tensor is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, batch_first=True), 2)
        theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, batch_first=True), 2)
    assert ours.use_nested_tensor == theirs.use_nested_tensor


def test_decoder_layer_parity(device):
    rng = np.random.default_rng(9)
    tgt, mem = rng.normal(size=(4, 3, 8)), rng.normal(size=(5, 3, 8))
    tmask = np.triu(np.full((4, 4), -np.inf), 1)
    for kw in [{}, {"norm_first": True, "activation": "gelu"}]:
        module_parity(lambda lib, kw=kw: lib.nn.TransformerDecoderLayer(8, 2, 16, **kw), [tgt, mem], device,
                      kwargs={"tgt_mask": tmask,
                              "memory_key_padding_mask": np.array([[0, 0, 1, 0, 0], [0, 0, 0, 0, 0],
                                                                   [1, 0, 0, 0, 0]], bool)})


def test_transformer_parity(device):
    need_torch()
    rng = np.random.default_rng(10)
    src, tgt = rng.normal(size=(3, 5, 8)), rng.normal(size=(3, 4, 8))

    def make(lib):
        return lib.nn.Transformer(8, 2, 2, 1, 16, batch_first=True)
    theirs = make(torch).double()
    _randomize(theirs, rng)
    ours = _copy_state(make(disttorch).double(), theirs, device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.eval()
    ours.eval()
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    dmask = nn.Transformer.generate_square_subsequent_mask(4, dtype=disttorch.float64, device=device)
    ts, tt = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    ds = disttorch.tensor(src, device=device, requires_grad=True)
    dtg = disttorch.tensor(tgt, device=device, requires_grad=True)
    ty = theirs(ts, tt, tgt_mask=tmask)
    dy = ours(ds, dtg, tgt_mask=dmask)
    _close(dy, ty, "output", 1e-10, 1e-8)
    ty.sum().backward()
    dy.sum().backward()
    _close(ds.grad, ts.grad, "src grad", 1e-9, 1e-7)
    _close(dtg.grad, tt.grad, "tgt grad", 1e-9, 1e-7)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_init_and_errors():
    m = nn.Transformer(16, 2, 1, 1, 32)
    w = to_numpy(m.encoder.layers[0].linear1.weight)
    bound = math.sqrt(6.0 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    check_error(lambda t: t.nn.Transformer(8, 2, 1, 1, 16)(t.ones(5, 3, 8), t.ones(4, 2, 8)), RuntimeError)
    check_error(lambda t: t.nn.Transformer(8, 2, 1, 1, 16)(t.ones(5, 3, 8), t.ones(4, 3, 6)), RuntimeError)


def test_generate_square_subsequent_mask():
    need_torch()
    from disttorch.nn.modules.transformer import generate_square_subsequent_mask
    ours = nn.Transformer.generate_square_subsequent_mask(4)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())
    assert ours.dtype == disttorch.float32
    np.testing.assert_array_equal(to_numpy(generate_square_subsequent_mask(3, dtype=disttorch.float64)),
                                  torch.nn.Transformer.generate_square_subsequent_mask(3).numpy())


def test_encoder_repr_of_layer_and_state_dict():
    need_torch()
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False)
    d = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False)
    assert list(d.state_dict()) == list(t.state_dict())
    assert repr(d.layers[0]) == repr(t.layers[0])
    e = copy.deepcopy(d)
    assert e.layers[0].self_attn.in_proj_weight is not d.layers[0].self_attn.in_proj_weight


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("mask_check", [True, False])
@pytest.mark.parametrize("with_norm", [True, False])
def test_encoder_inference_fast_path_zeroes_padding(mask_check, with_norm, device):
    """In eval mode without grad, torch packs the sequences (nested tensors): padded
    positions come back as zeros (and, without mask_check, each row keeps its first
    ``length`` tokens)."""
    need_torch()
    rng = np.random.default_rng(12)

    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8) if with_norm else None,
                                         mask_check=mask_check)
    theirs = make(torch).double().eval()
    _randomize(theirs, rng)
    ours = _copy_state(make(disttorch).double(), theirs, device).eval()
    assert ours.use_nested_tensor == theirs.use_nested_tensor is True
    x = rng.normal(size=(3, 5, 8))
    for kpm in (np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool),
                np.array([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 1]], bool)):
        with torch.no_grad():
            ty = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
        with disttorch.no_grad():
            dy = ours(disttorch.tensor(x, device=device), src_key_padding_mask=disttorch.tensor(kpm, device=device))
        _close(dy, ty, "output", 1e-10, 1e-8)
    # with grad the regular path runs (padded positions are computed, not zeroed)
    tx = torch.tensor(x, requires_grad=True)
    dx = disttorch.tensor(x, device=device, requires_grad=True)
    kpm = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1]], bool)
    ty = theirs(tx, src_key_padding_mask=torch.tensor(kpm))
    dy = ours(dx, src_key_padding_mask=disttorch.tensor(kpm, device=device))
    _close(dy, ty, "output with grad", 1e-10, 1e-8)
    assert np.abs(to_numpy(dy)[0, 3:]).sum() > 0
