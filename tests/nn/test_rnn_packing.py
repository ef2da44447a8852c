"""``nn.utils.rnn`` (PackedSequence, pack/pad helpers) and RNN/LSTM/GRU on packed input.

Parity with torch for values, dtypes, shapes, batch_sizes and indices and for grads under a
random upstream grad over several length patterns; RNN layers on packed input with torch's
weights (output, final states at each sequence's own last step, every grad); float64
finite differences; torch's exception types and messages; device placement of the parts.
"""
from __future__ import annotations

import numpy as np
import pytest
from parity import check_error, need_torch, to_numpy, torch

import disttorch
from disttorch.nn.utils import rnn as R

TR = torch.nn.utils.rnn if torch is not None else None


def _dev(device):
    return disttorch.device("cpu" if device == "cpu" else "cuda:0")


def _close(ours, theirs, name, atol=1e-12, rtol=1e-10):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (
        f"{name}: {ours.dtype} != {theirs.dtype}")
    a, b = to_numpy(ours), theirs.detach().numpy()
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=name)
    else:
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=name)


def _same_packed(ours, theirs, device, atol=1e-12):
    """Every field of two PackedSequences, and where each part lives."""
    assert type(ours) is R.PackedSequence
    _close(ours.data, theirs.data, "data", atol)
    _close(ours.batch_sizes, theirs.batch_sizes, "batch_sizes")
    assert ours.batch_sizes.device == disttorch.device("cpu")
    assert ours.data.device == _dev(device)
    for name in ("sorted_indices", "unsorted_indices"):
        o, t = getattr(ours, name), getattr(theirs, name)
        assert (o is None) == (t is None), name
        if o is not None:
            _close(o, t, name)
            assert o.device == _dev(device), name


def _backward(ours, theirs, seed=1):
    """The same random (non-uniform) upstream grad into both outputs."""
    up = np.random.default_rng(seed).uniform(0.5, 1.5, size=tuple(theirs.shape))
    theirs.backward(torch.tensor(up, dtype=theirs.dtype))
    ours.backward(disttorch.tensor(up, device=ours.device).to(ours.dtype))


LENGTHS = {
    "sorted": [5, 3, 3, 1],
    "unsorted": [2, 5, 1, 3],
    "single": [4],
    "equal": [3, 3, 3],
    "ties": [2, 4, 2, 4, 1],
}


def _padded(lens, batch_first, extra=0, trailing=(3,), dtype="float64", seed=0):
    T, B = max(lens) + extra, len(lens)
    a = np.random.default_rng(seed).normal(size=((B, T) if batch_first else (T, B)) + trailing)
    return a.astype(dtype)


def _pair(a, device, grad=True):
    g = grad and a.dtype.kind == "f"
    return torch.tensor(a, requires_grad=g), disttorch.tensor(a, device=device, requires_grad=g)


# ================================================================== pack / pad round trip
def _sort_cases(patterns: dict) -> list:
    """(pattern, enforce_sorted) pairs; enforce_sorted only where the lengths decrease."""
    return [(name, enforce) for name, lens in patterns.items() for enforce in (True, False)
            if not enforce or sorted(lens, reverse=True) == lens]


@pytest.mark.parametrize("pattern,enforce_sorted", _sort_cases(LENGTHS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sequence(pattern, batch_first, enforce_sorted, device):
    need_torch()
    lens = LENGTHS[pattern]
    tx, dx = _pair(_padded(lens, batch_first, extra=1), device)
    tp = TR.pack_padded_sequence(tx, lens, batch_first, enforce_sorted)
    dp = R.pack_padded_sequence(dx, lens, batch_first, enforce_sorted)
    _same_packed(dp, tp, device)
    _backward(dp.data, tp.data)
    _close(dx.grad, tx.grad, "grad of input")


@pytest.mark.parametrize("lengths", [
    lambda lib, lens: lens,
    lambda lib, lens: lib.tensor(lens),
    lambda lib, lens: lib.tensor(lens, dtype=lib.int32),
    lambda lib, lens: lib.tensor(lens, dtype=lib.float64),
    lambda lib, lens: tuple(lens),
    lambda lib, lens: np.array(lens),
], ids=["list", "int64", "int32", "float64", "tuple", "numpy"])
def test_pack_padded_sequence_lengths_forms(lengths):
    need_torch()
    lens = LENGTHS["unsorted"]
    tx, dx = _pair(_padded(lens, False), "cpu")
    tp = TR.pack_padded_sequence(tx, lengths(torch, lens), enforce_sorted=False)
    dp = R.pack_padded_sequence(dx, lengths(disttorch, lens), enforce_sorted=False)
    _same_packed(dp, tp, "cpu")


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "bool"])
def test_pack_pad_dtypes(dtype, device):
    need_torch()
    lens = LENGTHS["unsorted"]
    a = _padded(lens, True, trailing=())
    a = (a > 0) if dtype == "bool" else (a * 3).astype(dtype)
    tx, dx = _pair(a, device, grad=False)
    tp = TR.pack_padded_sequence(tx, lens, True, False)
    dp = R.pack_padded_sequence(dx, lens, True, False)
    _same_packed(dp, tp, device, atol=0)
    pv = True if dtype == "bool" else 7
    for bf in (False, True):
        (to, tl), (do, dl) = (TR.pad_packed_sequence(tp, bf, pv, 6),
                              R.pad_packed_sequence(dp, bf, pv, 6))
        _close(do, to, "padded", atol=0)
        _close(dl, tl, "lengths")


@pytest.mark.parametrize("pattern", LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("total_length", [None, 7])
def test_pad_packed_sequence(pattern, batch_first, total_length, device):
    need_torch()
    lens = LENGTHS[pattern]
    tx, dx = _pair(_padded(lens, False, trailing=(2, 3)), device)
    tp = TR.pack_padded_sequence(tx, lens, enforce_sorted=False)
    dp = R.pack_padded_sequence(dx, lens, enforce_sorted=False)
    to, tl = TR.pad_packed_sequence(tp, batch_first, -1.5, total_length)
    do, dl = R.pad_packed_sequence(dp, batch_first, -1.5, total_length)
    _close(do, to, "padded")
    _close(dl, tl, "lengths")
    assert do.device == _dev(device) and dl.device == disttorch.device("cpu")
    _backward(do, to)
    _close(dx.grad, tx.grad, "grad of input")


def test_pad_packed_sequence_sorted_input(device):
    need_torch()
    lens = LENGTHS["sorted"]
    tx, dx = _pair(_padded(lens, True), device)
    tp, dp = TR.pack_padded_sequence(tx, lens, True), R.pack_padded_sequence(dx, lens, True)
    (to, tl), (do, dl) = TR.pad_packed_sequence(tp, True), R.pad_packed_sequence(dp, True)
    _close(do, to, "padded")
    _close(dl, tl, "lengths")
    _backward(do, to)
    _close(dx.grad, tx.grad, "grad of input")


# ============================================================================ pad_sequence
SEQ_LENGTHS = {"mixed": [3, 5, 1, 4], "single": [2], "equal": [3, 3], "with_empty": [0, 2, 3]}


def _seqs(lens, trailing=(2,), dtype="float64", seed=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n,) + trailing).astype(dtype) for n in lens]


@pytest.mark.parametrize("pattern", SEQ_LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2, 3)], ids=["no_trailing", "trailing"])
def test_pad_sequence(pattern, batch_first, padding_side, trailing, device):
    need_torch()
    arrays = _seqs(SEQ_LENGTHS[pattern], trailing)
    pairs = [_pair(a, device) for a in arrays]
    to = TR.pad_sequence([t for t, _ in pairs], batch_first, 0.25, padding_side)
    do = R.pad_sequence([d for _, d in pairs], batch_first, 0.25, padding_side)
    _close(do, to, "padded")
    assert do.device == _dev(device)
    _backward(do, to)
    for i, (t, d) in enumerate(pairs):
        _close(d.grad, t.grad, f"grad of sequence {i}")


def test_pad_sequence_defaults_and_casts():
    need_torch()
    cases = [
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 3), lib.ones(3, 3, dtype=lib.float64)]),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, dtype=lib.int32), lib.ones(3, dtype=lib.int32)],
                                                  padding_value=-1.7),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.zeros(2, dtype=lib.bool), lib.zeros(3, dtype=lib.bool)],
                                                  padding_value=0.5),
        lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2, 4), lib.ones(3, 1)]),
        lambda lib: lib.nn.utils.rnn.pad_sequence(lib.arange(6.0).reshape(2, 3), batch_first=True),
        lambda lib: lib.nn.utils.rnn.pad_sequence(iter([lib.ones(2), lib.ones(3)]), padding_value=float("nan")),
        lambda lib: lib.nn.utils.rnn.pad_sequence((lib.ones(2, 4),), True, 0, "left"),
    ]
    for i, f in enumerate(cases):
        t, d = f(torch), f(disttorch)
        assert tuple(d.shape) == tuple(t.shape), i
        assert str(d.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], i
        np.testing.assert_array_equal(to_numpy(d), t.numpy(), err_msg=str(i))


# =============================================================== pack_sequence / unpack
PACK_LENGTHS = {"mixed": [3, 5, 1, 4], "single": [2], "equal": [3, 3], "sorted": [4, 2, 2, 1]}


@pytest.mark.parametrize("pattern,enforce_sorted", _sort_cases(PACK_LENGTHS))
def test_pack_sequence_and_unpack(pattern, enforce_sorted, device):
    need_torch()
    lens = PACK_LENGTHS[pattern]
    pairs = [_pair(a, device) for a in _seqs(lens)]
    tp = TR.pack_sequence([t for t, _ in pairs], enforce_sorted)
    dp = R.pack_sequence([d for _, d in pairs], enforce_sorted)
    _same_packed(dp, tp, device)
    tu, du = TR.unpack_sequence(tp), R.unpack_sequence(dp)
    assert len(tu) == len(du)
    for i, (t, d) in enumerate(zip(tu, du)):
        _close(d, t, f"unpacked {i}")
    # one random upstream grad over every unpacked piece
    rng = np.random.default_rng(4)
    ups = [rng.uniform(0.5, 1.5, size=tuple(t.shape)) for t in tu]
    torch.autograd.backward(tu, [torch.tensor(u) for u in ups])
    disttorch.autograd.backward(du, [disttorch.tensor(u, device=device) for u in ups])
    for i, (t, d) in enumerate(pairs):
        _close(d.grad, t.grad, f"grad of sequence {i}")


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(batch_first, device):
    need_torch()
    lens = [3, 1, 4]
    tx, dx = _pair(_padded(lens, batch_first), device, grad=False)
    tl, dl = torch.tensor(lens), disttorch.tensor(lens)
    tu = TR.unpad_sequence(tx, tl, batch_first)
    du = R.unpad_sequence(dx, dl, batch_first)
    for i, (t, d) in enumerate(zip(tu, du)):
        _close(d, t, f"sequence {i}")
    # torch transposes a time-major input in place: so do we
    assert tuple(dx.shape) == tuple(tx.shape)
    # grads flow from each piece back to a (non-leaf) padded tensor
    a = _padded(lens, True)
    ta, da = _pair(a, device)
    tu = TR.unpad_sequence(ta * 1, tl, True)
    du = R.unpad_sequence(da * 1, dl, True)
    _backward(disttorch.cat(du), torch.cat(tu))
    _close(da.grad, ta.grad, "grad of padded")


def test_pack_then_pad_round_trip_values(device):
    lens = [2, 5, 1, 3]
    x = disttorch.tensor(_padded(lens, True), device=device)
    seqs = R.unpad_sequence(x, disttorch.tensor(lens), batch_first=True)
    left = R.pad_sequence(seqs, batch_first=True, padding_side="left")
    out, got = R.pad_packed_sequence(R.pack_sequence(seqs, enforce_sorted=False), batch_first=True)
    assert got.tolist() == lens
    for i, n in enumerate(lens):
        np.testing.assert_array_equal(to_numpy(out[i, :n]), to_numpy(x[i, :n]))
        np.testing.assert_array_equal(to_numpy(left[i, 5 - n:]), to_numpy(x[i, :n]))
        assert not to_numpy(out[i, n:]).any() and not to_numpy(left[i, :5 - n]).any()


def test_invert_permutation(device):
    need_torch()
    for perm in ([2, 0, 1], [0], [3, 1, 4, 0, 2]):
        d = R.invert_permutation(disttorch.tensor(perm, device=device))
        _close(d, TR.invert_permutation(torch.tensor(perm)), str(perm))
        assert d.device == _dev(device)
    assert R.invert_permutation(None) is None


# ======================================================================= PackedSequence
def test_packed_sequence_container(device):
    need_torch()
    lens = [3, 1, 2]
    tx, dx = _pair(_padded(lens, False), device, grad=False)
    tp = TR.pack_padded_sequence(tx, lens, enforce_sorted=False)
    dp = R.pack_padded_sequence(dx, lens, enforce_sorted=False)
    assert isinstance(dp, tuple) and dp._fields == tp._fields
    assert dp[0] is dp.data and len(dp) == 4
    data, bs, si, ui = dp
    assert data is dp.data and bs is dp.batch_sizes and si is dp.sorted_indices and ui is dp.unsorted_indices
    assert repr(dp).startswith("PackedSequence(data=tensor(")
    assert dp.is_cuda == (device != "cpu") and dp.is_pinned() is False
    # conversions touch only data; the indices follow data's device, batch_sizes stays
    assert dp.to(disttorch.float64) is dp and dp.double() is dp and dp.to(device) is dp
    assert dp.byte().data.dtype == disttorch.uint8
    for name in ("float", "half", "long", "int", "short", "char"):
        d, t = getattr(dp, name)(), getattr(tp, name)()
        assert type(d) is R.PackedSequence and d.batch_sizes is dp.batch_sizes
        _same_packed(d, t, device, atol=1e-2)
    c = dp.cpu()
    assert c.data.device == disttorch.device("cpu") and c.sorted_indices.device == disttorch.device("cpu")
    assert c.batch_sizes is dp.batch_sizes
    assert (c is dp) == (device == "cpu")
    # ``_replace`` / the (data, batch_sizes) form / unsorted_indices from sorted_indices
    r = dp._replace(data=dp.data * 2)
    assert type(r) is R.PackedSequence
    np.testing.assert_array_equal(to_numpy(r.data), 2 * to_numpy(dp.data))
    q = R.PackedSequence((dp.data, dp.batch_sizes), sorted_indices=dp.sorted_indices)
    np.testing.assert_array_equal(to_numpy(q.unsorted_indices), to_numpy(tp.unsorted_indices))
    q = R.PackedSequence(dp.data, dp.batch_sizes)
    assert q.sorted_indices is None and q.unsorted_indices is None


@pytest.mark.gpu
def test_packed_sequence_moves_between_devices():
    lens = [3, 1, 2]
    x = disttorch.tensor(_padded(lens, False))
    p = R.pack_padded_sequence(x, lens, enforce_sorted=False)
    g = p.cuda()
    assert g.is_cuda and g.data.is_cuda and g.sorted_indices.is_cuda and g.unsorted_indices.is_cuda
    assert g.batch_sizes.device.type == "cpu"
    assert g.cuda() is g
    h = g.to("cpu", disttorch.float32)
    assert h.data.device.type == "cpu" and h.data.dtype == disttorch.float32
    assert h.unsorted_indices.device.type == "cpu"
    np.testing.assert_array_equal(to_numpy(g.cpu().data), to_numpy(p.data))
    with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
        R.PackedSequence(g.data, g.batch_sizes.cuda())


# ================================================================= RNNs on packed input
KINDS = ["LSTM", "GRU", "RNN"]
CONFIGS = {
    "one_layer": {},
    "two_layers": {"num_layers": 2},
    "bidirectional": {"bidirectional": True},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first_two_layers_bidirectional": {"num_layers": 2, "bidirectional": True, "batch_first": True},
}


def packed_rnn_parity(kind, kw, lens, device, with_state, dtype="float64", enforce_sorted=False,
                      atol=None, rtol=None):
    """torch's weights in ours; pack the same padded batch, run, then compare the packed
    output, the final states, and the grads of every parameter, the input and hx."""
    need_torch()
    if atol is None:
        atol, rtol = (1e-10, 1e-8) if dtype == "float64" else (2e-5, 2e-4)
    I, H = 3, 5
    theirs = getattr(torch.nn, kind)(I, H, **kw).to(getattr(torch, dtype))
    ours = getattr(disttorch.nn, kind)(I, H, **kw).to(getattr(disttorch, dtype))
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    ours = ours.to(device)
    bf = kw.get("batch_first", False)
    arrays = [_padded(lens, bf, extra=1, dtype=dtype)]
    if with_state:
        nd = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        rng = np.random.default_rng(5)
        arrays.append(rng.normal(size=(nd, len(lens), kw.get("proj_size") or H)).astype(dtype))
        if kind == "LSTM":
            arrays.append(rng.normal(size=(nd, len(lens), H)).astype(dtype))
    pairs = [_pair(a, device) for a in arrays]
    tx, dx = pairs[0]
    tp = TR.pack_padded_sequence(tx, lens, bf, enforce_sorted)
    dp = R.pack_padded_sequence(dx, lens, bf, enforce_sorted)
    if not with_state:
        targs, dargs = (tp,), (dp,)
    elif kind == "LSTM":
        targs, dargs = (tp, (pairs[1][0], pairs[2][0])), (dp, (pairs[1][1], pairs[2][1]))
    else:
        targs, dargs = (tp, pairs[1][0]), (dp, pairs[1][1])
    to, th = theirs(*targs)
    do, dh = ours(*dargs)
    _same_packed(do, to, device, atol)
    th = list(th) if kind == "LSTM" else [th]
    dh = list(dh) if kind == "LSTM" else [dh]
    for i, (d, t) in enumerate(zip(dh, th)):
        _close(d, t, f"final state {i}", atol, rtol)
        assert d.device == _dev(device)
    rng = np.random.default_rng(6)
    touts, douts = [to.data, *th], [do.data, *dh]
    ups = [rng.uniform(0.5, 1.5, size=tuple(t.shape)).astype(dtype) for t in touts]
    torch.autograd.backward(touts, [torch.tensor(u) for u in ups])
    disttorch.autograd.backward(douts, [disttorch.tensor(u, device=device) for u in ups])
    for i, (t, d) in enumerate(pairs):
        _close(d.grad, t.grad, f"grad of input {i}", atol * 10, rtol * 10)
    tpar, dpar = dict(theirs.named_parameters()), dict(ours.named_parameters())
    assert list(tpar) == list(dpar)
    for k in tpar:
        _close(dpar[k].grad, tpar[k].grad, f"grad of {k}", atol * 10, rtol * 10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("with_state", [False, True], ids=["no_hx", "hx"])
def test_rnn_packed_parity(kind, cfg, with_state, device):
    packed_rnn_parity(kind, CONFIGS[cfg], LENGTHS["unsorted"], device, with_state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pattern", ["sorted", "single", "equal", "ties"])
def test_rnn_packed_length_patterns(kind, pattern, device):
    lens = LENGTHS[pattern]
    packed_rnn_parity(kind, {"num_layers": 2, "bidirectional": True}, lens, device, True,
                      enforce_sorted=sorted(lens, reverse=True) == lens)


@pytest.mark.parametrize("kw", [{"proj_size": 2}, {"proj_size": 3, "num_layers": 2, "bidirectional": True}],
                         ids=str)
@pytest.mark.parametrize("with_state", [False, True], ids=["no_hx", "hx"])
def test_lstm_proj_packed_parity(kw, with_state, device):
    packed_rnn_parity("LSTM", kw, LENGTHS["unsorted"], device, with_state)


@pytest.mark.parametrize("kind", KINDS)
def test_rnn_packed_float32_and_variants(kind, device):
    packed_rnn_parity(kind, {"num_layers": 2, "bidirectional": True}, LENGTHS["ties"], device, True,
                      dtype="float32")
    packed_rnn_parity(kind, {"bias": False, "num_layers": 2}, LENGTHS["unsorted"], device, True)
    if kind == "RNN":
        packed_rnn_parity(kind, {"nonlinearity": "relu", "bidirectional": True}, LENGTHS["unsorted"],
                          device, True)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_matches_per_sequence_runs(kind):
    """Each sequence alone (unpacked, its own length) gives the packed rows and final state."""
    m = getattr(disttorch.nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=disttorch.float64)
    lens = [2, 5, 1, 3]
    x = disttorch.tensor(_padded(lens, True), dtype=disttorch.float64)
    out, h = m(R.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False))
    h = h[0] if kind == "LSTM" else h
    padded, _ = R.pad_packed_sequence(out, batch_first=True)
    for i, n in enumerate(lens):
        o1, h1 = m(x[i:i + 1, :n].transpose(0, 1))
        h1 = h1[0] if kind == "LSTM" else h1
        np.testing.assert_allclose(to_numpy(padded[i, :n]), to_numpy(o1[:, 0]), atol=1e-12)
        np.testing.assert_allclose(to_numpy(h[:, i]), to_numpy(h1[:, 0]), atol=1e-12)


def test_packed_train_dropout_is_seeded():
    m = disttorch.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    p = R.pack_sequence([disttorch.randn(4, 3), disttorch.randn(2, 3)])
    disttorch.manual_seed(3)
    a = m(p)
    disttorch.manual_seed(3)
    b = m(p)
    np.testing.assert_array_equal(to_numpy(a[0].data), to_numpy(b[0].data))
    m.eval()
    assert not np.allclose(to_numpy(m(p)[0].data), to_numpy(a[0].data))


# ================================================================= finite differences
def test_pack_pad_gradcheck():
    lens = [2, 4, 1]
    for bf in (False, True):
        def f(x, bf=bf):
            p = R.pack_padded_sequence(x, lens, batch_first=bf, enforce_sorted=False)
            return p.data, R.pad_packed_sequence(p, batch_first=not bf, padding_value=0.5,
                                                 total_length=5)[0]
        x = disttorch.randn((3, 4, 2) if bf else (4, 3, 2), dtype=disttorch.float64, requires_grad=True)
        assert disttorch.autograd.gradcheck(f, [x])

    def g(a, b, c):
        padded = R.pad_sequence([a, b, c], batch_first=True, padding_side="left")
        return padded, R.pack_sequence([a, b, c], enforce_sorted=False).data

    ins = [disttorch.randn(n, 2, dtype=disttorch.float64, requires_grad=True) for n in (2, 3, 1)]
    assert disttorch.autograd.gradcheck(g, ins)


@pytest.mark.parametrize("kw", [{"num_layers": 2, "bidirectional": True},
                                {"proj_size": 2, "bidirectional": True}], ids=str)
def test_lstm_packed_gradcheck(kw):
    m = disttorch.nn.LSTM(2, 3, dtype=disttorch.float64, **kw)
    lens = [2, 3, 1]
    nd = kw.get("num_layers", 1) * 2

    def f(x, h, c):
        out, (hn, cn) = m(R.pack_padded_sequence(x, lens, enforce_sorted=False), (h, c))
        return out.data, hn, cn

    ins = [disttorch.randn(3, 3, 2, dtype=disttorch.float64, requires_grad=True),
           disttorch.randn(nd, 3, kw.get("proj_size", 3), dtype=disttorch.float64, requires_grad=True),
           disttorch.randn(nd, 3, 3, dtype=disttorch.float64, requires_grad=True)]
    assert disttorch.autograd.gradcheck(f, ins)


# ===================================================================================== errors
def _rnn(lib):
    return lib.nn.utils.rnn


@pytest.mark.parametrize("fn, exc", [
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [2, 3, 1]), RuntimeError),
    (lambda t: _rnn(t).pack_sequence([t.ones(2), t.ones(3)]), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [3, 2, 0]), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [3, 0, 2], enforce_sorted=False), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [3, 2, -1]), RuntimeError),
    (lambda t: _rnn(t).pack_sequence([t.ones(0, 3), t.ones(2, 3)], enforce_sorted=False), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [3, 2]), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), [3, 2, 1], batch_first=True), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), t.tensor([[3, 2, 1]])), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4, 3, 2), t.tensor(3)), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(0, 3, 2), [1, 1, 1]), RuntimeError),
    (lambda t: _rnn(t).pack_padded_sequence(t.ones(4), [3]), IndexError),
    (lambda t: _rnn(t).pad_sequence([]), RuntimeError),
    (lambda t: _rnn(t).pack_sequence([]), RuntimeError),
    (lambda t: _rnn(t).pad_sequence(5), RuntimeError),
    (lambda t: _rnn(t).pad_sequence([t.ones(2)], padding_side="middle"), RuntimeError),
    (lambda t: _rnn(t).pad_sequence([t.ones(2, 3), t.ones(3, 4)]), RuntimeError),
    (lambda t: _rnn(t).pad_sequence([t.ones(2, 4), t.ones(3, 1, 4)]), RuntimeError),
    (lambda t: _rnn(t).pad_sequence([t.ones(2, 1), t.ones(3, 4)], batch_first=True), RuntimeError),
    (lambda t: _rnn(t).pad_sequence([t.ones(2), [1.0, 2.0]]), TypeError),
    (lambda t: _rnn(t).pad_packed_sequence(_rnn(t).pack_sequence([t.ones(3), t.ones(2)]), total_length=2),
     ValueError),
    (lambda t: _rnn(t).pad_packed_sequence(_rnn(t).pack_sequence([t.ones(3), t.ones(2)]), total_length=4.0),
     TypeError),
    (lambda t: _rnn(t).unpad_sequence(t.ones(2, 3), t.tensor([3]), batch_first=True), ValueError),
    (lambda t: _rnn(t).unpad_sequence(t.ones(3, 2, requires_grad=True), t.tensor([3, 1])), RuntimeError),
    (lambda t: _rnn(t).PackedSequence(t.ones(3)), AssertionError),
    (lambda t: t.nn.GRU(2, 3)(_rnn(t).pack_sequence([t.ones(3, 2), t.ones(2, 2)]), t.zeros(1, 3, 3)),
     RuntimeError),
    (lambda t: t.nn.GRU(2, 3)(_rnn(t).pack_sequence([t.ones(3, 2), t.ones(2, 2)]), t.zeros(2, 3)),
     RuntimeError),
    (lambda t: t.nn.RNN(3, 3)(_rnn(t).pack_sequence([t.ones(3, 2), t.ones(2, 2)])), RuntimeError),
    (lambda t: t.nn.LSTM(2, 3)(_rnn(t).pack_sequence([t.ones(3, 2, dtype=t.float64)])), RuntimeError),
    (lambda t: t.nn.GRU(2, 3)(_rnn(t).pack_sequence([t.ones(3, 2, dtype=t.float64)])), ValueError),
    (lambda t: t.nn.GRU(2, 3)(_rnn(t).pack_sequence([t.ones(3, 2, 1)])), RuntimeError),
], ids=["unsorted", "pack_sequence_unsorted", "zero_length", "zero_length_unsorted", "negative_length",
        "empty_sequence", "too_few_lengths", "batch_first_batch_size", "lengths_2d", "lengths_0d",
        "empty_tensor", "input_1d", "pad_empty_list", "pack_empty_list", "pad_not_iterable",
        "padding_side", "trailing_mismatch", "rank_mismatch", "broadcast_into_trailing", "not_a_tensor",
        "total_length_short", "total_length_float", "unpad_zip", "unpad_leaf_in_place", "packed_ctor",
        "gru_packed_hx_batch", "gru_packed_hx_2d", "rnn_packed_input_size", "lstm_packed_dtype",
        "gru_packed_dtype", "gru_packed_data_3d"])
def test_errors(fn, exc):
    check_error(fn, exc)


def test_error_messages():
    x = disttorch.ones(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"^`lengths` array must be sorted in decreasing order when "
                                           r"`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                                           r"pack_padded_sequence and/or pack_sequence to sidestep this "
                                           r"requirement if you do not need ONNX exportability.$"):
        R.pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match=r"^Length of all samples has to be greater than 0, but found an "
                                           r"element in 'lengths' that is <= 0$"):
        R.pack_padded_sequence(x, [3, 0, 0])
    with pytest.raises(RuntimeError, match=r"^Expected `len\(lengths\)` to be equal to batch_size, but got 2 "
                                           r"\(batch_size=3\)$"):
        R.pack_padded_sequence(x, [3, 2])
    with pytest.raises(RuntimeError, match=r"^'lengths' argument should be a 1D CPU int64 tensor, but got 2D "
                                           r"cpu Long tensor$"):
        R.pack_padded_sequence(x, disttorch.tensor([[3, 2, 1]]))
    with pytest.raises(RuntimeError, match="^Cannot pack empty tensors.$"):
        R.pack_padded_sequence(disttorch.ones(0, 3, 2), [1, 1, 1])
    with pytest.raises(RuntimeError, match="^received an empty list of sequences$"):
        R.pack_sequence([])
    with pytest.raises(RuntimeError, match="^Expected padding_side to be one of left or right, but got Left.$"):
        R.pad_sequence([disttorch.ones(2)], padding_side="Left")
    with pytest.raises(RuntimeError, match=r"^The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           r"at non-singleton dimension 1$"):
        R.pad_sequence([disttorch.ones(2, 3), disttorch.ones(3, 4)])
    with pytest.raises(RuntimeError, match=r"^output with shape \[3, 1\] doesn't match the broadcast shape "
                                           r"\[3, 4\]$"):
        R.pad_sequence([disttorch.ones(2, 1), disttorch.ones(3, 4)])
    with pytest.raises(ValueError, match="^Expected total_length to be at least the length of the longest "
                                         "sequence in input, but got total_length=2 and max sequence length "
                                         "being 3$"):
        R.pad_packed_sequence(R.pack_sequence([disttorch.ones(3), disttorch.ones(2)]), total_length=2)
    with pytest.raises(RuntimeError, match=r"^Expected hidden size \(1, 2, 3\), got \[1, 3, 3\]$"):
        disttorch.nn.GRU(2, 3)(R.pack_sequence([disttorch.ones(3, 2), disttorch.ones(2, 2)]),
                               disttorch.zeros(1, 3, 3))
    with pytest.raises(RuntimeError, match="^input must have 2 dimensions, got 3$"):
        disttorch.nn.GRU(2, 3)(R.pack_sequence([disttorch.ones(3, 2, 1)]))


def test_lengths_longer_than_the_input():
    # torch reads past the end of its input here (no check, garbage rows); we refuse.
    with pytest.raises(RuntimeError, match="^Expected all lengths to be at most the padded sequence "
                                           "length 4, but got a length of 5$"):
        R.pack_padded_sequence(disttorch.ones(4, 3, 2), [5, 2, 1])
    with pytest.raises(RuntimeError, match="length 4, but got a length of 6"):
        R.pack_padded_sequence(disttorch.ones(3, 4, 2), [2, 6, 1], batch_first=True, enforce_sorted=False)


def test_lstm_packed_hx_sizes_are_checked():
    # torch skips this check for LSTM on packed input (and may read out of bounds); we check.
    p = R.pack_sequence([disttorch.ones(3, 2), disttorch.ones(2, 2)])
    with pytest.raises(RuntimeError, match=r"^Expected hidden\[0\] size \(1, 2, 3\), got \[1, 3, 3\]$"):
        disttorch.nn.LSTM(2, 3)(p, (disttorch.zeros(1, 3, 3), disttorch.zeros(1, 2, 3)))
    with pytest.raises(RuntimeError, match=r"^Expected hidden\[1\] size \(1, 2, 3\), got \[1, 2, 4\]$"):
        disttorch.nn.LSTM(2, 3)(p, (disttorch.zeros(1, 2, 3), disttorch.zeros(1, 2, 4)))


@pytest.mark.gpu
def test_lengths_must_be_on_the_cpu():
    x = disttorch.ones(4, 3, 2, device="cuda")
    lens = disttorch.tensor([3, 2, 1], device="cuda")
    with pytest.raises(RuntimeError, match=r"^'lengths' argument should be a 1D CPU int64 tensor, but got 1D "
                                           r"cuda:0 Long tensor$"):
        R.pack_padded_sequence(x, lens)
    # the dtype is converted first (as torch does), so only the device is wrong here
    with pytest.raises(RuntimeError, match="but got 1D cuda:0 Long tensor"):
        R.pack_padded_sequence(x, lens.to(disttorch.int32), enforce_sorted=False)
    p = R.pack_padded_sequence(x, lens.cpu())
    assert p.data.is_cuda and p.batch_sizes.device.type == "cpu"
