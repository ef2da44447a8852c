"""Recurrent layers: RNN (tanh/relu), LSTM (with projections), GRU and the cells.

Parity with torch (weights copied through state_dict) for outputs, final states, every
parameter grad and the input/initial-state grads; long sequences; float64 finite-difference
and second-order checks of the fused cell ops; inter-layer dropout; repr, state_dict keys,
init bounds; torch's exception types and messages."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from parity import check_error, gradcheck, need_torch, to_numpy, torch

import disttorch
from disttorch import nn


def _close(ours, theirs, name, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), atol=atol, rtol=rtol, err_msg=name)


def _flatten(out):
    """(output, h) or (output, (h, c)) as a flat list."""
    if isinstance(out, tuple):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def rnn_parity(make, x, device, hx=None, dtype="float64", mode="eval", seed=0, atol=None, rtol=None):
    """Build ``make(lib)`` in both libraries with torch's weights, run on ``x`` (and the
    initial states ``hx``: an array or a tuple of arrays), compare every output, then the
    grads of the parameters, the input and the initial states."""
    need_torch()
    if atol is None:
        atol, rtol = (1e-10, 1e-8) if dtype == "float64" else (2e-5, 2e-4)
    rng = np.random.default_rng(seed)
    theirs = make(torch).to(getattr(torch, dtype))
    ours = make(disttorch).to(getattr(disttorch, dtype))
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    ours = ours.to(device)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.train(mode == "train")
    ours.train(mode == "train")
    arrays = [x.astype(dtype)]
    if hx is not None:
        arrays += [h.astype(dtype) for h in (hx if isinstance(hx, tuple) else (hx,))]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    dx = [disttorch.tensor(a, device=device, requires_grad=True) for a in arrays]
    if hx is None:
        targs, dargs = (tx[0],), (dx[0],)
    elif isinstance(hx, tuple):
        targs, dargs = (tx[0], tuple(tx[1:])), (dx[0], tuple(dx[1:]))
    else:
        targs, dargs = (tx[0], tx[1]), (dx[0], dx[1])
    tout, dout = _flatten(theirs(*targs)), _flatten(ours(*dargs))
    assert len(tout) == len(dout)
    for i, (a, b) in enumerate(zip(dout, tout)):
        _close(a, b, f"output {i}", atol, rtol)
    ups = [rng.uniform(0.5, 1.5, size=tuple(t.shape)).astype(dtype) for t in tout]
    torch.autograd.backward(tout, [torch.tensor(u) for u in ups])
    disttorch.autograd.backward(dout, [disttorch.tensor(u, device=device) for u in ups])
    for i, (a, b) in enumerate(zip(dx, tx)):
        _close(a.grad, b.grad, f"grad of input {i}", atol * 10, rtol * 10)
    tp, dp = dict(theirs.named_parameters()), dict(ours.named_parameters())
    assert list(tp) == list(dp)
    for k in tp:
        _close(dp[k].grad, tp[k].grad, f"grad of {k}", atol * 10, rtol * 10)
    return ours, theirs


def _x(steps=5, batch=3, size=4, batch_first=False, batched=True, seed=1):
    rng = np.random.default_rng(seed)
    if not batched:
        return rng.normal(size=(steps, size))
    return rng.normal(size=(batch, steps, size) if batch_first else (steps, batch, size))


def _h(layers=1, dirs=1, batch=3, hidden=6, batched=True, seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(layers * dirs, batch, hidden) if batched else (layers * dirs, hidden))


# ============================================================================ sequence layers
CONFIGS = {
    "default": {},
    "two_layers": {"num_layers": 2},
    "bidirectional": {"bidirectional": True},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first": {"batch_first": True},
    "batch_first_two_layers_bidirectional": {"batch_first": True, "num_layers": 2, "bidirectional": True},
    "no_bias": {"bias": False, "num_layers": 2},
    "dropout_eval": {"num_layers": 2, "dropout": 0.5},
}
KINDS = ["LSTM", "GRU", "RNN"]


def _make(kind, size=4, hidden=6, **kw):
    return lambda lib: getattr(lib.nn, kind)(size, hidden, **kw)


def _states(kind, cfg, batched=True, batch=3, hidden=6, proj=None):
    layers, dirs = cfg.get("num_layers", 1), 2 if cfg.get("bidirectional") else 1
    h = _h(layers, dirs, batch, proj or hidden, batched)
    if kind == "LSTM":
        return (h, _h(layers, dirs, batch, hidden, batched, seed=3))
    return h


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cfg", CONFIGS)
def test_rnn_parity(kind, cfg, device):
    kw = CONFIGS[cfg]
    rnn_parity(_make(kind, **kw), _x(batch_first=kw.get("batch_first", False)), device)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cfg", ["default", "two_layers_bidirectional", "batch_first"])
def test_rnn_parity_initial_states(kind, cfg, device):
    kw = CONFIGS[cfg]
    rnn_parity(_make(kind, **kw), _x(batch_first=kw.get("batch_first", False)), device,
               hx=_states(kind, kw))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_parity_unbatched(kind, batch_first, with_state, device):
    kw = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    hx = _states(kind, kw, batched=False) if with_state else None
    rnn_parity(_make(kind, **kw), _x(batched=False), device, hx=hx)


def test_rnn_relu_parity(device):
    kw = {"num_layers": 2, "nonlinearity": "relu", "bidirectional": True}
    rnn_parity(_make("RNN", **kw), _x(), device, hx=_states("RNN", kw))


@pytest.mark.parametrize("kw", [{"proj_size": 2}, {"proj_size": 3, "num_layers": 2, "bidirectional": True},
                                {"proj_size": 2, "batch_first": True}], ids=str)
def test_lstm_proj_parity(kw, device):
    rnn_parity(_make("LSTM", **kw), _x(batch_first=kw.get("batch_first", False)), device,
               hx=_states("LSTM", kw, proj=kw["proj_size"]))
    rnn_parity(_make("LSTM", **kw), _x(batched=False), device,
               hx=_states("LSTM", kw, batched=False, proj=kw["proj_size"]))


@pytest.mark.parametrize("kind", KINDS)
def test_rnn_float32_parity(kind, device):
    kw = {"num_layers": 2, "bidirectional": True}
    rnn_parity(_make(kind, **kw), _x(), device, hx=_states(kind, kw), dtype="float32")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_long_sequence_backprop(kind, device):
    rnn_parity(_make(kind, size=3, hidden=5), _x(steps=150, batch=2, size=3), device,
               hx=_states(kind, {}, batch=2, hidden=5),
               atol=1e-9, rtol=1e-7)


def test_empty_batch(device):
    need_torch()
    for kind in KINDS:
        t, d = _make(kind)(torch), _make(kind)(disttorch).to(device)
        to, do = _flatten(t(torch.zeros(5, 0, 4))), _flatten(d(disttorch.zeros(5, 0, 4, device=device)))
        assert [tuple(o.shape) for o in do] == [tuple(o.shape) for o in to]


@pytest.mark.parametrize("kind", KINDS)
def test_train_mode_inter_layer_dropout(kind, device):
    m = getattr(nn, kind)(4, 6, num_layers=2, dropout=0.5).to(device)
    x = disttorch.randn(5, 3, 4, device=device)
    m.eval()
    ref = _flatten(m(x))[0]
    m.train()
    disttorch.manual_seed(4)
    a = _flatten(m(x))
    disttorch.manual_seed(4)
    b = _flatten(m(x))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(to_numpy(u), to_numpy(v))
    assert not np.allclose(to_numpy(a[0]), to_numpy(ref))
    one = getattr(nn, kind)(4, 6, num_layers=2, dropout=0.0).to(device)
    one.load_state_dict(m.state_dict())
    one.train()
    np.testing.assert_allclose(to_numpy(_flatten(one(x))[0]), to_numpy(ref), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_gradcheck(kind):
    m = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=True, dtype=disttorch.float64)
    gradcheck([(3, 2, 2)], lambda x: _flatten(m(x))[0])
    if kind == "LSTM":
        gradcheck([(3, 2, 2), (4, 2, 3), (4, 2, 3)], lambda x, h, c: tuple(_flatten(m(x, (h, c)))))
    else:
        gradcheck([(3, 2, 2), (4, 2, 3)], lambda x, h: tuple(_flatten(m(x, h))))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_sequence_second_order(kind):
    m = getattr(nn, kind)(2, 3, dtype=disttorch.float64)
    gradcheck([(3, 2, 2)], lambda x: _flatten(m(x))[0], second_order=True)


def test_state_dict_keys_and_repr():
    need_torch()
    for kind in KINDS:
        for kw in [{}, {"num_layers": 3, "bias": False, "batch_first": True, "dropout": 0.1,
                        "bidirectional": True}]:
            t, d = getattr(torch.nn, kind)(4, 8, **kw), getattr(nn, kind)(4, 8, **kw)
            assert list(d.state_dict()) == list(t.state_dict())
            assert repr(d) == repr(t)
            assert d._flat_weights_names == t._flat_weights_names
            assert d._all_weights == t._all_weights
            assert [[tuple(p.shape) for p in ws] for ws in d.all_weights] == \
                [[tuple(p.shape) for p in ws] for ws in t.all_weights]
            for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                         "dropout", "bidirectional", "proj_size"):
                assert getattr(d, attr) == getattr(t, attr), attr
    t, d = torch.nn.LSTM(4, 8, 2, bidirectional=True, proj_size=3), nn.LSTM(4, 8, 2, bidirectional=True, proj_size=3)
    assert list(d.state_dict()) == list(t.state_dict())
    assert repr(d) == repr(t)
    assert {k: tuple(v.shape) for k, v in d.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    t, d = torch.nn.RNN(4, 8, nonlinearity="relu"), nn.RNN(4, 8, nonlinearity="relu")
    assert repr(d) == repr(t) and d.nonlinearity == t.nonlinearity and d.mode == t.mode


def test_init_bounds():
    H = 16
    for m in (nn.LSTM(5, H, 2, bidirectional=True), nn.GRU(5, H), nn.RNN(5, H), nn.LSTMCell(5, H),
              nn.GRUCell(5, H), nn.RNNCell(5, H)):
        vals = np.concatenate([to_numpy(p).ravel() for p in m.parameters()])
        bound = 1 / math.sqrt(H)
        assert np.abs(vals).max() <= bound
        assert vals.max() > 0.95 * bound and vals.min() < -0.95 * bound
        assert abs(vals.std() - bound / math.sqrt(3)) < 0.1 * bound
        for p in m.parameters():
            assert np.unique(to_numpy(p)).size > 1 or p.numel() == 1


def test_weights_are_read_at_call_time():
    m = nn.GRU(2, 3, dtype=disttorch.float64)
    x = disttorch.randn(4, 1, 2, dtype=disttorch.float64)
    before = to_numpy(m(x)[0])
    with disttorch.no_grad():
        m.weight_hh_l0.mul_(0.0)
    assert not np.allclose(to_numpy(m(x)[0]), before)
    m.weight_ih_l0 = nn.Parameter(disttorch.zeros(9, 2, dtype=disttorch.float64))
    m.bias_ih_l0 = nn.Parameter(disttorch.zeros(9, dtype=disttorch.float64))
    m.bias_hh_l0 = nn.Parameter(disttorch.zeros(9, dtype=disttorch.float64))
    np.testing.assert_allclose(to_numpy(m(x)[0]), 0.0)


# ================================================================================== cells
CELLS = {
    "LSTMCell": lambda lib: lib.nn.LSTMCell(4, 6),
    "GRUCell": lambda lib: lib.nn.GRUCell(4, 6),
    "RNNCell": lambda lib: lib.nn.RNNCell(4, 6),
    "RNNCell_relu": lambda lib: lib.nn.RNNCell(4, 6, nonlinearity="relu"),
    "LSTMCell_no_bias": lambda lib: lib.nn.LSTMCell(4, 6, bias=False),
    "GRUCell_no_bias": lambda lib: lib.nn.GRUCell(4, 6, bias=False),
}


def _cell_state(name, batched):
    rng = np.random.default_rng(8)
    shape = (3, 6) if batched else (6,)
    if name.startswith("LSTM"):
        return (rng.normal(size=shape), rng.normal(size=shape))
    return rng.normal(size=shape)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_parity(name, batched, with_state, device):
    x = np.random.default_rng(9).normal(size=(3, 4) if batched else (4,))
    rnn_parity(CELLS[name], x, device, hx=_cell_state(name, batched) if with_state else None)


def test_cell_float32_parity(device):
    for name in ("LSTMCell", "GRUCell"):
        x = np.random.default_rng(9).normal(size=(3, 4))
        rnn_parity(CELLS[name], x, device, hx=_cell_state(name, True), dtype="float32")


def test_cells_as_a_loop_match_the_sequence_layer():
    need_torch()
    for seq_cls, cell_cls in ((nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell), (nn.RNN, nn.RNNCell)):
        seq = seq_cls(4, 6, dtype=disttorch.float64)
        cell = cell_cls(4, 6, dtype=disttorch.float64)
        cell.load_state_dict({k[:-3]: v for k, v in seq.state_dict().items()})
        x = disttorch.randn(5, 2, 4, dtype=disttorch.float64)
        out = _flatten(seq(x))[0]
        state = None
        for t in range(5):
            state = cell(x[t], state)
            h = state[0] if isinstance(state, tuple) else state
            np.testing.assert_allclose(to_numpy(h), to_numpy(out[t]), atol=1e-12)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cell_second_order(name, device):
    cell = getattr(nn, name)(3, 2, dtype=disttorch.float64).to(device)
    if name == "LSTMCell":
        gradcheck([(2, 3), (2, 2), (2, 2)], lambda x, h, c: cell(x, (h, c)), device=device,
                  second_order=True)
    else:
        gradcheck([(2, 3), (2, 2)], lambda x, h: cell(x, h), device=device, second_order=True)


def test_fused_cells_only_one_output_used():
    cell = nn.LSTMCell(3, 2, dtype=disttorch.float64)
    gradcheck([(2, 3), (2, 2), (2, 2)], lambda x, h, c: cell(x, (h, c))[1], second_order=True)
    gradcheck([(2, 3), (2, 2), (2, 2)], lambda x, h, c: cell(x, (h, c))[0], second_order=True)


# ================================================================================= errors
@pytest.mark.parametrize("fn, exc", [
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 2, 5)), RuntimeError),
    (lambda t: t.nn.GRU(4, 8)(t.ones(3, 2, 5)), RuntimeError),
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 2, 4, 1)), ValueError),
    (lambda t: t.nn.RNN(4, 8)(t.ones(3)), ValueError),
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 2, 4, dtype=t.float64)), ValueError),
    (lambda t: t.nn.LSTM(4, 8, 2)(t.ones(3, 2, 4), (t.ones(2, 3, 8), t.ones(2, 2, 8))), RuntimeError),
    (lambda t: t.nn.LSTM(4, 8, 2)(t.ones(3, 2, 4), (t.ones(2, 2, 8), t.ones(2, 3, 8))), RuntimeError),
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 2, 4), (t.ones(2, 8), t.ones(2, 8))), RuntimeError),
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 4), (t.ones(1, 2, 8), t.ones(1, 2, 8))), RuntimeError),
    (lambda t: t.nn.GRU(4, 8)(t.ones(3, 2, 4), t.ones(1, 3, 8)), RuntimeError),
    (lambda t: t.nn.GRU(4, 8)(t.ones(3, 4), t.ones(1, 2, 8)), RuntimeError),
    (lambda t: t.nn.RNN(4, 8)(t.ones(3, 2, 4), t.ones(2, 8)), RuntimeError),
    (lambda t: t.nn.GRU(4, 8)(t.ones(0, 2, 4)), RuntimeError),
    (lambda t: t.nn.LSTM(4, 0), ValueError),
    (lambda t: t.nn.LSTM(4, 8, 0), ValueError),
    (lambda t: t.nn.LSTM(4, 8, dropout=1.5), ValueError),
    (lambda t: t.nn.LSTM(4, 8, dropout=True), ValueError),
    (lambda t: t.nn.LSTM(4, 8, proj_size=-1), ValueError),
    (lambda t: t.nn.LSTM(4, 8, proj_size=8), ValueError),
    (lambda t: t.nn.GRU(4, 8, proj_size=2), ValueError),
    (lambda t: t.nn.RNN(4, 8, proj_size=2), ValueError),
    (lambda t: t.nn.LSTM(4, 8.0), TypeError),
    (lambda t: t.nn.RNN(4, 8, nonlinearity="gelu"), ValueError),
    (lambda t: t.nn.RNNBase("FOO", 4, 8), ValueError),
    (lambda t: t.nn.LSTMCell(4, 8)(t.ones(2, 5)), RuntimeError),
    (lambda t: t.nn.LSTMCell(4, 8)(t.ones(2, 2, 4)), ValueError),
    (lambda t: t.nn.LSTMCell(4, 8)(t.ones(2, 4), (t.ones(3, 8), t.ones(3, 8))), RuntimeError),
    (lambda t: t.nn.LSTMCell(4, 8)(t.ones(2, 4), (t.ones(2, 8), t.ones(2, 7))), RuntimeError),
    (lambda t: t.nn.GRUCell(4, 8)(t.ones(2, 4), t.ones(2, 7)), RuntimeError),
    (lambda t: t.nn.GRUCell(4, 8)(t.ones(2, 4), t.ones(3, 8)), RuntimeError),
    (lambda t: t.nn.RNNCell(4, 8)(t.ones(4), t.ones(2, 8)), RuntimeError),
    (lambda t: t.nn.RNNCell(4, 8, nonlinearity="foo")(t.ones(2, 4)), RuntimeError),
    (lambda t: t.nn.GRU(4, 8)(t.ones(3, 2, 4), t.ones(1, 2, 8, dtype=t.float64)), RuntimeError),
    (lambda t: t.nn.LSTM(4, 8)(t.ones(3, 2, 4), (t.ones(1, 2, 8), t.ones(1, 2, 8, dtype=t.float64))),
     RuntimeError),
    (lambda t: t.nn.GRUCell(4, 8)(t.ones(2, 4), t.ones(2, 8, dtype=t.float64)), RuntimeError),
    (lambda t: t.nn.LSTMCell(4, 8)(t.ones(2, 4), (t.ones(2, 8, dtype=t.float64), t.ones(2, 8))),
     RuntimeError),
], ids=["lstm_input_size", "gru_input_size", "input_4d", "input_1d", "dtype", "hidden0_size",
        "hidden1_size", "batched_2d_state", "unbatched_3d_state", "gru_hidden_size",
        "gru_unbatched_3d_state", "rnn_batched_2d_state", "empty_sequence", "zero_hidden",
        "zero_layers", "dropout_range", "dropout_bool", "negative_proj", "proj_too_big", "gru_proj",
        "rnn_proj", "float_hidden", "nonlinearity", "mode", "cell_input_size", "cell_3d",
        "cell_batch", "cell_hidden1", "gru_cell_hidden", "gru_cell_batch", "rnn_cell_unbatched_hx",
        "cell_nonlinearity", "gru_state_dtype", "lstm_cell_state_dtype", "gru_cell_state_dtype",
        "lstm_cell_hidden_dtype"])
def test_errors(fn, exc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_error(fn, exc)


def test_error_messages():
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 4, got 5"):
        nn.LSTM(4, 8)(disttorch.ones(3, 2, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 2, 8\), got \[2, 3, 8\]"):
        nn.LSTM(4, 8, 2)(disttorch.ones(3, 2, 4), (disttorch.ones(2, 3, 8), disttorch.ones(2, 2, 8)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 8\), got \[1, 3, 8\]"):
        nn.GRU(4, 8)(disttorch.ones(3, 2, 4), disttorch.ones(1, 3, 8))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        nn.LSTM(4, 8)(disttorch.ones(3, 2, 4, 1))
    with pytest.raises(ValueError, match=r"RNN input dtype \(disttorch.float64\) does not match weight dtype "
                                         r"\(disttorch.float32\)"):
        nn.GRU(4, 8)(disttorch.ones(3, 2, 4, dtype=disttorch.float64))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        nn.GRUCell(4, 8)(disttorch.ones(2, 4), disttorch.ones(3, 8))
    with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 7, expected 8"):
        nn.LSTMCell(4, 8)(disttorch.ones(2, 4), (disttorch.ones(2, 8), disttorch.ones(2, 7)))


def test_dropout_single_layer_warns():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(4, 8, dropout=0.2)
