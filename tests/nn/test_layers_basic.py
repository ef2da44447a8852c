"""Basic layers: Linear/Bilinear/Identity, activations, dropout, Embedding, Flatten/Unflatten and
the resampling layers, against torch (same weights, inputs and upstream grads), with reprs,
state_dict keys, default initialisation and errors."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from parity import need_torch, torch

import disttorch
from disttorch import nn


def _copy_weights(theirs, ours) -> None:
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _host(t):
    return t.detach().cpu().numpy() if isinstance(t, disttorch.Tensor) else t.detach().numpy()


def compare_module(make, inputs, *, dtype="float64", device="cpu", modes=("train", "eval"),
                   atol=1e-10, rtol=1e-7, grad_inputs=True):
    """``make(lib)`` builds the layer from ``lib.nn``; run both on ``inputs`` and compare
    outputs, then every parameter grad and the float input grads after the same backward."""
    need_torch()
    tm, dm = make(torch), make(disttorch)
    tdt, ddt = getattr(torch, dtype), getattr(disttorch, dtype)
    tm.to(tdt)
    dm.to(ddt)
    _copy_weights(tm, dm)
    dm.to(device)
    rng = np.random.default_rng(7)
    for mode in modes:
        tm.train(mode == "train")
        dm.train(mode == "train")
        tm.zero_grad()
        dm.zero_grad()
        tin, din = [], []
        for a in inputs:
            a = np.asarray(a)
            is_float = a.dtype.kind == "f"
            if is_float:
                a = a.astype(dtype)
            tin.append(torch.tensor(a, requires_grad=is_float and grad_inputs))
            din.append(disttorch.tensor(a, device=device, requires_grad=is_float and grad_inputs))
        to, do = tm(*tin), dm(*din)
        assert tuple(do.shape) == tuple(to.shape)
        assert str(do.dtype).split(".")[-1] == str(to.dtype).split(".")[-1]
        assert do.device == disttorch.device(device if device == "cpu" else "cuda:0")
        np.testing.assert_allclose(_host(do), _host(to), atol=atol, rtol=rtol, err_msg=f"{mode} output")
        if not to.requires_grad:
            continue
        g = rng.uniform(-1, 1, tuple(to.shape)).astype(dtype)
        to.backward(torch.tensor(g))
        do.backward(disttorch.tensor(g, device=device))
        for (name, tp), (dname, dp) in zip(tm.named_parameters(), dm.named_parameters()):
            assert name == dname
            if tp.grad is None:
                assert dp.grad is None or not _host(dp.grad).any(), name
                continue
            assert dp.grad is not None, f"{mode}: no grad for {name}"
            np.testing.assert_allclose(_host(dp.grad), _host(tp.grad), atol=atol * 10, rtol=rtol * 10,
                                       err_msg=f"{mode} grad of {name}")
        for i, (ti, di) in enumerate(zip(tin, din)):
            if ti.requires_grad:
                np.testing.assert_allclose(_host(di.grad), _host(ti.grad), atol=atol * 10, rtol=rtol * 10,
                                           err_msg=f"{mode} grad of input {i}")
    return tm, dm


R = np.random.default_rng(0)
X234 = R.standard_normal((2, 3, 4))
X34 = R.standard_normal((3, 4))

LAYERS = {
    "identity": (lambda lib: lib.nn.Identity(3, foo=1), [X234]),
    "linear": (lambda lib: lib.nn.Linear(4, 3), [X234]),
    "linear_nobias": (lambda lib: lib.nn.Linear(4, 3, bias=False), [X34]),
    "linear_1d": (lambda lib: lib.nn.Linear(4, 2), [R.standard_normal(4)]),
    "bilinear": (lambda lib: lib.nn.Bilinear(2, 3, 4), [R.standard_normal((5, 2)), R.standard_normal((5, 3))]),
    "bilinear_nobias": (lambda lib: lib.nn.Bilinear(2, 3, 4, bias=False),
                        [R.standard_normal((2, 5, 2)), R.standard_normal((2, 5, 3))]),
    "relu": (lambda lib: lib.nn.ReLU(), [X234]),
    "relu6": (lambda lib: lib.nn.ReLU6(), [X234 * 5]),
    "leaky_relu": (lambda lib: lib.nn.LeakyReLU(0.2), [X234]),
    "elu": (lambda lib: lib.nn.ELU(0.5), [X234]),
    "selu": (lambda lib: lib.nn.SELU(), [X234]),
    "celu": (lambda lib: lib.nn.CELU(2.0), [X234]),
    "gelu": (lambda lib: lib.nn.GELU(), [X234]),
    "gelu_tanh": (lambda lib: lib.nn.GELU("tanh"), [X234]),
    "silu": (lambda lib: lib.nn.SiLU(), [X234]),
    "mish": (lambda lib: lib.nn.Mish(), [X234]),
    "sigmoid": (lambda lib: lib.nn.Sigmoid(), [X234]),
    "tanh": (lambda lib: lib.nn.Tanh(), [X234]),
    "softmax": (lambda lib: lib.nn.Softmax(dim=1), [X234]),
    "log_softmax": (lambda lib: lib.nn.LogSoftmax(dim=-1), [X234]),
    "softmin": (lambda lib: lib.nn.Softmin(dim=0), [X234]),
    "softmax2d": (lambda lib: lib.nn.Softmax2d(), [X234]),
    "softplus": (lambda lib: lib.nn.Softplus(2.0, 1.0), [X234]),
    "hardtanh": (lambda lib: lib.nn.Hardtanh(-0.5, 0.7), [X234]),
    "hardsigmoid": (lambda lib: lib.nn.Hardsigmoid(), [X234 * 4]),
    "hardswish": (lambda lib: lib.nn.Hardswish(), [X234 * 4]),
    "softsign": (lambda lib: lib.nn.Softsign(), [X234]),
    "tanhshrink": (lambda lib: lib.nn.Tanhshrink(), [X234]),
    "logsigmoid": (lambda lib: lib.nn.LogSigmoid(), [X234]),
    "glu": (lambda lib: lib.nn.GLU(), [X234]),
    "glu_dim0": (lambda lib: lib.nn.GLU(0), [R.standard_normal((4, 3))]),
    "prelu": (lambda lib: lib.nn.PReLU(), [X234]),
    "prelu_channels": (lambda lib: lib.nn.PReLU(3, 0.1), [X234]),
    "threshold": (lambda lib: lib.nn.Threshold(0.1, 20.0), [X234]),
    "hardshrink": (lambda lib: lib.nn.Hardshrink(0.3), [X234]),
    "softshrink": (lambda lib: lib.nn.Softshrink(0.3), [X234]),
    "embedding": (lambda lib: lib.nn.Embedding(10, 3), [np.array([[1, 2, 9], [0, 2, 2]])]),
    "embedding_padding": (lambda lib: lib.nn.Embedding(10, 3, padding_idx=2), [np.array([[1, 2, 9], [0, 2, 2]])]),
    "embedding_freq": (lambda lib: lib.nn.Embedding(10, 3, scale_grad_by_freq=True), [np.array([1, 2, 2, 2])]),
    "embedding_max_norm": (lambda lib: lib.nn.Embedding(10, 3, max_norm=0.5), [np.array([1, 2, 2, 7])]),
    "flatten": (lambda lib: lib.nn.Flatten(), [X234]),
    "flatten_all": (lambda lib: lib.nn.Flatten(0, -1), [X234]),
    "unflatten": (lambda lib: lib.nn.Unflatten(-1, (2, 2)), [X234]),
    "upsample": (lambda lib: lib.nn.Upsample(scale_factor=2), [X234]),
    "upsample_bilinear": (lambda lib: lib.nn.Upsample(size=(3, 5), mode="bilinear"), [R.standard_normal((1, 2, 4, 4))]),
    "upsampling_bilinear2d": (lambda lib: lib.nn.UpsamplingBilinear2d(scale_factor=2), [R.standard_normal((1, 2, 3, 3))]),
    "upsampling_nearest2d": (lambda lib: lib.nn.UpsamplingNearest2d(size=5), [R.standard_normal((1, 2, 3, 3))]),
    "pixel_shuffle": (lambda lib: lib.nn.PixelShuffle(2), [R.standard_normal((1, 8, 2, 3))]),
    "pixel_unshuffle": (lambda lib: lib.nn.PixelUnshuffle(2), [R.standard_normal((1, 2, 4, 6))]),
    "unfold": (lambda lib: lib.nn.Unfold((2, 3), padding=1), [R.standard_normal((2, 3, 4, 5))]),
    "fold": (lambda lib: lib.nn.Fold((3, 4), 2), [R.standard_normal((2, 8, 6))]),
    "cosine": (lambda lib: lib.nn.CosineSimilarity(dim=-1), [X234, R.standard_normal((2, 3, 4))]),
    "pairwise": (lambda lib: lib.nn.PairwiseDistance(p=1.0, keepdim=True), [X34, R.standard_normal((3, 4))]),
    "dropout_eval": (lambda lib: lib.nn.Dropout(0.3), [X234]),
    "sequential_mlp": (lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.GELU(), lib.nn.Linear(8, 8),
                                                 lib.nn.Tanh(), lib.nn.Linear(8, 2)), [X234]),
}
EVAL_ONLY = {"dropout_eval"}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_parity(name, device):
    make, inputs = LAYERS[name]
    modes = ("eval",) if name in EVAL_ONLY else ("train", "eval")
    compare_module(make, inputs, device=device, modes=modes)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_parity_float32(name):
    make, inputs = LAYERS[name]
    compare_module(make, inputs, dtype="float32", modes=("eval",), atol=1e-5, rtol=1e-4)


def test_embedding_max_norm_module_updates_weight():
    tm, dm = compare_module(LAYERS["embedding_max_norm"][0], LAYERS["embedding_max_norm"][1])
    np.testing.assert_allclose(_host(dm.weight), _host(tm.weight), rtol=1e-10)
    assert float(dm.weight.detach()[2].norm()) <= 0.5 + 1e-6


def test_rrelu_module_modes():
    need_torch()
    compare_module(lambda lib: lib.nn.RReLU(0.1, 0.3), [X234], modes=("eval",))
    m = nn.RReLU(0.1, 0.3)
    x = -disttorch.ones(1000, dtype=disttorch.float64)
    y = m(x)
    assert float(y.min()) >= -0.3 - 1e-12 and float(y.max()) <= -0.1 + 1e-12 and float(y.std()) > 0.01
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2)


# -- repr and state_dict ---------------------------------------------------------------------------

REPRS = [
    lambda lib: lib.nn.Identity(), lambda lib: lib.nn.Linear(3, 2), lambda lib: lib.nn.Linear(3, 2, bias=False),
    lambda lib: lib.nn.Bilinear(2, 3, 4), lambda lib: lib.nn.Bilinear(2, 3, 4, False),
    lambda lib: lib.nn.ReLU(), lambda lib: lib.nn.ReLU(True), lambda lib: lib.nn.ReLU6(), lambda lib: lib.nn.ReLU6(True),
    lambda lib: lib.nn.LeakyReLU(), lambda lib: lib.nn.LeakyReLU(0.2, True), lambda lib: lib.nn.ELU(),
    lambda lib: lib.nn.ELU(0.5, True), lambda lib: lib.nn.SELU(), lambda lib: lib.nn.SELU(True), lambda lib: lib.nn.CELU(),
    lambda lib: lib.nn.CELU(2.0, True), lambda lib: lib.nn.GELU(), lambda lib: lib.nn.GELU("tanh"), lambda lib: lib.nn.SiLU(),
    lambda lib: lib.nn.SiLU(True), lambda lib: lib.nn.Mish(), lambda lib: lib.nn.Mish(True), lambda lib: lib.nn.Sigmoid(),
    lambda lib: lib.nn.Tanh(), lambda lib: lib.nn.Softmax(), lambda lib: lib.nn.Softmax(1), lambda lib: lib.nn.LogSoftmax(dim=0),
    lambda lib: lib.nn.Softmin(1), lambda lib: lib.nn.Softmax2d(), lambda lib: lib.nn.Softplus(),
    lambda lib: lib.nn.Softplus(2, 10), lambda lib: lib.nn.Hardtanh(), lambda lib: lib.nn.Hardtanh(-2, 3, True),
    lambda lib: lib.nn.Hardsigmoid(), lambda lib: lib.nn.Hardsigmoid(True), lambda lib: lib.nn.Hardswish(True),
    lambda lib: lib.nn.Softsign(), lambda lib: lib.nn.Tanhshrink(), lambda lib: lib.nn.LogSigmoid(), lambda lib: lib.nn.GLU(),
    lambda lib: lib.nn.GLU(0), lambda lib: lib.nn.PReLU(), lambda lib: lib.nn.PReLU(3, 0.1),
    lambda lib: lib.nn.Threshold(0.1, 20), lambda lib: lib.nn.Threshold(0.1, 20, True), lambda lib: lib.nn.Hardshrink(),
    lambda lib: lib.nn.Softshrink(0.3), lambda lib: lib.nn.RReLU(), lambda lib: lib.nn.RReLU(0.1, 0.3, True),
    lambda lib: lib.nn.Dropout(), lambda lib: lib.nn.Dropout(0.2, True), lambda lib: lib.nn.Dropout1d(),
    lambda lib: lib.nn.Dropout2d(0.1), lambda lib: lib.nn.Dropout3d(), lambda lib: lib.nn.AlphaDropout(),
    lambda lib: lib.nn.FeatureAlphaDropout(0.2), lambda lib: lib.nn.Embedding(10, 3),
    lambda lib: lib.nn.Embedding(10, 3, padding_idx=0), lambda lib: lib.nn.Embedding(10, 3, padding_idx=-1),
    lambda lib: lib.nn.Embedding(10, 3, max_norm=1.0),
    lambda lib: lib.nn.Embedding(10, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True),
    lambda lib: lib.nn.Flatten(), lambda lib: lib.nn.Flatten(0, 2), lambda lib: lib.nn.Unflatten(1, (2, 3)),
    lambda lib: lib.nn.Upsample(scale_factor=2), lambda lib: lib.nn.Upsample(size=3, mode="bilinear"),
    lambda lib: lib.nn.Upsample(scale_factor=(2, 3)), lambda lib: lib.nn.PixelShuffle(2), lambda lib: lib.nn.PixelUnshuffle(2),
    lambda lib: lib.nn.Unfold(2), lambda lib: lib.nn.Fold(3, 2), lambda lib: lib.nn.CosineSimilarity(),
    lambda lib: lib.nn.PairwiseDistance(),
    lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(True), lib.nn.Dropout(0.1), lib.nn.Linear(4, 1)),
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


def test_unflatten_size_repr():
    assert repr(nn.Unflatten(1, disttorch.Size([2, 3]))) == "Unflatten(dim=1, unflattened_size=disttorch.Size([2, 3]))"


def test_attributes_like_torch():
    m = nn.Linear(3, 2)
    assert (m.in_features, m.out_features) == (3, 2) and tuple(m.weight.shape) == (2, 3)
    e = nn.Embedding(10, 3, padding_idx=-1)
    assert e.padding_idx == 9 and e.num_embeddings == 10 and e.embedding_dim == 3
    assert e.max_norm is None and e.norm_type == 2.0 and e.scale_grad_by_freq is False and e.sparse is False
    b = nn.Bilinear(2, 3, 4)
    assert tuple(b.weight.shape) == (4, 2, 3) and (b.in1_features, b.in2_features, b.out_features) == (2, 3, 4)
    assert nn.Dropout(0.2).p == 0.2 and nn.Dropout(0.2, True).inplace
    assert nn.Softmax(dim=1).dim == 1 and nn.Threshold(0.1, 2).threshold == 0.1
    assert nn.PairwiseDistance(3.0).norm == 3.0
    assert nn.PReLU(3).num_parameters == 3 and nn.PReLU(3, 0.1).init == 0.1


# -- default initialisation --------------------------------------------------------------------------


def _check_uniform(t, bound):
    a = t.detach().cpu().numpy().astype(np.float64).ravel()
    assert a.min() >= -bound and a.max() <= bound
    assert a.max() > 0.9 * bound and a.min() < -0.9 * bound
    assert abs(a.mean()) < 0.05 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_linear_default_init(device):
    m = nn.Linear(300, 200, device=device)
    assert m.weight.device == disttorch.device(device if device == "cpu" else "cuda:0")
    _check_uniform(m.weight, 1 / math.sqrt(300))
    big = nn.Linear(300, 5000)
    _check_uniform(big.bias, 1 / math.sqrt(300))
    before = m.weight.detach().clone()
    m.reset_parameters()
    assert not disttorch.equal(before, m.weight.detach())
    _check_uniform(m.weight, 1 / math.sqrt(300))
    assert m.weight.requires_grad and m.weight.is_leaf and m.bias.requires_grad


def test_linear_dtype_and_empty():
    m = nn.Linear(3, 2, dtype=disttorch.float64)
    assert m.weight.dtype == disttorch.float64 and m.bias.dtype == disttorch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = nn.Linear(0, 2)
    assert z.bias.tolist() == [0.0, 0.0]
    assert z(disttorch.ones(4, 0)).tolist() == [[0.0, 0.0]] * 4


def test_bilinear_default_init():
    m = nn.Bilinear(40, 30, 200)
    _check_uniform(m.weight, 1 / math.sqrt(40))
    m2 = nn.Bilinear(40, 3, 5000)
    _check_uniform(m2.bias, 1 / math.sqrt(40))


def test_embedding_default_init(device):
    e = nn.Embedding(2000, 50, padding_idx=3, device=device)
    a = e.weight.detach().cpu().numpy()
    assert not a[3].any()
    rest = np.delete(a, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    e.reset_parameters()
    assert not e.weight.detach().cpu().numpy()[3].any()


def test_prelu_init_and_reset():
    p = nn.PReLU(4, init=0.3)
    assert p.weight.tolist() == pytest.approx([0.3] * 4)
    with disttorch.no_grad():
        p.weight.fill_(1.0)
    p.reset_parameters()
    assert p.weight.tolist() == pytest.approx([0.3] * 4)


def test_embedding_padding_row_gets_no_grad():
    e = nn.Embedding(5, 2, padding_idx=0)
    out = e(disttorch.tensor([0, 1, 0, 4]))
    out.sum().backward()
    g = e.weight.grad.numpy()
    assert not g[0].any() and g[1].tolist() == [1.0, 1.0] and g[4].tolist() == [1.0, 1.0]


def test_embedding_from_pretrained():
    w = disttorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    assert e(disttorch.tensor([2, 0])).tolist() == [[5.0, 6.0], [1.0, 2.0]]
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    assert e2.weight.tolist()[1] == [3.0, 4.0]  # the given rows are kept as they are
    with disttorch.no_grad():
        w[0, 0] = 9.0
    assert e.weight.tolist()[0][0] == 9.0  # shares the tensor's memory, as torch does
    need_torch()
    t = torch.nn.Embedding.from_pretrained(torch.ones(3, 2), max_norm=0.5)
    d = nn.Embedding.from_pretrained(disttorch.ones(3, 2), max_norm=0.5)
    assert repr(d) == repr(t)


# -- dropout modules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, shape", [("Dropout", (40, 50)), ("Dropout1d", (4, 40, 5)),
                                        ("Dropout2d", (4, 40, 3, 3)), ("Dropout3d", (4, 40, 2, 2, 2)),
                                        ("AlphaDropout", (40, 50)), ("FeatureAlphaDropout", (4, 40, 5))])
def test_dropout_modules_train_eval(cls, shape, device):
    m = getattr(nn, cls)(0.5)
    x = disttorch.ones(*shape, device=device)
    y = m(x)
    assert y.shape == x.shape and not disttorch.equal(y, x)
    m.eval()
    assert m(x) is x
    m.train()
    disttorch.manual_seed(1)
    a = m(x)
    disttorch.manual_seed(1)
    b = m(x)
    assert disttorch.equal(a, b)


def test_dropout_module_inplace_and_p_zero():
    m = nn.Dropout(0.5, inplace=True)
    x = disttorch.ones(20, 20)
    assert m(x) is x and set(np.unique(x.numpy()).tolist()) == {0.0, 2.0}
    z = disttorch.ones(3)
    assert nn.Dropout(0.0)(z) is z


def test_dropout_in_sequential_train_vs_eval():
    net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 1))
    x = disttorch.randn(8, 4)
    net.eval()
    a, b = net(x), net(x)
    assert disttorch.equal(a, b)
    net.train()
    c, d = net(x), net(x)
    assert not disttorch.equal(c, d)


# -- device stand-in ----------------------------------------------------------------------------------


def test_modules_on_device(device):
    net = nn.Sequential(nn.Linear(4, 6), nn.PReLU(), nn.Dropout(0.2), nn.Linear(6, 4), nn.GLU()).to(device)
    emb = nn.Embedding(7, 4, padding_idx=0).to(device)
    idx = disttorch.tensor([[0, 3, 6], [1, 1, 2]], device=device)
    y = net(emb(idx))
    assert y.shape == (2, 3, 2) and y.device == disttorch.device(device if device == "cpu" else "cuda:0")
    y.sum().backward()
    for p in list(net.parameters()) + list(emb.parameters()):
        assert p.grad is not None and p.grad.device == p.device
    assert not emb.weight.grad.cpu().numpy()[0].any()


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn, exc", [
    (lambda lib: lib.nn.Dropout(2), ValueError),
    (lambda lib: lib.nn.Dropout2d(-0.1), ValueError),
    (lambda lib: lib.nn.Hardtanh(2, 1), AssertionError),
    (lambda lib: lib.nn.Unflatten(1, 3), TypeError),
    (lambda lib: lib.nn.Unflatten(1, (2.0, 3)), TypeError),
    (lambda lib: lib.nn.Embedding(3, 2, _weight=lib.ones(2, 2)), AssertionError),
    (lambda lib: lib.nn.Embedding(10, 3, padding_idx=10), AssertionError),
    (lambda lib: lib.nn.Embedding(10, 3, padding_idx=-11), AssertionError),
    (lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(3)), AssertionError),
    (lambda lib: lib.nn.Softmax2d()(lib.ones(2, 3)), ValueError),
    (lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 5)), RuntimeError),
    (lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])), IndexError),
    (lambda lib: lib.nn.PReLU(3)(lib.ones(2, 4)), RuntimeError),
    (lambda lib: lib.nn.Bilinear(2, 3, 4)(lib.ones(5, 2), lib.ones(5, 2)), RuntimeError),
])
def test_layer_errors(fn, exc):
    need_torch()
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(disttorch)
