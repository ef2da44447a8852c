"""nn.EmbeddingBag and nn.functional.embedding_bag against torch: every mode and input layout
with include_last_offset, padding_idx, per_sample_weights, empty bags, max_norm and
scale_grad_by_freq (outputs, renormalised weights, weight and per-sample-weight grads), float64
gradchecks, torch's errors, and the module's repr, state_dict and from_pretrained."""
from __future__ import annotations

import itertools
import re
import warnings
import zlib

import numpy as np
import pytest
from parity import check_error, need_torch, torch

import disttorch
from disttorch import nn
from disttorch.nn import functional as DF

TF = torch.nn.functional if torch is not None else None

N, D = 8, 3


def _host(t):
    if isinstance(t, disttorch.Tensor):
        t = t.detach().cpu()
        return t.float().numpy() if t.dtype == disttorch.bfloat16 else t.numpy()
    return t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()


def _freq_safe(idx) -> bool:
    """torch 2.13's CPU embedding_bag divides the k-th distinct row's gradient by the count of
    the k-th entry of the sorted indices, not by that row's own count (see
    ``test_scale_grad_by_freq_matches_embedding``); parity cases keep to inputs where both agree."""
    s = np.sort(np.asarray(idx).ravel())
    u, c = np.unique(s, return_counts=True)
    cnt = dict(zip(u.tolist(), c.tolist()))
    return all(cnt[int(s[k])] == cnt[int(r)] for k, r in enumerate(u))


def _case(mode, layout, ilo, pad, psw, empty, max_norm, freq):
    """numpy inputs for one parity case: (input, offsets or None, kwargs, psw or None).

    ``pad`` is None or -1 (row N - 1). Row N - 1 (padding) and row N - 2 come three times each
    with padding, row N - 1 several times without; the other rows at most once: some rows repeat
    (frequency scaling and padding show), and torch's scale_grad_by_freq agrees (``_freq_safe``).
    """
    rng = np.random.default_rng(zlib.crc32(repr((mode, layout, ilo, pad, psw, empty, max_norm, freq)).encode()))
    shape = ((0, 3) if empty and pad is None else (4, 3)) if layout == "2d" else (10,)
    size = int(np.prod(shape))
    if pad is None:
        k = max(min(size - 2, N - 1), 0)  # distinct rows below N - 1, the rest row N - 1
        vals = np.concatenate([rng.choice(N - 1, k, replace=False), np.full(size - k, N - 1)])
    else:
        vals = np.concatenate([rng.choice(N - 2, size - 6, replace=False), np.full(3, N - 2)])
    vals = rng.permutation(vals)
    if pad is not None:  # three padding lookups: a whole bag (empty once padding is left out) or spread
        at = [3, 4, 5] if empty and layout == "2d" else [1, 4, 6]
        rest = [i for i in range(size) if i not in at]
        idx = np.empty(size, np.int64)
        idx[at], idx[rest] = N - 1, vals
        vals = idx
    idx = vals.reshape(shape).astype(np.int64)
    offsets = None
    if layout == "1d":
        # empty bags: the first, one in the middle and the last
        cuts = [0, 0, 3, 3, 7, 10] if empty else [0, 2, 5, 9]
        offsets = np.array(cuts + ([10] if ilo else []))
    assert not freq or _freq_safe(idx)
    kw = {"mode": mode, "padding_idx": pad, "include_last_offset": ilo,
          "max_norm": max_norm, "scale_grad_by_freq": freq}
    weights = rng.uniform(0.5, 1.5, idx.shape) if psw else None
    return idx, offsets, kw, weights


def _cases():
    for mode, layout, ilo, pad, psw, empty, max_norm, freq in itertools.product(
            ["sum", "mean", "max"], ["2d", "1d"], [False, True], [None, -1], [False, True],
            [False, True], [None, 1.2], [False, True]):
        if (layout == "2d" and ilo) or (psw and mode != "sum") or (freq and mode == "max"):
            continue
        yield pytest.param(mode, layout, ilo, pad, psw, empty, max_norm, freq,
                           id=f"{mode}-{layout}-ilo{int(ilo)}-pad{pad}-psw{int(psw)}-empty{int(empty)}"
                              f"-maxnorm{max_norm}-freq{int(freq)}")


def _run_pair(idx, offsets, kw, psw, device, dtype="float64", w=None, seed=0):
    """Run torch and disttorch on the same inputs: (torch out, ours, torch leaves, our leaves)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (N, D)) if w is None else w
    tw = torch.tensor(w).to(getattr(torch, dtype)).requires_grad_()
    dw = disttorch.tensor(w, device=device).to(getattr(disttorch, dtype)).requires_grad_()
    targs = [torch.tensor(idx), tw] + ([torch.tensor(offsets)] if offsets is not None else [])
    dargs = [disttorch.tensor(idx, device=device), dw]
    if offsets is not None:
        dargs.append(disttorch.tensor(offsets, device=device))
    tp = dp = None
    if psw is not None:
        tp = torch.tensor(psw).to(getattr(torch, dtype)).requires_grad_()
        dp = disttorch.tensor(psw, device=device).to(getattr(disttorch, dtype)).requires_grad_()
    to = TF.embedding_bag(*targs, per_sample_weights=tp, **kw)
    do = DF.embedding_bag(*dargs, per_sample_weights=dp, **kw)
    return to, do, (tw, tp), (dw, dp)


def _compare(name, ours, theirs, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    np.testing.assert_allclose(_host(ours), _host(theirs), atol=atol, rtol=rtol, err_msg=name)


@pytest.mark.parametrize("mode,layout,ilo,pad,psw,empty,max_norm,freq", list(_cases()))
def test_parity(mode, layout, ilo, pad, psw, empty, max_norm, freq, device):
    need_torch()
    idx, offsets, kw, weights = _case(mode, layout, ilo, pad, psw, empty, max_norm, freq)
    to, do, (tw, tp), (dw, dp) = _run_pair(idx, offsets, kw, weights, device)
    assert do.device == disttorch.device("cpu" if device == "cpu" else "cuda:0")
    _compare("output", do, to, 1e-12, 1e-10)
    _compare("weight after max_norm", dw, tw, 1e-12, 1e-10)
    up = np.random.default_rng(3).uniform(0.5, 1.5, tuple(to.shape))
    to.backward(torch.tensor(up))
    do.backward(disttorch.tensor(up, device=device))
    _compare("weight grad", dw.grad, tw.grad, 1e-12, 1e-10)
    if weights is not None:
        _compare("per_sample_weights grad", dp.grad, tp.grad, 1e-12, 1e-10)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_parity_low_precision(mode, dtype, device):
    need_torch()
    idx = np.array([1, 2, 4, 4, 7, 0, 3, 5, 5, 6])
    offsets = np.array([0, 3, 3, 6])
    psw = np.linspace(0.5, 1.5, 10) if mode == "sum" else None
    to, do, (tw, tp), (dw, dp) = _run_pair(idx, offsets, {"mode": mode, "padding_idx": 3}, psw,
                                           device, dtype=dtype)
    tol = {"float32": 1e-6, "float16": 2e-3, "bfloat16": 1e-2}[dtype]
    _compare("output", do, to, tol, tol)
    up = np.random.default_rng(3).uniform(0.5, 1.5, tuple(to.shape))
    to.backward(torch.tensor(up).to(getattr(torch, dtype)))
    do.backward(disttorch.tensor(up, device=device).to(getattr(disttorch, dtype)))
    _compare("weight grad", dw.grad, tw.grad, tol, tol)
    if psw is not None:
        _compare("per_sample_weights grad", dp.grad, tp.grad, tol, tol)


@pytest.mark.parametrize("idx_dtype,off_dtype", [("int32", "int32"), ("int32", "int64"),
                                                 ("int16", "int64"), ("uint8", "int32")])
def test_index_dtypes(idx_dtype, off_dtype, device):
    """torch brings indices and offsets to one type, which then has to be int32 or int64."""
    need_torch()
    idx = np.array([1, 2, 4, 0, 7]).astype(idx_dtype)
    to, do, _, _ = _run_pair(idx, np.array([0, 2]).astype(off_dtype), {"mode": "sum"}, None, device)
    _compare("output", do, to, 1e-12, 1e-10)


def test_include_last_offset_short_last_offset(device):
    """A closing offset short of the input's end: the last bag still runs to the end, as in
    torch's general kernels (float64, and every mode but float32/16 'sum' without padding)."""
    need_torch()
    idx = np.array([1, 2, 1, 6, 6, 6])
    for mode in ("sum", "mean", "max"):
        kw = {"mode": mode, "include_last_offset": True, "max_norm": 1.0}
        to, do, (tw, _), (dw, _) = _run_pair(idx, np.array([0, 1, 3]), kw, None, device)
        _compare("output", do, to, 1e-12, 1e-10)
        _compare("weight after max_norm", dw, tw, 1e-12, 1e-10)
        assert float(dw.detach().cpu()[6].norm()) <= 1.0 + 1e-6


def test_scale_grad_by_freq_matches_embedding(device):
    """Each row's gradient is divided by how often the input names it, as F.embedding does.

    torch 2.13's CPU embedding_bag instead divides the k-th distinct row by the count of the
    k-th sorted index: for [1, 2, 1, 1, 1] row 2 gets 1/4 rather than 1. The oracle here is
    torch's F.embedding with the same scaling, summed (or averaged) over each bag.
    """
    need_torch()
    idx = np.array([[1, 2, 1], [1, 1, 3]])
    w = np.random.default_rng(0).normal(size=(N, D))
    up = np.random.default_rng(1).uniform(0.5, 1.5, (2, D))
    for mode in ("sum", "mean"):
        tw = torch.tensor(w, requires_grad=True)
        te = TF.embedding(torch.tensor(idx), tw, scale_grad_by_freq=True)
        (te.sum(1) if mode == "sum" else te.mean(1)).backward(torch.tensor(up))
        dw = disttorch.tensor(w, device=device, requires_grad=True)
        DF.embedding_bag(disttorch.tensor(idx, device=device), dw, mode=mode,
                         scale_grad_by_freq=True).backward(disttorch.tensor(up, device=device))
        np.testing.assert_allclose(_host(dw.grad), _host(tw.grad), rtol=1e-12)
    assert not _freq_safe(idx)  # torch's embedding_bag itself gives other numbers here


def test_max_picks_the_first_of_tied_rows():
    w = disttorch.tensor([[1.0, 2.0], [1.0, 0.0], [3.0, 3.0]], requires_grad=True)
    out = DF.embedding_bag(disttorch.tensor([0, 1, 1, 0]), w, disttorch.tensor([0, 2]), mode="max")
    out.sum().backward()
    assert out.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert w.grad.tolist() == [[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]]  # as torch


def test_empty_input(device):
    need_torch()
    for offsets in (np.array([0, 0]), np.array([0])):
        for mode in ("sum", "mean", "max"):
            to, do, (tw, _), (dw, _) = _run_pair(np.zeros(0, np.int64), offsets, {"mode": mode}, None, device)
            _compare("output", do, to, 0, 0)
            do.sum().backward()
            to.sum().backward()
            _compare("weight grad", dw.grad, tw.grad, 0, 0)


def test_no_bags(device):
    """No bags but some lookups: shape (0, D). (torch 2.13 gives the same for float32 and
    crashes the process for float64, so this is checked without it.)"""
    w = disttorch.randn(N, D, dtype=disttorch.float64, device=device, requires_grad=True)
    i = disttorch.tensor([1, 2], device=device)
    for offsets, ilo in [([], False), ([0], True)]:
        o = disttorch.tensor(offsets, dtype=disttorch.int64, device=device)
        for mode in ("sum", "mean", "max"):
            out = DF.embedding_bag(i, w, o, mode=mode, include_last_offset=ilo)
            assert tuple(out.shape) == (0, D) and out.dtype == disttorch.float64
            out.sum().backward()
            assert not w.grad.cpu().numpy().any()


# -- gradcheck ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck(mode, device):
    rng = np.random.default_rng(0)
    # distinct values everywhere: no ties for max
    w = disttorch.tensor(rng.permutation(N * D).reshape(N, D) / 7.0 + rng.uniform(0, 0.01, (N, D)),
                         device=device, requires_grad=True)
    idx = disttorch.tensor([1, 2, 4, 4, 7, 0, 3, 5, 6, 3], device=device)
    off = disttorch.tensor([0, 3, 3, 6], device=device)
    kw = {"mode": mode, "padding_idx": 3}
    assert disttorch.autograd.gradcheck(lambda w: DF.embedding_bag(idx, w, off, **kw), [w])
    assert disttorch.autograd.gradgradcheck(lambda w: DF.embedding_bag(idx, w, off, **kw), [w])
    two_d = idx.reshape(2, 5)
    assert disttorch.autograd.gradcheck(lambda w: DF.embedding_bag(two_d, w, **kw), [w])
    if mode == "sum":
        p = disttorch.tensor(rng.uniform(0.5, 1.5, 10), device=device, requires_grad=True)
        f = lambda w, p: DF.embedding_bag(idx, w, off, per_sample_weights=p, **kw)  # noqa: E731
        assert disttorch.autograd.gradcheck(f, [w, p])
        assert disttorch.autograd.gradgradcheck(f, [w, p])


def test_per_sample_weights_grad_only():
    w = disttorch.randn(N, D, dtype=disttorch.float64)
    p = disttorch.ones(4, dtype=disttorch.float64, requires_grad=True)
    out = DF.embedding_bag(disttorch.tensor([1, 2, 3, 2]), w, disttorch.tensor([0, 2]), mode="sum",
                           per_sample_weights=p, padding_idx=3)
    out.sum().backward()
    expect = w.numpy()[[1, 2, 3, 2]].sum(1)
    expect[2] = 0.0  # the padding lookup is in no bag
    np.testing.assert_allclose(p.grad.numpy(), expect, rtol=1e-12)
    assert w.grad is None


# -- errors ---------------------------------------------------------------------------------------

def _eb(t, idx, *args, w=None, **kw):
    w = t.ones(5, 3) if w is None else w
    return t.nn.functional.embedding_bag(t.tensor(idx), w, *args, **kw)


ERRORS = [
    (lambda t: _eb(t, [1, 2, 4], t.tensor([1, 2])), RuntimeError,
     "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. "
     "However, got 1"),
    (lambda t: _eb(t, [1, 2, 4], t.tensor([0, 4])), RuntimeError,
     "offsets[-1] can not be greater than input's length 3 but got offsets[-1] of 4"),
    (lambda t: _eb(t, [1, 2], t.tensor([], dtype=t.int64), include_last_offset=True), RuntimeError, "include_last_offset: number of offset should be at least 1"),
    (lambda t: _eb(t, [[1, 2]], t.tensor([0])), ValueError,
     "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length "
     "sequences. However, found offsets of type <class 'disttorch._tensor.Tensor'>"),
    (lambda t: _eb(t, [1, 2]), ValueError, "offsets has to be a 1D Tensor but got None"),
    (lambda t: _eb(t, [1, 2], t.tensor([[0]])), ValueError, "offsets has to be a 1D Tensor"),
    (lambda t: _eb(t, [[[1, 2]]]), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of dimension 3"),
    (lambda t: _eb(t, 1), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of dimension 0"),
    (lambda t: _eb(t, [1], t.tensor([0]), w=t.ones(5)), ValueError,
     "weight has to be a 2D Tensor, but got Tensor of dimension 1"),
    (lambda t: _eb(t, [1], t.tensor([0]), mode="min"), ValueError, "mode has to be one of sum, mean or max"),
    (lambda t: _eb(t, [1], t.tensor([0]), mode="max", scale_grad_by_freq=True), ValueError,
     "max mode does not support scaling the gradient by the frequency"),
    (lambda t: _eb(t, [1], t.tensor([0]), mode="max", sparse=True), ValueError,
     "max mode does not support sparse weights"),
    (lambda t: _eb(t, [1, 2], t.tensor([0]), per_sample_weights=t.ones(2)), NotImplementedError,
     "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
     "mode='sum' (got mode='mean'). Please open a feature request on GitHub."),
    (lambda t: _eb(t, [1, 2], t.tensor([0]), mode="max", per_sample_weights=t.ones(2)), NotImplementedError,
     "(got mode='max')"),
    (lambda t: _eb(t, [1, 2], t.tensor([0]), mode="sum", per_sample_weights=t.ones(3)), ValueError,
     "embedding_bag: If per_sample_weights (disttorch.Size([3])) is not None, then it must have the same "
     "shape as the input (disttorch.Size([2]))"),
    (lambda t: _eb(t, [[1, 2]], mode="sum", per_sample_weights=t.ones(2)), ValueError,
     "then it must have the same shape as the input (disttorch.Size([1, 2]))"),
    (lambda t: _eb(t, [1, 5], t.tensor([0, 1])), RuntimeError,
     "Index 1 of input takes value 5 which is not in the valid range [0, 5)"),
    (lambda t: _eb(t, [[1, 2], [-1, 0]], mode="sum"), RuntimeError,
     "Index 2 of input takes value -1 which is not in the valid range [0, 5)"),
    (lambda t: _eb(t, [1, 5], t.tensor([0, 1]), mode="max"), RuntimeError,
     "embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be 5"),
    (lambda t: _eb(t, [[1, 5]], padding_idx=0), RuntimeError,
     "embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be 5"),
    (lambda t: _eb(t, [1.0, 2.0], t.tensor([0])), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
     "but got disttorch.FloatTensor instead (while checking arguments for embedding_bag)"),
    (lambda t: _eb(t, [1, 2], t.tensor([0.0])), RuntimeError, "but got disttorch.FloatTensor instead"),
    (lambda t: t.nn.functional.embedding_bag(t.tensor([[1, 2]], dtype=t.int16), t.ones(5, 3)), RuntimeError,
     "but got disttorch.ShortTensor instead"),
    (lambda t: t.nn.functional.embedding_bag(t.tensor([1, 2], dtype=t.int8), t.ones(5, 3),
                                             t.tensor([0], dtype=t.uint8)),
     RuntimeError, "but got disttorch.ShortTensor instead"),
    (lambda t: _eb(t, [1, 2], t.tensor([0]), w=t.ones(5, 3, dtype=t.int32)), RuntimeError,
     "Expected tensor for argument #1 'weight' to have one of the following scalar types: Half, BFloat16, "
     "Float, Double; but got disttorch.IntTensor instead (while checking arguments for embedding_bag)"),
    (lambda t: _eb(t, [1, 2], t.tensor([0]), mode="sum", per_sample_weights=t.ones(2, dtype=t.float64)),
     RuntimeError,
     "Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 "
     "'per_sample_weights'; but type disttorch.FloatTensor does not equal disttorch.DoubleTensor "
     "(while checking arguments for embedding_bag)"),
    (lambda t: _eb(t, [1], t.tensor([0]), padding_idx=5), RuntimeError,
     "padding_idx must be within the number of embeddings, -5 through 4, but got 5"),
    (lambda t: _eb(t, [1], t.tensor([0]), padding_idx=-6), RuntimeError,
     "padding_idx must be within the number of embeddings, -5 through 4, but got -6"),
    (lambda t: t.nn.functional.embedding_bag(t.zeros(3, 0, dtype=t.int64), t.ones(5, 3)), RuntimeError,
     "step must be nonzero"),
    (lambda t: t.nn.EmbeddingBag(5, 3, padding_idx=5), AssertionError, "padding_idx must be within num_embeddings"),
    (lambda t: t.nn.EmbeddingBag(5, 3, padding_idx=-6), AssertionError, "padding_idx must be within num_embeddings"),
    (lambda t: t.nn.EmbeddingBag(5, 3, _weight=t.ones(4, 3)), AssertionError,
     "Shape of weight does not match num_embeddings and embedding_dim"),
    (lambda t: t.nn.EmbeddingBag.from_pretrained(t.ones(3)), AssertionError,
     "Embeddings parameter is expected to be 2-dimensional"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_like_torch(i):
    fn, exc, msg = ERRORS[i]
    check_error(fn, exc, match=re.escape(msg))


def test_errors_without_torch_counterpart():
    w = disttorch.ones(5, 3)
    # torch reads out of bounds or trips an internal assert on decreasing offsets
    with pytest.raises(RuntimeError, match="offsets must be non-decreasing"):
        DF.embedding_bag(disttorch.tensor([1, 2, 3]), w, disttorch.tensor([0, 2, 1]))
    with pytest.raises(NotImplementedError, match="sparse"):  # no sparse gradients here
        DF.embedding_bag(disttorch.tensor([1, 2]), w, disttorch.tensor([0]), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.EmbeddingBag(5, 3, sparse=True)(disttorch.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        DF.embedding_bag([1, 2], w, disttorch.tensor([0]))


def test_deprecated_argument_order():
    w = disttorch.randn(5, 3)
    i, o = disttorch.tensor([1, 2, 4]), disttorch.tensor([0, 1])
    with pytest.warns(UserWarning, match="deprecated"):
        out = DF.embedding_bag(w, i, o)
    assert disttorch.equal(out, DF.embedding_bag(i, w, o))


@pytest.mark.gpu
def test_device_mismatch():
    if not disttorch.cuda.is_available():
        pytest.skip("needs a cuda device (or DISTTORCH_FAKE_CUDA=1)")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        DF.embedding_bag(disttorch.tensor([1, 2]), disttorch.ones(5, 3, device="cuda"),
                         disttorch.tensor([0], device="cuda"))


# -- the module ---------------------------------------------------------------------------------------

REPRS = [
    lambda lib: lib.nn.EmbeddingBag(10, 3),
    lambda lib: lib.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0),
    lambda lib: lib.nn.EmbeddingBag(10, 3, mode="max", padding_idx=-1, include_last_offset=True),
    lambda lib: lib.nn.EmbeddingBag(10, 3, max_norm=1, norm_type=1, scale_grad_by_freq=True, sparse=True),
    lambda lib: lib.nn.EmbeddingBag(10, 3, max_norm=1.5, norm_type=3.0),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_and_state_dict_keys(i):
    need_torch()
    tm, dm = REPRS[i](torch), REPRS[i](disttorch)
    assert repr(dm) == repr(tm)
    assert list(dm.state_dict()) == list(tm.state_dict())
    for (k, a), (_, b) in zip(dm.state_dict().items(), tm.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), k
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], k
    for name in ("num_embeddings", "embedding_dim", "max_norm", "norm_type", "scale_grad_by_freq",
                 "mode", "sparse", "include_last_offset", "padding_idx"):
        assert getattr(dm, name) == getattr(tm, name), name


@pytest.mark.parametrize("kw,args", [
    ({"mode": "sum", "padding_idx": 2}, "offsets_psw"),
    ({"mode": "max", "include_last_offset": True}, "offsets"),
    ({"mode": "mean", "max_norm": 1.0}, "2d"),
])
def test_module_parity(kw, args, device):
    need_torch()
    tm = torch.nn.EmbeddingBag(N, D, dtype=torch.float64, **kw)
    dm = nn.EmbeddingBag(N, D, dtype=disttorch.float64, **kw)
    dm.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    dm.to(device)
    idx = np.array([1, 2, 2, 7, 0, 5])
    if args == "2d":
        t_in, d_in = (torch.tensor(idx.reshape(2, 3)),), (disttorch.tensor(idx.reshape(2, 3), device=device),)
    else:
        off = np.array([0, 2, 5])
        t_in = (torch.tensor(idx), torch.tensor(off))
        d_in = (disttorch.tensor(idx, device=device), disttorch.tensor(off, device=device))
    if args == "offsets_psw":
        p = np.linspace(0.5, 2.0, 6)
        t_in += (torch.tensor(p),)
        d_in += (disttorch.tensor(p, device=device),)
    to, do = tm(*t_in), dm(*d_in)
    _compare("output", do, to, 1e-12, 1e-10)
    up = np.random.default_rng(0).normal(size=tuple(to.shape))
    to.backward(torch.tensor(up))
    do.backward(disttorch.tensor(up, device=device))
    _compare("weight grad", dm.weight.grad, tm.weight.grad, 1e-12, 1e-10)
    _compare("weight", dm.weight, tm.weight, 1e-12, 1e-10)


def test_from_pretrained(device):
    emb = disttorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device)
    m = nn.EmbeddingBag.from_pretrained(emb, mode="sum", padding_idx=1)
    assert not m.weight.requires_grad and m.padding_idx == 1 and m.mode == "sum"
    assert m.weight.tolist() == emb.tolist()  # the padding row is kept as given
    out = m(disttorch.tensor([[0, 1, 2]], device=device))
    assert out.tolist() == [[6.0, 8.0]] and not out.requires_grad
    m2 = nn.EmbeddingBag.from_pretrained(emb, freeze=False, include_last_offset=True)
    assert m2.weight.requires_grad and m2.include_last_offset
    if torch is not None:
        tm = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(emb.tolist()), mode="sum", padding_idx=1)
        assert repr(m) == repr(tm) and m.weight.requires_grad == tm.weight.requires_grad


def test_default_init_and_reset(device):
    m = nn.EmbeddingBag(2000, 50, padding_idx=3, device=device)
    assert m.weight.device == disttorch.device("cpu" if device == "cpu" else "cuda:0")
    a = m.weight.detach().cpu().numpy()
    assert not a[3].any()
    rest = np.delete(a, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    with disttorch.no_grad():
        m.weight.fill_(2.0)
    m.reset_parameters()
    a = m.weight.detach().cpu().numpy()
    assert not a[3].any() and abs(a[4:].std() - 1) < 0.02
    assert nn.EmbeddingBag(4, 2, dtype=disttorch.float64).weight.dtype == disttorch.float64


def test_large_bags_are_vectorised():
    """Many bags go through one gather and one segment reduction (quick even for 100k bags)."""
    rng = np.random.default_rng(0)
    w = disttorch.randn(1000, 16, requires_grad=True)
    idx = disttorch.tensor(rng.integers(0, 1000, 400_000))
    off = disttorch.arange(0, 400_000, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mode in ("sum", "mean", "max"):
            out = DF.embedding_bag(idx, w, off, mode=mode)
            assert tuple(out.shape) == (100_000, 16)
            out.sum().backward()


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_no_grad_and_noncontiguous_weight(mode, device):
    need_torch()
    w = np.random.default_rng(0).normal(size=(D, N))
    idx, off = np.array([1, 2, 4, 4, 7, 0]), np.array([0, 2, 2])
    tw = torch.tensor(w, requires_grad=True)
    dw = disttorch.tensor(w, device=device, requires_grad=True)
    to = TF.embedding_bag(torch.tensor(idx), tw.t(), torch.tensor(off), mode=mode)
    do = DF.embedding_bag(disttorch.tensor(idx, device=device), dw.t(), disttorch.tensor(off, device=device),
                          mode=mode)
    _compare("output", do, to, 1e-12, 1e-10)
    to.sum().backward()
    do.sum().backward()
    _compare("weight grad", dw.grad, tw.grad, 1e-12, 1e-10)
    with disttorch.no_grad():
        for d_in in (disttorch.tensor(idx.reshape(2, 3), device=device), disttorch.tensor(idx, device=device)):
            args = (None,) if d_in.dim() == 2 else (disttorch.tensor(off, device=device),)
            t_args = (None,) if d_in.dim() == 2 else (torch.tensor(off),)
            ours = DF.embedding_bag(d_in, dw.t(), *args, mode=mode)
            assert not ours.requires_grad
            theirs = TF.embedding_bag(torch.tensor(d_in.cpu().numpy()), tw.t(), *t_args, mode=mode)
            _compare("no-grad output", ours, theirs, 1e-12, 1e-10)
